//! The jobs as the settlement pallet sees and settles them ([`JobLedger`]).

use alloc::vec::Vec;
use frame_support::{ensure, pallet_prelude::*};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	runtime_api::JobEnd,
	traits::{
		ExecutorAccountability, ExecutorRegistry, GroupSettlement, JobLedger, JobView,
		ModelRegistry, SettledFunds, SettledResult,
	},
	JobId,
};
use sp_runtime::traits::{Saturating, Zero};

use crate::{groups::GroupViewOf, *};

impl<T: Config> Pallet<T> {
	/// Ends a job: its executors that have not delivered no longer run it, its executors'
	/// stakes are free, `remaining` (what is still held for it) returns to the client, the
	/// model reference drops, the job is removed and its outcome, `end` of the amount
	/// returned, recorded. Returns the amount returned.
	pub(crate) fn end_job(
		id: JobId,
		job: &Job<T>,
		remaining: BalanceOf<T>,
		end: impl FnOnce(BalanceOf<T>) -> JobEndOf<T>,
	) -> BalanceOf<T> {
		Self::release_undelivered(id, job);
		Self::end_spot_check(id, job);
		Self::release_stakes(job, &job.executors);
		let refunded = Self::release_escrow(&job.client, remaining);
		T::Models::remove_job_reference(&job.model);
		Jobs::<T>::remove(id);
		JobInputs::<T>::remove(id);
		Self::record_outcome(id, job, end(refunded));
		refunded
	}

	/// Ends a job that gets no result, refunding everything held for it.
	pub(crate) fn fail_job(id: JobId, job: &Job<T>) {
		let refunded = Self::end_job(id, job, job.held(), |refunded| JobEnd::Failed { refunded });
		Self::deposit_event(Event::Failed { job: id, refunded });
	}

	/// The executors of job `id` that have not delivered no longer run it: their capacity
	/// is free.
	fn release_undelivered(id: JobId, job: &Job<T>) {
		for who in job.executors.iter().filter(|who| !job.delivered.contains(who)) {
			Self::note_released(id, who);
		}
	}

	/// The spot check of job `id`'s assignment, if any, is over: its checker owes nothing
	/// and its bond may leave again.
	pub(crate) fn end_spot_check(id: JobId, job: &Job<T>) {
		if let Some(checker) = &job.spot_checker {
			Undelivered::<T>::remove(checker, id);
			T::Executors::end_dispute(checker);
		}
	}

	/// `who` runs job `id`: it counts in the executor's load and its node owes a statement.
	pub(crate) fn note_assigned(id: JobId, who: &T::AccountId, stake: BalanceOf<T>) {
		T::Executors::note_assigned(who, 1, stake);
		Undelivered::<T>::insert(who, id, ());
	}

	/// `who` no longer owes job `id` a statement: it delivered, or was late, or the job
	/// moved on.
	pub(crate) fn note_released(id: JobId, who: &T::AccountId) {
		T::Executors::note_released(who, 1);
		Undelivered::<T>::remove(who, id);
	}

	/// The assignment of `executors` to `job` ended: their stakes are free.
	pub(crate) fn release_stakes(job: &Job<T>, executors: &[T::AccountId]) {
		for who in executors {
			T::Executors::release_stake(who, job.stake);
		}
	}
}

impl<T: Config> Pallet<T> {
	/// Submits `count` jobs on `model` in `mode` in one batch for `client`, funding it, each
	/// with an input that matches the model, after making room in the queues; returns the
	/// first job's id.
	#[cfg(feature = "runtime-benchmarks")]
	fn submit_batch_for_benchmark(
		client: &T::AccountId,
		model: &haca_primitives::ModelHash,
		mode: haca_primitives::VerificationMode,
		count: u32,
	) -> JobId {
		use frame_support::traits::fungible::Mutate;
		use haca_primitives::tensor::Tensor;
		use sp_runtime::traits::Bounded;
		let terms = T::Models::job_terms(model).expect("benchmark model is active");
		let spec = &terms.inputs[0];
		let input = alloc::vec![Tensor {
			element_type: spec.element_type,
			shape: spec.shape.clone(),
			data: alloc::vec![1; spec.byte_len().expect("valid spec")],
		}]
		.encode();
		// Many such clients, all funded, within what the total issuance can hold.
		T::Currency::set_balance(client, BalanceOf::<T>::max_value() / 65_536u32.into());
		let queued = PendingJobs::<T>::decode_len().unwrap_or(0) as u32;
		if queued >= T::MaxPendingJobs::get() / 2
			|| PendingPerClient::<T>::get(client).saturating_add(count)
				> T::MaxPendingPerClient::get()
		{
			Self::draw_waiting_for_benchmark();
		}
		Self::fill_outcome_ring_for_benchmark();
		Self::fill_group_outcome_ring_for_benchmark();
		let fee = Self::price(terms.fee, &mode);
		let input: BoundedVec<u8, T::MaxInputLen> = input.try_into().expect("input fits");
		let inputs = alloc::vec![input; count as usize];
		Self::do_submit_batch(client.clone(), *model, inputs, mode, fee)
			.expect("benchmark job submits")
			.start
	}
}

impl<T: Config> JobLedger<T::AccountId, BalanceOf<T>, BlockNumberFor<T>> for Pallet<T> {
	fn job(id: JobId) -> Option<JobView<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
		Self::job_and_group(id).map(|(job, group)| JobView {
			deadline: match job.status {
				JobStatus::Assigned { deadline } => Some(deadline),
				_ => None,
			},
			client: job.client,
			model: job.model,
			input_hash: job.input_hash,
			mode: job.mode,
			max_fee: job.max_fee,
			fee: job.fee,
			executors: job.executors.into_inner(),
			delivered: job.delivered.into_inner(),
			attempt: job.attempts,
			stake: job.stake,
			spot_checker: job.spot_checker,
			group,
		})
	}

	fn input(id: JobId) -> Option<Vec<u8>> {
		JobInputs::<T>::get(id).map(BoundedVec::into_inner)
	}

	fn undelivered_jobs(who: &T::AccountId) -> Vec<JobId> {
		let mut jobs: Vec<JobId> = Undelivered::<T>::iter_key_prefix(who).collect();
		for group_id in UndeliveredGroups::<T>::iter_key_prefix(who) {
			let Some(group) = Groups::<T>::get(group_id) else { continue };
			jobs.extend(group.present().map(|(place, _)| Self::member_id(group_id, place)));
		}
		jobs
	}

	fn note_delivered(id: JobId, who: &T::AccountId) {
		let Some(mut job) = Self::job_record(id) else { return };
		let JobStatus::Assigned { .. } = job.status else { return };
		if job.spot_checker.as_ref() == Some(who) {
			Undelivered::<T>::remove(who, id);
		} else {
			if !job.executors.contains(who) || job.delivered.contains(who) {
				return;
			}
			if job.delivered.try_push(who.clone()).is_err() {
				return;
			}
			Self::note_released(id, who);
		}
		let checked = job
			.spot_checker
			.as_ref()
			.is_none_or(|checker| !Undelivered::<T>::contains_key(checker, id));
		if job.delivered.len() == job.executors.len() && checked {
			job.status = JobStatus::Delivered;
			Self::deposit_event(Event::Delivered { job: id });
		}
		Self::detach(id);
		Jobs::<T>::insert(id, job);
	}

	fn settle(
		id: JobId,
		payouts: &[(T::AccountId, BalanceOf<T>)],
		result: SettledResult<T::AccountId>,
	) -> Result<SettledFunds<BalanceOf<T>>, DispatchError> {
		let job = Self::job_record(id).ok_or(Error::<T>::UnknownJob)?;
		let paid = payouts
			.iter()
			.fold(BalanceOf::<T>::zero(), |total, (_, amount)| total.saturating_add(*amount));
		ensure!(paid <= job.max_fee, Error::<T>::PayoutsExceedFee);
		// Every payout or none.
		frame_support::storage::with_storage_layer(|| {
			payouts
				.iter()
				.try_for_each(|(payee, amount)| Self::pay_from_escrow(&job.client, payee, *amount))
		})?;
		Self::detach(id);
		let refunded = Self::end_job(id, &job, job.held().saturating_sub(paid), |refunded| {
			Self::settled_end(result, paid, refunded)
		});
		Ok(SettledFunds { paid, refunded })
	}

	fn fail(id: JobId) {
		let Some(job) = Self::job_record(id) else { return };
		Self::detach(id);
		Self::fail_job(id, &job);
	}

	fn group(first: JobId) -> Option<GroupViewOf<T>> {
		Self::group_view(first)
	}

	fn note_group_delivered(first: JobId, who: &T::AccountId) {
		Self::group_delivered(first, who)
	}

	fn settle_group(
		first: JobId,
		payouts: &[(T::AccountId, BalanceOf<T>)],
		settlement: GroupSettlement<T::AccountId, BalanceOf<T>>,
	) -> Result<Vec<SettledFunds<BalanceOf<T>>>, DispatchError> {
		Self::settle_members(first, payouts, settlement)
	}

	fn rerun(id: JobId, exclude: &[T::AccountId]) {
		let Some(job) = Self::job_record(id) else { return };
		Self::detach(id);
		Self::release_undelivered(id, &job);
		Self::restart(id, job, exclude, frame_system::Pallet::<T>::block_number());
	}

	fn max_executors_per_job() -> u32 {
		T::MaxQuorum::get()
	}

	fn max_group_size() -> u32 {
		T::MaxJobsPerSubmit::get()
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn submit_for_benchmark(
		client: &T::AccountId,
		model: &haca_primitives::ModelHash,
		mode: haca_primitives::VerificationMode,
	) -> JobId {
		// An attested job is a member of the largest group: a statement about it is charged
		// for taking it out of the group.
		let count = if mode == haca_primitives::VerificationMode::Attested {
			T::MaxJobsPerSubmit::get()
		} else {
			1
		};
		Self::submit_batch_for_benchmark(client, model, mode, count)
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn submit_group_for_benchmark(
		client: &T::AccountId,
		model: &haca_primitives::ModelHash,
		size: u32,
	) -> JobId {
		let attested = haca_primitives::VerificationMode::Attested;
		Self::submit_batch_for_benchmark(client, model, attested, size.max(2))
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn draw_for_benchmark() {
		Self::draw_waiting_for_benchmark();
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn spot_check_for_benchmark(id: JobId, checker: &T::AccountId) {
		use haca_primitives::traits::ExecutorAccountability;
		Jobs::<T>::mutate(id, |job| {
			let job = job.as_mut().expect("an assigned benchmark job");
			if job.spot_checker.is_none() {
				job.spot_checker = Some(checker.clone());
				Undelivered::<T>::insert(checker, id, ());
				T::Executors::begin_dispute(checker);
			}
		});
	}
}
