//! Benchmarks of the jobs pallet (frame-benchmarking v2), run against the runtime's real
//! model and executor registries.

use alloc::{vec, vec::Vec};
use codec::Encode;
use frame_benchmarking::v2::*;
use frame_support::{
	pallet_prelude::{BoundedVec, Get},
	traits::fungible::Mutate,
	weights::WeightMeter,
};
use frame_system::RawOrigin;
use haca_primitives::{
	tensor::{ElementType, Tensor, TensorSpec},
	traits::{ExecutorDirectory, ExecutorRegistry, JobLedger, ModelRegistry, RevealRandomness},
	JobId, ModelHash, VerificationMode,
};
use sp_runtime::traits::{Bounded, Zero};

use crate::*;

/// Bytes of a tensor list's encoding besides the data of its single u8 tensor, at most.
const ENCODING_OVERHEAD: u32 = 16;

/// The same for a tensor of under 64 elements (one-byte compact lengths).
const SMALL_ENCODING_OVERHEAD: u32 = 8;

/// Active model number `index`, whose single input is a u8 tensor of `len` elements,
/// served by `servers` executors of its own, and the encoded input for it.
fn model_and_input<T: Config>(
	index: u32,
	len: u32,
	servers: u32,
) -> (ModelHash, BoundedVec<u8, T::MaxInputLen>) {
	let mut hash = [7u8; 32];
	hash[..4].copy_from_slice(&index.to_le_bytes());
	let model = ModelHash::from(hash);
	let spec = TensorSpec {
		name: b"input".to_vec().try_into().unwrap(),
		element_type: ElementType::U8,
		shape: vec![len].try_into().unwrap(),
		variable_axes: 0,
	};
	let specs: haca_primitives::traits::TensorSpecs = vec![spec].try_into().unwrap();
	T::Models::activate_for_benchmark(&model, specs.clone(), specs, 1u32.into());
	for i in 0..servers {
		let mut key = [0u8; 32];
		key[..4].copy_from_slice(&index.to_le_bytes());
		key[4..8].copy_from_slice(&i.to_le_bytes());
		let key = sp_runtime::app_crypto::sr25519::Public::from_raw(key).into();
		T::Executors::register_for_benchmark(&account("executor", i, index), &model, false, key);
	}
	let tensor = Tensor {
		element_type: ElementType::U8,
		shape: vec![len].try_into().unwrap(),
		data: vec![7; len as usize],
	};
	let input = vec![tensor].encode().try_into().expect("input within MaxInputLen");
	(model, input)
}

/// Registers `MinAttestedVerifiers` verifiers of `model`, so that it takes attested jobs.
fn audited<T: Config>(model: &ModelHash) {
	verified_by::<T>(model, T::MinAttestedVerifiers::get());
}

/// Registers `count` verifiers of `model`.
fn verified_by<T: Config>(model: &ModelHash, count: u32) {
	for i in 0..count {
		let mut key = [0xa5u8; 32];
		key[..4].copy_from_slice(&i.to_le_bytes());
		let key = sp_runtime::app_crypto::sr25519::Public::from_raw(key).into();
		T::Executors::register_for_benchmark(&account("verifier", i, 0), model, true, key);
	}
}

/// The largest quorum mode.
fn largest_quorum<T: Config>() -> VerificationMode {
	let of = T::MaxQuorum::get() as u8;
	VerificationMode::Quorum { agree: of / 2 + 1, of }
}

/// A funded client.
fn client<T: Config>() -> T::AccountId {
	let who: T::AccountId = whitelisted_caller();
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 2u32.into());
	who
}

/// Submits `n` jobs of the largest quorum, each on its own model with the most executors;
/// returns their ids.
fn submit_jobs<T: Config>(n: u32) -> Vec<JobId> {
	let who = client::<T>();
	(0..n)
		.map(|index| {
			let (model, input) = model_and_input::<T>(index, 4, T::Executors::max_servers());
			Pallet::<T>::do_submit(
				who.clone(),
				model,
				input.clone(),
				largest_quorum::<T>(),
				1_000u32.into(),
			)
			.expect("benchmark job submits")
		})
		.collect()
}

/// `n` jobs on `model` waiting for their draws, each of a client of its own (the per-client
/// quota is not what these benchmarks bound); returns their ids.
fn waiting_jobs<T: Config>(n: u32, model: ModelHash, mode: VerificationMode) -> Vec<JobId> {
	(0..n)
		.map(|index| Pallet::<T>::submit_for_benchmark(&account("client", index, 0), &model, mode))
		.collect()
}

/// A group of `n` attested jobs on a model with the most executors, waiting for a draw whose
/// randomness is known; returns its id.
fn waiting_group<T: Config>(n: u32) -> GroupId {
	let (model, input) = model_and_input::<T>(
		0,
		BATCH_BENCHMARK_INPUT_LEN - SMALL_ENCODING_OVERHEAD,
		T::Executors::max_servers(),
	);
	audited::<T>(&model);
	let first = Pallet::<T>::do_submit_batch(
		client::<T>(),
		model,
		vec![input; n as usize],
		VerificationMode::Attested,
		1_000u32.into(),
	)
	.expect("benchmark group submits")
	.start;
	T::BenchmarkRandomness::reveal([7; 32]);
	let now = frame_system::Pallet::<T>::block_number() + 2u32.into();
	frame_system::Pallet::<T>::set_block_number(now);
	first / GROUP_SPAN
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// A largest-quorum job with an `i`-byte input, queued for its draw.
	#[benchmark]
	fn submit(i: Linear<{ ENCODING_OVERHEAD + 1 }, { T::MaxInputLen::get() }>) {
		let (model, input) = model_and_input::<T>(0, i - ENCODING_OVERHEAD, T::MaxQuorum::get());
		let who = client::<T>();

		#[extrinsic_call]
		_(
			RawOrigin::Signed(who),
			model,
			input.into_inner(),
			largest_quorum::<T>(),
			1_000u32.into(),
		);

		assert_eq!(PendingJobs::<T>::get().into_inner(), vec![Work::Job(0)]);
	}

	/// `n` largest-quorum jobs with `BATCH_BENCHMARK_INPUT_LEN`-byte inputs, submitted in
	/// one batch and queued for their draws.
	#[benchmark]
	fn submit_batch(n: Linear<1, { T::MaxJobsPerSubmit::get() }>) {
		let (model, input) = model_and_input::<T>(
			0,
			BATCH_BENCHMARK_INPUT_LEN - SMALL_ENCODING_OVERHEAD,
			T::MaxQuorum::get(),
		);
		assert_eq!(input.len() as u32, BATCH_BENCHMARK_INPUT_LEN);
		let inputs = vec![input.into_inner(); n as usize];
		let who = client::<T>();

		#[extrinsic_call]
		_(RawOrigin::Signed(who), model, inputs, largest_quorum::<T>(), 1_000u32.into());

		assert_eq!(PendingJobs::<T>::decode_len(), Some(n as usize));
	}

	/// Cancelling the last member of a group last in a full waiting queue: the group ends
	/// and the whole queue is rewritten; the job's outcome replaces the oldest of a full
	/// ring.
	#[benchmark]
	fn cancel() {
		let model = ModelHash::repeat_byte(8);
		let spec = TensorSpec {
			name: b"input".to_vec().try_into().unwrap(),
			element_type: ElementType::U8,
			shape: vec![1].try_into().unwrap(),
			variable_axes: 0,
		};
		let specs: haca_primitives::traits::TensorSpecs = vec![spec].try_into().unwrap();
		T::Models::activate_for_benchmark(&model, specs.clone(), specs, Zero::zero());
		audited::<T>(&model);
		let input: BoundedVec<u8, T::MaxInputLen> = vec![Tensor {
			element_type: ElementType::U8,
			shape: vec![1].try_into().unwrap(),
			data: vec![1],
		}]
		.encode()
		.try_into()
		.unwrap();
		let who = client::<T>();
		let first = Pallet::<T>::do_submit_batch(
			who.clone(),
			model,
			vec![input; 2],
			VerificationMode::Attested,
			Zero::zero(),
		)
		.expect("queued")
		.start;
		Pallet::<T>::do_cancel(who.clone(), first).expect("a waiting member");
		let last = first + 1;
		let others = (1..T::MaxPendingJobs::get() as JobId).map(|n| Work::Job(last + n));
		let group = Work::Group(first / GROUP_SPAN);
		PendingJobs::<T>::put(BoundedVec::truncate_from(others.chain([group]).collect::<Vec<_>>()));
		Pallet::<T>::fill_outcome_ring_for_benchmark();

		#[extrinsic_call]
		_(RawOrigin::Signed(who), last);

		assert!(Groups::<T>::get(first / GROUP_SPAN).is_none());
		assert!(!PendingJobs::<T>::get().contains(&group));
		assert!(Outcomes::<T>::contains_key(last));
	}

	/// `n` missed deadlines of one client's largest-quorum jobs, each queued for a new draw.
	#[benchmark]
	fn process_deadlines(
		n: Linear<0, { T::MaxPendingPerClient::get().min(T::MaxPendingJobs::get() / 2) }>,
	) {
		let jobs = submit_jobs::<T>(n);
		Pallet::<T>::draw_waiting_for_benchmark();
		let after =
			frame_system::Pallet::<T>::block_number() + T::ResultTimeout::get() + 1u32.into();
		let mut meter = WeightMeter::new();

		#[block]
		{
			Pallet::<T>::process_deadlines(after, &mut meter);
		}

		assert!(jobs
			.iter()
			.all(|id| { Jobs::<T>::get(id).is_some_and(|job| job.status == JobStatus::Pending) }));
		assert_eq!(
			PendingJobs::<T>::get().into_inner(),
			jobs.into_iter().map(Work::Job).collect::<Vec<_>>()
		);
	}

	/// `n` deadline queue entries of jobs that delivered in time, each checked and dropped.
	#[benchmark]
	fn skip_deadlines(n: Linear<0, { T::MaxPendingJobs::get() / 2 }>) {
		let (model, _) = model_and_input::<T>(0, 4, 2 * T::MaxQuorum::get());
		let jobs = waiting_jobs::<T>(n, model, largest_quorum::<T>());
		Pallet::<T>::draw_waiting_for_benchmark();
		for id in &jobs {
			Jobs::<T>::mutate(id, |job| job.as_mut().unwrap().status = JobStatus::Delivered);
		}
		let after =
			frame_system::Pallet::<T>::block_number() + T::ResultTimeout::get() + 1u32.into();

		#[block]
		{
			Pallet::<T>::process_deadlines(after, &mut WeightMeter::new());
		}

		let (head, tail) = DeadlineQueueBounds::<T>::get();
		assert_eq!(head, tail, "every entry checked");
		assert!(jobs.iter().all(|id| Jobs::<T>::get(id).unwrap().status == JobStatus::Delivered));
	}

	/// `n` waiting largest-quorum jobs of a model with the most executors and as many
	/// verifiers as the verifier set has room for (spot checkers' pool) drawn.
	#[benchmark]
	fn assign_pending(n: Linear<0, { T::MaxPendingJobs::get() / 2 }>) {
		let (model, _) = model_and_input::<T>(0, 4, T::Executors::max_servers());
		let room =
			T::Executors::max_verifiers().saturating_sub(T::Executors::verifiers().len() as u32);
		verified_by::<T>(&model, room);
		let ids = waiting_jobs::<T>(n, model, largest_quorum::<T>());
		T::BenchmarkRandomness::reveal([7; 32]);
		let now = frame_system::Pallet::<T>::block_number() + 2u32.into();
		frame_system::Pallet::<T>::set_block_number(now);

		#[block]
		{
			Pallet::<T>::assign_pending(now, &mut WeightMeter::new());
		}

		assert!(ids
			.iter()
			.all(|id| matches!(Jobs::<T>::get(id).unwrap().status, JobStatus::Assigned { .. })));
	}

	/// An attested batch of `n` jobs with `BATCH_BENCHMARK_INPUT_LEN`-byte inputs, submitted
	/// as one group and queued for its draw.
	#[benchmark]
	fn submit_group(n: Linear<2, { T::MaxJobsPerSubmit::get() }>) {
		let (model, input) = model_and_input::<T>(
			0,
			BATCH_BENCHMARK_INPUT_LEN - SMALL_ENCODING_OVERHEAD,
			T::Executors::max_servers(),
		);
		audited::<T>(&model);
		let inputs = vec![input.into_inner(); n as usize];
		let who = client::<T>();

		#[extrinsic_call]
		submit_batch(
			RawOrigin::Signed(who),
			model,
			inputs,
			VerificationMode::Attested,
			1_000u32.into(),
		);

		assert_eq!(Groups::<T>::get(0).map(|group| group.size()), Some(n));
	}

	/// A waiting group of `n` jobs drawn to one of the most executors a model has.
	#[benchmark]
	fn draw_group(n: Linear<2, { T::MaxJobsPerSubmit::get() }>) {
		let group = waiting_group::<T>(n);
		let now = frame_system::Pallet::<T>::block_number();

		#[block]
		{
			Pallet::<T>::assign_pending(now, &mut WeightMeter::new());
		}

		let group = Groups::<T>::get(group).expect("assigned");
		assert!(matches!(group.status, JobStatus::Assigned { .. }));
	}

	/// A waiting group of `n` jobs that none of the most executors a model has can take
	/// whole (each has one free place), dissolved into jobs of their own.
	#[benchmark]
	fn dissolve_group(n: Linear<2, { T::MaxJobsPerSubmit::get() }>) {
		let group = waiting_group::<T>(n);
		let model = Groups::<T>::get(group).expect("waiting").model;
		let stake = Groups::<T>::get(group).expect("waiting").stake;
		for i in 0..T::Executors::max_servers() {
			let busy = account::<T::AccountId>("executor", i, 0);
			T::Executors::note_assigned(&busy, T::Executors::max_capacity() - 1, Zero::zero());
		}
		assert!(!T::Executors::eligible_executors(&model, 1, stake).is_empty());
		let now = frame_system::Pallet::<T>::block_number();

		#[block]
		{
			Pallet::<T>::assign_pending(now, &mut WeightMeter::new());
		}

		assert!(Groups::<T>::get(group).is_none());
		assert_eq!(PendingJobs::<T>::decode_len(), Some(n as usize));
	}

	/// A waiting group of `n` jobs that waited `PendingTimeout` blocks, failed refunded in
	/// its draw (each job's outcome replacing the oldest of a full ring).
	#[benchmark]
	fn fail_group(n: Linear<2, { T::MaxJobsPerSubmit::get() }>) {
		let group = waiting_group::<T>(n);
		Pallet::<T>::fill_outcome_ring_for_benchmark();
		let since = Groups::<T>::get(group).expect("waiting").waiting_since;
		let now = since + T::PendingTimeout::get();

		#[block]
		{
			Pallet::<T>::assign_pending(now, &mut WeightMeter::new());
		}

		assert!(Groups::<T>::get(group).is_none());
		assert!(Outcomes::<T>::contains_key(group * GROUP_SPAN));
	}

	/// The missed deadline of a group of `n` jobs, queued for a new draw.
	#[benchmark]
	fn expire_group(n: Linear<2, { T::MaxJobsPerSubmit::get() }>) {
		let group = waiting_group::<T>(n);
		let now = frame_system::Pallet::<T>::block_number();
		Pallet::<T>::assign_pending(now, &mut WeightMeter::new());
		let after = now + T::ResultTimeout::get() + 1u32.into();
		let mut meter = WeightMeter::new();

		#[block]
		{
			Pallet::<T>::process_deadlines(after, &mut meter);
		}

		let group = Groups::<T>::get(group).expect("waiting again");
		assert_eq!(group.status, JobStatus::Pending);
		assert_eq!(PendingJobs::<T>::get().into_inner(), vec![Work::Group(0)]);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_bench_ext(), crate::mock::Test);
}
