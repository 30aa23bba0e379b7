//! Types of the jobs pallet.

use codec::{Decode, Encode, MaxEncodedLen};
use frame_support::{BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{ModelHash, VerificationMode};
use scale_info::TypeInfo;

use crate::{BalanceOf, Config};

/// How a job ended, as [`crate::Outcomes`] keeps it.
pub type JobOutcomeOf<T> = haca_primitives::runtime_api::JobOutcome<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	BoundedVec<u8, <T as Config>::MaxOutputLen>,
	BoundedVec<
		haca_primitives::statement::Attestation<<T as frame_system::Config>::AccountId>,
		<T as Config>::MaxQuorum,
	>,
>;

/// How a job ended, as [`JobOutcomeOf`] keeps it.
pub type JobEndOf<T> = haca_primitives::runtime_api::JobEnd<
	BalanceOf<T>,
	BoundedVec<u8, <T as Config>::MaxOutputLen>,
	BoundedVec<
		haca_primitives::statement::Attestation<<T as frame_system::Config>::AccountId>,
		<T as Config>::MaxQuorum,
	>,
>;

/// Where a job is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub enum JobStatus<BlockNumber> {
	/// Waiting for eligible executors ([`crate::PendingJobs`]); the client may cancel it.
	Pending,
	/// Assigned; the executors owe a result by `deadline`.
	Assigned {
		/// Last block at which a result is accepted.
		deadline: BlockNumber,
	},
	/// Every executor of the assignment delivered (and its spot checker answered); the
	/// settlement pallet verifies and settles.
	Delivered,
}

/// An inference job. Its input is in [`crate::JobInputs`].
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Job<T: Config> {
	/// Who submitted and pays for the job.
	pub client: T::AccountId,
	/// The model to run.
	pub model: ModelHash,
	/// blake2-256 of the input (the canonical encoding of the input tensors).
	pub input_hash: sp_core::H256,
	/// How the result is verified.
	pub mode: VerificationMode,
	/// Most the client pays in fees; held until the job ends.
	pub max_fee: BalanceOf<T>,
	/// What each run of the job pays: the model's fee, in proportion to the input's size
	/// (see [`crate::Pallet::fee_for`]).
	pub fee: BalanceOf<T>,
	/// Storage deposit, held until the job ends and then returned.
	pub deposit: BalanceOf<T>,
	/// What the job puts at stake of each executor's bond while assigned to it (fixed at
	/// submission from the model's fee, whatever the input's size: lying about a small
	/// input costs as much as about a large one).
	pub stake: BalanceOf<T>,
	/// Where the job is.
	pub status: JobStatus<BlockNumberFor<T>>,
	/// Executors of the current assignment.
	pub executors: BoundedVec<T::AccountId, T::MaxQuorum>,
	/// Executors of the current assignment that delivered.
	pub delivered: BoundedVec<T::AccountId, T::MaxQuorum>,
	/// The verifier drawn to spot-check the current assignment (quorum jobs, with
	/// `SpotCheckChance`): it runs the job as the executors do and owes a commitment by the
	/// deadline; it is in [`crate::Undelivered`] until it answers.
	pub spot_checker: Option<T::AccountId>,
	/// While the job waits for a re-run: the executors its next draw avoids when others are
	/// eligible (those that missed its deadline or were found wrong).
	pub avoid: BoundedVec<T::AccountId, T::MaxQuorum>,
	/// Assignments so far (re-assignments after missed deadlines included).
	pub attempts: u32,
	/// Block the job was submitted in.
	pub submitted_at: BlockNumberFor<T>,
	/// Block the job last started waiting for executors (at submission or a re-run), while
	/// it is pending: its executors are drawn from randomness known only after this block,
	/// and it waits at most `PendingTimeout` blocks.
	pub waiting_since: BlockNumberFor<T>,
}

impl<T: Config> Job<T> {
	/// Everything held from the client for this job.
	pub fn held(&self) -> BalanceOf<T> {
		use sp_runtime::traits::Saturating;
		self.max_fee.saturating_add(self.deposit)
	}
}
