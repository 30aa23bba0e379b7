//! Moving held funds, the one way every HACA pallet does it: holds whose failure causes
//! pass through, and slashes whose proceeds go partly to a beneficiary and the rest to an
//! [`OnUnbalanced`] handler the runtime chooses (a burn, a treasury).

use frame_support::{
	defensive,
	traits::{
		fungible::{Balanced, BalancedHold, Credit, MutateHold},
		tokens::Precision,
		Imbalance, OnUnbalanced,
	},
};
use sp_runtime::{DispatchError, DispatchResult, Perbill, TokenError};

/// Holds `amount` of `who`'s funds for `reason`. A lack of free funds is `insufficient` (the
/// pallet's own error); any other failure (too many holds, frozen funds) passes through.
pub fn hold<AccountId, F: MutateHold<AccountId>>(
	reason: &F::Reason,
	who: &AccountId,
	amount: F::Balance,
	insufficient: DispatchError,
) -> DispatchResult {
	F::hold(reason, who, amount).map_err(|error| match error {
		DispatchError::Token(TokenError::FundsUnavailable) => insufficient,
		other => other,
	})
}

/// What a slash took.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Slashed<Balance> {
	/// Taken from the offender's hold.
	pub taken: Balance,
	/// Of that, paid to the beneficiaries.
	pub rewarded: Balance,
}

/// Slashes up to `amount` of `offender`'s funds held for `reason` (what it has, if less):
/// each beneficiary in `rewards` gets its share of what was taken in its free balance, and
/// the rest (with any share a beneficiary cannot receive) goes to `OnSlash`. The shares add
/// up to at most the whole.
pub fn slash_held<AccountId, F, OnSlash>(
	reason: &F::Reason,
	offender: &AccountId,
	amount: F::Balance,
	rewards: &[(&AccountId, Perbill)],
) -> Slashed<F::Balance>
where
	F: BalancedHold<AccountId> + Balanced<AccountId>,
	OnSlash: OnUnbalanced<Credit<AccountId, F>>,
{
	let (mut rest, _) = F::slash(reason, offender, amount);
	let taken = rest.peek();
	let mut rewarded = F::Balance::default();
	for (beneficiary, share) in rewards {
		let reward;
		(reward, rest) = rest.split(*share * taken);
		let paid = reward.peek();
		match F::resolve(beneficiary, reward) {
			Ok(()) => rewarded += paid,
			Err(unpaid) => OnSlash::on_unbalanced(unpaid),
		}
	}
	OnSlash::on_unbalanced(rest);
	Slashed { taken, rewarded }
}

/// Releases `amount` of `who`'s funds held for `reason`, which the pallet's bookkeeping
/// says is held (`proof` states why); the amount released. Releasing less is a bug, reported
/// by `defensive!`.
pub fn release<AccountId, F: MutateHold<AccountId>>(
	reason: &F::Reason,
	who: &AccountId,
	amount: F::Balance,
	proof: &'static str,
) -> F::Balance {
	match F::release(reason, who, amount, Precision::BestEffort) {
		Ok(released) => {
			if released != amount {
				defensive!(proof);
			}
			released
		}
		Err(error) => {
			defensive!(error, proof);
			Default::default()
		}
	}
}
