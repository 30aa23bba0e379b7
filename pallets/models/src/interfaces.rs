//! The registry as the jobs, executors and settlement pallets use it ([`ModelRegistry`]).

use alloc::vec::Vec;
use frame_support::{ensure, BoundedVec};
use haca_primitives::{
	traits::{JobTerms, ModelRegistry, ModelUnavailable, OffChainModel, SettlementTerms},
	ModelHash,
};
use sp_runtime::traits::Saturating;

use crate::*;

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
			graph: info.graph,
			circuit: info.circuit,
		})
	}

	fn model_bytes(model: &ModelHash) -> Option<Vec<u8>> {
		Self::model_bytes(model)
	}

	fn off_chain_model(model: &ModelHash) -> Option<OffChainModel> {
		let info = Models::<T>::get(model)?;
		let ModelSource::OffChain(locators) = info.source else { return None };
		let locators = locators.into_iter().map(BoundedVec::into_inner).collect();
		Some(OffChainModel { size: info.byte_size, locators })
	}

	fn circuit(model: &ModelHash) -> Option<Vec<u8>> {
		Circuits::<T>::get(model).map(BoundedVec::into_inner)
	}

	fn add_job_references(model: &ModelHash, count: u32) {
		Models::<T>::mutate(model, |info| {
			if let Some(info) = info {
				info.job_references.saturating_accrue(count);
			}
		});
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

	#[cfg(feature = "runtime-benchmarks")]
	fn activate_for_benchmark(
		model: &ModelHash,
		inputs: haca_primitives::traits::TensorSpecs,
		outputs: haca_primitives::traits::TensorSpecs,
		fee: BalanceOf<T>,
	) {
		use frame_support::traits::fungible::{Inspect, Mutate};
		use haca_primitives::ModeSet;
		use sp_runtime::traits::Zero;
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
				source: ModelSource::OffChain(Default::default()),
				inputs,
				outputs,
				modes: ModeSet::ATTESTED_OR_QUORUM,
				fee,
				tolerance_ulps: 0,
				graph: None,
				circuit: None,
				status: ModelStatus::Active,
				registered_at: frame_system::Pallet::<T>::block_number(),
				deposit: Zero::zero(),
				job_references: 0,
			},
		);
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn max_circuit_bytes() -> u32 {
		<T::MaxCircuitBytes as frame_support::traits::Get<u32>>::get()
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn set_circuit_for_benchmark(model: &ModelHash, circuit: Vec<u8>) {
		use haca_primitives::{proof::CircuitCommitment, ModeSet};
		let layout = <haca_proof::Circuit as codec::Decode>::decode(&mut &circuit[..])
			.ok()
			.and_then(|circuit| circuit.layout().ok())
			.expect("a provable circuit");
		Models::<T>::mutate(model, |info| {
			if let Some(info) = info {
				info.modes = ModeSet::ALL;
				info.circuit = Some(CircuitCommitment {
					hash: sp_io::hashing::blake2_256(&circuit).into(),
					bytes: circuit.len() as u32,
					columns: layout.columns() as u32,
					rows_per_sample: layout.period as u32,
				});
			}
		});
		Circuits::<T>::insert(model, BoundedVec::truncate_from(circuit));
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn set_graph_for_benchmark(
		model: &ModelHash,
		graph: haca_primitives::dispute::GraphCommitment,
	) {
		Models::<T>::mutate(model, |info| {
			if let Some(info) = info {
				info.graph = Some(graph);
			}
		});
	}
}
