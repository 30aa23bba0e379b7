//! Submitting and cancelling jobs: prices, deposits, the checks on inputs and modes.

use alloc::vec::Vec;
use frame_support::{ensure, pallet_prelude::*};
use haca_primitives::{
	tensor::{decode_and_check, Tensor, TensorError, TensorSpec},
	traits::{ExecutorRegistry, JobTerms, ModelRegistry, ModelUnavailable},
	JobId, ModelHash, VerificationMode,
};
use sp_runtime::{
	traits::{Saturating, Zero},
	PerThing, Perbill, Rounding,
};

use haca_primitives::runtime_api::JobEnd;

use crate::*;

impl<T: Config> Pallet<T> {
	/// The fee a job on a model with per-run fee `fee` costs in `mode`: one run per executor.
	pub fn price(fee: BalanceOf<T>, mode: &VerificationMode) -> BalanceOf<T> {
		fee.saturating_mul(mode.executors().into())
	}

	/// The terms of `model`, if it takes jobs in `mode` now: active, accepting the mode, which
	/// is valid, and for attested jobs audited by at least `MinAttestedVerifiers` verifiers.
	fn terms_for(
		model: &ModelHash,
		mode: &VerificationMode,
	) -> Result<JobTerms<BalanceOf<T>>, DispatchError> {
		let terms = T::Models::job_terms(model).map_err(Error::<T>::from)?;
		ensure!(terms.modes.accepts(mode), Error::<T>::ModeNotAccepted);
		Self::ensure_valid_mode(mode)?;
		ensure!(
			*mode != VerificationMode::Attested
				|| T::Executors::verifier_count(model) >= T::MinAttestedVerifiers::get(),
			Error::<T>::TooFewVerifiers
		);
		Ok(terms)
	}

	/// The fee of one run on `input` of a model with fee `fee` and input specs `specs`: a
	/// model's fee is that of its largest input, and a smaller one (fewer elements on its
	/// variable axes) pays in proportion to its elements, rounded up, at least one
	/// element's share.
	pub fn fee_for(fee: BalanceOf<T>, specs: &[TensorSpec], input: &[Tensor]) -> BalanceOf<T> {
		let largest = total_elements(specs.iter().map(TensorSpec::element_count));
		let used = total_elements(input.iter().map(Tensor::element_count)).max(1);
		if used >= largest {
			return fee;
		}
		Perbill::from_rational_with_rounding(used, largest, Rounding::Up)
			.map_or(fee, |share| share.mul_ceil(fee))
	}

	/// What a job on `model` in `mode` costs at most (with the model's largest input), if
	/// the model takes such a job now (a submission would pass every check but its input's
	/// and its funds').
	pub fn quote(model: &ModelHash, mode: &VerificationMode) -> Option<BalanceOf<T>> {
		Self::terms_for(model, mode).ok().map(|terms| Self::price(terms.fee, mode))
	}

	/// The storage deposit of a job with an `input_len`-byte input.
	pub fn deposit_for(input_len: u32) -> BalanceOf<T> {
		T::InputByteDeposit::get()
			.saturating_mul(input_len.into())
			.saturating_add(T::JobDeposit::get())
	}

	fn ensure_valid_mode(mode: &VerificationMode) -> DispatchResult {
		if let VerificationMode::Quorum { agree, of } = *mode {
			let valid = of >= 2
				&& agree <= of
				&& u32::from(of) <= T::MaxQuorum::get()
				&& 2 * u32::from(agree) > u32::from(of);
			ensure!(valid, Error::<T>::InvalidQuorum);
		}
		Ok(())
	}

	/// The weight of a batch of jobs in `mode` with inputs of `input_lens` bytes: the
	/// `submit_group` benchmark for an attested batch of two or more (a group), else the
	/// `submit_batch` one (jobs with `BATCH_BENCHMARK_INPUT_LEN`-byte inputs), plus, per
	/// job, what its input bytes add in the `submit` benchmark.
	pub fn submit_batch_weight(
		mode: VerificationMode,
		input_lens: impl ExactSizeIterator<Item = u32>,
	) -> Weight {
		let count = input_lens.len() as u32;
		let batch = if mode == VerificationMode::Attested && count > 1 {
			T::WeightInfo::submit_group(count)
		} else {
			T::WeightInfo::submit_batch(count)
		};
		let benchmarked = T::WeightInfo::submit(BATCH_BENCHMARK_INPUT_LEN);
		input_lens.fold(batch, |weight, len| {
			weight.saturating_add(T::WeightInfo::submit(len).saturating_sub(benchmarked))
		})
	}

	/// `input`, refused by name when longer than `MaxInputLen` (calls take inputs unbounded
	/// so that a long one fails with `InputTooLong`, not as a transaction that cannot be
	/// decoded).
	pub(crate) fn bounded_input(
		input: Vec<u8>,
	) -> Result<BoundedVec<u8, T::MaxInputLen>, DispatchError> {
		input.try_into().map_err(|_| Error::<T>::InputTooLong.into())
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
	/// of all, then queues each job for a draw of its executors in a later block (see
	/// [`Self::assign_pending`]). Returns the consecutive ids.
	pub(crate) fn do_submit_batch(
		client: T::AccountId,
		model: ModelHash,
		inputs: Vec<BoundedVec<u8, T::MaxInputLen>>,
		mode: VerificationMode,
		max_fee: BalanceOf<T>,
	) -> Result<core::ops::Range<JobId>, DispatchError> {
		ensure!(!inputs.is_empty(), Error::<T>::EmptyBatch);
		let terms = Self::terms_for(&model, &mode)?;
		let fees = inputs
			.iter()
			.map(|input| {
				let tensors = decode_and_check(input, &terms.inputs).map_err(Error::<T>::from)?;
				let fee = Self::fee_for(terms.fee, &terms.inputs, &tensors);
				ensure!(max_fee >= Self::price(fee, &mode), Error::<T>::FeeTooLow);
				Ok(fee)
			})
			.collect::<Result<Vec<_>, DispatchError>>()?;

		let held = inputs.iter().fold(BalanceOf::<T>::zero(), |total, input| {
			total.saturating_add(max_fee).saturating_add(Self::deposit_for(input.len() as u32))
		});
		Self::hold_escrow(&client, held)?;

		let count = inputs.len() as u32;
		T::Models::add_job_references(&model, count);
		let now = frame_system::Pallet::<T>::block_number();
		let stake = T::Executors::job_stake(terms.fee);
		let first = if mode == VerificationMode::Attested && count > 1 {
			Self::submit_group(&client, model, inputs, fees, max_fee, stake, now)?
		} else {
			let first = NextJobId::<T>::mutate(|next| {
				let first = *next;
				*next = next.saturating_add(count.into());
				first
			});
			for ((id, input), fee) in (first..).zip(inputs).zip(fees) {
				let job = Job {
					client: client.clone(),
					model,
					input_hash: sp_core::H256(sp_io::hashing::blake2_256(&input)),
					mode,
					max_fee,
					fee,
					deposit: Self::deposit_for(input.len() as u32),
					stake,
					status: JobStatus::Pending,
					executors: Default::default(),
					delivered: Default::default(),
					spot_checker: None,
					avoid: Default::default(),
					attempts: 0,
					submitted_at: now,
					waiting_since: now,
				};
				JobInputs::<T>::insert(id, input);
				ensure!(Self::enqueue(Work::Job(id), &client, 1, false), Error::<T>::QueueFull);
				Jobs::<T>::insert(id, job);
			}
			first
		};
		for id in first..first.saturating_add(count.into()) {
			let event = Event::Submitted { job: id, client: client.clone(), model, mode, max_fee };
			Self::deposit_event(event);
		}
		Ok(first..first.saturating_add(count.into()))
	}

	pub(crate) fn do_cancel(client: T::AccountId, id: JobId) -> DispatchResult {
		let job = Self::job_record(id).ok_or(Error::<T>::UnknownJob)?;
		ensure!(job.client == client, Error::<T>::NotClient);
		ensure!(job.status == JobStatus::Pending, Error::<T>::NotCancellable);
		PendingJobs::<T>::mutate(|pending| pending.retain(|queued| *queued != Work::Job(id)));
		Self::detach(id);
		Self::note_dequeued(&client, 1);
		let refunded =
			Self::end_job(id, &job, job.held(), |refunded| JobEnd::Cancelled { refunded });
		Self::deposit_event(Event::Cancelled { job: id, refunded });
		Ok(())
	}
}

/// The sum of element counts (saturating; an overflowed count adds nothing).
fn total_elements(counts: impl Iterator<Item = Option<usize>>) -> u64 {
	counts.fold(0u64, |total, count| total.saturating_add(count.unwrap_or(0) as u64))
}

impl<T: Config> From<TensorError> for Error<T> {
	fn from(error: TensorError) -> Self {
		match error {
			TensorError::Malformed => Error::MalformedInput,
			TensorError::Count => Error::WrongInputCount,
			TensorError::ElementType => Error::WrongInputType,
			TensorError::Shape => Error::WrongInputShape,
			TensorError::ByteLength => Error::WrongInputLength,
			TensorError::NotBoolean => Error::InvalidBoolean,
			TensorError::InvalidString => Error::InvalidString,
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
