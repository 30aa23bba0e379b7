//! Weights of the executors pallet.
//!
//! NOTE: provisional figures, written by hand from the storage accesses of each call until
//! `haca-node benchmark pallet --pallet pallet_executors` (feature `runtime-benchmarks`)
//! regenerates this file from the benchmarks in `benchmarking.rs`.

#![allow(unused_parens, unused_imports, missing_docs)]

use core::marker::PhantomData;
use frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions needed by `pallet_executors`.
pub trait WeightInfo {
	fn register(m: u32) -> Weight;
	fn set_models(o: u32, n: u32) -> Weight;
	fn set_capacity() -> Weight;
	fn set_key() -> Weight;
	fn unbond(m: u32) -> Weight;
	fn withdraw() -> Weight;
}

/// Weights for `pallet_executors` on the HACA runtime.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register(m: u32) -> Weight {
		Weight::from_parts(80_000_000, 6_000)
			.saturating_add(Weight::from_parts(15_000_000, 3_000).saturating_mul(m.into()))
			.saturating_add(T::DbWeight::get().reads(4))
			.saturating_add(T::DbWeight::get().reads_writes(2, 1).saturating_mul(m.into()))
			.saturating_add(T::DbWeight::get().writes(4))
	}
	fn set_models(o: u32, n: u32) -> Weight {
		Weight::from_parts(40_000_000, 4_000)
			.saturating_add(Weight::from_parts(15_000_000, 3_000).saturating_mul((o + n).into()))
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().reads_writes(2, 1).saturating_mul((o + n).into()))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	fn set_capacity() -> Weight {
		Weight::from_parts(20_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn set_key() -> Weight {
		Weight::from_parts(30_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(2, 3))
	}
	fn unbond(m: u32) -> Weight {
		Weight::from_parts(40_000_000, 6_000)
			.saturating_add(Weight::from_parts(10_000_000, 3_000).saturating_mul(m.into()))
			.saturating_add(T::DbWeight::get().reads_writes(2, 2))
			.saturating_add(T::DbWeight::get().reads_writes(1, 1).saturating_mul(m.into()))
	}
	fn withdraw() -> Weight {
		Weight::from_parts(60_000_000, 4_000).saturating_add(T::DbWeight::get().reads_writes(3, 4))
	}
}

impl WeightInfo for () {
	fn register(m: u32) -> Weight {
		Weight::from_parts(80_000_000, 6_000)
			.saturating_add(Weight::from_parts(15_000_000, 3_000).saturating_mul(m.into()))
			.saturating_add(RocksDbWeight::get().reads(4))
			.saturating_add(RocksDbWeight::get().reads_writes(2, 1).saturating_mul(m.into()))
			.saturating_add(RocksDbWeight::get().writes(4))
	}
	fn set_models(o: u32, n: u32) -> Weight {
		Weight::from_parts(40_000_000, 4_000)
			.saturating_add(Weight::from_parts(15_000_000, 3_000).saturating_mul((o + n).into()))
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().reads_writes(2, 1).saturating_mul((o + n).into()))
			.saturating_add(RocksDbWeight::get().writes(1))
	}
	fn set_capacity() -> Weight {
		Weight::from_parts(20_000_000, 4_000)
			.saturating_add(RocksDbWeight::get().reads_writes(1, 1))
	}
	fn set_key() -> Weight {
		Weight::from_parts(30_000_000, 4_000)
			.saturating_add(RocksDbWeight::get().reads_writes(2, 3))
	}
	fn unbond(m: u32) -> Weight {
		Weight::from_parts(40_000_000, 6_000)
			.saturating_add(Weight::from_parts(10_000_000, 3_000).saturating_mul(m.into()))
			.saturating_add(RocksDbWeight::get().reads_writes(2, 2))
			.saturating_add(RocksDbWeight::get().reads_writes(1, 1).saturating_mul(m.into()))
	}
	fn withdraw() -> Weight {
		Weight::from_parts(60_000_000, 4_000)
			.saturating_add(RocksDbWeight::get().reads_writes(3, 4))
	}
}
