//! The executor registry's logic, behind the calls in `lib.rs`, and its implementations of
//! the traits the jobs and settlement pallets use.

use alloc::vec::Vec;
use frame_support::{
	ensure,
	pallet_prelude::*,
	traits::{
		fungible::{InspectHold, MutateHold},
		tokens::{Fortitude, Precision, Restriction},
	},
};
use haca_primitives::{
	traits::{ExecutorAccountability, ExecutorDirectory, ExecutorRegistry, ModelRegistry},
	InferenceKey, ModelHash,
};
use sp_runtime::{
	traits::{Saturating, Zero},
	Perbill,
};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Smallest bond for `roles`.
	pub fn min_bond(roles: Roles) -> BalanceOf<T> {
		let executor = if roles.executor { T::MinExecutorBond::get() } else { Zero::zero() };
		let verifier = if roles.verifier { T::MinVerifierBond::get() } else { Zero::zero() };
		executor.max(verifier)
	}

	fn ensure_valid_capacity(capacity: u32) -> DispatchResult {
		ensure!((1..=T::MaxCapacity::get()).contains(&capacity), Error::<T>::InvalidCapacity);
		Ok(())
	}

	fn ensure_servable(models: &ServedModels<T>) -> DispatchResult {
		for (index, model) in models.iter().enumerate() {
			ensure!(!models[..index].contains(model), Error::<T>::DuplicateModel);
			ensure!(T::Models::job_terms(model).is_ok(), Error::<T>::ModelNotActive);
		}
		Ok(())
	}

	/// Adds `who` to the server lists of `models`.
	fn add_server(who: &T::AccountId, models: &[ModelHash]) -> DispatchResult {
		for model in models {
			Servers::<T>::try_mutate(model, |servers| {
				servers.try_push(who.clone()).map_err(|_| Error::<T>::TooManyExecutors)
			})?;
		}
		Ok(())
	}

	/// Removes `who` from the server lists of `models`.
	fn remove_server(who: &T::AccountId, models: &[ModelHash]) {
		for model in models {
			Servers::<T>::mutate_exists(model, |servers| {
				let list = servers.get_or_insert_with(Default::default);
				list.retain(|server| server != who);
				if list.is_empty() {
					*servers = None;
				}
			});
		}
	}

	pub(crate) fn do_register(
		who: T::AccountId,
		roles: Roles,
		key: InferenceKey,
		bond: BalanceOf<T>,
		capacity: u32,
		models: ServedModels<T>,
	) -> DispatchResult {
		ensure!(!Executors::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
		ensure!(roles.executor || roles.verifier, Error::<T>::NoRole);
		ensure!(bond >= Self::min_bond(roles), Error::<T>::BondTooLow);
		ensure!(!KeyOwners::<T>::contains_key(&key), Error::<T>::KeyInUse);
		if roles.executor {
			Self::ensure_valid_capacity(capacity)?;
			Self::ensure_servable(&models)?;
			Self::add_server(&who, &models)?;
		} else {
			ensure!(models.is_empty(), Error::<T>::NotAnExecutor);
		}
		if roles.verifier {
			Verifiers::<T>::try_append(&who).map_err(|_| Error::<T>::TooManyVerifiers)?;
		}
		T::Currency::hold(&HoldReason::Bond.into(), &who, bond)
			.map_err(|_| Error::<T>::InsufficientBalance)?;

		KeyOwners::<T>::insert(&key, &who);
		Executors::<T>::insert(
			&who,
			ExecutorInfo {
				roles,
				key: key.clone(),
				bond,
				models,
				capacity: if roles.executor { capacity } else { 0 },
				active_jobs: 0,
				reputation: T::InitialReputation::get(),
				disputes: 0,
				unbonding_until: None,
			},
		);
		Self::deposit_event(Event::Registered { who, roles, key, bond });
		Ok(())
	}

	/// The registration of `who`, if it is an executor that is not unbonding.
	fn active_executor(who: &T::AccountId) -> Result<ExecutorInfo<T>, DispatchError> {
		let info = Executors::<T>::get(who).ok_or(Error::<T>::NotRegistered)?;
		ensure!(info.roles.executor, Error::<T>::NotAnExecutor);
		ensure!(info.unbonding_until.is_none(), Error::<T>::AlreadyUnbonding);
		Ok(info)
	}

	pub(crate) fn do_set_models(who: T::AccountId, models: ServedModels<T>) -> DispatchResult {
		let mut info = Self::active_executor(&who)?;
		Self::ensure_servable(&models)?;
		let drops_a_model = info.models.iter().any(|model| !models.contains(model));
		ensure!(!(drops_a_model && info.active_jobs > 0), Error::<T>::JobsInProgress);
		Self::remove_server(&who, &info.models);
		Self::add_server(&who, &models)?;
		info.models = models.clone();
		Executors::<T>::insert(&who, info);
		Self::deposit_event(Event::ModelsChanged { who, models });
		Ok(())
	}

	pub(crate) fn do_set_capacity(who: T::AccountId, capacity: u32) -> DispatchResult {
		let mut info = Self::active_executor(&who)?;
		Self::ensure_valid_capacity(capacity)?;
		info.capacity = capacity;
		Executors::<T>::insert(&who, info);
		Self::deposit_event(Event::CapacityChanged { who, capacity });
		Ok(())
	}

	pub(crate) fn do_set_key(who: T::AccountId, key: InferenceKey) -> DispatchResult {
		let mut info = Executors::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		ensure!(!KeyOwners::<T>::contains_key(&key), Error::<T>::KeyInUse);
		KeyOwners::<T>::remove(&info.key);
		KeyOwners::<T>::insert(&key, &who);
		info.key = key.clone();
		Executors::<T>::insert(&who, info);
		Self::deposit_event(Event::KeyChanged { who, key });
		Ok(())
	}

	pub(crate) fn do_unbond(who: T::AccountId) -> DispatchResult {
		let mut info = Executors::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		ensure!(info.unbonding_until.is_none(), Error::<T>::AlreadyUnbonding);
		let until =
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingDelay::get());
		Self::remove_server(&who, &info.models);
		Verifiers::<T>::mutate(|verifiers| verifiers.retain(|verifier| verifier != &who));
		info.unbonding_until = Some(until);
		Executors::<T>::insert(&who, info);
		Self::deposit_event(Event::Unbonding { who, until });
		Ok(())
	}

	pub(crate) fn do_withdraw(who: T::AccountId) -> DispatchResult {
		let info = Executors::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		let until = info.unbonding_until.ok_or(Error::<T>::NotUnbonding)?;
		ensure!(frame_system::Pallet::<T>::block_number() >= until, Error::<T>::UnbondingNotOver);
		ensure!(info.active_jobs == 0, Error::<T>::JobsInProgress);
		ensure!(info.disputes == 0, Error::<T>::UnderDispute);
		let bond = T::Currency::release_all(&HoldReason::Bond.into(), &who, Precision::BestEffort)?;
		KeyOwners::<T>::remove(&info.key);
		Executors::<T>::remove(&who);
		Self::deposit_event(Event::Withdrawn { who, bond });
		Ok(())
	}

	/// Invariants: bonds on hold equal registered bonds; key, server and verifier indexes
	/// agree with the registrations.
	#[cfg(any(feature = "try-runtime", feature = "std"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		for (who, info) in Executors::<T>::iter() {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::Bond.into(), &who) == info.bond,
				"held bond differs from the registered bond"
			);
			ensure!(KeyOwners::<T>::get(&info.key) == Some(who.clone()), "key index is off");
			let listed = info.unbonding_until.is_none();
			for model in &info.models {
				ensure!(
					Servers::<T>::get(model).contains(&who) == listed,
					"server index disagrees with served models"
				);
			}
			ensure!(
				Verifiers::<T>::get().contains(&who) == (listed && info.roles.verifier),
				"verifier index disagrees with roles"
			);
		}
		ensure!(
			KeyOwners::<T>::iter()
				.all(|(key, who)| Executors::<T>::get(&who).is_some_and(|info| info.key == key)),
			"a key owner is not registered with that key"
		);
		Ok(())
	}
}

impl<T: Config> ExecutorRegistry<T::AccountId> for Pallet<T> {
	fn eligible_executors(model: &ModelHash) -> Vec<T::AccountId> {
		Servers::<T>::get(model)
			.into_iter()
			.filter(|who| {
				Executors::<T>::get(who).is_some_and(|info| {
					info.active_jobs < info.capacity
						&& info.reputation > 0
						&& info.unbonding_until.is_none()
				})
			})
			.collect()
	}

	fn server_count(model: &ModelHash) -> u32 {
		Servers::<T>::decode_len(model).unwrap_or(0) as u32
	}

	fn max_servers() -> u32 {
		T::MaxExecutorsPerModel::get()
	}

	fn serves(who: &T::AccountId, model: &ModelHash) -> bool {
		Executors::<T>::get(who)
			.is_some_and(|info| info.roles.executor && info.models.contains(model))
	}

	fn note_assigned(who: &T::AccountId) -> bool {
		Executors::<T>::mutate(who, |info| {
			info.as_mut().is_some_and(|info| {
				info.active_jobs.saturating_inc();
				info.active_jobs < info.capacity
			})
		})
	}

	fn note_released(who: &T::AccountId) {
		Executors::<T>::mutate(who, |info| {
			if let Some(info) = info {
				info.active_jobs.saturating_dec();
			}
		});
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmark(who: &T::AccountId, serves: Option<&ModelHash>, key: InferenceKey) {
		use frame_support::traits::fungible::Mutate;
		let roles = Roles { executor: serves.is_some(), verifier: serves.is_none() };
		let bond = Self::min_bond(roles);
		T::Currency::set_balance(who, bond.saturating_mul(10u32.into()));
		let models =
			serves.into_iter().copied().collect::<Vec<_>>().try_into().expect("one model fits");
		let capacity = if serves.is_some() { T::MaxCapacity::get() } else { 0 };
		Self::do_register(who.clone(), roles, key, bond, capacity, models)
			.expect("benchmark account registers");
	}

	fn note_missed_deadline(who: &T::AccountId) {
		let Some(mut info) = Executors::<T>::get(who) else { return };
		info.reputation = info.reputation.saturating_sub(T::LatenessPenalty::get());
		let reputation = info.reputation;
		Executors::<T>::insert(who, info);
		Self::deposit_event(Event::ReputationLowered { who: who.clone(), reputation });
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
}

impl<T: Config> ExecutorAccountability<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn slash(
		offender: &T::AccountId,
		amount: BalanceOf<T>,
		beneficiary: &T::AccountId,
		beneficiary_share: Perbill,
	) -> BalanceOf<T> {
		let reason = HoldReason::Bond.into();
		let amount = amount.min(T::Currency::balance_on_hold(&reason, offender));
		let reward = beneficiary_share * amount;
		let rewarded = T::Currency::transfer_on_hold(
			&reason,
			offender,
			beneficiary,
			reward,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Force,
		)
		.unwrap_or_else(|_| Zero::zero());
		let burnt = T::Currency::burn_held(
			&reason,
			offender,
			amount.saturating_sub(rewarded),
			Precision::BestEffort,
			Fortitude::Force,
		)
		.unwrap_or_else(|_| Zero::zero());
		let taken = rewarded.saturating_add(burnt);
		Executors::<T>::mutate(offender, |info| {
			if let Some(info) = info {
				info.bond = info.bond.saturating_sub(taken);
			}
		});
		Self::deposit_event(Event::Slashed {
			who: offender.clone(),
			amount: taken,
			beneficiary: beneficiary.clone(),
			rewarded,
		});
		taken
	}

	fn begin_dispute(who: &T::AccountId) {
		Executors::<T>::mutate(who, |info| {
			if let Some(info) = info {
				info.disputes.saturating_inc();
			}
		});
	}

	fn end_dispute(who: &T::AccountId) {
		Executors::<T>::mutate(who, |info| {
			if let Some(info) = info {
				info.disputes.saturating_dec();
			}
		});
	}

	fn note_settled(who: &T::AccountId) {
		Executors::<T>::mutate(who, |info| {
			if let Some(info) = info {
				info.reputation =
					info.reputation.saturating_add(1).min(T::InitialReputation::get());
			}
		});
	}
}
