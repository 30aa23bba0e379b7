//! Every movement of funds this pallet makes: clients' escrows (each job's maximum fee and
//! storage deposit), held at submission, paid out at settlement, the rest returned.

use frame_support::traits::{
	fungible::MutateHold,
	tokens::{Fortitude, Precision, Restriction},
};
use haca_primitives::funds;
use sp_runtime::DispatchResult;

use crate::*;

impl<T: Config> Pallet<T> {
	/// Holds `amount` of `client`'s funds in escrow.
	pub(crate) fn hold_escrow(client: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		funds::hold::<_, T::Currency>(
			&HoldReason::JobEscrow.into(),
			client,
			amount,
			Error::<T>::InsufficientBalance.into(),
		)
	}

	/// Returns `amount` of `client`'s escrow; the amount returned.
	pub(crate) fn release_escrow(client: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
		funds::release::<_, T::Currency>(
			&HoldReason::JobEscrow.into(),
			client,
			amount,
			"a job's escrow is held until it ends",
		)
	}

	/// Pays `amount` of `client`'s escrow to `payee`'s free balance.
	pub(crate) fn pay_from_escrow(
		client: &T::AccountId,
		payee: &T::AccountId,
		amount: BalanceOf<T>,
	) -> DispatchResult {
		T::Currency::transfer_on_hold(
			&HoldReason::JobEscrow.into(),
			client,
			payee,
			amount,
			Precision::Exact,
			Restriction::Free,
			Fortitude::Polite,
		)
		.map(|_| ())
	}
}
