//! The waiting queue and the draws that take jobs out of it to executors.

use alloc::vec::Vec;
use codec::Encode;
use frame_support::{pallet_prelude::*, traits::Randomness, weights::WeightMeter};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	traits::{ExecutorAccountability, ExecutorDirectory, ExecutorRegistry},
	JobId, VerificationMode,
};
use sp_runtime::traits::Saturating;

use crate::{groups::GroupDraw, *};

impl<T: Config> Pallet<T> {
	/// Draws as many executors as `job`'s mode needs among the model's eligible executors
	/// for the job's stake, avoiding `job.avoid` when enough others are eligible, each
	/// member independently from `randomness`, the job id and the attempt. Returns whether
	/// the job was assigned.
	pub(crate) fn try_assign(
		id: JobId,
		job: &mut Job<T>,
		randomness: &T::Hash,
		now: BlockNumberFor<T>,
	) -> bool {
		let needed = job.mode.executors() as usize;
		let eligible = T::Executors::eligible_executors(&job.model, 1, job.stake);
		let fresh: Vec<_> =
			eligible.iter().filter(|who| !job.avoid.contains(who)).cloned().collect();
		let pool = if fresh.len() >= needed { fresh } else { eligible };
		if pool.len() < needed || needed == 0 {
			return false;
		}

		let seed = (randomness, id, job.attempts).encode();
		let chosen = haca_primitives::draw::sample(&pool, &seed, needed);
		let Ok(executors) = BoundedVec::<_, T::MaxQuorum>::try_from(chosen) else {
			return false;
		};
		for who in &executors {
			Self::note_assigned(id, who, job.stake);
		}
		job.spot_checker = Self::draw_spot_checker(job, &executors, &seed);
		if let Some(checker) = &job.spot_checker {
			Undelivered::<T>::insert(checker, id, ());
			T::Executors::begin_dispute(checker);
			Self::deposit_event(Event::SpotCheckDrawn { job: id, checker: checker.clone() });
		}

		let deadline = now.saturating_add(T::ResultTimeout::get());
		job.attempts.saturating_inc();
		job.status = JobStatus::Assigned { deadline };
		job.executors = executors.clone();
		job.avoid = Default::default();
		Self::push_deadline(Work::Job(id), deadline);
		Self::deposit_event(Event::Assigned {
			job: id,
			executors,
			deadline,
			attempt: job.attempts,
		});
		true
	}

	/// With `SpotCheckChance`, the spot checker of a quorum job's assignment to
	/// `executors`: a verifier of the model that is neither the client nor one of them,
	/// drawn from `seed`.
	fn draw_spot_checker(
		job: &Job<T>,
		executors: &[T::AccountId],
		seed: &[u8],
	) -> Option<T::AccountId> {
		if !matches!(job.mode, VerificationMode::Quorum { .. }) {
			return None;
		}
		let seed = (seed, SPOT_CHECK_SUBJECT).encode();
		// The pool is read before the chance is drawn: every quorum draw costs the same.
		let pool: Vec<_> = T::Executors::verifiers_of(&job.model)
			.into_iter()
			.filter(|who| who != &job.client && !executors.contains(who))
			.collect();
		if !haca_primitives::draw::happens(&seed, T::SpotCheckChance::get()) {
			return None;
		}
		haca_primitives::draw::sample(&pool, &seed, 1).pop()
	}

	/// Puts `work` (pending, `jobs` jobs of `client`) in the waiting queue. A new
	/// submission may take only half of the queue and `MaxPendingPerClient` places per
	/// client; a re-run may take any free place. Returns whether it found one.
	pub(crate) fn enqueue(work: Work, client: &T::AccountId, jobs: u32, rerun: bool) -> bool {
		let queued = PendingJobs::<T>::decode_len().unwrap_or(0) as u32;
		let waiting = PendingPerClient::<T>::get(client);
		let room = rerun
			|| (queued < T::MaxPendingJobs::get() / 2
				&& waiting.saturating_add(jobs) <= T::MaxPendingPerClient::get());
		if !room || PendingJobs::<T>::try_append(work).is_err() {
			return false;
		}
		PendingPerClient::<T>::insert(client, waiting.saturating_add(jobs));
		true
	}

	/// Draws the executors of every waiting job, as the blocks after their submission do
	/// (with randomness made known for the benchmark).
	#[cfg(feature = "runtime-benchmarks")]
	pub(crate) fn draw_waiting_for_benchmark() {
		use haca_primitives::traits::RevealRandomness;
		T::BenchmarkRandomness::reveal([7; 32]);
		while !PendingJobs::<T>::get().is_empty() {
			let next = frame_system::Pallet::<T>::block_number() + 2u32.into();
			// A new block: the last one's events go, as they do on chain.
			frame_system::Pallet::<T>::reset_events();
			frame_system::Pallet::<T>::set_block_number(next);
			Self::assign_pending(next, &mut WeightMeter::new());
		}
	}

	/// `jobs` jobs of `client` left the waiting queue.
	pub(crate) fn note_dequeued(client: &T::AccountId, jobs: u32) {
		PendingPerClient::<T>::mutate_exists(client, |waiting| {
			*waiting = waiting.map(|count| count.saturating_sub(jobs)).filter(|count| *count > 0);
		});
	}

	/// Draws executors for as many waiting jobs and groups as `meter` pays for, oldest
	/// first, from randomness that became known only after they started waiting: neither
	/// their client nor whoever made them re-run could know it when sending. Those that
	/// waited `PendingTimeout` blocks fail (refunded); the others wait on, behind the
	/// untried ones.
	pub(crate) fn assign_pending(now: BlockNumberFor<T>, meter: &mut WeightMeter) {
		let pending = PendingJobs::<T>::get();
		if pending.is_empty() {
			return;
		}
		let (randomness, known_since) = T::Randomness::random(DRAW_SUBJECT);
		let mut room = T::MaxPendingJobs::get().saturating_sub(pending.len() as u32);
		let mut entries = pending.into_iter().peekable();
		let mut waiting: Vec<Work> = Vec::new();
		// Each entry needs room for its worst case; it is charged what it did.
		while let Some(work) = entries.next_if(|work| meter.can_consume(Self::draw_weight(work))) {
			match work {
				Work::Job(id) => {
					meter.consume(Self::draw_weight(&work));
					let Some(mut job) = Jobs::<T>::get(id) else { continue };
					let fresh = randomness.as_ref().filter(|_| known_since > job.waiting_since);
					if now.saturating_sub(job.waiting_since) >= T::PendingTimeout::get() {
						Self::note_dequeued(&job.client, 1);
						Self::fail_job(id, &job);
					} else if fresh
						.is_some_and(|randomness| Self::try_assign(id, &mut job, randomness, now))
					{
						Self::note_dequeued(&job.client, 1);
						Jobs::<T>::insert(id, job);
					} else {
						waiting.push(work);
					}
				}
				Work::Group(group_id) => {
					let Some(mut group) = Groups::<T>::get(group_id) else {
						meter.consume(T::DbWeight::get().reads(1));
						continue;
					};
					let size = group.size();
					let fresh = randomness.as_ref().filter(|_| known_since > group.waiting_since);
					if now.saturating_sub(group.waiting_since) >= T::PendingTimeout::get() {
						meter.consume(T::WeightInfo::fail_group(size));
						Self::note_dequeued(&group.client, size);
						Self::fail_group(group_id, group);
						continue;
					}
					let Some(randomness) = fresh else {
						meter.consume(T::DbWeight::get().reads(1));
						waiting.push(work);
						continue;
					};
					match Self::draw_group(group_id, &mut group, randomness, now, &mut room) {
						GroupDraw::Assigned => {
							meter.consume(T::WeightInfo::draw_group(size));
							Self::note_dequeued(&group.client, size);
							Groups::<T>::insert(group_id, group);
						}
						GroupDraw::Wait => {
							meter.consume(T::WeightInfo::draw_group(size));
							waiting.push(work);
						}
						GroupDraw::Dissolved(jobs) => {
							meter.consume(T::WeightInfo::dissolve_group(size));
							waiting.extend(jobs);
						}
					}
				}
			}
		}
		let queue: Vec<Work> = entries.chain(waiting).collect();
		PendingJobs::<T>::put(BoundedVec::truncate_from(queue));
	}

	/// The most the draw of `work` weighs. A job: the benchmarked draw (which reads the
	/// largest verifier pool, yet draws a spot checker only by chance) and a spot checker's
	/// registration and undelivered entry. A group: the draw, the dissolution or the
	/// failure of the largest group.
	pub(crate) fn draw_weight(work: &Work) -> Weight {
		match work {
			Work::Job(_) => T::WeightInfo::assign_pending(1)
				.saturating_sub(T::WeightInfo::assign_pending(0))
				.saturating_add(T::DbWeight::get().reads_writes(1, 2)),
			Work::Group(_) => {
				let largest = T::MaxJobsPerSubmit::get();
				T::WeightInfo::draw_group(largest)
					.max(T::WeightInfo::dissolve_group(largest))
					.max(T::WeightInfo::fail_group(largest))
			}
		}
	}
}
