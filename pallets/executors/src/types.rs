//! Types of the executor registry.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{InferenceKey, ModelHash};
use scale_info::TypeInfo;

use crate::{BalanceOf, Config};

/// The roles an account registers for.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Default,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
	serde::Serialize,
	serde::Deserialize,
)]
pub struct Roles {
	/// Runs inference for assigned jobs.
	pub executor: bool,
	/// Audits results and sits on dispute committees.
	pub verifier: bool,
}

/// The models an account's node runs: served as an executor, audited as a verifier.
pub type ServedModels<T> = BoundedVec<ModelHash, <T as Config>::MaxModelsPerExecutor>;

/// A registered executor and/or verifier.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct ExecutorInfo<T: Config> {
	/// Registered roles.
	pub roles: Roles,
	/// Session key that signs results (key type `infr`).
	pub key: InferenceKey,
	/// Bond held from the account.
	pub bond: BalanceOf<T>,
	/// Models it runs: serves as an executor, audits as a verifier.
	pub models: ServedModels<T>,
	/// Most jobs the executor runs at once.
	pub capacity: u32,
	/// Jobs assigned and not yet delivered or ended.
	pub active_jobs: u32,
	/// The stakes of the jobs assigned and not yet settled, re-run or taken from the
	/// executor: at most its bond when it takes a job.
	pub at_stake: BalanceOf<T>,
	/// Reputation: grows with settled results, drops with missed deadlines; at zero the
	/// executor gets no new jobs.
	pub reputation: u32,
	/// Open disputes the account is party to; its bond cannot leave while any is open.
	pub disputes: u32,
	/// Block from which the bond may be withdrawn, once unbonding started.
	pub unbonding_until: Option<BlockNumberFor<T>>,
}

/// An executor or verifier registered at genesis (after the models), its bond held as at
/// registration. In a chain spec, a named object.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisExecutor<AccountId, Balance> {
	/// The account.
	pub account: AccountId,
	/// Executor and/or verifier.
	pub roles: Roles,
	/// Its session key.
	pub key: InferenceKey,
	/// Its bond.
	pub bond: Balance,
	/// Most jobs at once (executors; 0 for verifiers).
	pub capacity: u32,
	/// The models it serves (executors) or audits (verifiers).
	pub models: alloc::vec::Vec<ModelHash>,
}
