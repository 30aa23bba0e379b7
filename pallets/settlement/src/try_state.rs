//! The pallet's invariants, checked after every test and by try-runtime.

use frame_support::{ensure, traits::Get};
use haca_primitives::traits::JobLedger;
use sp_runtime::traits::{Saturating, Zero};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Invariants: every attested result belongs to an open job its executor delivered;
	/// disputes and disputed results match one to one; each challenger's held bonds equal
	/// `ChallengeBond` per open dispute of theirs.
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::traits::fungible::InspectHold;
		for (job, result) in Results::<T>::iter() {
			let view = T::Jobs::job(job).ok_or("result of an ended job")?;
			ensure!(view.delivered.contains(&result.executor), "result from a non-deliverer");
			ensure!(
				(result.status == ResultStatus::Disputed) == Disputes::<T>::contains_key(job),
				"disputed results and disputes differ"
			);
		}
		let mut bonds = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		for (job, dispute) in Disputes::<T>::iter() {
			ensure!(Results::<T>::contains_key(job), "dispute without a result");
			let total = bonds.entry(dispute.challenger).or_insert_with(Zero::zero);
			*total = total.saturating_add(T::ChallengeBond::get());
		}
		for (challenger, total) in bonds {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ChallengeBond.into(), &challenger)
					== total,
				"held challenge bonds differ from the open disputes"
			);
		}
		Ok(())
	}
}
