//! Checking and applying executors' statements: signatures, assignments, phases,
//! deadlines, duplicates, outputs against the model's spec, and published output pages.

use frame_support::{ensure, pallet_prelude::*};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	statement::{self, Claim, StatementPayload, MAX_FAILURE_DETAIL},
	tensor::{decode_and_check, encoded_len},
	traits::{
		ExecutorDirectory, ExecutorRegistry, JobLedger, JobView, ModelRegistry, SettlementTerms,
	},
	InferenceSignature, VerificationMode,
};
use sp_core::H256;
use sp_runtime::{
	traits::{One, Saturating, Zero},
	RuntimeAppPublic,
};

use crate::*;

/// A job as statements about it are checked and applied.
pub(crate) type JobOf<T> =
	JobView<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

/// Whether checking a statement verifies its signature (and a proven statement's proof).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureCheck {
	/// Verify them: pool authorization, and batches a signed account submits.
	Verify,
	/// Skip them: the authorization of the same transaction verified them, on the same
	/// state.
	AlreadyVerified,
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
	fn payload_for(statement: &Statement<T>, job: &JobOf<T>) -> StatementPayload<T::AccountId> {
		StatementPayload {
			genesis_hash: Self::genesis_hash(),
			job: statement.job,
			attempt: job.attempt,
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
		job: &JobOf<T>,
	) -> Result<(), Error<T>> {
		let key = T::Executors::session_key(&statement.executor).ok_or(Error::<T>::NoSessionKey)?;
		let payload = Self::payload_for(statement, job);
		ensure!(key.verify(&payload.signing_bytes(), signature), Error::<T>::BadSignature);
		Ok(())
	}

	/// Checks a statement without changing state: job, assignment, signature (unless
	/// `signature_check` says it was verified), mode and phase, deadline, duplicates, and the
	/// outputs against the model's spec. Returns the statement's job.
	pub(crate) fn check(
		statement: &Statement<T>,
		signature: &InferenceSignature,
		signature_check: SignatureCheck,
	) -> Result<JobOf<T>, Error<T>> {
		let job = T::Jobs::job(statement.job).ok_or(Error::<T>::UnknownJob)?;
		let executor = &statement.executor;
		let checking = job.spot_checker.as_ref() == Some(executor);
		ensure!(job.executors.contains(executor) || checking, Error::<T>::NotAssigned);
		if signature_check == SignatureCheck::Verify {
			Self::verify_signature(statement, signature, &job)?;
		}
		let terms = T::Models::settlement_terms(&job.model).ok_or(Error::<T>::UnknownModel)?;
		let now = frame_system::Pallet::<T>::block_number();
		let in_time = job.deadline.is_some_and(|deadline| now <= deadline);
		let answered = if checking {
			Quorums::<T>::get(statement.job).is_some_and(|round| round.spot_check.is_some())
		} else {
			job.delivered.contains(executor)
		};

		match (statement.claim, job.mode) {
			(Claim::Output(output_hash), VerificationMode::Attested) => {
				ensure!(!answered, Error::<T>::Duplicate);
				ensure!(in_time, Error::<T>::DeadlinePassed);
				Self::check_outputs(&terms, output_hash, statement.outputs.as_ref())?;
			}
			(Claim::OutputPage { page, hash }, VerificationMode::Attested) => {
				let bytes = statement.outputs.as_ref();
				Self::check_page(statement.job, executor, page, hash, bytes, &terms.outputs)?;
			}
			(Claim::Proven { .. }, VerificationMode::Proven) => {
				ensure!(!answered, Error::<T>::Duplicate);
				ensure!(in_time, Error::<T>::DeadlinePassed);
			}
			(Claim::Failed { detail, .. }, _) => {
				ensure!(!answered, Error::<T>::Duplicate);
				ensure!(in_time, Error::<T>::DeadlinePassed);
				Self::check_failure_detail(detail, statement.outputs.as_ref())?;
			}
			(Claim::Commitment(_), VerificationMode::Quorum { .. }) => {
				ensure!(!answered, Error::<T>::Duplicate);
				ensure!(in_time, Error::<T>::DeadlinePassed);
				ensure!(statement.outputs.is_none(), Error::<T>::WrongClaim);
			}
			(Claim::Reveal { output_hash, salt }, VerificationMode::Quorum { .. }) => {
				let round = Quorums::<T>::get(statement.job).ok_or(Error::<T>::RevealNotOpen)?;
				let until = round.reveal_until.ok_or(Error::<T>::RevealNotOpen)?;
				ensure!(now <= until, Error::<T>::DeadlinePassed);
				let (commitment, revealed) = if checking {
					let check = round.spot_check.as_ref();
					(
						check.and_then(|check| check.commitment),
						check.is_some_and(|check| check.reveal.is_some()),
					)
				} else {
					let commitment = round.commits.iter().find(|(who, _)| who == executor);
					let revealed = round.reveals.iter().any(|reveal| &reveal.executor == executor);
					(commitment.map(|(_, commitment)| *commitment), revealed)
				};
				let commitment = commitment.ok_or(Error::<T>::NotCommitted)?;
				ensure!(!revealed, Error::<T>::Duplicate);
				ensure!(
					Claim::commitment(statement.job, job.attempt, executor, &output_hash, &salt)
						== commitment,
					Error::<T>::CommitmentMismatch
				);
				Self::check_outputs(&terms, output_hash, statement.outputs.as_ref())?;
			}
			_ => return Err(Error::<T>::WrongClaim),
		}
		Ok(job)
	}

	/// A failure's explanation, carried by the statement, must be there exactly when its
	/// claim names one, hash to it, fit in `MAX_FAILURE_DETAIL` bytes and be UTF-8.
	fn check_failure_detail(
		detail: Option<H256>,
		carried: Option<&OutputBytes<T>>,
	) -> Result<(), Error<T>> {
		let valid = match (detail, carried) {
			(None, None) => true,
			(Some(hash), Some(bytes)) => {
				bytes.len() <= MAX_FAILURE_DETAIL as usize
					&& sp_io::hashing::blake2_256(bytes) == hash.0
					&& core::str::from_utf8(bytes).is_ok()
			}
			_ => false,
		};
		ensure!(valid, Error::<T>::BadFailureDetail);
		Ok(())
	}

	/// Outputs, when present, must hash to `output_hash` and match the model's output
	/// spec; they may be left out only when they would not fit on chain.
	pub(crate) fn check_outputs(
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

	/// Applies a statement, signed with `signature`, that checked out against its job
	/// `checked`.
	pub(crate) fn apply(
		statement: Statement<T>,
		signature: InferenceSignature,
		checked: JobOf<T>,
	) -> DispatchResult {
		let key = T::Executors::session_key(&statement.executor).ok_or(Error::<T>::NoSessionKey)?;
		let signed = SessionSignature { key, signature };
		if checked.spot_checker.as_ref() == Some(&statement.executor) {
			return Self::apply_spot_check(statement, signed, &checked);
		}
		let statement::Statement { job, executor, claim, outputs } = statement;
		let now = frame_system::Pallet::<T>::block_number();
		match claim {
			Claim::Output(output_hash) => {
				let challenge_until = now.saturating_add(T::ChallengeWindow::get());
				Self::schedule(
					challenge_until.saturating_add(One::one()),
					job,
					Timer::ChallengeWindow,
				);
				T::Jobs::note_delivered(job, &executor);
				ModelResults::<T>::insert(checked.model, job, ());
				Results::<T>::insert(
					job,
					AttestedResult {
						executor: executor.clone(),
						output_hash,
						outputs: outputs.clone(),
						published: false,
						signed,
						status: ResultStatus::Provisional { challenge_until },
						inclusion: None,
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
					.map_err(|_| Error::<T>::QuorumFull)?;
				T::Jobs::note_delivered(job, &executor);
				Self::deposit_event(Event::Committed { job, executor: executor.clone() });
				Self::after_quorum_answer(job, &checked, &executor, round)?;
			}
			Claim::Failed { reason, .. } => {
				T::Executors::note_missed_deadline(&executor);
				Self::deposit_event(Event::ExecutionFailed {
					job,
					executor: executor.clone(),
					reason,
					detail: outputs.map(failure_detail),
				});
				if let VerificationMode::Quorum { .. } = checked.mode {
					T::Jobs::note_delivered(job, &executor);
					let round = Quorums::<T>::get(job).unwrap_or_default();
					Self::after_quorum_answer(job, &checked, &executor, round)?;
				} else {
					T::Jobs::rerun(job, &[executor]);
				}
			}
			Claim::Proven { .. } => return Err(Error::<T>::ProofRequired.into()),
			Claim::OutputPage { page, .. } => {
				let terms =
					T::Models::settlement_terms(&checked.model).ok_or(Error::<T>::UnknownModel)?;
				let pages = encoded_len(&terms.outputs).map_or(0, Self::page_count);
				let bytes = outputs.ok_or(Error::<T>::WrongPage)?;
				Self::store_page(job, page, bytes, pages);
			}
			Claim::Reveal { output_hash, salt } => {
				let mut round = Quorums::<T>::get(job).ok_or(Error::<T>::RevealNotOpen)?;
				let reveal = Reveal {
					executor: executor.clone(),
					output_hash,
					outputs: outputs.clone(),
					salt,
					signed,
				};
				round.reveals.try_push(reveal).map_err(|_| Error::<T>::QuorumFull)?;
				OwedReveals::<T>::remove(&executor, job);
				Self::deposit_event(Event::Revealed { job, executor, output_hash, outputs });
				Self::after_reveal(job, round);
			}
		}
		Ok(())
	}
}
