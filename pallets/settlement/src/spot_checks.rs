//! Spot checks: the test challenges that keep verifiers honest.
//!
//! An assignment of a quorum job may draw a verifier of the model as spot checker (the
//! jobs pallet, with `SpotCheckChance`). The checker runs the job and commits to its output
//! like an executor: its commitment binds the job, the attempt, the checker and a salt, and
//! the reveal phase opens only once it answered (or at the deadline), so it can neither
//! copy the executors' outputs nor wait for them. Its answer does not count towards the
//! quorum; it only decides the checker's bond: when the executors agree, a checker whose
//! reveal agrees with them passes and shares the slashes of the round's dissenting or
//! silent executors (`CommitteeRewardShare`), and one that revealed something else,
//! reported a failure or stayed silent loses `VoterSlash`. A verifier that does not run
//! the models it audits is thus caught at the rate it is drawn. Without agreement nothing
//! shows what the checker should have found, and it is not judged.

use alloc::vec::Vec;
use frame_support::pallet_prelude::*;
use haca_primitives::{
	statement::{self, Claim},
	tensor::Tensor,
	traits::{ExecutorAccountability, JobLedger},
	JobId,
};
use sp_core::H256;

use crate::{
	quorum::{decoded_outputs, outputs_agree},
	statements::JobOf,
	*,
};

impl<T: Config> Pallet<T> {
	/// Applies a statement by `checked`'s spot checker, checked against `checked`: a
	/// commitment or a failure (its answer), or the reveal of its commitment.
	pub(crate) fn apply_spot_check(
		statement: Statement<T>,
		signed: SessionSignature,
		checked: &JobOf<T>,
	) -> DispatchResult {
		let statement::Statement { job, executor: checker, claim, outputs } = statement;
		let mut round = Quorums::<T>::get(job).unwrap_or_default();
		match claim {
			Claim::Commitment(commitment) => {
				Self::deposit_event(Event::SpotCheckCommitted { job, checker: checker.clone() });
				Self::note_spot_check_answer(job, checked, checker, Some(commitment), round);
			}
			Claim::Failed { reason, .. } => {
				Self::deposit_event(Event::ExecutionFailed {
					job,
					executor: checker.clone(),
					reason,
					detail: outputs.map(failure_detail),
				});
				Self::note_spot_check_answer(job, checked, checker, None, round);
			}
			Claim::Reveal { output_hash, salt } => {
				let check = round.spot_check.as_mut().ok_or(Error::<T>::NotCommitted)?;
				let executor = checker.clone();
				check.reveal = Some(Reveal { executor, output_hash, outputs, salt, signed });
				OwedReveals::<T>::remove(&checker, job);
				Self::deposit_event(Event::SpotCheckRevealed { job, checker, output_hash });
				Self::after_reveal(job, round);
			}
			Claim::Output(_) | Claim::OutputPage { .. } | Claim::Proven { .. } => {
				return Err(Error::<T>::WrongClaim.into())
			}
		}
		Ok(())
	}

	/// Records the spot checker's answer to `job`'s `round` (its commitment, or `None` for
	/// a failure); the reveal phase opens if every executor answered already.
	fn note_spot_check_answer(
		job: JobId,
		checked: &JobOf<T>,
		checker: T::AccountId,
		commitment: Option<H256>,
		mut round: QuorumRound<T>,
	) {
		T::Jobs::note_delivered(job, &checker);
		round.spot_check = Some(SpotCheck { checker, commitment, reveal: None });
		if Self::ready_to_reveal(checked, checked.delivered.len(), &round) {
			Self::open_reveal(job, &mut round);
		}
		Quorums::<T>::insert(job, round);
	}

	/// Judges the spot check of `job` (seen as `view`) at the tally of its `round`, against
	/// the agreed reveal (with its decoded outputs), if the executors agreed. Returns the
	/// checker if it passed.
	pub(crate) fn judge_spot_check(
		job: JobId,
		view: &JobOf<T>,
		round: &QuorumRound<T>,
		agreed: Option<(&Reveal<T>, &Option<Vec<Tensor>>)>,
		tolerance_ulps: u32,
	) -> Option<T::AccountId> {
		let checker = view.spot_checker.clone()?;
		let (agreed, agreed_outputs) = agreed?;
		let reveal = round.spot_check.as_ref().and_then(|check| check.reveal.as_ref());
		let passed = reveal.is_some_and(|reveal| {
			outputs_agree(reveal, &decoded_outputs(reveal), agreed, agreed_outputs, tolerance_ulps)
		});
		if passed {
			Self::deposit_event(Event::SpotCheckPassed { job, checker: checker.clone() });
			Some(checker)
		} else {
			let slashed = T::Executors::slash(&checker, T::VoterSlash::get(), &[]);
			Self::deposit_event(Event::SpotCheckFailed { job, checker, slashed });
			None
		}
	}
}
