//! Transaction-pool authorization of the calls that need no fee payer: executors'
//! statement batches and verifiers' verdicts.

use frame_support::{
	ensure,
	pallet_prelude::*,
	storage::{with_transaction, TransactionOutcome},
};
use haca_primitives::{
	statement::{Claim, VerdictKind, VerdictPayload},
	traits::{ExecutorDirectory, JobLedger},
	InferenceSignature,
};
use sp_runtime::{
	transaction_validity::{
		InvalidTransaction, TransactionSource, TransactionValidityWithRefund, ValidTransaction,
	},
	RuntimeAppPublic,
};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Transaction-pool validity of an unsigned batch: every statement must check out. A
	/// batch provides one tag per statement: its job, attempt, executor and kind of claim.
	pub(crate) fn authorize_statements(
		_source: TransactionSource,
		statements: &StatementBatch<T>,
	) -> TransactionValidityWithRefund {
		ensure!(!statements.is_empty(), InvalidTransaction::Call);
		let mut validity = ValidTransaction::with_tag_prefix("HacaStatements")
			.priority(TransactionPriority::MAX / 2)
			.longevity(64)
			.propagate(true);
		for (statement, signature) in statements {
			let job =
				Self::check(statement, signature, SignatureCheck::Verify).map_err(|error| {
					match error {
						Error::<T>::BadSignature => InvalidTransaction::BadProof,
						Error::<T>::DeadlinePassed => InvalidTransaction::Stale,
						_ => InvalidTransaction::Call,
					}
				})?;
			let kind = match statement.claim {
				Claim::Output(_) => 0u8,
				Claim::Commitment(_) => 1,
				Claim::Reveal { .. } => 2,
				Claim::Failed(_) => 3,
			};
			validity =
				validity.and_provides((statement.job, job.attempt, &statement.executor, kind));
		}
		Ok((validity.into(), Weight::zero()))
	}

	/// What the verifier's session key must sign for `verdict`, if its job is open.
	pub fn verdict_payload(verdict: &Verdict<T>) -> Option<VerdictPayload<T::AccountId>> {
		let job = T::Jobs::job(verdict.job)?;
		Some(VerdictPayload {
			genesis_hash: Self::genesis_hash(),
			job: verdict.job,
			attempt: job.attempt,
			model: job.model,
			input_hash: job.input_hash,
			verifier: verdict.verifier.clone(),
			kind: verdict.kind,
			output_hash: verdict.output_hash,
		})
	}

	/// Carries out a verdict as the verifier's `challenge` or `vote`.
	pub(crate) fn apply_verdict(verdict: Verdict<T>) -> DispatchResult {
		match verdict.kind {
			VerdictKind::Challenge => {
				Self::do_challenge(verdict.verifier, verdict.job, verdict.output_hash)
			}
			VerdictKind::Vote => Self::do_vote(verdict.verifier, verdict.job, verdict.output_hash),
		}
	}

	/// Transaction-pool validity of a verdict: signed by the verifier's session key, and
	/// succeeding when tried on state that is thrown away.
	pub(crate) fn authorize_verdict(
		_source: TransactionSource,
		verdict: &Verdict<T>,
		signature: &InferenceSignature,
	) -> TransactionValidityWithRefund {
		let payload = Self::verdict_payload(verdict).ok_or(InvalidTransaction::Stale)?;
		let key =
			T::Executors::session_key(&verdict.verifier).ok_or(InvalidTransaction::BadSigner)?;
		ensure!(key.verify(&payload.signing_bytes(), signature), InvalidTransaction::BadProof);
		with_transaction(|| TransactionOutcome::Rollback(Self::apply_verdict(verdict.clone())))
			.map_err(|_| InvalidTransaction::Call)?;
		let validity = ValidTransaction::with_tag_prefix("HacaVerdicts")
			.priority(TransactionPriority::MAX / 2)
			.longevity(64)
			.and_provides((verdict.job, &verdict.verifier, verdict.kind))
			.propagate(true)
			.build()?;
		Ok((validity, Weight::zero()))
	}
}
