//! Weights of the settlement pallet.
//!
//! NOTE: provisional figures, written by hand from the storage accesses and signature
//! checks of each call until `haca-node benchmark pallet --pallet pallet_settlement`
//! (feature `runtime-benchmarks`) regenerates this file from `benchmarking.rs`.

#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions needed by `pallet_settlement`.
pub trait WeightInfo {
	fn check_statement() -> Weight;
	fn statement() -> Weight;
	fn challenge() -> Weight;
	fn vote() -> Weight;
	fn process_timers(n: u32) -> Weight;
}

/// Weights for `pallet_settlement` on the HACA runtime.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn check_statement() -> Weight {
		Weight::from_parts(150_000_000, 80_000).saturating_add(T::DbWeight::get().reads(6))
	}
	fn statement() -> Weight {
		Weight::from_parts(600_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads(24))
			.saturating_add(T::DbWeight::get().writes(24))
	}
	fn challenge() -> Weight {
		Weight::from_parts(150_000_000, 20_000)
			.saturating_add(T::DbWeight::get().reads(8))
			.saturating_add(T::DbWeight::get().writes(7))
	}
	fn vote() -> Weight {
		Weight::from_parts(400_000_000, 40_000)
			.saturating_add(T::DbWeight::get().reads(20))
			.saturating_add(T::DbWeight::get().writes(20))
	}
	fn process_timers(n: u32) -> Weight {
		Weight::from_parts(10_000_000, 2_000)
			.saturating_add(Weight::from_parts(600_000_000, 200_000).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads_writes(1, 1))
			.saturating_add(T::DbWeight::get().reads_writes(24, 24).saturating_mul(n.into()))
	}
}

impl WeightInfo for () {
	fn check_statement() -> Weight {
		Weight::from_parts(150_000_000, 80_000).saturating_add(RocksDbWeight::get().reads(6))
	}
	fn statement() -> Weight {
		Weight::from_parts(600_000_000, 200_000)
			.saturating_add(RocksDbWeight::get().reads(24))
			.saturating_add(RocksDbWeight::get().writes(24))
	}
	fn challenge() -> Weight {
		Weight::from_parts(150_000_000, 20_000)
			.saturating_add(RocksDbWeight::get().reads(8))
			.saturating_add(RocksDbWeight::get().writes(7))
	}
	fn vote() -> Weight {
		Weight::from_parts(400_000_000, 40_000)
			.saturating_add(RocksDbWeight::get().reads(20))
			.saturating_add(RocksDbWeight::get().writes(20))
	}
	fn process_timers(n: u32) -> Weight {
		Weight::from_parts(10_000_000, 2_000)
			.saturating_add(Weight::from_parts(600_000_000, 200_000).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads_writes(1, 1))
			.saturating_add(RocksDbWeight::get().reads_writes(24, 24).saturating_mul(n.into()))
	}
}
