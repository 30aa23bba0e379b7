//! The jobs pallet's logic: submission, assignment, deadlines, refunds.

use alloc::vec::Vec;
use codec::Encode;
use frame_support::{
	ensure,
	pallet_prelude::*,
	traits::{
		fungible::MutateHold,
		tokens::{Fortitude, Precision, Restriction},
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	tensor::{decode_and_check, TensorError},
	traits::{
		ExecutorRegistry, JobLedger, JobView, ModelRegistry, ModelUnavailable, OnPartialDelivery,
	},
	JobId, ModelHash, VerificationMode,
};
use sp_runtime::traits::{Saturating, Zero};

use crate::*;

impl<T: Config> From<TensorError> for Error<T> {
	fn from(error: TensorError) -> Self {
		match error {
			TensorError::Malformed => Error::MalformedInput,
			TensorError::Count => Error::WrongInputCount,
			TensorError::ElementType => Error::WrongInputType,
			TensorError::Shape => Error::WrongInputShape,
			TensorError::ByteLength => Error::WrongInputLength,
		}
	}
}

impl<T: Config> From<ModelUnavailable> for Error<T> {
	fn from(error: ModelUnavailable) -> Self {
		match error {
			ModelUnavailable::Unknown => Error::UnknownModel,
			ModelUnavailable::NotActive => Error::ModelNotActive,
		}
	}
}

impl<T: Config> Pallet<T> {
	/// The fee a job on a model with per-run fee `fee` costs in `mode`: one run per executor.
	pub fn price(fee: BalanceOf<T>, mode: &VerificationMode) -> BalanceOf<T> {
		fee.saturating_mul(mode.executors().into())
	}

	/// The storage deposit of a job with an `input_len`-byte input.
	pub fn deposit_for(input_len: u32) -> BalanceOf<T> {
		T::InputByteDeposit::get()
			.saturating_mul(input_len.into())
			.saturating_add(T::JobDeposit::get())
	}

	fn ensure_valid_mode(mode: &VerificationMode) -> DispatchResult {
		if let VerificationMode::Quorum { agree, of } = *mode {
			let valid = agree >= 1
				&& agree <= of
				&& u32::from(of) <= T::MaxQuorum::get()
				&& 2 * u32::from(agree) > u32::from(of);
			ensure!(valid, Error::<T>::InvalidQuorum);
		}
		Ok(())
	}

	/// The weight of a batch of jobs with inputs of `input_lens` bytes, each for
	/// `executors` executors, of a model with `servers` executors: the `submit_batch`
	/// benchmark (attested jobs with `BATCH_BENCHMARK_INPUT_LEN`-byte inputs), plus, per job,
	/// what its input bytes and further executors add in the `submit` benchmark, plus a
	/// write per executor load the batch may update (the benchmark's assignments, spread at
	/// random, updated fewer than one per job).
	pub fn submit_batch_weight(
		input_lens: impl ExactSizeIterator<Item = u32>,
		executors: u32,
		servers: u32,
	) -> Weight {
		let jobs = input_lens.len() as u32;
		let benchmarked = T::WeightInfo::submit(BATCH_BENCHMARK_INPUT_LEN, 1, servers);
		let loads = T::DbWeight::get().writes(jobs.saturating_mul(executors).min(servers).into());
		let batch = T::WeightInfo::submit_batch(jobs, servers).saturating_add(loads);
		input_lens.fold(batch, |weight, len| {
			let job = T::WeightInfo::submit(len, executors, servers);
			weight.saturating_add(job.saturating_sub(benchmarked))
		})
	}

	/// Submits one job; see [`Self::do_submit_batch`].
	pub(crate) fn do_submit(
		client: T::AccountId,
		model: ModelHash,
		input: BoundedVec<u8, T::MaxInputLen>,
		mode: VerificationMode,
		max_fee: BalanceOf<T>,
	) -> Result<JobId, DispatchError> {
		Self::do_submit_batch(client, model, alloc::vec![input], mode, max_fee).map(|ids| ids.start)
	}

	/// Submits one job per input, after checking every input: holds the fees and deposits
	/// of all, then assigns each job (in order) or queues it. Returns the consecutive ids.
	pub(crate) fn do_submit_batch(
		client: T::AccountId,
		model: ModelHash,
		inputs: Vec<BoundedVec<u8, T::MaxInputLen>>,
		mode: VerificationMode,
		max_fee: BalanceOf<T>,
	) -> Result<core::ops::Range<JobId>, DispatchError> {
		ensure!(!inputs.is_empty(), Error::<T>::EmptyBatch);
		let terms = T::Models::job_terms(&model).map_err(Error::<T>::from)?;
		ensure!(terms.modes.accepts(&mode), Error::<T>::ModeNotAccepted);
		Self::ensure_valid_mode(&mode)?;
		for input in &inputs {
			decode_and_check(input, &terms.inputs).map_err(Error::<T>::from)?;
		}
		ensure!(max_fee >= Self::price(terms.fee, &mode), Error::<T>::FeeTooLow);

		let held = inputs.iter().fold(BalanceOf::<T>::zero(), |total, input| {
			total.saturating_add(max_fee).saturating_add(Self::deposit_for(input.len() as u32))
		});
		T::Currency::hold(&HoldReason::JobEscrow.into(), &client, held)
			.map_err(|_| Error::<T>::InsufficientBalance)?;

		let count = inputs.len() as JobId;
		let first = NextJobId::<T>::mutate(|next| {
			let first = *next;
			*next = next.saturating_add(count);
			first
		});
		let now = frame_system::Pallet::<T>::block_number();
		let mut eligible = T::Executors::eligible_executors(&model);
		for (id, input) in (first..).zip(inputs) {
			let mut job = Job {
				client: client.clone(),
				model,
				input_hash: sp_core::H256(sp_io::hashing::blake2_256(&input)),
				mode,
				max_fee,
				deposit: Self::deposit_for(input.len() as u32),
				status: JobStatus::Pending,
				executors: Default::default(),
				delivered: Default::default(),
				attempts: 0,
				submitted_at: now,
			};
			JobInputs::<T>::insert(id, input);
			T::Models::add_job_reference(&model);
			let event =
				Event::JobSubmitted { job: id, client: client.clone(), model, mode, max_fee };
			Self::deposit_event(event);

			if !Self::assign_among(id, &mut job, &mut eligible, &[], now) {
				PendingJobs::<T>::try_append(id).map_err(|_| Error::<T>::QueueFull)?;
				Self::deposit_event(Event::JobQueued { job: id });
			}
			Jobs::<T>::insert(id, job);
		}
		Ok(first..first.saturating_add(count))
	}

	pub(crate) fn do_cancel(client: T::AccountId, id: JobId) -> DispatchResult {
		let job = Jobs::<T>::get(id).ok_or(Error::<T>::UnknownJob)?;
		ensure!(job.client == client, Error::<T>::NotClient);
		ensure!(job.status == JobStatus::Pending, Error::<T>::NotCancellable);
		PendingJobs::<T>::mutate(|pending| pending.retain(|queued| *queued != id));
		let refunded = Self::end_job(id, &job, job.held());
		Self::deposit_event(Event::JobCancelled { job: id, refunded });
		Ok(())
	}

	/// Assigns the job to as many eligible executors as its mode needs, avoiding `exclude`
	/// when enough others are eligible; see [`Self::assign_among`].
	pub(crate) fn try_assign(
		id: JobId,
		job: &mut Job<T>,
		exclude: &[T::AccountId],
		now: BlockNumberFor<T>,
	) -> bool {
		let mut eligible = T::Executors::eligible_executors(&job.model);
		Self::assign_among(id, job, &mut eligible, exclude, now)
	}

	/// Assigns the job to as many of `eligible` (the model's eligible executors, in registry
	/// order) as its mode needs, avoiding `exclude` when enough others are eligible, and
	/// drops from `eligible` those it fills to capacity, so that it stays the eligible list
	/// for the next job. The choice depends only on on-chain data: the eligible executors,
	/// the parent block hash, the job id and the attempt. Returns whether the job was
	/// assigned.
	fn assign_among(
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

		let seed = sp_io::hashing::blake2_256(
			&(frame_system::Pallet::<T>::parent_hash(), id, job.attempts).encode(),
		);
		let mut first = [0u8; 8];
		first.copy_from_slice(&seed[..8]);
		let start = (u64::from_le_bytes(first) % pool.len() as u64) as usize;
		let chosen: Vec<_> = pool.iter().cycle().skip(start).take(needed).cloned().collect();
		let Ok(executors) = BoundedVec::<_, T::MaxQuorum>::try_from(chosen) else {
			return false;
		};
		for who in &executors {
			if !T::Executors::note_assigned(who) {
				eligible.retain(|other| other != who);
			}
		}

		let deadline = now.saturating_add(T::ResultTimeout::get());
		job.attempts.saturating_inc();
		job.status = JobStatus::Assigned { deadline };
		job.executors = executors.clone();
		Self::push_deadline(id, deadline);
		Self::deposit_event(Event::JobAssigned {
			job: id,
			executors,
			deadline,
			attempt: job.attempts,
		});
		true
	}

	fn push_deadline(id: JobId, deadline: BlockNumberFor<T>) {
		DeadlineQueueBounds::<T>::mutate(|(_, tail)| {
			DeadlineQueue::<T>::insert(*tail, (id, deadline));
			*tail = tail.saturating_add(1);
		});
	}

	/// Ends a job: returns `remaining` (what is still held for it) to the client, drops the
	/// model reference and removes the job. Returns the amount returned.
	fn end_job(id: JobId, job: &Job<T>, remaining: BalanceOf<T>) -> BalanceOf<T> {
		let refunded = T::Currency::release(
			&HoldReason::JobEscrow.into(),
			&job.client,
			remaining,
			Precision::BestEffort,
		)
		.unwrap_or_else(|_| Zero::zero());
		T::Models::remove_job_reference(&job.model);
		Jobs::<T>::remove(id);
		JobInputs::<T>::remove(id);
		refunded
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
	fn expire(id: JobId, mut job: Job<T>, now: BlockNumberFor<T>) {
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
			job.executors = job.delivered.clone();
			job.status = JobStatus::Delivered;
			Jobs::<T>::insert(id, job);
			return;
		}
		let exclude = job.executors.to_vec();
		Self::restart(id, job, &exclude, now);
	}

	/// Runs the job again with new executors (avoiding `exclude` when possible), queues it
	/// when none is eligible, or ends it with a full refund after `MaxAttempts`.
	fn restart(id: JobId, mut job: Job<T>, exclude: &[T::AccountId], now: BlockNumberFor<T>) {
		job.executors = Default::default();
		job.delivered = Default::default();
		job.status = JobStatus::Pending;
		let restarted = job.attempts < T::MaxAttempts::get()
			&& (Self::try_assign(id, &mut job, exclude, now)
				|| PendingJobs::<T>::try_append(id).is_ok());
		if restarted {
			Jobs::<T>::insert(id, job);
		} else {
			let refunded = Self::end_job(id, &job, job.held());
			Self::deposit_event(Event::JobFailed { job: id, refunded });
		}
	}

	/// Tries to assign up to `MaxAssignmentsPerBlock` waiting jobs, oldest first; those that
	/// still find no executor go to the back of the queue. Returns the weight used.
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
			if Self::try_assign(id, &mut job, &[], now) {
				Jobs::<T>::insert(id, job);
			} else {
				waiting.push(id);
			}
		}
		PendingJobs::<T>::put(BoundedVec::truncate_from(waiting));
		T::WeightInfo::assign_pending(tries as u32)
	}

	/// Invariants: each client's held escrow is the sum of its jobs' fees and deposits;
	/// every assigned job has as many executors as its mode needs, each serving its model;
	/// the waiting queue holds exactly the pending jobs.
	#[cfg(any(feature = "try-runtime", feature = "std"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::traits::fungible::InspectHold;
		let mut escrow = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		let pending = PendingJobs::<T>::get();
		for (id, job) in Jobs::<T>::iter() {
			let total = escrow.entry(job.client.clone()).or_insert_with(Zero::zero);
			*total = total.saturating_add(job.held());
			ensure!(JobInputs::<T>::contains_key(id), "job without input");
			match job.status {
				JobStatus::Pending => {
					ensure!(pending.contains(&id), "pending job not queued");
					ensure!(job.executors.is_empty(), "pending job has executors");
				}
				JobStatus::Delivered => {
					ensure!(!job.executors.is_empty(), "delivered job without executors");
					ensure!(
						job.delivered == job.executors,
						"delivered job with missing deliveries"
					);
				}
				JobStatus::Assigned { .. } => {
					ensure!(
						job.executors.len() as u32 == job.mode.executors(),
						"assigned job has the wrong number of executors"
					);
					ensure!(
						job.executors.iter().all(|who| T::Executors::serves(who, &job.model)),
						"job assigned to an executor that does not serve its model"
					);
				}
			}
		}
		ensure!(
			pending
				.iter()
				.all(|id| Jobs::<T>::get(id).is_some_and(|job| job.status == JobStatus::Pending)),
			"queued job is not pending"
		);
		for (client, total) in escrow {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::JobEscrow.into(), &client) == total,
				"held escrow differs from the jobs' fees and deposits"
			);
		}
		Ok(())
	}
}

impl<T: Config> JobLedger<T::AccountId, BalanceOf<T>, BlockNumberFor<T>> for Pallet<T> {
	fn job(id: JobId) -> Option<JobView<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
		Jobs::<T>::get(id).map(|job| JobView {
			deadline: match job.status {
				JobStatus::Assigned { deadline } => Some(deadline),
				_ => None,
			},
			client: job.client,
			model: job.model,
			input_hash: job.input_hash,
			mode: job.mode,
			max_fee: job.max_fee,
			executors: job.executors.into_inner(),
			delivered: job.delivered.into_inner(),
		})
	}

	fn input(id: JobId) -> Option<Vec<u8>> {
		JobInputs::<T>::get(id).map(BoundedVec::into_inner)
	}

	fn undelivered_jobs(who: &T::AccountId) -> Vec<JobId> {
		Jobs::<T>::iter()
			.filter(|(_, job)| {
				matches!(job.status, JobStatus::Assigned { .. })
					&& job.executors.contains(who)
					&& !job.delivered.contains(who)
			})
			.map(|(id, _)| id)
			.collect()
	}

	fn note_delivered(id: JobId, who: &T::AccountId) {
		let Some(mut job) = Jobs::<T>::get(id) else { return };
		let JobStatus::Assigned { .. } = job.status else { return };
		if !job.executors.contains(who) || job.delivered.contains(who) {
			return;
		}
		if job.delivered.try_push(who.clone()).is_err() {
			return;
		}
		T::Executors::note_released(who);
		if job.delivered.len() == job.executors.len() {
			job.status = JobStatus::Delivered;
			Self::deposit_event(Event::JobDelivered { job: id });
		}
		Jobs::<T>::insert(id, job);
	}

	fn settle(id: JobId, payouts: &[(T::AccountId, BalanceOf<T>)]) -> DispatchResult {
		let job = Jobs::<T>::get(id).ok_or(Error::<T>::UnknownJob)?;
		let reason = HoldReason::JobEscrow.into();
		let paid = payouts
			.iter()
			.fold(BalanceOf::<T>::zero(), |total, (_, amount)| total.saturating_add(*amount));
		ensure!(paid <= job.max_fee, Error::<T>::FeeTooLow);
		for (payee, amount) in payouts {
			T::Currency::transfer_on_hold(
				&reason,
				&job.client,
				payee,
				*amount,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Polite,
			)?;
		}
		let refunded = Self::end_job(id, &job, job.held().saturating_sub(paid));
		Self::deposit_event(Event::JobSettled { job: id, paid, refunded });
		Ok(())
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn submit_for_benchmark(
		client: &T::AccountId,
		model: &ModelHash,
		mode: VerificationMode,
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
		T::Currency::set_balance(client, BalanceOf::<T>::max_value() / 2u32.into());
		let fee = Self::price(terms.fee, &mode);
		Self::do_submit(client.clone(), *model, input.try_into().expect("input fits"), mode, fee)
			.expect("benchmark job submits")
	}

	fn rerun(id: JobId, exclude: &[T::AccountId]) {
		let Some(job) = Jobs::<T>::get(id) else { return };
		for who in job.executors.iter().filter(|who| !job.delivered.contains(who)) {
			T::Executors::note_released(who);
		}
		Self::restart(id, job, exclude, frame_system::Pallet::<T>::block_number());
	}
}
