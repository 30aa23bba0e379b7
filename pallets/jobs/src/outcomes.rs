//! The outcomes of the most recently ended jobs ([`Outcomes`]), kept for clients in a ring
//! of `MaxOutcomes` places: each new outcome replaces the oldest, so their storage is
//! bounded whatever the number of jobs.

use frame_support::{pallet_prelude::*, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	runtime_api::{JobEnd, JobOutcome},
	traits::SettledResult,
	JobId,
};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Keeps how job `id` ended, in place of the oldest outcome once the ring is full.
	pub(crate) fn record_outcome(id: JobId, job: &Job<T>, end: JobEndOf<T>) {
		let recorded = OutcomesRecorded::<T>::get();
		let place = (recorded % u64::from(T::MaxOutcomes::get().max(1))) as u32;
		if let Some(oldest) = OutcomeRing::<T>::get(place) {
			Outcomes::<T>::remove(oldest);
		}
		OutcomeRing::<T>::insert(place, id);
		OutcomesRecorded::<T>::put(recorded.saturating_add(1));
		let outcome = JobOutcome {
			client: job.client.clone(),
			model: job.model,
			input_hash: job.input_hash,
			mode: job.mode,
			submitted_at: job.submitted_at,
			ended_at: frame_system::Pallet::<T>::block_number(),
			end,
		};
		Outcomes::<T>::insert(id, outcome);
	}

	/// Fills the ring with outcomes of jobs that never existed, so that each job ended next
	/// replaces one: the worst case of [`Self::record_outcome`], for benchmarks.
	#[cfg(feature = "runtime-benchmarks")]
	pub(crate) fn fill_outcome_ring_for_benchmark() {
		let places = T::MaxOutcomes::get().max(1);
		if OutcomesRecorded::<T>::get() >= u64::from(places) {
			return;
		}
		let client = T::AccountId::decode(&mut sp_runtime::traits::TrailingZeroInput::zeroes())
			.expect("infinite input");
		for place in 0..places {
			let id = JobId::MAX - JobId::from(place);
			OutcomeRing::<T>::insert(place, id);
			let outcome = JobOutcome {
				client: client.clone(),
				model: Default::default(),
				input_hash: Default::default(),
				mode: haca_primitives::VerificationMode::Attested,
				submitted_at: Zero::zero(),
				ended_at: Zero::zero(),
				end: JobEnd::Cancelled { refunded: Zero::zero() },
			};
			Outcomes::<T>::insert(id, outcome);
		}
		OutcomesRecorded::<T>::put(u64::from(places));
	}

	/// A settled job's end: outputs longer than `MaxOutputLen` are left out (their hash
	/// stays), as are attestations beyond `MaxQuorum` (there are none: one per paid
	/// executor).
	pub(crate) fn settled_end(
		result: SettledResult<T::AccountId>,
		paid: BalanceOf<T>,
		refunded: BalanceOf<T>,
	) -> JobEndOf<T> {
		JobEnd::Settled {
			output_hash: result.output_hash,
			outputs: result.outputs.and_then(|outputs| BoundedVec::try_from(outputs).ok()),
			attestations: BoundedVec::truncate_from(result.attestations),
			paid,
			refunded,
		}
	}

	/// How job `id` ended, if it is among the most recently ended.
	pub fn outcome(id: JobId) -> Option<JobOutcome<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
		Outcomes::<T>::get(id).map(JobOutcome::unbounded)
	}
}
