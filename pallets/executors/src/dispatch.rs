//! The executor registry's calls: registering, serving models, capacity, keys, topping up
//! the bond, unbonding and withdrawing; and the verifier set they change.

use alloc::vec::Vec;
use codec::Encode;
use frame_support::{defensive, ensure, pallet_prelude::*};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{traits::ModelRegistry, InferenceKey, InferenceKeyProof, ModelHash};
use sp_runtime::{
	traits::{Saturating, Zero},
	RuntimeAppPublic,
};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Smallest bond for `roles`.
	pub fn min_bond(roles: Roles) -> BalanceOf<T> {
		let executor = if roles.executor { T::MinExecutorBond::get() } else { Zero::zero() };
		let verifier = if roles.verifier { T::MinVerifierBond::get() } else { Zero::zero() };
		executor.max(verifier)
	}

	/// What a session key signs to prove that account `who` holds it: `who` and the genesis
	/// block's hash, so that a proof is good for one account on one chain. A node makes the
	/// key and the proof with `author_rotateKeysWithOwner(key_owner_statement)`.
	pub fn key_owner_statement(who: &T::AccountId) -> Vec<u8> {
		(who, frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero())).encode()
	}

	pub(crate) fn ensure_key_proof(
		who: &T::AccountId,
		key: &InferenceKey,
		proof: &InferenceKeyProof,
	) -> DispatchResult {
		let statement = Self::key_owner_statement(who);
		ensure!(key.verify_proof_of_possession(&statement, proof), Error::<T>::BadKeyProof);
		Ok(())
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
			ModelServers::<T>::try_mutate(model, |servers| {
				servers.try_push(who.clone()).map_err(|_| Error::<T>::TooManyExecutors)
			})?;
		}
		Ok(())
	}

	/// Takes `who` off a model's `list` (server or auditor list), which goes when empty.
	fn unlist<S>(list: &mut Option<BoundedVec<T::AccountId, S>>, who: &T::AccountId) {
		*list = list
			.take()
			.map(|mut members| {
				members.retain(|member| member != who);
				members
			})
			.filter(|members| !members.is_empty());
	}

	/// Removes `who` from the server lists of `models`.
	fn remove_server(who: &T::AccountId, models: &[ModelHash]) {
		for model in models {
			ModelServers::<T>::mutate_exists(model, |servers| Self::unlist(servers, who));
		}
	}

	/// Lists verifier `who` as an auditor of `models` (it is in the verifier set, which is no
	/// larger than each list's bound).
	fn add_auditor(who: &T::AccountId, models: &[ModelHash]) {
		for model in models {
			ModelVerifiers::<T>::mutate(model, |auditors| {
				if auditors.try_push(who.clone()).is_err() {
					defensive!("a model has no more auditors than the verifier set has members");
				}
			});
		}
	}

	/// Takes `who` off the auditor lists of `models`.
	fn remove_auditor(who: &T::AccountId, models: &[ModelHash]) {
		for model in models {
			ModelVerifiers::<T>::mutate_exists(model, |auditors| Self::unlist(auditors, who));
		}
	}

	/// The models `who` declared, if it is registered.
	fn models_of(who: &T::AccountId) -> ServedModels<T> {
		Executors::<T>::get(who).map(|info| info.models).unwrap_or_default()
	}

	/// Puts verifier `who`, bonded `bond`, into the verifier set, as an auditor of `models`:
	/// into free room, or in place of the member with the smallest bond (the later
	/// registered of equals) if `bond` is larger.
	fn enlist_verifier(
		who: &T::AccountId,
		bond: BalanceOf<T>,
		models: &[ModelHash],
	) -> DispatchResult {
		let mut verifiers = Verifiers::<T>::get();
		if verifiers.try_push(who.clone()).is_err() {
			let bond_of = |member: &T::AccountId| {
				Executors::<T>::get(member).map_or_else(Zero::zero, |info| info.bond)
			};
			let (place, smallest) = verifiers
				.iter()
				.map(bond_of)
				.enumerate()
				.min_by_key(|(place, bond)| (*bond, core::cmp::Reverse(*place)))
				.ok_or(Error::<T>::TooManyVerifiers)?;
			ensure!(bond > smallest, Error::<T>::TooManyVerifiers);
			let displaced = core::mem::replace(&mut verifiers[place], who.clone());
			Self::remove_auditor(&displaced, &Self::models_of(&displaced));
			Self::deposit_event(Event::LeftVerifierSet { who: displaced });
		}
		Verifiers::<T>::put(verifiers);
		Self::add_auditor(who, models);
		Ok(())
	}

	/// Takes verifier `who` out of the verifier set and the auditor lists, if it is in it;
	/// whether it was.
	pub(crate) fn discharge_verifier(who: &T::AccountId) -> bool {
		let discharged = Verifiers::<T>::mutate(|verifiers| {
			let before = verifiers.len();
			verifiers.retain(|verifier| verifier != who);
			verifiers.len() < before
		});
		if discharged {
			Self::remove_auditor(who, &Self::models_of(who));
		}
		discharged
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
		Self::ensure_servable(&models)?;
		if roles.executor {
			Self::ensure_valid_capacity(capacity)?;
			Self::add_server(&who, &models)?;
		}
		if roles.verifier {
			Self::enlist_verifier(&who, bond, &models)?;
		}
		Self::hold_bond(&who, bond)?;

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
				at_stake: Zero::zero(),
				reputation: T::InitialReputation::get(),
				disputes: 0,
				unbonding_until: None,
			},
		);
		Self::deposit_event(Event::Registered { who, roles, key, bond });
		Ok(())
	}

	/// The registration of `who`, if it is registered and not unbonding.
	fn active_registration(who: &T::AccountId) -> Result<ExecutorInfo<T>, DispatchError> {
		let info = Executors::<T>::get(who).ok_or(Error::<T>::NotRegistered)?;
		ensure!(info.unbonding_until.is_none(), Error::<T>::AlreadyUnbonding);
		Ok(info)
	}

	/// The registration of `who`, if it is an executor that is not unbonding.
	fn active_executor(who: &T::AccountId) -> Result<ExecutorInfo<T>, DispatchError> {
		let info = Self::active_registration(who)?;
		ensure!(info.roles.executor, Error::<T>::NotAnExecutor);
		Ok(info)
	}

	pub(crate) fn do_set_models(who: T::AccountId, models: ServedModels<T>) -> DispatchResult {
		let mut info = Self::active_registration(&who)?;
		Self::ensure_servable(&models)?;
		if info.roles.executor {
			Self::remove_server(&who, &info.models);
			Self::add_server(&who, &models)?;
		}
		if Verifiers::<T>::get().contains(&who) {
			Self::remove_auditor(&who, &info.models);
			Self::add_auditor(&who, &models);
		}
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
		Self::discharge_verifier(&who);
		info.unbonding_until = Some(until);
		Executors::<T>::insert(&who, info);
		Self::deposit_event(Event::UnbondingStarted { who, until });
		Ok(())
	}

	pub(crate) fn do_bond_extra(who: T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		let mut info = Executors::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		ensure!(info.unbonding_until.is_none(), Error::<T>::AlreadyUnbonding);
		Self::hold_bond(&who, amount)?;
		info.bond = info.bond.saturating_add(amount);
		let bond = info.bond;
		let rejoins = info.roles.verifier
			&& bond >= T::MinVerifierBond::get()
			&& !Verifiers::<T>::get().contains(&who);
		Executors::<T>::insert(&who, info);
		Self::deposit_event(Event::BondIncreased { who: who.clone(), amount, bond });
		// Outside the set, a bond still too small to take a place is no error: it grew.
		if rejoins && Self::enlist_verifier(&who, bond, &Self::models_of(&who)).is_ok() {
			Self::deposit_event(Event::JoinedVerifierSet { who });
		}
		Ok(())
	}

	pub(crate) fn do_withdraw(who: T::AccountId) -> DispatchResult {
		let info = Executors::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
		let until = info.unbonding_until.ok_or(Error::<T>::NotUnbonding)?;
		ensure!(frame_system::Pallet::<T>::block_number() >= until, Error::<T>::UnbondingNotOver);
		ensure!(info.active_jobs == 0, Error::<T>::JobsInProgress);
		ensure!(info.disputes == 0, Error::<T>::UnderDispute);
		ensure!(info.at_stake.is_zero(), Error::<T>::StakeBound);
		let bond = Self::release_bond(&who)?;
		KeyOwners::<T>::remove(&info.key);
		Executors::<T>::remove(&who);
		Self::deposit_event(Event::Withdrawn { who, bond });
		Ok(())
	}
}
