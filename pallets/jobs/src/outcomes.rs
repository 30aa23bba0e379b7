//! The outcomes of the most recently ended jobs ([`Outcomes`]), kept for clients in a ring
//! of `MaxOutcomes` places: each new outcome replaces the oldest, so their storage is
//! bounded whatever the number of jobs. The members of a group whose results settle together
//! share one record ([`GroupOutcomes`], in a ring of `MaxGroupOutcomes` places), from which
//! each member's outcome is read.

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

	/// Fills the group ring with outcomes of groups that never existed, so that each group
	/// settled next replaces one: the worst case of [`Self::record_group_outcome`], for
	/// benchmarks.
	#[cfg(feature = "runtime-benchmarks")]
	pub(crate) fn fill_group_outcome_ring_for_benchmark() {
		use haca_primitives::statement::GroupAttestation;
		let places = T::MaxGroupOutcomes::get().max(1);
		if GroupOutcomesRecorded::<T>::get() >= u64::from(places) {
			return;
		}
		let zeroes = || sp_runtime::traits::TrailingZeroInput::zeroes();
		let client = T::AccountId::decode(&mut zeroes()).expect("infinite input");
		let attestation =
			GroupAttestation::<T::AccountId>::decode(&mut zeroes()).expect("infinite input");
		for place in 0..places {
			let group_id = GroupId::MAX - GroupId::from(place);
			GroupOutcomeRing::<T>::insert(place, group_id);
			let outcome = GroupOutcome {
				client: client.clone(),
				model: Default::default(),
				submitted_at: Zero::zero(),
				ended_at: Zero::zero(),
				attestation: attestation.clone(),
				members: Default::default(),
			};
			GroupOutcomes::<T>::insert(group_id, outcome);
		}
		GroupOutcomesRecorded::<T>::put(u64::from(places));
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

	/// Keeps how the members of group `group_id` whose results settled together ended, in
	/// place of the oldest group outcome once the ring is full.
	pub(crate) fn record_group_outcome(group_id: GroupId, outcome: GroupOutcome<T>) {
		let recorded = GroupOutcomesRecorded::<T>::get();
		let place = (recorded % u64::from(T::MaxGroupOutcomes::get().max(1))) as u32;
		if let Some(oldest) = GroupOutcomeRing::<T>::get(place) {
			GroupOutcomes::<T>::remove(oldest);
		}
		GroupOutcomeRing::<T>::insert(place, group_id);
		GroupOutcomesRecorded::<T>::put(recorded.saturating_add(1));
		GroupOutcomes::<T>::insert(group_id, outcome);
	}

	/// How job `id` ended, if it is among the most recently ended (alone, or with its
	/// group).
	pub fn outcome(id: JobId) -> Option<JobOutcome<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
		if let Some(outcome) = Outcomes::<T>::get(id) {
			return Some(outcome.unbounded());
		}
		GroupOutcomes::<T>::get(group_place(id).0)?.member_outcome(id)
	}
}
