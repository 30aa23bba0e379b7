//! Phase ends (challenge windows, reveal phases, committee draws, dispute phases, times to
//! publish outputs, game phases), scheduled per block and run from the start of the block they fall in.
//!
//! A block's timers are kept in pages of `MaxTimersPerPage`, as many pages as it needs, so
//! scheduling never fails for lack of room. `on_initialize` runs due timers, oldest block
//! first, as long as `MaxTimerWeight` allows, each charged the benchmarked worst case of its
//! kind; what does not fit is carried over to the next block (`TimersDue` remembers where to
//! go on). Every timer checks the state it ends, so running it late is safe.

use frame_support::{pallet_prelude::*, weights::WeightMeter};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::JobId;
use sp_runtime::traits::Saturating;

use crate::*;

impl<T: Config> Pallet<T> {
	/// Schedules `timer` for `job` at block `at`: in the last page of the block, or a new one.
	pub(crate) fn schedule(at: BlockNumberFor<T>, job: JobId, timer: Timer) {
		let pages = TimerPages::<T>::get(at);
		let last = pages.saturating_sub(1);
		if pages > 0 && Timers::<T>::try_append(at, last, (job, timer)).is_ok() {
			return;
		}
		Timers::<T>::insert(at, pages, BoundedVec::truncate_from(alloc::vec![(job, timer)]));
		TimerPages::<T>::insert(at, pages.saturating_add(1));
	}

	/// The most a timer of `kind` weighs when it runs.
	pub(crate) fn timer_weight(kind: Timer) -> Weight {
		match kind {
			Timer::ChallengeWindow => T::WeightInfo::timer_challenge_window(),
			Timer::PublishedWindow => {
				T::WeightInfo::timer_challenge_window().saturating_add(Self::pages_removal_weight())
			}
			Timer::RevealPhase => T::WeightInfo::timer_reveal_phase(),
			Timer::Committee => T::WeightInfo::timer_committee(),
			Timer::Dispute => {
				T::WeightInfo::timer_dispute().saturating_add(Self::pages_removal_weight())
			}
			Timer::Publication => T::WeightInfo::timer_publication(),
			Timer::Game => T::WeightInfo::timer_trace_withheld()
				.max(T::WeightInfo::timer_game_settled())
				.saturating_add(Self::pages_removal_weight()),
			Timer::GroupWindow { members, bytes } => T::WeightInfo::timer_group_window(members)
				.saturating_add(Self::output_bytes_weight(bytes)),
		}
	}

	/// The most one timer weighs, with the page and block steps around it.
	pub(crate) fn heaviest_timer_step() -> Weight {
		[
			Timer::ChallengeWindow,
			Timer::PublishedWindow,
			Timer::RevealPhase,
			Timer::Committee,
			Timer::Dispute,
			Timer::Publication,
			Timer::Game,
			Timer::GroupWindow {
				members: T::MaxGroupSize::get(),
				bytes: T::MaxGroupSize::get().saturating_mul(T::MaxOutputLen::get()),
			},
		]
		.into_iter()
		.map(Self::timer_weight)
		.fold(Weight::zero(), |heaviest, weight| heaviest.max(weight))
		.saturating_add(T::WeightInfo::timer_page())
		.saturating_add(T::WeightInfo::timer_block())
	}

	/// Runs the phase ends due by block `now` within `MaxTimerWeight`, carrying the rest
	/// over. Returns the weight used.
	pub(crate) fn process_timers(now: BlockNumberFor<T>) -> Weight {
		let mut meter = WeightMeter::with_limit(T::MaxTimerWeight::get());
		meter.consume(T::DbWeight::get().reads_writes(1, 1));
		let (mut block, mut page) = TimersDue::<T>::get();
		while block <= now {
			if meter.try_consume(T::WeightInfo::timer_block()).is_err() {
				break;
			}
			let pages = TimerPages::<T>::get(block);
			while page < pages {
				if !Self::run_page(block, page, now, &mut meter) {
					TimersDue::<T>::put((block, page));
					return meter.consumed();
				}
				page.saturating_inc();
			}
			TimerPages::<T>::remove(block);
			block.saturating_inc();
			page = 0;
		}
		TimersDue::<T>::put((block, page));
		meter.consumed()
	}

	/// Runs the timers of `page` of `block`, in block `now`, as far as `meter` allows, and
	/// keeps the rest in the page; whether it ran them all.
	pub(crate) fn run_page(
		block: BlockNumberFor<T>,
		page: u32,
		now: BlockNumberFor<T>,
		meter: &mut WeightMeter,
	) -> bool {
		if meter.try_consume(T::WeightInfo::timer_page()).is_err() {
			return false;
		}
		let mut timers = Timers::<T>::take(block, page).into_inner();
		for ran in 0..timers.len() {
			let (job, timer) = timers[ran];
			if meter.try_consume(Self::timer_weight(timer)).is_err() {
				let rest = timers.split_off(ran);
				Timers::<T>::insert(block, page, BoundedVec::truncate_from(rest));
				return false;
			}
			Self::run_timer(job, timer, now);
		}
		true
	}

	/// Ends the phase of `job` that `timer` stands for, if it is still on and due by `now`.
	pub(crate) fn run_timer(job: JobId, timer: Timer, now: BlockNumberFor<T>) {
		match timer {
			Timer::ChallengeWindow | Timer::PublishedWindow => {
				// A re-run's result has a window of its own, and so has a result whose
				// outputs were published: an earlier window's timer finds it still open, or
				// of the other kind, and leaves it.
				let published = timer == Timer::PublishedWindow;
				let window_closed = Results::<T>::get(job).is_some_and(|result| {
					result.published == published
						&& matches!(
							result.status,
							ResultStatus::Provisional { challenge_until } if challenge_until < now
						)
				});
				if window_closed {
					Self::settle_attested(job);
				}
			}
			Timer::RevealPhase => {
				if let Some(round) = Quorums::<T>::get(job) {
					if round.reveal_until.is_some_and(|until| until < now) {
						Self::tally(job, round);
					}
				}
			}
			Timer::Committee => Self::draw_committee(job, now),
			Timer::Dispute => Self::end_dispute_phase(job, now),
			Timer::Publication => Self::end_publication(job, now),
			Timer::Game => Self::end_game_phase(job, now),
			Timer::GroupWindow { .. } => {
				let window_closed =
					GroupResults::<T>::get(job).is_some_and(|group| group.challenge_until < now);
				if window_closed {
					Self::settle_group(job);
				}
			}
		}
	}
}
