//! The settlement pallet's logic, behind the calls in `lib.rs`.

use alloc::{collections::BTreeSet, vec, vec::Vec};
use codec::Encode;
use frame_support::{
	ensure,
	pallet_prelude::*,
	storage::{with_storage_layer, with_transaction, TransactionOutcome},
	traits::{
		fungible::MutateHold,
		tokens::{Fortitude, Precision, Restriction},
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	runtime_api::{Due, JobPhase, JobReport, WorkItem},
	statement::{Claim, StatementPayload, VerdictKind, VerdictPayload},
	tensor::{decode_and_check, decode_tensors, encoded_len, tensors_agree, Tensor},
	traits::{
		ExecutorAccountability, ExecutorDirectory, ExecutorRegistry, JobLedger, JobView,
		ModelRegistry, OnPartialDelivery, SettlementTerms,
	},
	InferenceSignature, JobId, VerificationMode,
};
use sp_core::H256;
use sp_runtime::{
	traits::{One, Saturating, Zero},
	transaction_validity::{
		InvalidTransaction, TransactionSource, TransactionValidityWithRefund, ValidTransaction,
	},
	RuntimeAppPublic,
};

use crate::*;

/// How many blocks past its due block a phase end may slip when that block is full.
pub const MAX_TIMER_SLIP: u32 = 16;

/// Whether checking a statement verifies its signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signatures {
	/// Verify it: pool authorization, and batches a signed account submits.
	Verify,
	/// Leave it: the authorization of the same transaction verified it, on the same state.
	Authorized,
}

/// What checking a statement found out, for applying it.
pub(crate) struct Checked<T: Config> {
	job: JobView<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>,
}

impl<T: Config> Pallet<T> {
	/// The chain's genesis hash, as statements sign it.
	pub fn genesis_hash() -> H256 {
		let hash = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
		H256::from_slice(hash.as_ref())
	}

	/// What the executor's session key must sign for `statement`, if its job is open.
	pub fn signing_payload(statement: &Statement<T>) -> Option<StatementPayload<T::AccountId>> {
		T::Jobs::job(statement.job).map(|job| Self::payload_for(statement, &job))
	}

	/// What the session key signs for `statement` about `job`.
	fn payload_for(
		statement: &Statement<T>,
		job: &JobView<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>,
	) -> StatementPayload<T::AccountId> {
		StatementPayload {
			genesis_hash: Self::genesis_hash(),
			job: statement.job,
			model: job.model,
			input_hash: job.input_hash,
			executor: statement.executor.clone(),
			claim: statement.claim,
		}
	}

	/// Verifies the executor's session-key signature of `statement` about `job`.
	pub(crate) fn verify_signature(
		statement: &Statement<T>,
		signature: &InferenceSignature,
		job: &JobView<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>,
	) -> Result<(), Error<T>> {
		let key = T::Executors::session_key(&statement.executor).ok_or(Error::<T>::NotAssigned)?;
		let payload = Self::payload_for(statement, job);
		ensure!(key.verify(&payload.signing_bytes(), signature), Error::<T>::BadSignature);
		Ok(())
	}

	/// Checks a statement without changing state: job, assignment, signature (unless
	/// `signatures` says it was verified), mode and phase, deadline, duplicates, and the
	/// outputs against the model's spec.
	pub(crate) fn check(
		statement: &Statement<T>,
		signature: &InferenceSignature,
		signatures: Signatures,
	) -> Result<Checked<T>, Error<T>> {
		let job = T::Jobs::job(statement.job).ok_or(Error::<T>::UnknownJob)?;
		let executor = &statement.executor;
		ensure!(job.executors.contains(executor), Error::<T>::NotAssigned);
		if signatures == Signatures::Verify {
			Self::verify_signature(statement, signature, &job)?;
		}
		let terms = T::Models::settlement_terms(&job.model).ok_or(Error::<T>::UnknownJob)?;
		let now = frame_system::Pallet::<T>::block_number();
		let in_time = job.deadline.is_some_and(|deadline| now <= deadline);

		match (statement.claim, job.mode) {
			(Claim::Output(output_hash), VerificationMode::Attested) => {
				ensure!(!job.delivered.contains(executor), Error::<T>::Duplicate);
				ensure!(in_time, Error::<T>::DeadlinePassed);
				Self::check_outputs(&terms, output_hash, statement.outputs.as_ref())?;
			}
			(Claim::Failed(_), _) => {
				ensure!(!job.delivered.contains(executor), Error::<T>::Duplicate);
				ensure!(in_time, Error::<T>::DeadlinePassed);
				ensure!(statement.outputs.is_none(), Error::<T>::WrongClaim);
			}
			(Claim::Commitment(_), VerificationMode::Quorum { .. }) => {
				ensure!(!job.delivered.contains(executor), Error::<T>::Duplicate);
				ensure!(in_time, Error::<T>::DeadlinePassed);
				ensure!(statement.outputs.is_none(), Error::<T>::WrongClaim);
			}
			(Claim::Reveal { output_hash, salt }, VerificationMode::Quorum { .. }) => {
				let round = Quorums::<T>::get(statement.job).ok_or(Error::<T>::RevealNotOpen)?;
				let until = round.reveal_until.ok_or(Error::<T>::RevealNotOpen)?;
				ensure!(now <= until, Error::<T>::DeadlinePassed);
				let commitment = round
					.commits
					.iter()
					.find(|(who, _)| who == executor)
					.map(|(_, commitment)| *commitment)
					.ok_or(Error::<T>::NotAssigned)?;
				ensure!(
					!round.reveals.iter().any(|reveal| &reveal.executor == executor),
					Error::<T>::Duplicate
				);
				ensure!(
					Claim::commitment(&output_hash, &salt) == commitment,
					Error::<T>::CommitmentMismatch
				);
				Self::check_outputs(&terms, output_hash, statement.outputs.as_ref())?;
			}
			_ => return Err(Error::<T>::WrongClaim),
		}
		Ok(Checked { job })
	}

	/// Outputs, when present, must hash to `output_hash` and match the model's output
	/// spec; they may be left out only when they would not fit on chain.
	fn check_outputs(
		terms: &SettlementTerms<T::AccountId, BalanceOf<T>>,
		output_hash: H256,
		outputs: Option<&OutputBytes<T>>,
	) -> Result<(), Error<T>> {
		match outputs {
			Some(bytes) => {
				ensure!(
					sp_io::hashing::blake2_256(bytes) == output_hash.0,
					Error::<T>::OutputHashMismatch
				);
				decode_and_check(bytes, &terms.outputs)
					.map_err(|_| Error::<T>::OutputSpecMismatch)?;
			}
			None => ensure!(
				encoded_len(&terms.outputs).is_none_or(|len| len > T::MaxOutputLen::get() as usize),
				Error::<T>::OutputsRequired
			),
		}
		Ok(())
	}

	/// Applies a checked statement. Returns how many full blocks an attested result's
	/// challenge window timer slipped past (0 for other claims).
	fn apply(statement: Statement<T>, checked: Checked<T>) -> Result<u32, DispatchError> {
		let Statement { job, executor, claim, outputs } = statement;
		let now = frame_system::Pallet::<T>::block_number();
		let mut slipped = 0;
		match claim {
			Claim::Output(output_hash) => {
				let challenge_until = now.saturating_add(T::ChallengeWindow::get());
				slipped = Self::schedule(
					challenge_until.saturating_add(One::one()),
					job,
					Timer::ChallengeWindow,
				)?;
				T::Jobs::note_delivered(job, &executor);
				Results::<T>::insert(
					job,
					AttestedResult {
						executor: executor.clone(),
						output_hash,
						outputs: outputs.clone(),
						status: ResultStatus::Provisional { challenge_until },
					},
				);
				Self::deposit_event(Event::ResultSubmitted {
					job,
					executor,
					output_hash,
					outputs,
					challenge_until,
				});
			}
			Claim::Commitment(commitment) => {
				let mut round = Quorums::<T>::get(job).unwrap_or_default();
				round
					.commits
					.try_push((executor.clone(), commitment))
					.map_err(|_| Error::<T>::Duplicate)?;
				T::Jobs::note_delivered(job, &executor);
				Self::deposit_event(Event::Committed { job, executor });
				if round.commits.len() == checked.job.executors.len() {
					Self::open_reveal(job, &mut round)?;
				}
				Quorums::<T>::insert(job, round);
			}
			Claim::Failed(reason) => {
				Quorums::<T>::remove(job);
				Self::deposit_event(Event::ExecutionFailed {
					job,
					executor: executor.clone(),
					reason,
				});
				T::Jobs::rerun(job, &[executor]);
			}
			Claim::Reveal { output_hash, .. } => {
				let mut round = Quorums::<T>::get(job).ok_or(Error::<T>::RevealNotOpen)?;
				round
					.reveals
					.try_push(Reveal { executor: executor.clone(), output_hash, outputs })
					.map_err(|_| Error::<T>::Duplicate)?;
				Self::deposit_event(Event::Revealed { job, executor, output_hash });
				if round.reveals.len() == round.commits.len() {
					Self::tally(job, round);
				} else {
					Quorums::<T>::insert(job, round);
				}
			}
		}
		Ok(slipped)
	}

	/// Processes a batch item by item, each in its own storage layer; a failing item is
	/// reported with `StatementRejected` and leaves no trace. Returns the weight used: a
	/// statement that fails its checks weighs a check of its outputs, any other
	/// [`Self::applied_weight`], less the writes an earlier attested result of the batch
	/// already made to the same keys (its executor's load, its timer block) and, when the
	/// batch's authorization verified the signatures, less their verification.
	pub(crate) fn process_batch(statements: StatementBatch<T>, signatures: Signatures) -> Weight {
		let mut used = Weight::zero();
		let (mut loads_written, mut timer_blocks_written) = (BTreeSet::new(), BTreeSet::new());
		for (statement, signature) in statements {
			let (job, executor) = (statement.job, statement.executor.clone());
			let attested = matches!(statement.claim, Claim::Output(_));
			let carried = statement.carried_len();
			let outcome = match Self::check(&statement, &signature, signatures) {
				Ok(checked) => {
					let applied = with_storage_layer(|| Self::apply(statement, checked));
					let slipped = applied.as_ref().ok().copied();
					used.saturating_accrue(Self::applied_weight(attested, carried, slipped));
					if let Some(slipped) = slipped.filter(|_| attested) {
						let repeated = u64::from(!loads_written.insert(executor.clone()))
							+ u64::from(!timer_blocks_written.insert(slipped));
						used = used.saturating_sub(T::DbWeight::get().writes(repeated));
					}
					applied.map(|_| ())
				}
				Err(error) => {
					used.saturating_accrue(T::WeightInfo::check_statement(carried));
					Err(error.into())
				}
			};
			if signatures == Signatures::Authorized {
				// Every weight above was measured verifying the signature.
				used.saturating_reduce(T::WeightInfo::verify_signature());
			}
			if let Err(error) = outcome {
				Self::deposit_event(Event::StatementRejected { job, executor, error });
			}
		}
		used
	}

	/// The weight of a statement that passed its checks: for an attested output, its
	/// benchmark for `carried` bytes of outputs and the full timer blocks it slipped past
	/// (`slipped` is `None` if applying it failed: charged as the most); for any other claim,
	/// the costliest statement.
	fn applied_weight(attested: bool, carried: u32, slipped: Option<u32>) -> Weight {
		if !attested {
			return T::WeightInfo::statement();
		}
		T::WeightInfo::attested_statement(carried, slipped.unwrap_or(MAX_TIMER_SLIP - 1))
	}

	/// The weight of checking every statement of a batch (their pool authorization).
	pub(crate) fn check_weight(statements: &StatementBatch<T>) -> Weight {
		statements.iter().fold(Weight::zero(), |total, (statement, _)| {
			total.saturating_add(T::WeightInfo::check_statement(statement.carried_len()))
		})
	}

	/// Transaction-pool validity of an unsigned batch: every statement must check out.
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
			Self::check(statement, signature, Signatures::Verify).map_err(|error| match error {
				Error::<T>::BadSignature => InvalidTransaction::BadProof,
				Error::<T>::DeadlinePassed => InvalidTransaction::Stale,
				_ => InvalidTransaction::Call,
			})?;
			let kind = match statement.claim {
				Claim::Output(_) => 0u8,
				Claim::Commitment(_) => 1,
				Claim::Reveal { .. } => 2,
				Claim::Failed(_) => 3,
			};
			validity = validity.and_provides((statement.job, &statement.executor, kind));
		}
		Ok((validity.into(), Weight::zero()))
	}

	/// What the verifier's session key must sign for `verdict`, if its job is open.
	pub fn verdict_payload(verdict: &Verdict<T>) -> Option<VerdictPayload<T::AccountId>> {
		let job = T::Jobs::job(verdict.job)?;
		Some(VerdictPayload {
			genesis_hash: Self::genesis_hash(),
			job: verdict.job,
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

	/// Schedules `timer` for `job` at block `at`, or the first block after it with room.
	/// Returns how many full blocks it slipped past.
	fn schedule(at: BlockNumberFor<T>, job: JobId, timer: Timer) -> Result<u32, DispatchError> {
		let mut block = at;
		for slipped in 0..MAX_TIMER_SLIP {
			if Timers::<T>::try_append(block, (job, timer)).is_ok() {
				return Ok(slipped);
			}
			block = block.saturating_add(One::one());
		}
		Err(Error::<T>::SchedulerFull.into())
	}

	/// Runs the phase ends due in block `now`. Returns the weight used.
	pub(crate) fn process_timers(now: BlockNumberFor<T>) -> Weight {
		let timers = Timers::<T>::take(now);
		for (job, timer) in &timers {
			match timer {
				Timer::ChallengeWindow => {
					let provisional = Results::<T>::get(job).is_some_and(|result| {
						matches!(result.status, ResultStatus::Provisional { .. })
					});
					if provisional {
						Self::settle_attested(*job);
					}
				}
				Timer::RevealPhase => {
					if let Some(round) = Quorums::<T>::get(job) {
						if round.reveal_until.is_some_and(|until| until < now) {
							Self::tally(*job, round);
						}
					}
				}
				Timer::Dispute => {
					if Disputes::<T>::get(job).is_some_and(|dispute| dispute.until < now) {
						Self::time_out_dispute(*job);
					}
				}
			}
		}
		T::WeightInfo::process_timers(timers.len() as u32)
	}

	/// Opens the reveal phase of a quorum round.
	fn open_reveal(job: JobId, round: &mut QuorumRound<T>) -> DispatchResult {
		let until =
			frame_system::Pallet::<T>::block_number().saturating_add(T::RevealWindow::get());
		Self::schedule(until.saturating_add(One::one()), job, Timer::RevealPhase)?;
		round.reveal_until = Some(until);
		Self::deposit_event(Event::RevealOpened { job, until });
		Ok(())
	}

	/// The payouts for runs by `executors` on a model with `terms`: each run pays its
	/// executor the fee less the owner's share; the owner gets its shares in one payout.
	fn payouts(
		terms: &SettlementTerms<T::AccountId, BalanceOf<T>>,
		executors: &[T::AccountId],
	) -> Vec<(T::AccountId, BalanceOf<T>)> {
		let owner_cut = T::OwnerShare::get() * terms.fee;
		let executor_cut = terms.fee.saturating_sub(owner_cut);
		let mut payouts: Vec<_> = executors.iter().map(|who| (who.clone(), executor_cut)).collect();
		payouts
			.push((terms.owner.clone(), owner_cut.saturating_mul((executors.len() as u32).into())));
		payouts.retain(|(_, amount)| !amount.is_zero());
		payouts
	}

	/// Pays for `executors`' runs of `job` and ends it.
	fn pay(
		job: JobId,
		model: &haca_primitives::ModelHash,
		executors: &[T::AccountId],
		output_hash: H256,
	) {
		let Some(terms) = T::Models::settlement_terms(model) else { return };
		if T::Jobs::settle(job, &Self::payouts(&terms, executors)).is_ok() {
			executors.iter().for_each(T::Executors::note_settled);
			Self::deposit_event(Event::Settled {
				job,
				output_hash,
				executors: BoundedVec::truncate_from(executors.to_vec()),
			});
		}
	}

	/// Settles an attested result whose challenge window closed (or whose challenge failed).
	fn settle_attested(job: JobId) {
		let Some(result) = Results::<T>::take(job) else { return };
		let Some(view) = T::Jobs::job(job) else { return };
		Self::pay(job, &view.model, &[result.executor], result.output_hash);
	}

	/// Draws up to `CommitteeSize` verifiers, excluding `parties`, deterministically from
	/// the parent block hash and the job id.
	fn draw_committee(
		job: JobId,
		parties: &[T::AccountId],
	) -> BoundedVec<T::AccountId, T::CommitteeSize> {
		let pool: Vec<_> =
			T::Executors::verifiers().into_iter().filter(|who| !parties.contains(who)).collect();
		let size = pool.len().min(T::CommitteeSize::get() as usize);
		if size == 0 {
			return Default::default();
		}
		let seed = sp_io::hashing::blake2_256(
			&(b"committee", frame_system::Pallet::<T>::parent_hash(), job).encode(),
		);
		let mut first = [0u8; 8];
		first.copy_from_slice(&seed[..8]);
		let start = (u64::from_le_bytes(first) % pool.len() as u64) as usize;
		BoundedVec::truncate_from(pool.iter().cycle().skip(start).take(size).cloned().collect())
	}

	pub(crate) fn do_challenge(who: T::AccountId, job: JobId, output_hash: H256) -> DispatchResult {
		ensure!(T::Executors::verifiers().contains(&who), Error::<T>::NotVerifier);
		let mut result = Results::<T>::get(job).ok_or(Error::<T>::NotChallengeable)?;
		let ResultStatus::Provisional { challenge_until } = result.status else {
			return Err(Error::<T>::NotChallengeable.into());
		};
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now <= challenge_until, Error::<T>::NotChallengeable);
		ensure!(who != result.executor, Error::<T>::OwnResult);
		ensure!(output_hash != result.output_hash, Error::<T>::SameOutput);
		let committee = Self::draw_committee(job, &[result.executor.clone(), who.clone()]);
		ensure!(!committee.is_empty(), Error::<T>::NoCommittee);
		T::Currency::hold(&HoldReason::ChallengeBond.into(), &who, T::ChallengeBond::get())
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		let until = now.saturating_add(T::DisputeWindow::get());
		Self::schedule(until.saturating_add(One::one()), job, Timer::Dispute)?;

		T::Executors::begin_dispute(&result.executor);
		T::Executors::begin_dispute(&who);
		result.status = ResultStatus::Disputed;
		Results::<T>::insert(job, result);
		Disputes::<T>::insert(
			job,
			Dispute {
				challenger: who.clone(),
				challenger_hash: output_hash,
				committee: committee.clone(),
				votes: Default::default(),
				until,
			},
		);
		Self::deposit_event(Event::Challenged { job, challenger: who, output_hash, committee });
		Ok(())
	}

	pub(crate) fn do_vote(who: T::AccountId, job: JobId, output_hash: H256) -> DispatchResult {
		let mut dispute = Disputes::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
		ensure!(dispute.committee.contains(&who), Error::<T>::NotOnCommittee);
		ensure!(
			frame_system::Pallet::<T>::block_number() <= dispute.until,
			Error::<T>::DeadlinePassed
		);
		ensure!(!dispute.votes.iter().any(|(voter, _)| voter == &who), Error::<T>::AlreadyVoted);
		dispute.votes.try_push((who.clone(), output_hash)).map_err(|_| Error::<T>::AlreadyVoted)?;
		Self::deposit_event(Event::Voted { job, voter: who, output_hash });

		let support = dispute.votes.iter().filter(|(_, hash)| *hash == output_hash).count();
		if support * 2 > dispute.committee.len() {
			Self::resolve(job, dispute, output_hash);
		} else {
			Disputes::<T>::insert(job, dispute);
		}
		Ok(())
	}

	/// Ends a dispute that the committee decided for `majority_hash`.
	fn resolve(job: JobId, dispute: Dispute<T>, majority_hash: H256) {
		Disputes::<T>::remove(job);
		let Some(result) = Results::<T>::get(job) else { return };
		T::Executors::end_dispute(&result.executor);
		T::Executors::end_dispute(&dispute.challenger);
		let bond_reason = HoldReason::ChallengeBond.into();
		let executor_was_right = majority_hash == result.output_hash;
		Self::deposit_event(Event::DisputeResolved { job, executor_was_right });
		if executor_was_right {
			// The challenger pays for the false alarm: part to the executor, the rest burnt.
			let bond = T::ChallengeBond::get();
			let reward = T::SlashRewardShare::get() * bond;
			let rewarded = T::Currency::transfer_on_hold(
				&bond_reason,
				&dispute.challenger,
				&result.executor,
				reward,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			)
			.unwrap_or_else(|_| Zero::zero());
			let _ = T::Currency::burn_held(
				&bond_reason,
				&dispute.challenger,
				bond.saturating_sub(rewarded),
				Precision::BestEffort,
				Fortitude::Force,
			);
			Self::settle_attested(job);
		} else {
			let _ = T::Currency::release(
				&bond_reason,
				&dispute.challenger,
				T::ChallengeBond::get(),
				Precision::BestEffort,
			);
			T::Executors::slash(
				&result.executor,
				T::ExecutorSlash::get(),
				&dispute.challenger,
				T::SlashRewardShare::get(),
			);
			Results::<T>::remove(job);
			T::Jobs::rerun(job, &[result.executor]);
		}
	}

	/// A dispute reached no majority in time: bond back, job re-run.
	fn time_out_dispute(job: JobId) {
		let Some(dispute) = Disputes::<T>::take(job) else { return };
		let _ = T::Currency::release(
			&HoldReason::ChallengeBond.into(),
			&dispute.challenger,
			T::ChallengeBond::get(),
			Precision::BestEffort,
		);
		T::Executors::end_dispute(&dispute.challenger);
		if let Some(result) = Results::<T>::take(job) {
			T::Executors::end_dispute(&result.executor);
			T::Jobs::rerun(job, &[result.executor]);
		}
		Self::deposit_event(Event::DisputeTimedOut { job });
	}

	/// Decides a quorum round from its reveals: the largest group of agreeing reveals
	/// settles the job if it has `agree` members; dissenters and executors that committed
	/// but never revealed are slashed. Without agreement the job is re-run.
	fn tally(job: JobId, round: QuorumRound<T>) {
		Quorums::<T>::remove(job);
		let Some(view) = T::Jobs::job(job) else { return };
		let VerificationMode::Quorum { agree, .. } = view.mode else { return };
		let Some(terms) = T::Models::settlement_terms(&view.model) else { return };

		let decoded: Vec<Option<Vec<Tensor>>> = round
			.reveals
			.iter()
			.map(|reveal| reveal.outputs.as_ref().and_then(|bytes| decode_tensors(bytes).ok()))
			.collect();
		let agrees = |a: usize, b: usize| match (&decoded[a], &decoded[b]) {
			(Some(x), Some(y)) => tensors_agree(x, y, terms.tolerance_ulps),
			_ => round.reveals[a].output_hash == round.reveals[b].output_hash,
		};
		let mut groups: Vec<Vec<usize>> = Vec::new();
		for index in 0..round.reveals.len() {
			match groups.iter_mut().find(|group| agrees(group[0], index)) {
				Some(group) => group.push(index),
				None => groups.push(vec![index]),
			}
		}
		let best = groups.iter().fold(Vec::new(), |best: Vec<usize>, group| {
			if group.len() > best.len() {
				group.clone()
			} else {
				best
			}
		});

		let slash = |who: &T::AccountId| {
			T::Executors::slash(
				who,
				T::ExecutorSlash::get(),
				&view.client,
				T::SlashRewardShare::get(),
			);
		};
		for (silent, _) in round
			.commits
			.iter()
			.filter(|(who, _)| !round.reveals.iter().any(|reveal| &reveal.executor == who))
		{
			T::Executors::note_missed_deadline(silent);
			slash(silent);
		}

		if best.len() >= usize::from(agree) {
			for (index, reveal) in round.reveals.iter().enumerate() {
				if !best.contains(&index) {
					slash(&reveal.executor);
				}
			}
			let winners: Vec<_> =
				best.iter().map(|index| round.reveals[*index].executor.clone()).collect();
			Self::pay(job, &view.model, &winners, round.reveals[best[0]].output_hash);
		} else {
			Self::deposit_event(Event::QuorumFailed { job });
			let participants: Vec<_> = round.commits.iter().map(|(who, _)| who.clone()).collect();
			T::Jobs::rerun(job, &participants);
		}
	}

	/// A job that has not ended, with its phase and provisional result (runtime API).
	pub fn report(id: JobId) -> Option<JobReport<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
		let job = T::Jobs::job(id)?;
		let result = Results::<T>::get(id);
		let reveal_until = Quorums::<T>::get(id).and_then(|round| round.reveal_until);
		let phase = match (&result, reveal_until, job.deadline) {
			(Some(result), _, _) => match result.status {
				ResultStatus::Provisional { challenge_until } => {
					JobPhase::Provisional { challenge_until }
				}
				ResultStatus::Disputed => JobPhase::Disputed,
			},
			(None, Some(until), _) => JobPhase::Revealing { until },
			(None, None, Some(deadline)) => JobPhase::Running { deadline },
			(None, None, None) => JobPhase::Waiting,
		};
		Some(JobReport {
			client: job.client,
			model: job.model,
			input_hash: job.input_hash,
			mode: job.mode,
			max_fee: job.max_fee,
			executors: job.executors,
			phase,
			output_hash: result.as_ref().map(|result| result.output_hash),
			outputs: result.and_then(|result| result.outputs).map(|bytes| bytes.into_inner()),
		})
	}

	/// The statements `who` owes: results and commitments of its assignments, and reveals
	/// of quorums it committed to (runtime API).
	pub fn pending_work(who: &T::AccountId) -> Vec<WorkItem> {
		let item = |job: JobId, due: Due| {
			T::Jobs::job(job).map(|view| WorkItem {
				job,
				model: view.model,
				input_hash: view.input_hash,
				due,
			})
		};
		let assigned = T::Jobs::undelivered_jobs(who).into_iter().filter_map(|job| {
			let due = match T::Jobs::job(job)?.mode {
				VerificationMode::Attested => Due::Output,
				VerificationMode::Quorum { .. } => Due::Commitment,
			};
			item(job, due)
		});
		let reveals = Quorums::<T>::iter()
			.filter(|(_, round)| {
				round.reveal_until.is_some()
					&& round.commits.iter().any(|(committer, _)| committer == who)
					&& !round.reveals.iter().any(|reveal| &reveal.executor == who)
			})
			.filter_map(|(job, _)| item(job, Due::Reveal));
		assigned.chain(reveals).collect()
	}

	/// Open disputes and their committees (runtime API).
	pub fn open_disputes() -> Vec<(JobId, Vec<T::AccountId>)> {
		Disputes::<T>::iter().map(|(job, dispute)| (job, dispute.committee.into_inner())).collect()
	}

	/// Invariants: every attested result belongs to an open job its executor delivered;
	/// disputes and disputed results match one to one; each challenger's held bonds equal
	/// `ChallengeBond` per open dispute of theirs.
	#[cfg(any(feature = "try-runtime", feature = "std"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::traits::fungible::InspectHold;
		for (job, result) in Results::<T>::iter() {
			let view = T::Jobs::job(job).ok_or("result of an ended job")?;
			ensure!(view.delivered.contains(&result.executor), "result from a non-deliverer");
			ensure!(
				(result.status == ResultStatus::Disputed) == Disputes::<T>::contains_key(job),
				"disputed results and disputes differ"
			);
		}
		let mut bonds = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		for (job, dispute) in Disputes::<T>::iter() {
			ensure!(Results::<T>::contains_key(job), "dispute without a result");
			let total = bonds.entry(dispute.challenger).or_insert_with(Zero::zero);
			*total = total.saturating_add(T::ChallengeBond::get());
		}
		for (challenger, total) in bonds {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ChallengeBond.into(), &challenger)
					== total,
				"held challenge bonds differ from the open disputes"
			);
		}
		Ok(())
	}
}

impl<T: Config> OnPartialDelivery<T::AccountId> for Pallet<T> {
	fn on_partial_delivery(
		id: JobId,
		_delivered: &[T::AccountId],
		_missed: &[T::AccountId],
	) -> bool {
		let Some(mut round) = Quorums::<T>::get(id) else { return false };
		let enough = match T::Jobs::job(id).map(|job| job.mode) {
			Some(VerificationMode::Quorum { agree, .. }) => {
				round.commits.len() >= usize::from(agree)
			}
			_ => false,
		};
		if enough && round.reveal_until.is_none() && Self::open_reveal(id, &mut round).is_ok() {
			Quorums::<T>::insert(id, round);
			return true;
		}
		Quorums::<T>::remove(id);
		false
	}
}
