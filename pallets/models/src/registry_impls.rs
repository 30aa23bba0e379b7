//! The model registry's logic, behind the calls in `lib.rs`.

use alloc::vec::Vec;
use frame_support::{
	dispatch::DispatchResultWithPostInfo,
	ensure,
	pallet_prelude::*,
	traits::{fungible::MutateHold, tokens::Precision},
};
use haca_primitives::{
	traits::{JobTerms, ModelRegistry, ModelUnavailable, SettlementTerms, TensorSpecs},
	ModeSet, ModelHash,
};
use sp_runtime::traits::{Saturating, Zero};

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

	/// The deposit for a model of `byte_size` bytes stored per `source`.
	pub fn deposit_for(byte_size: u32, source: &ModelSource<T::MaxLocatorLen>) -> BalanceOf<T> {
		let stored_bytes = match source {
			ModelSource::OnChain => byte_size,
			ModelSource::OffChain(locator) => locator.len() as u32,
		};
		T::ByteDeposit::get()
			.saturating_mul(stored_bytes.into())
			.saturating_add(T::BaseDeposit::get())
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
		ensure!(specs.iter().all(|spec| spec.byte_len().is_some()), Error::<T>::InvalidTensorSpec);
		Ok(())
	}

	#[allow(clippy::too_many_arguments)]
	pub(crate) fn do_register(
		owner: T::AccountId,
		model: ModelHash,
		byte_size: u32,
		source: ModelSource<T::MaxLocatorLen>,
		inputs: TensorSpecs,
		outputs: TensorSpecs,
		modes: ModeSet,
		fee: BalanceOf<T>,
		tolerance_ulps: u32,
	) -> DispatchResult {
		ensure!(!Models::<T>::contains_key(model), Error::<T>::AlreadyRegistered);
		ensure!(byte_size > 0, Error::<T>::EmptyModel);
		Self::ensure_valid_specs(&inputs)?;
		Self::ensure_valid_specs(&outputs)?;
		ensure!(modes.is_valid(), Error::<T>::InvalidModes);
		let status = match &source {
			ModelSource::OnChain => {
				ensure!(byte_size <= T::MaxModelBytes::get(), Error::<T>::ModelTooLarge);
				ModelStatus::Uploading { chunks: 0 }
			}
			ModelSource::OffChain(locator) => {
				ensure!(!locator.is_empty(), Error::<T>::MissingLocator);
				ModelStatus::Active
			}
		};

		let deposit = Self::deposit_for(byte_size, &source);
		T::Currency::hold(&HoldReason::ModelDeposit.into(), &owner, deposit)
			.map_err(|_| Error::<T>::InsufficientBalance)?;

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
				status,
				deposit,
				job_references: 0,
			},
		);
		Self::deposit_event(Event::ModelRegistered { model, owner, byte_size, deposit });
		if activated {
			Self::deposit_event(Event::ModelActivated { model });
		}
		Ok(())
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
		Self::deposit_event(Event::ModelActivated { model });
		Ok(Some(upload_weight.saturating_add(T::WeightInfo::verify_upload(info.byte_size))).into())
	}

	pub(crate) fn do_retire(who: T::AccountId, model: ModelHash) -> DispatchResultWithPostInfo {
		let mut info = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
		ensure!(info.owner == who, Error::<T>::NotOwner);
		ensure!(info.status != ModelStatus::Retired, Error::<T>::AlreadyRetired);
		info.status = ModelStatus::Retired;
		Self::deposit_event(Event::ModelRetired { model });
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
		Self::deposit_event(Event::ModelMarkedBroken { model });
		Ok(())
	}

	/// Removes a model and its chunks and releases its deposit; returns the number of chunks
	/// removed.
	fn purge(model: ModelHash, info: ModelInfo<T>) -> u32 {
		let chunks = match info.source {
			ModelSource::OnChain => Self::chunk_count(info.byte_size),
			ModelSource::OffChain(_) => 0,
		};
		let _ = Chunks::<T>::clear_prefix(model, chunks, None);
		Models::<T>::remove(model);
		let released = T::Currency::release(
			&HoldReason::ModelDeposit.into(),
			&info.owner,
			info.deposit,
			Precision::BestEffort,
		)
		.unwrap_or_else(|_| Zero::zero());
		Self::deposit_event(Event::ModelPurged { model, deposit: released });
		chunks
	}

	/// Invariants: every owner's held deposit is the sum of their models' deposits, and an
	/// uploading model has exactly the chunks it counts.
	#[cfg(any(feature = "try-runtime", feature = "std"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::traits::fungible::InspectHold;
		let mut deposits = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		for (model, info) in Models::<T>::iter() {
			let total = deposits.entry(info.owner.clone()).or_insert_with(Zero::zero);
			*total = total.saturating_add(info.deposit);
			let stored = Chunks::<T>::iter_prefix(model).count() as u32;
			match (info.status, &info.source) {
				(ModelStatus::Uploading { chunks }, _) => {
					ensure!(stored == chunks, "uploading model's chunk count is off")
				}
				(_, ModelSource::OnChain) if info.status != ModelStatus::Retired => ensure!(
					stored == Self::chunk_count(info.byte_size),
					"on-chain model is missing chunks"
				),
				_ => {}
			}
		}
		for (owner, total) in deposits {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ModelDeposit.into(), &owner) == total,
				"held model deposits differ from the registered deposits"
			);
		}
		Ok(())
	}
}

impl<T: Config> ModelRegistry<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn job_terms(model: &ModelHash) -> Result<JobTerms<BalanceOf<T>>, ModelUnavailable> {
		let info = Models::<T>::get(model).ok_or(ModelUnavailable::Unknown)?;
		ensure!(info.status == ModelStatus::Active, ModelUnavailable::NotActive);
		Ok(JobTerms { inputs: info.inputs, fee: info.fee, modes: info.modes })
	}

	fn settlement_terms(model: &ModelHash) -> Option<SettlementTerms<T::AccountId, BalanceOf<T>>> {
		Models::<T>::get(model).map(|info| SettlementTerms {
			owner: info.owner,
			inputs: info.inputs,
			fee: info.fee,
			outputs: info.outputs,
			tolerance_ulps: info.tolerance_ulps,
		})
	}

	fn model_bytes(model: &ModelHash) -> Option<Vec<u8>> {
		Self::model_bytes(model)
	}

	fn add_job_reference(model: &ModelHash) {
		Models::<T>::mutate(model, |info| {
			if let Some(info) = info {
				info.job_references.saturating_inc();
			}
		});
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn activate_for_benchmark(model: &ModelHash, inputs: TensorSpecs, fee: BalanceOf<T>) {
		use frame_support::traits::fungible::{Inspect, Mutate};
		let owner: T::AccountId = frame_benchmarking::account("model-owner", 0, 0);
		// The owner exists, so its share of fees can be paid to it.
		T::Currency::set_balance(
			&owner,
			T::Currency::minimum_balance().saturating_mul(100u32.into()),
		);
		Models::<T>::insert(
			model,
			ModelInfo {
				owner,
				byte_size: 1,
				source: ModelSource::OffChain(alloc::vec![b'x'].try_into().expect("short locator")),
				outputs: inputs.clone(),
				inputs,
				modes: ModeSet::ALL,
				fee,
				tolerance_ulps: 0,
				status: ModelStatus::Active,
				deposit: Zero::zero(),
				job_references: 0,
			},
		);
	}

	fn remove_job_reference(model: &ModelHash) {
		let Some(mut info) = Models::<T>::get(model) else { return };
		info.job_references.saturating_dec();
		if info.status == ModelStatus::Retired && info.job_references == 0 {
			Self::purge(*model, info);
		} else {
			Models::<T>::insert(model, info);
		}
	}
}
