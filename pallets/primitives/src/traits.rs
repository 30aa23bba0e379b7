//! Interfaces between the HACA pallets. Each pallet uses the others only through these
//! traits, never through their storage.

use alloc::vec::Vec;
use sp_core::{ConstU32, H256};
use sp_runtime::BoundedVec;

use crate::{
	dispute::GraphCommitment,
	proof::CircuitCommitment,
	tensor::{TensorSpec, MAX_TENSORS},
	JobId, ModeSet, ModelHash, VerificationMode,
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

/// Where a model kept off chain is fetched from: its registered size and locators
/// (`http://` or `https://` URIs), in the order its owner gave them.
#[derive(Clone, PartialEq, Eq, codec::Encode, codec::Decode, scale_info::TypeInfo, Debug)]
pub struct OffChainModel {
	/// Size of the ONNX file in bytes.
	pub size: u32,
	/// Its locators.
	pub locators: Vec<Vec<u8>>,
}

/// Why a model cannot take new jobs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ModelUnavailable {
	/// No model has this hash.
	Unknown,
	/// The model is uploading, retired or broken.
	NotActive,
}

/// What settling a job on a model needs to know.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SettlementTerms<AccountId, Balance> {
	/// Who registered the model (receives the owner's share of fees).
	pub owner: AccountId,
	/// The model's inputs.
	pub inputs: TensorSpecs,
	/// Fee per executor run.
	pub fee: Balance,
	/// The model's outputs.
	pub outputs: TensorSpecs,
	/// Float outputs agree within this many units of least precision.
	pub tolerance_ulps: u32,
	/// The model's dispute graph, when the chain decides disputes over its results.
	pub graph: Option<GraphCommitment>,
	/// The model's circuit, when it accepts proven jobs.
	pub circuit: Option<CircuitCommitment>,
}

/// The model registry, as the jobs and settlement pallets see it.
pub trait ModelRegistry<AccountId, Balance> {
	/// The terms of an active model.
	fn job_terms(model: &ModelHash) -> Result<JobTerms<Balance>, ModelUnavailable>;

	/// The terms of any registered model (retired or broken ones included: jobs referencing
	/// them still settle).
	fn settlement_terms(model: &ModelHash) -> Option<SettlementTerms<AccountId, Balance>>;

	/// The model's bytes, when it is stored on chain and complete.
	fn model_bytes(model: &ModelHash) -> Option<Vec<u8>>;

	/// Where the model's bytes are fetched from, when it is kept off chain.
	fn off_chain_model(model: &ModelHash) -> Option<OffChainModel>;

	/// The circuit (SCALE-encoded `haca_proof::Circuit`) of a model that accepts proven
	/// jobs.
	fn circuit(model: &ModelHash) -> Option<Vec<u8>>;

	/// `count` more jobs reference `model`: its deposit stays held until they end.
	fn add_job_references(model: &ModelHash, count: u32);

	/// A job referencing `model` ended.
	fn remove_job_reference(model: &ModelHash);

	/// Makes `model` exist and active with `inputs` and `outputs`, for benchmarks of the
	/// pallets that use models.
	#[cfg(feature = "runtime-benchmarks")]
	fn activate_for_benchmark(
		model: &ModelHash,
		inputs: TensorSpecs,
		outputs: TensorSpecs,
		fee: Balance,
	);

	/// Records `graph` as `model`'s dispute graph, for benchmarks of disputes the chain
	/// decides.
	#[cfg(feature = "runtime-benchmarks")]
	fn set_graph_for_benchmark(model: &ModelHash, graph: GraphCommitment);

	/// Records `circuit` (encoded) as `model`'s circuit and makes it take proven jobs, for
	/// benchmarks of proven results.
	#[cfg(feature = "runtime-benchmarks")]
	fn set_circuit_for_benchmark(model: &ModelHash, circuit: Vec<u8>);

	/// The largest circuit a model may register, in bytes, for benchmarks of proven results.
	#[cfg(feature = "runtime-benchmarks")]
	fn max_circuit_bytes() -> u32;
}

/// The executor registry, as the jobs pallet sees it.
///
/// Every job puts a stake of each of its executors' bonds at risk ([`Self::job_stake`]),
/// from its assignment until the assignment ends (the job settles, is re-run or the
/// executor is replaced): an executor takes a job only while its bond covers the stakes of
/// all the jobs it holds, so every slash it can incur is backed.
pub trait ExecutorRegistry<AccountId, Balance> {
	/// What a job on a model with per-run fee `fee` puts at stake of each executor's bond:
	/// the slash of an executor found lying, dissenting or silent on it.
	fn job_stake(fee: Balance) -> Balance;

	/// Executors that serve `model` and can take `jobs` jobs with `stake` each at stake now
	/// (bonded to cover them, not unbonding, with `jobs` free places of capacity), in a
	/// stable order every node agrees on. Reads every server of the model.
	fn eligible_executors(model: &ModelHash, jobs: u32, stake: Balance) -> Vec<AccountId>;

	/// How many members of the verifier set audit `model`.
	fn verifier_count(model: &ModelHash) -> u32;

	/// Most executors that may serve one model.
	fn max_servers() -> u32;

	/// The largest capacity an executor may declare (jobs held at once).
	fn max_capacity() -> u32;

	/// Whether `who` is a registered executor. It may be unbonding, or have stopped serving
	/// the model of a job it holds: it still owes the results of the jobs it was assigned.
	fn is_executor(who: &AccountId) -> bool;

	/// `who` was assigned `jobs` jobs with `stake` each at stake: as many places of its
	/// capacity are in use and the stakes are bound until [`Self::release_stake`].
	fn note_assigned(who: &AccountId, jobs: u32, stake: Balance);

	/// `jobs` jobs assigned to `who` were delivered, ended or taken from it: their places of
	/// its capacity are free.
	fn note_released(who: &AccountId, jobs: u32);

	/// The assignment of `who` to a job with `stake` at stake ended (the job settled, was
	/// re-run or `who` was replaced): the stake is free.
	fn release_stake(who: &AccountId, stake: Balance);

	/// `who` missed a job's deadline: its reputation drops.
	fn note_missed_deadline(who: &AccountId);

	/// Registers `who` (funding it) with session key `key` for `model`: as an executor
	/// serving it with the largest capacity, or (`verifier`) as a verifier auditing it. For
	/// benchmarks of the pallets that use executors.
	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmark(
		who: &AccountId,
		model: &ModelHash,
		verifier: bool,
		key: crate::InferenceKey,
	);
}

/// Who is registered how, as the settlement pallet sees it.
pub trait ExecutorDirectory<AccountId> {
	/// The session key of a registered executor or verifier.
	fn session_key(who: &AccountId) -> Option<crate::InferenceKey>;

	/// The account a session key belongs to.
	fn key_owner(key: &crate::InferenceKey) -> Option<AccountId>;

	/// The verifier set: bonded at least the minimum, not unbonding, the largest bonds when
	/// more would fit.
	fn verifiers() -> Vec<AccountId>;

	/// The members of the verifier set that audit `model` (declared it among their models):
	/// the pool of its jobs' committees.
	fn verifiers_of(model: &ModelHash) -> Vec<AccountId>;

	/// The models `who` runs: serves as an executor, audits as a verifier (none when it is
	/// not registered).
	fn models_of(who: &AccountId) -> Vec<ModelHash>;

	/// Most verifiers in the verifier set.
	fn max_verifiers() -> u32;
}

/// Slashing and reputation of executors and verifiers, as the settlement pallet sees them.
pub trait ExecutorAccountability<AccountId, Balance> {
	/// Takes up to `amount` from `offender`'s bond: each beneficiary in `rewards` gets its
	/// share of it, the rest goes to the registry's slash handler. Returns the amount
	/// actually taken.
	fn slash(
		offender: &AccountId,
		amount: Balance,
		rewards: &[(&AccountId, sp_runtime::Perbill)],
	) -> Balance;

	/// `who` is party to an open dispute or spot check: its bond cannot leave until it ends.
	fn begin_dispute(who: &AccountId);

	/// A dispute or spot check `who` was party to ended.
	fn end_dispute(who: &AccountId);

	/// `who` delivered a result that settled: its reputation grows.
	fn note_settled(who: &AccountId);
}

/// A job as the settlement pallet sees it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct JobView<AccountId, Balance, BlockNumber> {
	/// Who pays.
	pub client: AccountId,
	/// The model.
	pub model: ModelHash,
	/// Hash of the input.
	pub input_hash: H256,
	/// How the result is verified.
	pub mode: VerificationMode,
	/// Most the client pays.
	pub max_fee: Balance,
	/// What each run pays: the model's fee in proportion to the input's size.
	pub fee: Balance,
	/// Executors of the current assignment (empty while waiting for executors).
	pub executors: Vec<AccountId>,
	/// Executors of the current assignment that delivered.
	pub delivered: Vec<AccountId>,
	/// Delivery deadline of the current assignment, while it runs.
	pub deadline: Option<BlockNumber>,
	/// The current assignment's number, counted from 1 (0 before the first): what
	/// statements and verdicts about it sign.
	pub attempt: u32,
	/// What the job puts at stake of each executor's bond: the slash of a lying, dissenting
	/// or silent executor.
	pub stake: Balance,
	/// The verifier drawn to spot-check the current assignment of a quorum job, if any: it
	/// owes a commitment and a reveal like the executors, and its answer counts only for
	/// its own bond.
	pub spot_checker: Option<AccountId>,
	/// While the job is a member of a group assigned as one ([`JobLedger::group`]): the
	/// group's first job id.
	pub group: Option<JobId>,
}

/// A member of a group, as the settlement pallet sees it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GroupMemberView<Balance> {
	/// The member's job id.
	pub job: JobId,
	/// Hash of its input.
	pub input_hash: H256,
	/// What its run pays.
	pub fee: Balance,
}

/// A group of attested jobs assigned to one executor as one, as the settlement pallet sees
/// it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GroupView<AccountId, Balance, BlockNumber> {
	/// Who pays.
	pub client: AccountId,
	/// The members' model.
	pub model: ModelHash,
	/// Most the client pays per member.
	pub max_fee: Balance,
	/// What each member puts at stake of the executor's bond.
	pub stake: Balance,
	/// The executor of the current assignment, if any.
	pub executor: Option<AccountId>,
	/// The current assignment's number, counted from 1.
	pub attempt: u32,
	/// Delivery deadline of the current assignment, while it runs.
	pub deadline: Option<BlockNumber>,
	/// Whether the executor delivered every member's result.
	pub delivered: bool,
	/// The members still in the group, in the order of their ids.
	pub members: Vec<GroupMemberView<Balance>>,
}

/// Where a settled job's escrow went.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SettledFunds<Balance> {
	/// Paid out to the executors and the model's owner.
	pub paid: Balance,
	/// Returned to the client.
	pub refunded: Balance,
}

/// A result the settlement pallet settles a job with.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SettledResult<AccountId> {
	/// Hash of the settled output tensors.
	pub output_hash: H256,
	/// The settled output tensors (canonical encoding), when they are on chain.
	pub outputs: Option<Vec<u8>>,
	/// The signed claims of the executors paid for it.
	pub attestations: Vec<crate::statement::Attestation<AccountId>>,
}

/// One member's result, settling with its group's.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MemberSettlement<Balance> {
	/// The member's job.
	pub job: JobId,
	/// Its leaf's index in the group statement.
	pub leaf: u32,
	/// Its share of the payouts: what its run paid.
	pub paid: Balance,
	/// Hash of its settled output tensors.
	pub output_hash: H256,
	/// The output tensors (canonical encoding), when they are on chain.
	pub outputs: Option<Vec<u8>>,
}

/// Members of a group whose results settle together, from one group statement.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GroupSettlement<AccountId, Balance> {
	/// The executor's signature of the group statement, with its leaves.
	pub attestation: crate::statement::GroupAttestation<AccountId>,
	/// The members settling, in the order of their ids.
	pub members: Vec<MemberSettlement<Balance>>,
}

/// The jobs pallet, as the settlement pallet sees it.
pub trait JobLedger<AccountId, Balance, BlockNumber> {
	/// A job that has not ended.
	fn job(id: JobId) -> Option<JobView<AccountId, Balance, BlockNumber>>;

	/// The input of a job that has not ended (canonical tensor encoding).
	fn input(id: JobId) -> Option<Vec<u8>>;

	/// Jobs whose current assignment includes `who` (as an executor or the spot checker) and
	/// that `who` has not delivered yet.
	fn undelivered_jobs(who: &AccountId) -> Vec<JobId>;

	/// `who`, assigned to job `id` (or its spot checker), delivered (a result or a
	/// commitment): its capacity is free again, and once every executor and the spot checker
	/// delivered the job's deadline no longer applies.
	fn note_delivered(id: JobId, who: &AccountId);

	/// Ends the job with `result`: pays each `(payee, amount)` from the client's escrow and
	/// returns the rest to the client; what was paid and returned. Pays all or, with an
	/// error, nothing.
	fn settle(
		id: JobId,
		payouts: &[(AccountId, Balance)],
		result: SettledResult<AccountId>,
	) -> Result<SettledFunds<Balance>, sp_runtime::DispatchError>;

	/// Ends the job with a full refund (its result cannot be paid for).
	fn fail(id: JobId);

	/// The group whose first job id is `first`, while it has members.
	fn group(first: JobId) -> Option<GroupView<AccountId, Balance, BlockNumber>>;

	/// `who`, assigned to the group whose first job id is `first`, delivered every present
	/// member's result at once: its capacity is free again and the group's deadline no
	/// longer applies.
	fn note_group_delivered(first: JobId, who: &AccountId);

	/// Ends members of the delivered group whose first job id is `first` (the others stay
	/// in it), each with its result and its share of `payouts`, and keeps one outcome for
	/// them all: pays each `(payee, amount)` from the client's escrow once and returns the
	/// rest to the client; what was paid and returned for each member, in order. Pays all
	/// or, with an error, nothing.
	fn settle_group(
		first: JobId,
		payouts: &[(AccountId, Balance)],
		settlement: GroupSettlement<AccountId, Balance>,
	) -> Result<Vec<SettledFunds<Balance>>, sp_runtime::DispatchError>;

	/// Runs the job again with new executors (avoiding `exclude` when others are eligible),
	/// or, after its last attempt, ends it with a full refund.
	fn rerun(id: JobId, exclude: &[AccountId]);

	/// Most executors a job is assigned to (the largest quorum).
	fn max_executors_per_job() -> u32;

	/// Most members of a group.
	fn max_group_size() -> u32;

	/// Submits a job on `model` (active, with one input) for `client`, funding it, with an
	/// input that matches the model; it waits for [`Self::draw_for_benchmark`]. For
	/// benchmarks of the settlement pallet.
	#[cfg(feature = "runtime-benchmarks")]
	fn submit_for_benchmark(client: &AccountId, model: &ModelHash, mode: VerificationMode)
		-> JobId;

	/// Submits an attested batch of `size` jobs (at least 2: a group) on `model` for
	/// `client`, as [`Self::submit_for_benchmark`] does; returns the first job's id.
	#[cfg(feature = "runtime-benchmarks")]
	fn submit_group_for_benchmark(client: &AccountId, model: &ModelHash, size: u32) -> JobId;

	/// Draws the executors of every waiting job, running the blocks that takes.
	#[cfg(feature = "runtime-benchmarks")]
	fn draw_for_benchmark();

	/// Makes `checker` the spot checker of assigned job `id`, unless its draw gave it one.
	#[cfg(feature = "runtime-benchmarks")]
	fn spot_check_for_benchmark(id: JobId, checker: &AccountId);
}

/// Told by the jobs pallet when a job's delivery deadline passes with part of its executors
/// delivered. Returns `true` if it took the job over (the jobs pallet then leaves it alone);
/// `false` lets the jobs pallet re-assign it as late.
pub trait OnPartialDelivery<AccountId> {
	/// Job `id`'s deadline passed; `delivered` delivered and `missed` did not.
	fn on_partial_delivery(id: JobId, delivered: &[AccountId], missed: &[AccountId]) -> bool;
}

impl<AccountId> OnPartialDelivery<AccountId> for () {
	fn on_partial_delivery(_: JobId, _: &[AccountId], _: &[AccountId]) -> bool {
		false
	}
}

/// Makes fresh randomness known to the runtime's randomness source, for benchmarks (which
/// run without a block author, hence without a VRF output) and their mock runtimes.
#[cfg(feature = "runtime-benchmarks")]
pub trait RevealRandomness {
	/// Makes `seed` the randomness known from the current block on.
	fn reveal(seed: [u8; 32]);
}
