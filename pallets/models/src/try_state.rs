//! The registry's invariants, checked after every test and by try-runtime.

use frame_support::ensure;
use sp_runtime::traits::{Saturating, Zero};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Invariants: every owner's held deposit is the sum of their models' deposits, an
	/// uploading model has exactly the chunks it counts, and a model's circuit is stored
	/// exactly when its record commits to one, with the bytes it commits to.
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
			let circuit = Circuits::<T>::get(model);
			ensure!(
				circuit.map(|bytes| sp_io::hashing::blake2_256(&bytes))
					== info.circuit.map(|commitment| commitment.hash.0),
				"a model's stored circuit differs from its commitment"
			);
		}
		ensure!(
			Circuits::<T>::iter_keys().all(Models::<T>::contains_key),
			"a circuit outlives its model"
		);
		for (owner, total) in deposits {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ModelDeposit.into(), &owner) == total,
				"held model deposits differ from the registered deposits"
			);
		}
		Ok(())
	}
}
