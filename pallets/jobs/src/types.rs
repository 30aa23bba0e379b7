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

/// A group's number: job `group * GROUP_SPAN + index` is member `index` of group `group`.
pub type GroupId = u64;

pub use haca_primitives::GROUP_SPAN;

/// The group job `id` would be a member of, and its place in it.
pub fn group_place(id: haca_primitives::JobId) -> (GroupId, usize) {
	(id / GROUP_SPAN, (id % GROUP_SPAN) as usize)
}

/// What the waiting queue and the deadline queue hold: a job of its own, or a group.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub enum Work {
	/// A job of its own ([`crate::Jobs`]).
	Job(haca_primitives::JobId),
	/// A group of jobs ([`crate::Groups`]).
	Group(GroupId),
}

/// A job of a group: what is its own (the rest is the group's).
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct GroupMember<T: Config> {
	/// blake2-256 of the input.
	pub input_hash: sp_core::H256,
	/// What a run of the job pays (see [`Job::fee`]).
	pub fee: BalanceOf<T>,
	/// Storage deposit, held until the job ends and then returned.
	pub deposit: BalanceOf<T>,
}

/// The attested jobs of one `submit_batch`, stored, drawn, assigned to one executor and
/// timed as one (the same client, model, maximum fee and stake), so that each of them
/// costs a share of one record's writes instead of its own. A member leaves the group for
/// a record of its own ([`Job`], same id) as soon as something happens to it alone; the
/// group ends when its last member has left. Inputs are in [`crate::JobInputs`], by job.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Group<T: Config> {
	/// Who submitted and pays for the jobs.
	pub client: T::AccountId,
	/// The model to run.
	pub model: ModelHash,
	/// Most the client pays in fees per job; held until the job ends.
	pub max_fee: BalanceOf<T>,
	/// What each job puts at stake of its executor's bond while assigned (see [`Job::stake`]).
	pub stake: BalanceOf<T>,
	/// Where the group is.
	pub status: JobStatus<BlockNumberFor<T>>,
	/// The executor of the current assignment.
	pub executor: Option<T::AccountId>,
	/// While the group waits for a re-run: the executor its next draw avoids when others
	/// are eligible.
	pub avoid: Option<T::AccountId>,
	/// Assignments so far.
	pub attempts: u32,
	/// Block the group was submitted in.
	pub submitted_at: BlockNumberFor<T>,
	/// Block the group last started waiting for an executor, while it is pending.
	pub waiting_since: BlockNumberFor<T>,
	/// The members by place; `None` once a member has left.
	pub members: BoundedVec<Option<GroupMember<T>>, T::MaxJobsPerSubmit>,
}

impl<T: Config> Group<T> {
	/// How many members are still in the group.
	pub fn size(&self) -> u32 {
		self.members.iter().flatten().count() as u32
	}

	/// The members still in the group, with their places.
	pub fn present(&self) -> impl Iterator<Item = (usize, &GroupMember<T>)> {
		self.members
			.iter()
			.enumerate()
			.filter_map(|(place, member)| Some((place, member.as_ref()?)))
	}

	/// Everything held from the client for the members still in the group.
	pub fn held(&self) -> BalanceOf<T> {
		use sp_runtime::traits::{Saturating, Zero};
		self.present().fold(BalanceOf::<T>::zero(), |total, (_, member)| {
			total.saturating_add(self.max_fee).saturating_add(member.deposit)
		})
	}
}

/// A member's result that settled with its group's, as [`GroupOutcome`] keeps it.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct SettledMember<T: Config> {
	/// The member's job.
	pub job: haca_primitives::JobId,
	/// Its leaf's index in the group statement.
	pub leaf: u32,
	/// Hash of its input.
	pub input_hash: sp_core::H256,
	/// Hash of its settled output tensors.
	pub output_hash: sp_core::H256,
	/// The settled output tensors, when they fit in `MaxOutputLen`.
	pub outputs: Option<BoundedVec<u8, T::MaxOutputLen>>,
	/// Paid out of the escrow for it.
	pub paid: BalanceOf<T>,
	/// Returned to the client for it.
	pub refunded: BalanceOf<T>,
}

/// How the members of a group whose results settled together from one group statement
/// ended: one record for them all. Each member's [`JobOutcomeOf`] is built from it
/// ([`crate::Pallet::outcome`]), its attestation with its inclusion proof.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct GroupOutcome<T: Config> {
	/// Who paid.
	pub client: T::AccountId,
	/// The model.
	pub model: ModelHash,
	/// Block of the submission.
	pub submitted_at: BlockNumberFor<T>,
	/// Block in which the members ended.
	pub ended_at: BlockNumberFor<T>,
	/// The executor's signature of the group statement, with its leaves.
	pub attestation: haca_primitives::statement::GroupAttestation<T::AccountId>,
	/// The members that settled, in the order of their ids.
	pub members: BoundedVec<SettledMember<T>, T::MaxJobsPerSubmit>,
}

impl<T: Config> GroupOutcome<T> {
	/// How member `job` ended, if it settled with the group: its result, and the executor's
	/// attestation with the member's inclusion proof.
	pub fn member_outcome(
		&self,
		job: haca_primitives::JobId,
	) -> Option<
		haca_primitives::runtime_api::JobOutcome<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>,
	> {
		let member = self.members.iter().find(|member| member.job == job)?;
		Some(haca_primitives::runtime_api::JobOutcome {
			client: self.client.clone(),
			model: self.model,
			input_hash: member.input_hash,
			mode: VerificationMode::Attested,
			submitted_at: self.submitted_at,
			ended_at: self.ended_at,
			end: haca_primitives::runtime_api::JobEnd::Settled {
				output_hash: member.output_hash,
				outputs: member.outputs.clone().map(BoundedVec::into_inner),
				attestations: alloc::vec![self
					.attestation
					.attestation(member.leaf, member.output_hash)],
				paid: member.paid,
				refunded: member.refunded,
			},
		})
	}
}
