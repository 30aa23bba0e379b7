//! Assigning jobs to eligible executors, at submission and from the queue.

use alloc::vec::Vec;
use codec::Encode;
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{traits::ExecutorRegistry, JobId};
use sp_runtime::traits::Saturating;

use crate::*;

impl<T: Config> Pallet<T> {
	/// Assigns the job to as many eligible executors as its mode needs, avoiding `exclude`
	/// when enough others are eligible; see [`Self::assign_among`].
	pub(crate) fn try_assign(
		id: JobId,
		job: &mut Job<T>,
		exclude: &[T::AccountId],
		now: BlockNumberFor<T>,
	) -> bool {
		let mut eligible = T::Executors::eligible_executors(&job.model, job.stake);
		Self::assign_among(id, job, &mut eligible, exclude, now)
	}

	/// Assigns the job to as many of `eligible` (the model's eligible executors, in registry
	/// order) as its mode needs, avoiding `exclude` when enough others are eligible, and
	/// drops from `eligible` those it fills to capacity or to their bond, so that it stays
	/// the eligible list for the next job. The choice depends only on on-chain data: the eligible executors,
	/// the parent block hash, the job id and the attempt. Returns whether the job was
	/// assigned.
	pub(crate) fn assign_among(
		id: JobId,
		job: &mut Job<T>,
		eligible: &mut Vec<T::AccountId>,
		exclude: &[T::AccountId],
		now: BlockNumberFor<T>,
	) -> bool {
		let needed = job.mode.executors() as usize;
		let fresh: Vec<_> = eligible.iter().filter(|who| !exclude.contains(who)).cloned().collect();
		let pool = if fresh.len() >= needed { fresh } else { eligible.clone() };
		if pool.len() < needed || needed == 0 {
			return false;
		}

		let seed = (frame_system::Pallet::<T>::parent_hash(), id, job.attempts).encode();
		let chosen = haca_primitives::draw::rotated(&pool, &seed, needed);
		let Ok(executors) = BoundedVec::<_, T::MaxQuorum>::try_from(chosen) else {
			return false;
		};
		for who in &executors {
			if !T::Executors::note_assigned(who, job.stake) {
				eligible.retain(|other| other != who);
			}
		}

		let deadline = now.saturating_add(T::ResultTimeout::get());
		job.attempts.saturating_inc();
		job.status = JobStatus::Assigned { deadline };
		job.executors = executors.clone();
		Self::push_deadline(id, deadline);
		Self::deposit_event(Event::Assigned {
			job: id,
			executors,
			deadline,
			attempt: job.attempts,
		});
		true
	}

	/// Puts `job` (pending) in the waiting queue from `now`. A new submission may take
	/// only half of the queue and `MaxPendingPerClient` places per client; a re-run may take
	/// any free place. Returns whether it found one.
	pub(crate) fn enqueue(
		id: JobId,
		job: &mut Job<T>,
		now: BlockNumberFor<T>,
		rerun: bool,
	) -> bool {
		let queued = PendingJobs::<T>::decode_len().unwrap_or(0) as u32;
		let waiting = PendingPerClient::<T>::get(&job.client);
		let room = rerun
			|| (queued < T::MaxPendingJobs::get() / 2 && waiting < T::MaxPendingPerClient::get());
		if !room || PendingJobs::<T>::try_append(id).is_err() {
			return false;
		}
		PendingPerClient::<T>::insert(&job.client, waiting.saturating_add(1));
		job.waiting_since = now;
		true
	}

	/// A job of `client` left the waiting queue.
	pub(crate) fn note_dequeued(client: &T::AccountId) {
		PendingPerClient::<T>::mutate_exists(client, |waiting| {
			*waiting = waiting.map(|count| count.saturating_sub(1)).filter(|count| *count > 0);
		});
	}

	/// Tries to assign up to `MaxAssignmentsPerBlock` waiting jobs, oldest first; those that
	/// waited `PendingTimeout` blocks fail (refunded), those that still find no executor go
	/// to the back of the queue. Returns the weight used.
	pub(crate) fn assign_pending(now: BlockNumberFor<T>) -> Weight {
		let pending = PendingJobs::<T>::get();
		if pending.is_empty() {
			return T::WeightInfo::assign_pending(0);
		}
		let tries = pending.len().min(T::MaxAssignmentsPerBlock::get() as usize);
		let (tried, untried) = pending.split_at(tries);
		let mut waiting: Vec<JobId> = untried.to_vec();
		for &id in tried {
			let Some(mut job) = Jobs::<T>::get(id) else { continue };
			if now.saturating_sub(job.waiting_since) >= T::PendingTimeout::get() {
				Self::note_dequeued(&job.client);
				Self::fail_job(id, &job);
			} else if Self::try_assign(id, &mut job, &[], now) {
				Self::note_dequeued(&job.client);
				Jobs::<T>::insert(id, job);
			} else {
				waiting.push(id);
			}
		}
		PendingJobs::<T>::put(BoundedVec::truncate_from(waiting));
		T::WeightInfo::assign_pending(tries as u32)
	}
}
