//! Phase ends (challenge windows, reveal phases, dispute votes), scheduled per block and
//! run at the start of the block they fall in.

use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::JobId;
use sp_runtime::traits::{One, Saturating};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Schedules `timer` for `job` at block `at`, or the first block after it with room.
	/// Returns how many full blocks it slipped past.
	pub(crate) fn schedule(
		at: BlockNumberFor<T>,
		job: JobId,
		timer: Timer,
	) -> Result<u32, DispatchError> {
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
					// A re-run's result has a window of its own: an earlier result's timer
					// finds it still open and leaves it.
					let window_closed = Results::<T>::get(job).is_some_and(|result| {
						matches!(
							result.status,
							ResultStatus::Provisional { challenge_until } if challenge_until < now
						)
					});
					if window_closed {
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
				Timer::Committee => Self::draw_committee(*job, now),
				Timer::Dispute => Self::end_dispute_phase(*job, now),
			}
		}
		T::WeightInfo::process_timers(timers.len() as u32)
	}
}
