//! The registry's invariants, checked after every test and by try-runtime.

use frame_support::{ensure, pallet_prelude::Get, traits::fungible::InspectHold};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Invariants: bonds on hold equal registered bonds; key, server and auditor indexes agree
	/// with the registrations; the verifier set holds only accounts that may verify.
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		for (who, info) in Executors::<T>::iter() {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::Bond.into(), &who) == info.bond,
				"held bond differs from the registered bond"
			);
			ensure!(KeyOwners::<T>::get(&info.key) == Some(who.clone()), "key index is off");
			let listed = info.unbonding_until.is_none();
			let in_set = Verifiers::<T>::get().contains(&who);
			for model in &info.models {
				ensure!(
					ModelServers::<T>::get(model).contains(&who) == (listed && info.roles.executor),
					"server index disagrees with served models"
				);
				ensure!(
					ModelVerifiers::<T>::get(model).contains(&who) == in_set,
					"auditor index disagrees with the verifier set's models"
				);
			}
			let may_verify =
				listed && info.roles.verifier && info.bond >= T::MinVerifierBond::get();
			ensure!(!in_set || may_verify, "the verifier set holds an account that may not verify");
		}
		for (model, auditors) in ModelVerifiers::<T>::iter() {
			ensure!(
				auditors.iter().all(|who| Verifiers::<T>::get().contains(who)
					&& Executors::<T>::get(who).is_some_and(|info| info.models.contains(&model))),
				"an auditor of a model is not a verifier that declared it"
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
