//! A randomness source for test runtimes (this pallet's and the settlement pallet's mocks).

use core::marker::PhantomData;
use frame_support::traits::Randomness;
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::{Hash, One, Saturating};

frame_support::parameter_types! {
	/// The tests' stand-in for block authors' VRF outputs: change it to play another future.
	pub storage RandomnessSeed: [u8; 32] = [0; 32];
}

/// Shaped like BABE's `ParentBlockRandomness`: in block `n`, a value known since block
/// `n - 1`, here the hash of [`RandomnessSeed`], the subject and `n - 1`.
pub struct ParentBlockRandomness<T>(PhantomData<T>);

impl<T: frame_system::Config> Randomness<Option<T::Hash>, BlockNumberFor<T>>
	for ParentBlockRandomness<T>
{
	fn random(subject: &[u8]) -> (Option<T::Hash>, BlockNumberFor<T>) {
		let parent = frame_system::Pallet::<T>::block_number().saturating_sub(One::one());
		(Some(T::Hashing::hash_of(&(RandomnessSeed::get(), subject, parent))), parent)
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl<T> haca_primitives::traits::RevealRandomness for ParentBlockRandomness<T> {
	fn reveal(seed: [u8; 32]) {
		RandomnessSeed::set(&seed);
	}
}
