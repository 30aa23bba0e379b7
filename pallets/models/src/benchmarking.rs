//! Benchmarks of the models pallet (frame-benchmarking v2).

use alloc::vec;
use frame_benchmarking::v2::*;
use frame_support::{
	pallet_prelude::{BoundedVec, EnsureOrigin, Get},
	traits::fungible::Mutate,
};
use frame_system::RawOrigin;
use haca_primitives::{
	dispute::{GraphCommitment, LOWERING_VERSION},
	onnx,
	tensor::{ElementType, TensorSpec, MAX_NAME_LEN, MAX_RANK, MAX_TENSORS},
	traits::TensorSpecs,
	ModeSet, ModelHash,
};
use sp_runtime::traits::Bounded;

use crate::*;

/// The largest tensor spec list (every bound at its maximum).
fn largest_specs() -> TensorSpecs {
	let spec = TensorSpec {
		name: vec![b'n'; MAX_NAME_LEN as usize].try_into().unwrap(),
		element_type: ElementType::F32,
		shape: vec![2; MAX_RANK as usize].try_into().unwrap(),
		variable_axes: 0,
	};
	vec![spec; MAX_TENSORS as usize].try_into().unwrap()
}

/// Terms with the largest specs and graph, attested mode (float outputs this large may be too large
/// for a quorum), a fee of 1.
fn largest_terms<T: Config>() -> ModelTermsOf<T> {
	ModelTerms {
		inputs: largest_specs(),
		outputs: largest_specs(),
		modes: ModeSet::ATTESTED,
		fee: 1u32.into(),
		tolerance_ulps: 0,
		graph: Some(GraphCommitment {
			lowering: LOWERING_VERSION,
			graph_root: Default::default(),
			weights_root: Default::default(),
			nodes: T::MaxGraphNodes::get(),
			largest_step: T::MaxStepWork::get(),
			largest_step_bytes: T::MaxStepBytes::get(),
		}),
	}
}

/// A model of exactly `len` bytes (at least [`MIN_MODEL_BYTES`]) that costs the most to
/// check per byte: a graph of nodes as small as they can be, the most fields read per byte.
fn bytes_of(len: u32) -> alloc::vec::Vec<u8> {
	// A node in the graph: 2 bytes of field header and 3 of op type.
	const NODE_BYTES: u32 = 5;
	let nodes = len.saturating_sub(MIN_MODEL_BYTES) / NODE_BYTES;
	let node = onnx::write::node("A", &[], &[]);
	onnx::write::model(&vec![node; nodes as usize], Some(len as usize))
}

/// Room for the graph's field header and a doc string's.
const MIN_MODEL_BYTES: u32 = 16;

/// A funded account that has registered an on-chain model of `bytes`.
fn registered<T: Config>(bytes: &[u8]) -> (T::AccountId, ModelHash) {
	let owner: T::AccountId = whitelisted_caller();
	T::Currency::set_balance(&owner, BalanceOf::<T>::max_value() / 2u32.into());
	let model = ModelHash::from(sp_io::hashing::blake2_256(bytes));
	Pallet::<T>::do_register(
		owner.clone(),
		model,
		bytes.len() as u32,
		ModelSource::OnChain,
		largest_terms::<T>(),
		None,
	)
	.expect("benchmark model registers");
	(owner, model)
}

/// Uploads every chunk of `bytes` as `owner`.
fn upload_all<T: Config>(owner: &T::AccountId, model: ModelHash, bytes: &[u8]) {
	for (index, chunk) in bytes.chunks(T::ChunkSize::get() as usize).enumerate() {
		Pallet::<T>::do_upload_chunk(
			owner.clone(),
			model,
			index as u32,
			chunk.to_vec().try_into().unwrap(),
		)
		.expect("benchmark chunk uploads");
	}
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// Registering an on-chain model of the largest size, with a circuit of `c` bytes (none
	/// for 0) when it takes proven jobs.
	#[benchmark]
	fn register(c: Linear<0, { T::MaxCircuitBytes::get() }>) {
		let owner: T::AccountId = whitelisted_caller();
		T::Currency::set_balance(&owner, BalanceOf::<T>::max_value() / 2u32.into());
		let size = T::MaxModelBytes::get();
		let model = ModelHash::repeat_byte(1);
		let (terms, circuit) = if c == 0 {
			(largest_terms::<T>(), None)
		} else {
			let circuit = haca_proof::benchmarking::circuit_of_bytes(c);
			let spec = |elements: usize| {
				let spec = TensorSpec::new("t", ElementType::U8, &[1, elements as u32]);
				vec![spec.expect("small")].try_into().unwrap()
			};
			let terms = ModelTerms {
				inputs: spec(circuit.input_len()),
				outputs: spec(circuit.output_len()),
				modes: ModeSet::PROVEN,
				..largest_terms::<T>()
			};
			(terms, Some(codec::Encode::encode(&circuit).try_into().expect("within the bound")))
		};

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), model, size, ModelSource::OnChain, terms, circuit);

		assert!(Models::<T>::contains_key(model));
		assert_eq!(Circuits::<T>::contains_key(model), c > 0);
	}

	/// The last chunk (`b` bytes) of a two-chunk model: stores it and verifies the model.
	#[benchmark]
	fn upload_chunk(b: Linear<1, { T::ChunkSize::get() }>) {
		let chunk = T::ChunkSize::get();
		let bytes = bytes_of(chunk + b);
		let (owner, model) = registered::<T>(&bytes);
		upload_all::<T>(&owner, model, &bytes[..chunk as usize]);
		let last: BoundedVec<u8, T::ChunkSize> =
			bytes[chunk as usize..].to_vec().try_into().unwrap();

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), model, 1, last);

		assert_eq!(Models::<T>::get(model).unwrap().status, ModelStatus::Active);
	}

	/// Reading and hashing a complete `b`-byte model.
	#[benchmark]
	fn verify_upload(b: Linear<MIN_MODEL_BYTES, { T::MaxModelBytes::get() }>) {
		let bytes = bytes_of(b);
		let (owner, model) = registered::<T>(&bytes);
		upload_all::<T>(&owner, model, &bytes);
		let (hash, check);

		#[block]
		{
			let bytes = Pallet::<T>::model_bytes(&model).expect("uploaded");
			hash = sp_io::hashing::blake2_256(&bytes);
			check = onnx::check_reproducible(&bytes);
		}

		assert_eq!((hash, check), (model.0, Ok(())));
	}

	/// Retiring an unreferenced on-chain model of `c` chunks (purged at once).
	#[benchmark]
	fn retire(c: Linear<0, { T::MaxModelBytes::get().div_ceil(T::ChunkSize::get()) }>) {
		let bytes =
			bytes_of((c * T::ChunkSize::get()).clamp(MIN_MODEL_BYTES, T::MaxModelBytes::get()));
		let (owner, model) = registered::<T>(&bytes);
		upload_all::<T>(&owner, model, &bytes);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), model);

		assert!(!Models::<T>::contains_key(model));
	}

	#[benchmark]
	fn mark_broken() -> Result<(), BenchmarkError> {
		let bytes = bytes_of(MIN_MODEL_BYTES);
		let (owner, model) = registered::<T>(&bytes);
		upload_all::<T>(&owner, model, &bytes);
		let origin =
			T::AdminOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, model);

		assert_eq!(Models::<T>::get(model).unwrap().status, ModelStatus::Broken);
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
