//! The registry as the jobs and settlement pallets use it: eligibility and load
//! ([`ExecutorRegistry`]), session keys and verifiers ([`ExecutorDirectory`]), slashes and
//! disputes ([`ExecutorAccountability`]).

use alloc::vec::Vec;
use frame_support::pallet_prelude::*;
use haca_primitives::{
	funds::Slashed,
	traits::{ExecutorAccountability, ExecutorDirectory, ExecutorRegistry},
	InferenceKey, ModelHash,
};
use sp_runtime::{traits::Saturating, Perbill};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Changes the registration of `who` with `change`, if it is registered.
	fn update_registration(who: &T::AccountId, change: impl FnOnce(&mut ExecutorInfo<T>)) {
		Executors::<T>::mutate(who, |info| info.as_mut().map(change));
	}
}

impl<T: Config> ExecutorInfo<T> {
	/// Whether the executor can take `jobs` more jobs with `stake` each at stake: with room
	/// for them in its capacity, reputed, bonded at least the minimum and enough to cover
	/// the stakes of all its jobs.
	fn can_take(&self, jobs: u32, stake: BalanceOf<T>) -> bool {
		self.active_jobs.saturating_add(jobs) <= self.capacity
			&& self.reputation > 0
			&& self.bond >= T::MinExecutorBond::get()
			&& self.bond >= self.at_stake.saturating_add(stake.saturating_mul(jobs.into()))
			&& self.unbonding_until.is_none()
	}
}

impl<T: Config> ExecutorRegistry<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn job_stake(fee: BalanceOf<T>) -> BalanceOf<T> {
		fee.saturating_mul(T::JobStakePerFee::get().into()).max(T::MinJobStake::get())
	}

	fn eligible_executors(model: &ModelHash, jobs: u32, stake: BalanceOf<T>) -> Vec<T::AccountId> {
		ModelServers::<T>::get(model)
			.into_iter()
			.filter(|who| Executors::<T>::get(who).is_some_and(|info| info.can_take(jobs, stake)))
			.collect()
	}

	fn verifier_count(model: &ModelHash) -> u32 {
		ModelVerifiers::<T>::decode_len(model).unwrap_or(0) as u32
	}

	fn max_servers() -> u32 {
		T::MaxExecutorsPerModel::get()
	}

	fn max_capacity() -> u32 {
		T::MaxCapacity::get()
	}

	fn is_executor(who: &T::AccountId) -> bool {
		Executors::<T>::get(who).is_some_and(|info| info.roles.executor)
	}

	fn note_assigned(who: &T::AccountId, jobs: u32, stake: BalanceOf<T>) {
		Executors::<T>::mutate(who, |info| {
			if let Some(info) = info {
				info.active_jobs.saturating_accrue(jobs);
				info.at_stake.saturating_accrue(stake.saturating_mul(jobs.into()));
			}
		});
	}

	fn release_stake(who: &T::AccountId, stake: BalanceOf<T>) {
		Self::update_registration(who, |info| {
			info.at_stake.saturating_reduce(stake);
		});
	}

	fn note_released(who: &T::AccountId, jobs: u32) {
		Self::update_registration(who, |info| {
			info.active_jobs.saturating_reduce(jobs);
		});
	}

	fn note_missed_deadline(who: &T::AccountId) {
		let Some(mut info) = Executors::<T>::get(who) else { return };
		info.reputation = info.reputation.saturating_sub(T::LatenessPenalty::get());
		let reputation = info.reputation;
		Executors::<T>::insert(who, info);
		Self::deposit_event(Event::ReputationLowered { who: who.clone(), reputation });
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmark(
		who: &T::AccountId,
		model: &ModelHash,
		verifier: bool,
		key: InferenceKey,
	) {
		use frame_support::traits::fungible::Mutate;
		use haca_primitives::traits::ModelRegistry;
		let roles = Roles { executor: !verifier, verifier };
		// An executor's bond backs a full capacity of jobs on the model.
		let stakes = T::Models::job_terms(model)
			.ok()
			.filter(|_| !verifier)
			.map(|terms| Self::job_stake(terms.fee).saturating_mul(T::MaxCapacity::get().into()));
		let bond = Self::min_bond(roles).max(stakes.unwrap_or_default());
		T::Currency::set_balance(who, bond.saturating_mul(10u32.into()));
		let models = alloc::vec![*model].try_into().expect("one model fits");
		let capacity = if verifier { 0 } else { T::MaxCapacity::get() };
		Self::do_register(who.clone(), roles, key, bond, capacity, models)
			.expect("benchmark account registers");
	}
}

impl<T: Config> ExecutorDirectory<T::AccountId> for Pallet<T> {
	fn session_key(who: &T::AccountId) -> Option<InferenceKey> {
		Executors::<T>::get(who).map(|info| info.key)
	}

	fn key_owner(key: &InferenceKey) -> Option<T::AccountId> {
		KeyOwners::<T>::get(key)
	}

	fn verifiers() -> Vec<T::AccountId> {
		Verifiers::<T>::get().into_inner()
	}

	fn verifiers_of(model: &ModelHash) -> Vec<T::AccountId> {
		ModelVerifiers::<T>::get(model).into_inner()
	}

	fn models_of(who: &T::AccountId) -> Vec<ModelHash> {
		Executors::<T>::get(who).map(|info| info.models.into_inner()).unwrap_or_default()
	}

	fn max_verifiers() -> u32 {
		T::MaxVerifiers::get()
	}
}

impl<T: Config> ExecutorAccountability<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn slash(
		offender: &T::AccountId,
		amount: BalanceOf<T>,
		rewards: &[(&T::AccountId, Perbill)],
	) -> BalanceOf<T> {
		let Slashed { taken, rewarded } = Self::slash_bond(offender, amount, rewards);
		let mut below_verifier_minimum = false;
		Self::update_registration(offender, |info| {
			info.bond = info.bond.saturating_sub(taken);
			below_verifier_minimum = info.bond < T::MinVerifierBond::get();
		});
		Self::deposit_event(Event::Slashed { who: offender.clone(), amount: taken, rewarded });
		if below_verifier_minimum && Self::discharge_verifier(offender) {
			Self::deposit_event(Event::LeftVerifierSet { who: offender.clone() });
		}
		taken
	}

	fn begin_dispute(who: &T::AccountId) {
		Self::update_registration(who, |info| {
			info.disputes.saturating_inc();
		});
	}

	fn end_dispute(who: &T::AccountId) {
		Self::update_registration(who, |info| {
			info.disputes.saturating_dec();
		});
	}

	fn note_settled(who: &T::AccountId) {
		Self::update_registration(who, |info| {
			info.reputation = info.reputation.saturating_add(1).min(T::InitialReputation::get());
		});
	}
}
