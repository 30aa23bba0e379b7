//! Deadlines: the queue of assigned jobs' deadlines, expiry, re-runs and failure.

use alloc::vec::Vec;
use frame_support::pallet_prelude::*;
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	traits::{ExecutorRegistry, OnPartialDelivery},
	JobId,
};

use crate::*;

impl<T: Config> Pallet<T> {
	pub(crate) fn push_deadline(id: JobId, deadline: BlockNumberFor<T>) {
		DeadlineQueueBounds::<T>::mutate(|(_, tail)| {
			DeadlineQueue::<T>::insert(*tail, (id, deadline));
			*tail = tail.saturating_add(1);
		});
	}

	/// Handles deadlines that passed before `now`: at most `MaxExpiriesPerBlock` missed ones
	/// and `MaxDeadlineChecksPerBlock` queue entries in all per block. Returns the weight
	/// used.
	pub(crate) fn process_deadlines(now: BlockNumberFor<T>) -> Weight {
		let (mut head, tail) = DeadlineQueueBounds::<T>::get();
		let (mut checked, mut expired) = (0, 0);
		while head < tail
			&& checked < T::MaxDeadlineChecksPerBlock::get()
			&& expired < T::MaxExpiriesPerBlock::get()
		{
			match DeadlineQueue::<T>::get(head) {
				Some((_, deadline)) if deadline >= now => break,
				Some((id, deadline)) => match Jobs::<T>::get(id) {
					Some(job) if job.status == (JobStatus::Assigned { deadline }) => {
						Self::expire(id, job, now);
						expired += 1;
					}
					// Delivered in time, or ended.
					_ => {}
				},
				None => {}
			}
			DeadlineQueue::<T>::remove(head);
			head += 1;
			checked += 1;
		}
		if checked > 0 {
			// Re-assignments above pushed new deadlines: keep their tail.
			DeadlineQueueBounds::<T>::mutate(|(first, _)| *first = head);
		}
		T::WeightInfo::process_deadlines(expired)
			.saturating_add(T::WeightInfo::skip_deadlines(checked - expired))
	}

	/// The deadline of job `id` passed. Executors that delivered keep their claim; those
	/// that did not lose reputation. With part of the executors delivered, the settlement
	/// pallet may take the job over; otherwise it is re-run, or fails with a full refund
	/// after `MaxAttempts` assignments.
	pub(crate) fn expire(id: JobId, mut job: Job<T>, now: BlockNumberFor<T>) {
		let missed: Vec<T::AccountId> =
			job.executors.iter().filter(|who| !job.delivered.contains(who)).cloned().collect();
		for who in &missed {
			T::Executors::note_missed_deadline(who);
			T::Executors::note_released(who);
		}
		Self::deposit_event(Event::DeadlineMissed {
			job: id,
			executors: BoundedVec::truncate_from(missed.clone()),
		});

		if !job.delivered.is_empty()
			&& T::OnPartialDelivery::on_partial_delivery(id, &job.delivered, &missed)
		{
			Self::release_stakes(&job, &missed);
			job.executors = job.delivered.clone();
			job.status = JobStatus::Delivered;
			Jobs::<T>::insert(id, job);
			return;
		}
		let exclude = job.executors.to_vec();
		Self::restart(id, job, &exclude, now);
	}

	/// Ends the current assignment (freeing its executors' stakes) and queues the job for a
	/// new draw (avoiding `exclude` when others are eligible), or ends it with a full refund
	/// after `MaxAttempts`.
	pub(crate) fn restart(
		id: JobId,
		mut job: Job<T>,
		exclude: &[T::AccountId],
		now: BlockNumberFor<T>,
	) {
		Self::release_stakes(&job, &job.executors);
		job.executors = Default::default();
		job.delivered = Default::default();
		job.avoid = BoundedVec::truncate_from(exclude.to_vec());
		job.status = JobStatus::Pending;
		let restarted =
			job.attempts < T::MaxAttempts::get() && Self::enqueue(id, &mut job, now, true);
		if restarted {
			Jobs::<T>::insert(id, job);
		} else {
			Self::fail_job(id, &job);
		}
	}
}
