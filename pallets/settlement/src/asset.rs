//! Every movement of funds this pallet makes itself: challengers' bonds, held while their
//! dispute is open and then returned or forfeited. (Fees and executors' bonds move in the
//! jobs and executors pallets.)

use frame_support::{defensive, pallet_prelude::*};
use haca_primitives::funds::{self, Slashed};
use sp_runtime::{DispatchResult, Perbill};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Holds `ChallengeBond` of `challenger`'s funds for a dispute.
	pub(crate) fn hold_challenge_bond(challenger: &T::AccountId) -> DispatchResult {
		funds::hold::<_, T::Currency>(
			&HoldReason::ChallengeBond.into(),
			challenger,
			T::ChallengeBond::get(),
			Error::<T>::InsufficientBalance.into(),
		)
	}

	/// Returns the bond `challenger` held for a dispute.
	pub(crate) fn release_challenge_bond(challenger: &T::AccountId) {
		funds::release::<_, T::Currency>(
			&HoldReason::ChallengeBond.into(),
			challenger,
			T::ChallengeBond::get(),
			"a challenge bond is held while its dispute is open",
		);
	}

	/// Forfeits the bond of `challenger`, whose claim lost: the `rewards` shares of it to
	/// those who were right, the rest to `OnSlash`.
	pub(crate) fn forfeit_challenge_bond(
		challenger: &T::AccountId,
		rewards: &[(&T::AccountId, Perbill)],
	) {
		let bond = T::ChallengeBond::get();
		let Slashed { taken, .. } = funds::slash_held::<_, T::Currency, T::OnSlash>(
			&HoldReason::ChallengeBond.into(),
			challenger,
			bond,
			rewards,
		);
		if taken != bond {
			defensive!("a challenge bond is held while its dispute is open");
		}
	}
}
