//! Every movement of funds this pallet makes: executors' and verifiers' bonds, held while
//! they are registered, slashed for misconduct, released on withdrawal.

use frame_support::traits::{fungible::MutateHold, tokens::Precision};
use haca_primitives::funds::{self, Slashed};
use sp_runtime::{DispatchError, DispatchResult, Perbill};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Holds `bond` of `who`'s funds as its registration bond.
	pub(crate) fn hold_bond(who: &T::AccountId, bond: BalanceOf<T>) -> DispatchResult {
		funds::hold::<_, T::Currency>(
			&HoldReason::Bond.into(),
			who,
			bond,
			Error::<T>::InsufficientBalance.into(),
		)
	}

	/// Releases all of `who`'s bond; the amount released.
	pub(crate) fn release_bond(who: &T::AccountId) -> Result<BalanceOf<T>, DispatchError> {
		T::Currency::release_all(&HoldReason::Bond.into(), who, Precision::BestEffort)
	}

	/// Slashes up to `amount` of `offender`'s bond: each beneficiary's share of it to the
	/// beneficiary, the rest to `OnSlash`.
	pub(crate) fn slash_bond(
		offender: &T::AccountId,
		amount: BalanceOf<T>,
		rewards: &[(&T::AccountId, Perbill)],
	) -> Slashed<BalanceOf<T>> {
		funds::slash_held::<_, T::Currency, T::OnSlash>(
			&HoldReason::Bond.into(),
			offender,
			amount,
			rewards,
		)
	}
}
