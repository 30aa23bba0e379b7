//! Benchmarks of the executors pallet (frame-benchmarking v2).

use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{
	pallet_prelude::{BoundedVec, Get},
	traits::fungible::Mutate,
};
use frame_system::RawOrigin;
use haca_primitives::{traits::ModelRegistry, InferenceKey, InferenceKeyProof, ModelHash};
use sp_runtime::{
	traits::{Bounded, Saturating},
	RuntimeAppPublic,
};

use crate::*;

/// `n` active models, numbered from `first`.
fn active_models<T: Config>(first: u32, n: u32) -> ServedModels<T> {
	(first..first + n)
		.map(|i| {
			let mut bytes = [0u8; 32];
			bytes[..4].copy_from_slice(&(i + 1).to_le_bytes());
			let model = ModelHash::from(bytes);
			T::Models::activate_for_benchmark(
				&model,
				Default::default(),
				Default::default(),
				1u32.into(),
			);
			model
		})
		.collect::<Vec<_>>()
		.try_into()
		.expect("at most MaxModelsPerExecutor models")
}

/// A distinct session key per seed.
fn key(seed: u32) -> InferenceKey {
	let mut bytes = [0u8; 32];
	bytes[..4].copy_from_slice(&seed.to_le_bytes());
	sp_runtime::app_crypto::sr25519::Public::from_raw(bytes).into()
}

/// A new session key in the keystore and its proof of possession for `who`.
fn key_with_proof<T: Config>(who: &T::AccountId) -> (InferenceKey, InferenceKeyProof) {
	let mut key = InferenceKey::generate_pair(None);
	let proof = key
		.generate_proof_of_possession(&Pallet::<T>::key_owner_statement(who))
		.expect("the keystore holds the key");
	(key, proof)
}

/// A funded account.
fn funded<T: Config>(name: &'static str) -> T::AccountId {
	let who: T::AccountId = account(name, 0, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 2u32.into());
	who
}

/// Fills each model's server and auditor lists up to one below their bounds, so the
/// caller's entry goes last.
fn crowd<T: Config>(models: &ServedModels<T>) {
	let others = |bound: u32| {
		(0..bound.saturating_sub(1))
			.map(|i| account::<T::AccountId>("server", i, 0))
			.collect::<Vec<_>>()
	};
	for model in models {
		ModelServers::<T>::insert(
			model,
			BoundedVec::truncate_from(others(T::MaxExecutorsPerModel::get())),
		);
		ModelVerifiers::<T>::insert(
			model,
			BoundedVec::truncate_from(others(T::MaxVerifiers::get())),
		);
	}
}

/// A registered executor serving `m` models, each crowded with other servers.
fn executor<T: Config>(m: u32) -> (T::AccountId, ServedModels<T>) {
	let who = funded::<T>("executor");
	let models = active_models::<T>(0, m);
	crowd::<T>(&models);
	Pallet::<T>::do_register(
		who.clone(),
		Roles { executor: true, verifier: true },
		key(1),
		Pallet::<T>::min_bond(Roles { executor: true, verifier: true }),
		1,
		models.clone(),
	)
	.expect("benchmark executor registers");
	(who, models)
}

/// Fills the verifier set with verifiers bonded the minimum, each auditing the most models
/// (the same ones, so their auditor lists fill up), so that a newcomer compares its bond with
/// every member's, takes a place and takes the displaced member off the most lists.
fn fill_verifier_set<T: Config>() {
	let roles = Roles { executor: false, verifier: true };
	let most = T::MaxModelsPerExecutor::get();
	let models = active_models::<T>(2 * most, most);
	for i in Verifiers::<T>::decode_len().unwrap_or(0) as u32..T::MaxVerifiers::get() {
		let who: T::AccountId = account("verifier", i, 0);
		T::Currency::set_balance(&who, T::MinVerifierBond::get().saturating_mul(2u32.into()));
		let bond = T::MinVerifierBond::get();
		Pallet::<T>::do_register(who, roles, key(i + 2), bond, 0, models.clone())
			.expect("room in the verifier set");
	}
}

/// More than any bond in a full verifier set of minimum bonds.
fn outbidding_bond<T: Config>(roles: Roles) -> BalanceOf<T> {
	Pallet::<T>::min_bond(roles).max(T::MinVerifierBond::get()) + 1u32.into()
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// Worst case: a full verifier set, whose smallest bond the newcomer's displaces.
	#[benchmark]
	fn register(m: Linear<0, { T::MaxModelsPerExecutor::get() }>) {
		let who = funded::<T>("executor");
		let models = active_models::<T>(0, m);
		crowd::<T>(&models);
		fill_verifier_set::<T>();
		let roles = Roles { executor: true, verifier: true };
		let (key, proof) = key_with_proof::<T>(&who);
		let bond = outbidding_bond::<T>(roles);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), roles, key, proof, bond, 1, models);

		assert!(Executors::<T>::contains_key(&who));
	}

	#[benchmark]
	fn set_models(
		o: Linear<0, { T::MaxModelsPerExecutor::get() }>,
		n: Linear<0, { T::MaxModelsPerExecutor::get() }>,
	) {
		let (who, _) = executor::<T>(o);
		let new_models = active_models::<T>(T::MaxModelsPerExecutor::get(), n);
		crowd::<T>(&new_models);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), new_models.clone());

		assert_eq!(Executors::<T>::get(&who).unwrap().models, new_models);
	}

	#[benchmark]
	fn set_capacity() {
		let (who, _) = executor::<T>(0);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), T::MaxCapacity::get());

		assert_eq!(Executors::<T>::get(&who).unwrap().capacity, T::MaxCapacity::get());
	}

	#[benchmark]
	fn set_key() {
		let (who, _) = executor::<T>(0);
		let (key, proof) = key_with_proof::<T>(&who);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), key.clone(), proof);

		assert_eq!(Executors::<T>::get(&who).unwrap().key, key);
	}

	#[benchmark]
	fn unbond(m: Linear<0, { T::MaxModelsPerExecutor::get() }>) {
		let (who, _) = executor::<T>(m);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));

		assert!(Executors::<T>::get(&who).unwrap().unbonding_until.is_some());
	}

	/// Worst case: a verifier of the most models outside a full set that tops up enough to
	/// take a place.
	#[benchmark]
	fn bond_extra() {
		let (who, _) = executor::<T>(T::MaxModelsPerExecutor::get());
		Pallet::<T>::discharge_verifier(&who);
		fill_verifier_set::<T>();
		let bond = Executors::<T>::get(&who).unwrap().bond;
		let amount = outbidding_bond::<T>(Roles { executor: true, verifier: true });

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), amount);

		assert_eq!(Executors::<T>::get(&who).unwrap().bond, bond + amount);
		assert!(Verifiers::<T>::get().contains(&who));
	}

	#[benchmark]
	fn withdraw() {
		let (who, _) = executor::<T>(0);
		Pallet::<T>::do_unbond(who.clone()).expect("unbonds");
		let until = Executors::<T>::get(&who).unwrap().unbonding_until.unwrap();
		frame_system::Pallet::<T>::set_block_number(until);

		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));

		assert!(!Executors::<T>::contains_key(&who));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
