//! Every movement of funds this pallet makes: model owners' storage deposits, held at
//! registration and released when the model is purged.

use haca_primitives::funds;
use sp_runtime::DispatchResult;

use crate::*;

impl<T: Config> Pallet<T> {
	/// Holds `deposit` of `owner`'s funds for a model's storage.
	pub(crate) fn hold_deposit(owner: &T::AccountId, deposit: BalanceOf<T>) -> DispatchResult {
		funds::hold::<_, T::Currency>(
			&HoldReason::ModelDeposit.into(),
			owner,
			deposit,
			Error::<T>::InsufficientBalance.into(),
		)
	}

	/// Returns a purged model's `deposit` to its `owner`; the amount returned.
	pub(crate) fn release_deposit(owner: &T::AccountId, deposit: BalanceOf<T>) -> BalanceOf<T> {
		funds::release::<_, T::Currency>(
			&HoldReason::ModelDeposit.into(),
			owner,
			deposit,
			"a model's deposit is held until it is purged",
		)
	}
}
