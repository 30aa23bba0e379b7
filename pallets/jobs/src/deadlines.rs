//! Deadlines: the queue of assigned jobs' deadlines, expiry, re-runs and failure.

use alloc::vec::Vec;
use frame_support::{pallet_prelude::*, weights::WeightMeter};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	traits::{ExecutorAccountability, ExecutorRegistry, OnPartialDelivery},
	JobId,
};
use sp_runtime::Perbill;

use crate::*;

impl<T: Config> Pallet<T> {
	/// What `on_initialize` weighs before any deadline or draw.
	pub(crate) fn hook_base_weight() -> Weight {
		T::WeightInfo::process_deadlines(0)
			.max(T::WeightInfo::skip_deadlines(0))
			.saturating_add(T::WeightInfo::assign_pending(0))
	}

	/// The most a missed deadline weighs: a job's, re-queued for a new draw, or the largest
	/// group's, re-queued or failed.
	pub(crate) fn expiry_weight() -> Weight {
		let job =
			T::WeightInfo::process_deadlines(1).saturating_sub(T::WeightInfo::process_deadlines(0));
		job.max(Self::group_expiry_weight(T::MaxJobsPerSubmit::get(), true))
	}

	/// What a missed deadline of a group of `size` jobs weighs: re-queued, or failed
	/// (`failed`).
	fn group_expiry_weight(size: u32, failed: bool) -> Weight {
		let expiry = T::WeightInfo::expire_group(size);
		if failed {
			expiry.saturating_add(T::WeightInfo::fail_group(size))
		} else {
			expiry
		}
	}

	/// What a met (or ended) job's deadline weighs: a read and a removal.
	pub(crate) fn met_deadline_weight() -> Weight {
		T::WeightInfo::skip_deadlines(1).saturating_sub(T::WeightInfo::skip_deadlines(0))
	}

	pub(crate) fn push_deadline(work: Work, deadline: BlockNumberFor<T>) {
		DeadlineQueueBounds::<T>::mutate(|(_, tail)| {
			DeadlineQueue::<T>::insert(*tail, (work, deadline));
			*tail = tail.saturating_add(1);
		});
	}

	/// Handles deadlines that passed before `now`, oldest first, as long as `meter` can pay
	/// for a missed one (a met one costs less); the rest wait for the next blocks.
	pub(crate) fn process_deadlines(now: BlockNumberFor<T>, meter: &mut WeightMeter) {
		let (mut head, tail) = DeadlineQueueBounds::<T>::get();
		let first = head;
		while head < tail && meter.can_consume(Self::expiry_weight()) {
			match DeadlineQueue::<T>::get(head) {
				Some((_, deadline)) if deadline >= now => break,
				Some((Work::Job(id), deadline)) => match Jobs::<T>::get(id) {
					Some(job) if job.status == (JobStatus::Assigned { deadline }) => {
						Self::expire(id, job, now);
						meter.consume(Self::expiry_weight());
					}
					// Delivered in time, or ended.
					_ => meter.consume(Self::met_deadline_weight()),
				},
				Some((Work::Group(group_id), deadline)) => match Groups::<T>::get(group_id) {
					Some(group) if group.status == (JobStatus::Assigned { deadline }) => {
						Self::expire_group(group_id, group, now);
						meter.consume(Self::expiry_weight());
					}
					_ => meter.consume(Self::met_deadline_weight()),
				},
				None => meter.consume(Self::met_deadline_weight()),
			}
			DeadlineQueue::<T>::remove(head);
			head += 1;
		}
		if head > first {
			// Re-assignments above pushed new deadlines: keep their tail.
			DeadlineQueueBounds::<T>::mutate(|(first, _)| *first = head);
		}
	}

	/// The deadline of job `id` passed. Executors that delivered keep their claim; those
	/// that did not lose reputation and `LatenessSlash` of the job's stake, to the client
	/// (a silent spot checker is the settlement's to judge).
	/// With part of the executors delivered, the settlement pallet may take the job over;
	/// otherwise it is re-run, or fails with a full refund after `MaxAttempts` assignments.
	pub(crate) fn expire(id: JobId, mut job: Job<T>, now: BlockNumberFor<T>) {
		let missed: Vec<T::AccountId> =
			job.executors.iter().filter(|who| !job.delivered.contains(who)).cloned().collect();
		let lateness = T::LatenessSlash::get() * job.stake;
		for who in &missed {
			T::Executors::note_missed_deadline(who);
			T::Executors::slash(who, lateness, &[(&job.client, Perbill::one())]);
			Self::note_released(id, who);
		}
		if let Some(checker) = &job.spot_checker {
			// Its silence is the settlement's to judge.
			Undelivered::<T>::remove(checker, id);
		}
		if !missed.is_empty() {
			Self::deposit_event(Event::DeadlineMissed {
				job: id,
				executors: BoundedVec::truncate_from(missed.clone()),
			});
		}

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
		Self::end_spot_check(id, &job);
		job.executors = Default::default();
		job.delivered = Default::default();
		job.spot_checker = None;
		job.avoid = BoundedVec::truncate_from(exclude.to_vec());
		job.status = JobStatus::Pending;
		job.waiting_since = now;
		let restarted = job.attempts < T::MaxAttempts::get()
			&& Self::enqueue(Work::Job(id), &job.client, 1, true);
		if restarted {
			Jobs::<T>::insert(id, job);
		} else {
			Self::fail_job(id, &job);
		}
	}
}
