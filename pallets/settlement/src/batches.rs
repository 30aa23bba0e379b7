//! Statements in batches: each item processed on its own, and the weight the batch used.

use alloc::collections::BTreeSet;
use frame_support::{pallet_prelude::*, storage::with_storage_layer};
use haca_primitives::statement::Claim;

use crate::*;

impl<T: Config> Pallet<T> {
	/// Processes a batch item by item, each in its own storage layer; a failing item is
	/// reported with `StatementRejected` and leaves no trace. Returns the weight used: a
	/// statement that fails its checks weighs a check of its outputs, any other
	/// [`Self::applied_weight`], less the writes an earlier attested result of the batch
	/// already made to the same keys (its executor's load, the timer pages of its block) and,
	/// when the batch's authorization verified the signatures, less their verification.
	pub(crate) fn process_batch(
		statements: StatementBatch<T>,
		signature_check: SignatureCheck,
	) -> Weight {
		let mut used = Weight::zero();
		let (mut loads_written, mut timers_written) = (BTreeSet::new(), false);
		for (statement, signature) in statements {
			let (job, executor) = (statement.job, statement.executor.clone());
			let claim = statement.claim;
			let attested = matches!(claim, Claim::Output(_));
			let carried = statement.carried_len();
			let outcome = match Self::check(&statement, &signature, signature_check) {
				Ok(checked) => {
					let applied = with_storage_layer(|| Self::apply(statement, signature, checked));
					used.saturating_accrue(Self::applied_weight(claim, carried, job, &executor));
					if attested && applied.is_ok() {
						// Every result of a block schedules its window's end in the same block.
						let repeated = u64::from(!loads_written.insert(executor.clone()))
							+ u64::from(core::mem::replace(&mut timers_written, true));
						used = used.saturating_sub(T::DbWeight::get().writes(repeated));
					}
					applied
				}
				Err(error) => {
					used.saturating_accrue(T::WeightInfo::check_statement(carried));
					Err(error.into())
				}
			};
			if signature_check == SignatureCheck::AlreadyVerified {
				// Every weight above was measured verifying the signature.
				used.saturating_reduce(T::WeightInfo::verify_signature());
			}
			if let Err(error) = outcome {
				Self::deposit_event(Event::StatementRejected { job, executor, error });
			}
		}
		used
	}

	/// The weight of `executor`'s statement of `claim` about `job`, carrying `carried`
	/// bytes, applied: for an attested output, its benchmark for `carried` bytes of outputs;
	/// for a page of outputs, a page's, or that of the page completing the largest
	/// publication when it ended `job`'s; for a quorum commitment, the costliest
	/// commitment's; for a reveal that left `job`'s round open, the costliest such reveal's;
	/// for any other claim (a reveal that ended the round, a failure), the costliest
	/// statement.
	fn applied_weight(
		claim: Claim,
		carried: u32,
		job: haca_primitives::JobId,
		executor: &T::AccountId,
	) -> Weight {
		match claim {
			Claim::Output(_) => T::WeightInfo::attested_statement(carried),
			Claim::OutputPage { .. } => {
				Self::page_weight(!OwedPages::<T>::contains_key(executor, job))
			}
			Claim::Commitment(_) => T::WeightInfo::commitment_statement(),
			Claim::Reveal { .. } if Quorums::<T>::contains_key(job) => {
				T::WeightInfo::reveal_statement()
			}
			_ => T::WeightInfo::statement(),
		}
	}

	/// The most a batch weighs: each attested output by the bytes it carries, each page of
	/// outputs as a page plus, once per job, the completion of the largest publication, each
	/// quorum commitment as the costliest commitment, and every other statement as the
	/// costliest statement.
	pub(crate) fn batch_weight(statements: &StatementBatch<T>) -> Weight {
		let mut paged = BTreeSet::new();
		statements.iter().fold(Weight::zero(), |total, (statement, _)| {
			let weight = match statement.claim {
				Claim::Output(_) => T::WeightInfo::attested_statement(statement.carried_len()),
				Claim::OutputPage { .. } => Self::page_weight(paged.insert(statement.job)),
				Claim::Commitment(_) => T::WeightInfo::commitment_statement(),
				_ => T::WeightInfo::statement(),
			};
			total.saturating_add(weight)
		})
	}

	/// The weight of checking every statement of a batch (their pool authorization).
	pub(crate) fn check_weight(statements: &StatementBatch<T>) -> Weight {
		statements.iter().fold(Weight::zero(), |total, (statement, _)| {
			total.saturating_add(T::WeightInfo::check_statement(statement.carried_len()))
		})
	}
}
