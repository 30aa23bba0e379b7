//! What the runtime API answers from this pallet: job reports, executors' pending work,
//! open disputes.

use alloc::vec::Vec;
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	runtime_api::{Due, JobPhase, JobReport, WorkItem},
	traits::JobLedger,
	JobId, VerificationMode,
};

use crate::*;

impl<T: Config> Pallet<T> {
	/// A job that has not ended, with its phase and provisional result (runtime API).
	pub fn report(id: JobId) -> Option<JobReport<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
		let job = T::Jobs::job(id)?;
		let result = Self::attested(id);
		let reveal_until = Quorums::<T>::get(id).and_then(|round| round.reveal_until);
		let phase = match (&result, reveal_until, job.deadline) {
			(Some(result), _, _) => match result.status {
				ResultStatus::Provisional { challenge_until } => {
					JobPhase::Provisional { challenge_until }
				}
				ResultStatus::Publishing { publish_until, .. } => {
					JobPhase::Publishing { until: publish_until }
				}
				ResultStatus::Disputed => match Games::<T>::get(id).map(|game| game.phase) {
					Some(GamePhase::Trace { until }) => JobPhase::TraceDue { until },
					Some(GamePhase::Proofs { until }) => JobPhase::Proving { until },
					None => JobPhase::Disputed,
				},
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
			fee: job.fee,
			stake: job.stake,
			executors: job.executors,
			phase,
			output_hash: result.as_ref().map(|result| result.output_hash),
			outputs: result.and_then(|result| Self::result_outputs(id, result)),
		})
	}

	/// The outputs of `job`'s attested `result` that are on chain: carried by its statement,
	/// or published.
	pub(crate) fn result_outputs(job: JobId, result: AttestedResult<T>) -> Option<Vec<u8>> {
		match result.outputs {
			Some(bytes) => Some(bytes.into_inner()),
			None if result.published => Self::published_outputs(job),
			None => None,
		}
	}

	/// The statements `who` owes: results and commitments of its assignments and spot
	/// checks, reveals of quorums it committed to, and the pages of outputs a verifier asked
	/// it for (runtime API).
	pub fn pending_work(who: &T::AccountId) -> Vec<WorkItem> {
		let item = |job: JobId, due: Due| {
			T::Jobs::job(job).map(|view| WorkItem {
				job,
				model: view.model,
				input_hash: view.input_hash,
				attempt: view.attempt,
				due,
				spot_check: view.spot_checker.as_ref() == Some(who),
				group: view.group.filter(|_| due == Due::Output),
			})
		};
		let assigned = T::Jobs::undelivered_jobs(who).into_iter().filter_map(|job| {
			let due = match T::Jobs::job(job)?.mode {
				VerificationMode::Attested => Due::Output,
				VerificationMode::Quorum { .. } => Due::Commitment,
				VerificationMode::Proven => Due::Proof,
			};
			item(job, due)
		});
		let reveals =
			OwedReveals::<T>::iter_key_prefix(who).filter_map(|job| item(job, Due::Reveal));
		let pages =
			OwedPages::<T>::iter_key_prefix(who).filter_map(|job| item(job, Due::OutputPages));
		assigned.chain(reveals).chain(pages).collect()
	}

	/// Open disputes and their committees (runtime API).
	pub fn open_disputes() -> Vec<(JobId, Vec<T::AccountId>)> {
		Disputes::<T>::iter().map(|(job, dispute)| (job, dispute.committee.into_inner())).collect()
	}
}
