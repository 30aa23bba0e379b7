//! Interfaces between the HACA pallets. Each pallet uses the others only through these
//! traits, never through their storage.

use alloc::vec::Vec;
use sp_core::ConstU32;
use sp_runtime::BoundedVec;

use crate::{
	tensor::{TensorSpec, MAX_TENSORS},
	ModeSet, ModelHash,
};

/// The tensor specs of a model's inputs or outputs.
pub type TensorSpecs = BoundedVec<TensorSpec, ConstU32<MAX_TENSORS>>;

/// What a new job on a model must satisfy.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct JobTerms<Balance> {
	/// The model's inputs.
	pub inputs: TensorSpecs,
	/// Fee per executor run.
	pub fee: Balance,
	/// Verification modes the model accepts.
	pub modes: ModeSet,
}

/// Why a model cannot take new jobs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ModelUnavailable {
	/// No model has this hash.
	Unknown,
	/// The model is uploading, retired or broken.
	NotActive,
}

/// The model registry, as the jobs pallet sees it.
pub trait ModelRegistry<Balance> {
	/// The terms of an active model.
	fn job_terms(model: &ModelHash) -> Result<JobTerms<Balance>, ModelUnavailable>;

	/// A job now references `model`: its deposit stays held until the job ends.
	fn add_job_reference(model: &ModelHash);

	/// A job referencing `model` ended.
	fn remove_job_reference(model: &ModelHash);

	/// Makes `model` exist and active with `inputs`, for benchmarks of the pallets that use
	/// models.
	#[cfg(feature = "runtime-benchmarks")]
	fn activate_for_benchmark(model: &ModelHash, inputs: TensorSpecs, fee: Balance);
}

/// The executor registry, as the jobs pallet sees it.
pub trait ExecutorRegistry<AccountId> {
	/// Executors that serve `model` and can take a job now (bonded, not unbonding, under
	/// capacity), in a stable order every node agrees on.
	fn eligible_executors(model: &ModelHash) -> Vec<AccountId>;

	/// Whether `who` is a registered executor serving `model` (it may be unbonding: it still
	/// owes the results of the jobs it was assigned).
	fn serves(who: &AccountId, model: &ModelHash) -> bool;

	/// `who` was assigned a job: one more of its capacity is in use.
	fn note_assigned(who: &AccountId);

	/// A job assigned to `who` ended or was taken from it.
	fn note_released(who: &AccountId);

	/// `who` missed a job's deadline: its reputation drops.
	fn note_missed_deadline(who: &AccountId);

	/// Registers `who` (funding it) as an executor of `model` with the largest capacity, for
	/// benchmarks of the pallets that use executors.
	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmark(who: &AccountId, model: &ModelHash);
}

/// Slashing and reputation of executors and verifiers, as the settlement pallet sees them.
pub trait ExecutorAccountability<AccountId, Balance> {
	/// Takes up to `amount` from `offender`'s bond: `beneficiary_share` of it goes to
	/// `beneficiary`, the rest is burnt. Returns the amount actually taken.
	fn slash(
		offender: &AccountId,
		amount: Balance,
		beneficiary: &AccountId,
		beneficiary_share: sp_runtime::Perbill,
	) -> Balance;

	/// `who` is party to an open dispute: its bond cannot leave until the dispute ends.
	fn begin_dispute(who: &AccountId);

	/// A dispute `who` was party to ended.
	fn end_dispute(who: &AccountId);

	/// `who` delivered a result that settled: its reputation grows.
	fn note_settled(who: &AccountId);
}
