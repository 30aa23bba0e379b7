//! The model registry's calls: registering, uploading, retiring, marking broken, and
//! purging models no job references.

use alloc::vec::Vec;
use frame_support::{dispatch::DispatchResultWithPostInfo, ensure, pallet_prelude::*};
use haca_primitives::{
	dispute::LOWERING_VERSION,
	onnx::{self, OnnxError},
	proof::CircuitCommitment,
	tensor::{encoded_len, ElementType, TensorSpec},
	traits::TensorSpecs,
	ModeSet, ModelHash,
};
use haca_proof::{circuit::MAX_TRACE_ROWS, Circuit};
use sp_runtime::traits::Saturating;

use crate::*;

impl<T: Config> Pallet<T> {
	/// Number of chunks an on-chain model of `byte_size` bytes is uploaded in.
	pub fn chunk_count(byte_size: u32) -> u32 {
		byte_size.div_ceil(T::ChunkSize::get())
	}

	/// Length chunk `index` of a `byte_size`-byte model must have.
	fn chunk_len(byte_size: u32, index: u32) -> u32 {
		let chunk = T::ChunkSize::get();
		if index + 1 < Self::chunk_count(byte_size) {
			chunk
		} else {
			byte_size - chunk * index
		}
	}

	/// The deposit for a model of `byte_size` bytes stored per `source`, with a circuit of
	/// `circuit_bytes` bytes.
	pub fn deposit_for(
		byte_size: u32,
		source: &ModelSourceOf<T>,
		circuit_bytes: u32,
	) -> BalanceOf<T> {
		let stored_bytes = match source {
			ModelSource::OnChain => byte_size,
			ModelSource::OffChain(locators) => locators.iter().map(|uri| uri.len() as u32).sum(),
		};
		T::ByteDeposit::get()
			.saturating_mul(stored_bytes.saturating_add(circuit_bytes).into())
			.saturating_add(T::BaseDeposit::get())
	}

	/// What registering `bytes` as the circuit of a model with `inputs` and `outputs`
	/// records: the circuit must decode, be provable, prove the model's largest input in
	/// one trace, and take and give the model's tensors.
	fn check_circuit(
		bytes: &[u8],
		inputs: &TensorSpecs,
		outputs: &TensorSpecs,
	) -> Result<CircuitCommitment, Error<T>> {
		let circuit = Circuit::from_encoded(bytes).ok_or(Error::<T>::MalformedCircuit)?;
		let layout = circuit.layout().map_err(|_| Error::<T>::UnprovableCircuit)?;
		let ([input], [output]) = (&inputs[..], &outputs[..]) else {
			return Err(Error::<T>::CircuitSpecMismatch);
		};
		// A spec fits when its first axis counts samples, each of `per_sample` elements of
		// the circuit's type; the largest input's samples must fit in one trace.
		let samples = |spec: &TensorSpec, (element_type, per_sample): (ElementType, usize)| {
			let (&samples, rest) = spec.shape.split_first()?;
			let elements =
				rest.iter().try_fold(1usize, |count, &dim| count.checked_mul(dim as usize));
			(spec.element_type == element_type && elements == Some(per_sample)).then_some(samples)
		};
		let input_samples = samples(input, circuit.input_type());
		let output_samples = samples(output, circuit.output_type());
		let (Some(most), Some(_)) = (input_samples, output_samples) else {
			return Err(Error::<T>::CircuitSpecMismatch);
		};
		let rows = (most.max(1) as usize).next_power_of_two().saturating_mul(layout.period);
		ensure!(rows <= MAX_TRACE_ROWS as usize, Error::<T>::UnprovableCircuit);
		Ok(CircuitCommitment {
			hash: sp_io::hashing::blake2_256(bytes).into(),
			bytes: bytes.len() as u32,
			columns: layout.columns() as u32,
			rows_per_sample: layout.period as u32,
		})
	}

	/// The model's bytes, when it is stored on chain and complete.
	pub fn model_bytes(model: &ModelHash) -> Option<Vec<u8>> {
		let info = Models::<T>::get(model)?;
		if info.source != ModelSource::OnChain {
			return None;
		}
		let mut bytes = Vec::with_capacity(info.byte_size as usize);
		for index in 0..Self::chunk_count(info.byte_size) {
			bytes.extend_from_slice(&Chunks::<T>::get(model, index)?);
		}
		(bytes.len() == info.byte_size as usize).then_some(bytes)
	}

	fn ensure_valid_specs(specs: &TensorSpecs) -> DispatchResult {
		ensure!(!specs.is_empty(), Error::<T>::InvalidTensorSpec);
		ensure!(specs.iter().all(TensorSpec::is_valid), Error::<T>::InvalidTensorSpec);
		Ok(())
	}

	/// Whether `info`'s upload is unfinished `UploadPeriod` blocks after its registration.
	fn upload_lapsed(info: &ModelInfo<T>) -> bool {
		let lapses_after = info.registered_at.saturating_add(T::UploadPeriod::get().into());
		matches!(info.status, ModelStatus::Uploading { .. })
			&& frame_system::Pallet::<T>::block_number() > lapses_after
	}

	/// Registers `model` for `owner`, in place of a lapsed upload of the same hash; returns
	/// the weight used.
	pub(crate) fn do_register(
		owner: T::AccountId,
		model: ModelHash,
		byte_size: u32,
		source: ModelSourceOf<T>,
		terms: ModelTermsOf<T>,
		circuit: Option<BoundedVec<u8, T::MaxCircuitBytes>>,
	) -> Result<Weight, DispatchError> {
		let ModelTerms { inputs, outputs, modes, fee, tolerance_ulps, graph } = terms;
		let lapsed = match Models::<T>::get(model) {
			Some(held) => {
				ensure!(Self::upload_lapsed(&held), Error::<T>::AlreadyRegistered);
				Some(held)
			}
			None => None,
		};
		ensure!(byte_size > 0, Error::<T>::EmptyModel);
		Self::ensure_valid_specs(&inputs)?;
		Self::ensure_valid_specs(&outputs)?;
		let output_len = encoded_len(&outputs).unwrap_or(usize::MAX);
		ensure!(output_len <= T::MaxOutputBytes::get() as usize, Error::<T>::OutputsTooLarge);
		ensure!(modes.is_valid(), Error::<T>::InvalidModes);
		let floats = outputs.iter().any(|spec| spec.element_type.is_float());
		ensure!(
			!(modes.contains(ModeSet::QUORUM)
				&& floats && output_len > T::MaxInlineOutputBytes::get() as usize),
			Error::<T>::QuorumOutputsTooLarge
		);
		let variable = outputs.iter().any(|spec| !spec.is_fixed_length());
		ensure!(
			!(variable && output_len > T::MaxInlineOutputBytes::get() as usize),
			Error::<T>::VariableOutputsTooLarge
		);
		ensure!(tolerance_ulps <= T::MaxToleranceUlps::get(), Error::<T>::ToleranceTooLarge);
		if let Some(graph) = &graph {
			ensure!(graph.lowering == LOWERING_VERSION, Error::<T>::UnsupportedLowering);
			ensure!(
				(1..=T::MaxGraphNodes::get()).contains(&graph.nodes),
				Error::<T>::GraphSizeOutOfBounds
			);
			ensure!(graph.largest_step <= T::MaxStepWork::get(), Error::<T>::StepTooHeavy);
			ensure!(graph.largest_step_bytes <= T::MaxStepBytes::get(), Error::<T>::StepTooLarge);
		}
		ensure!(!modes.proven || circuit.is_some(), Error::<T>::MissingCircuit);
		ensure!(modes.proven || circuit.is_none(), Error::<T>::UnusedCircuit);
		let commitment = match &circuit {
			Some(bytes) => Some(Self::check_circuit(bytes, &inputs, &outputs)?),
			None => None,
		};
		let status = match &source {
			ModelSource::OnChain => {
				ensure!(byte_size <= T::MaxModelBytes::get(), Error::<T>::ModelTooLarge);
				ModelStatus::Uploading { chunks: 0 }
			}
			ModelSource::OffChain(locators) => {
				ensure!(!locators.is_empty(), Error::<T>::MissingLocator);
				ensure!(
					locators.iter().all(|uri| well_formed_locator(uri)),
					Error::<T>::MalformedLocator
				);
				ModelStatus::Active
			}
		};

		let circuit_bytes = commitment.map_or(0, |commitment| commitment.bytes);
		let deposit = Self::deposit_for(byte_size, &source, circuit_bytes);
		Self::hold_deposit(&owner, deposit)?;
		let mut weight = T::WeightInfo::register(circuit_bytes);
		if let Some(lapsed) = lapsed {
			let lapsed_owner = lapsed.owner.clone();
			let chunks = Self::purge(model, lapsed);
			weight.saturating_accrue(T::WeightInfo::retire(chunks));
			Self::deposit_event(Event::UploadLapsed { model, owner: lapsed_owner });
		}

		let activated = status == ModelStatus::Active;
		Models::<T>::insert(
			model,
			ModelInfo {
				owner: owner.clone(),
				byte_size,
				source,
				inputs,
				outputs,
				modes,
				fee,
				tolerance_ulps,
				graph,
				circuit: commitment,
				status,
				registered_at: frame_system::Pallet::<T>::block_number(),
				deposit,
				job_references: 0,
			},
		);
		if let Some(bytes) = circuit {
			Circuits::<T>::insert(model, bytes);
		}
		Self::deposit_event(Event::Registered { model, owner, byte_size, deposit });
		if activated {
			Self::deposit_event(Event::Activated { model });
		}
		Ok(weight)
	}

	pub(crate) fn do_upload_chunk(
		who: T::AccountId,
		model: ModelHash,
		index: u32,
		bytes: BoundedVec<u8, T::ChunkSize>,
	) -> DispatchResultWithPostInfo {
		let mut info = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
		ensure!(info.owner == who, Error::<T>::NotOwner);
		let ModelStatus::Uploading { chunks } = info.status else {
			return Err(Error::<T>::NotUploading.into());
		};
		ensure!(index == chunks, Error::<T>::UnexpectedChunk);
		ensure!(
			bytes.len() as u32 == Self::chunk_len(info.byte_size, index),
			Error::<T>::WrongChunkLength
		);

		let upload_weight = T::WeightInfo::upload_chunk(bytes.len() as u32);
		Chunks::<T>::insert(model, index, bytes);
		Self::deposit_event(Event::ChunkUploaded { model, index });

		let uploaded = chunks + 1;
		if uploaded < Self::chunk_count(info.byte_size) {
			info.status = ModelStatus::Uploading { chunks: uploaded };
			Models::<T>::insert(model, info);
			return Ok(Some(upload_weight).into());
		}

		info.status = ModelStatus::Active;
		Models::<T>::insert(model, &info);
		let bytes = Self::model_bytes(&model).ok_or(Error::<T>::HashMismatch)?;
		ensure!(sp_io::hashing::blake2_256(&bytes) == model.0, Error::<T>::HashMismatch);
		onnx::check_reproducible(&bytes).map_err(|error| match error {
			OnnxError::UnseededRandom(_) => Error::<T>::UnseededRandomOperator,
			OnnxError::Malformed | OnnxError::TooDeep => Error::<T>::MalformedModel,
		})?;
		Self::deposit_event(Event::Activated { model });
		Ok(Some(upload_weight.saturating_add(T::WeightInfo::verify_upload(info.byte_size))).into())
	}

	pub(crate) fn do_retire(who: T::AccountId, model: ModelHash) -> DispatchResultWithPostInfo {
		let mut info = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
		ensure!(info.owner == who, Error::<T>::NotOwner);
		ensure!(info.status != ModelStatus::Retired, Error::<T>::AlreadyRetired);
		info.status = ModelStatus::Retired;
		Self::deposit_event(Event::Retired { model });
		if info.job_references == 0 {
			let chunks = Self::purge(model, info);
			Ok(Some(T::WeightInfo::retire(chunks)).into())
		} else {
			Models::<T>::insert(model, info);
			Ok(Some(T::WeightInfo::retire(0)).into())
		}
	}

	pub(crate) fn do_mark_broken(model: ModelHash) -> DispatchResult {
		Models::<T>::try_mutate(model, |info| {
			let info = info.as_mut().ok_or(Error::<T>::UnknownModel)?;
			ensure!(info.status == ModelStatus::Active, Error::<T>::NotActive);
			info.status = ModelStatus::Broken;
			Ok::<_, DispatchError>(())
		})?;
		Self::deposit_event(Event::MarkedBroken { model });
		Ok(())
	}

	/// Removes a model and its chunks and releases its deposit; returns the number of chunks
	/// removed.
	pub(crate) fn purge(model: ModelHash, info: ModelInfo<T>) -> u32 {
		let chunks = match info.source {
			ModelSource::OnChain => Self::chunk_count(info.byte_size),
			ModelSource::OffChain(_) => 0,
		};
		let _ = Chunks::<T>::clear_prefix(model, chunks, None);
		Circuits::<T>::remove(model);
		Models::<T>::remove(model);
		let released = Self::release_deposit(&info.owner, info.deposit);
		Self::deposit_event(Event::Purged { model, deposit: released });
		chunks
	}
}
