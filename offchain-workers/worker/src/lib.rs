//! # HACA off-chain worker
//!
//! The node side of settlement. The runtime's off-chain worker calls [`work`] each block;
//! on a node started with an inference role it works off what the session keys in the
//! node's keystore owe:
//! - as an **executor** (`statements.rs`): runs its assigned jobs through the node's engine
//!   (the `haca_inference` host functions), a block's jobs of one model in one call, and
//!   submits the signed statements (results, quorum commitments and reveals, failures) in
//!   batches, as authorized transactions that need no fee payer; proves the runs of its
//!   proven jobs and submits each with its proof (`proofs.rs`); a verifier does the same
//!   for the quorum jobs it is drawn to spot-check; when a verifier asks for the outputs of
//!   one of its results, too large for a statement, it runs the job again and publishes
//!   them page by page (`publish.rs`);
//! - as a **verifier** (`audit.rs`): re-runs a random sample of other executors' provisional
//!   results on the models its account audits, challenges the wrong ones (asking first for
//!   outputs too large for a statement, to compare them within the model's tolerance), and
//!   votes in the disputes its keys sit on;
//! - in disputes the chain decides (`games.rs`): a disputed executor traces its run through
//!   the model's dispute graph and submits the trace; a verifier traces the run too and
//!   proves the first step of the executor's trace it computes differently.
//!
//! Each task runs once even when workers of consecutive blocks overlap: a lock and a done
//! record per task, in the node's local storage ([`records`]). Those records are kept per
//! job and cleared once the job has ended, so they stay bounded by the jobs in flight.
//!
//! The worker reads the chain and submits transactions only through [`Chain`], which the
//! settlement pallet implements. Decisions are logged under [`LOG_TARGET`]: `info` for each
//! job run, statement sent, audit, challenge and vote; `debug` for what was skipped and why.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod audit;
mod execute;
mod games;
mod models;
mod proofs;
mod publish;
pub mod records;
mod statements;

use alloc::vec::Vec;
use codec::Encode;
use core::fmt::Debug;
use haca_inference::{inference, ModelSpecs, StepRun, TraceRun};
use haca_primitives::{
	proof::CircuitCommitment,
	runtime_api::WorkItem,
	statement::{
		GameMovePayload, GroupStatementPayload, Statement, StatementPayload, Verdict,
		VerdictPayload,
	},
	traits::OffChainModel,
	InferenceKey, InferenceSignature, JobId, ModelHash,
};
use sp_core::H256;
use sp_runtime::{traits::BlockNumberProvider, RuntimeAppPublic};

pub use records::run_once_per_task;

/// The log target of the worker's decisions.
pub const LOG_TARGET: &str = "haca::ocw";

/// Blocks a worker may hold a task's lock before another may take over.
pub const LOCK_BLOCKS: u32 = 5;

/// Blocks in a round of what the worker sends (statements, proofs, output pages, verdicts):
/// one sent in a round and still owed in the next is sent again, since the pool took it but
/// it never reached a block (a pool that met it on a fork where it was invalid dropped it,
/// and its peers ban its hash). A statement or proof is owed for the jobs pallet's
/// `ResultTimeout` (10 blocks on the HACA runtime): a lost one gets up to three more
/// chances; a vote or challenge, for its phase or window (10 or 20 blocks), as many or more.
pub const RESEND_AFTER_BLOCKS: u32 = 3;

/// Milliseconds a worker may hold a task's lock before another may take over.
pub const LOCK_MILLIS: u64 = 60_000;

/// Most jobs one call of the engine runs (their inputs and outputs are in the worker's
/// memory at once).
pub const ENGINE_BATCH: usize = 64;

/// Most ended jobs whose local records one run of the worker clears.
pub const MAX_FORGOTTEN_PER_RUN: JobId = 4096;

/// The chain's block number, as the worker's [`Chain`] counts blocks.
pub type BlockNumberOf<C> = <<C as Chain>::Blocks as BlockNumberProvider>::BlockNumber;

/// The round of [`RESEND_AFTER_BLOCKS`] blocks the chain is in: what a task that is to be
/// done again while still owed a round later names in its id.
pub(crate) fn resend_round<C: Chain>() -> BlockNumberOf<C> {
	C::Blocks::current_block_number() / RESEND_AFTER_BLOCKS.into()
}

/// A statement about a job, as the chain takes it.
pub type StatementOf<C> = Statement<<C as Chain>::AccountId, <C as Chain>::Outputs>;

/// One member's result in a group statement: its output hash, and its outputs when they
/// fit on chain.
pub type GroupResultOf<C> = (H256, Option<<C as Chain>::Outputs>);

/// A model as the worker loads it and compares its outputs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ServedModel {
	/// Its registered tensor specs.
	pub specs: ModelSpecs,
	/// How far apart float outputs may be and still agree, in units of least precision.
	pub tolerance_ulps: u32,
	/// Its circuit, when it accepts proven jobs.
	pub circuit: Option<CircuitCommitment>,
}

/// An executor's attested result.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AttestedOutput<AccountId> {
	/// Who produced it.
	pub executor: AccountId,
	/// Hash of its output tensors.
	pub output_hash: H256,
	/// The output tensors, when they are on chain (in its statement, or published).
	pub outputs: Option<Vec<u8>>,
	/// While its outputs are being published at a verifier's request: the pages on chain
	/// (page `i` is bit `i`); otherwise none.
	pub pages_received: u64,
}

/// An attested result that a verifier may still challenge, within its challenge window.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Challengeable<AccountId, BlockNumber> {
	/// The job.
	pub job: JobId,
	/// The last block of its challenge window.
	pub challenge_until: BlockNumber,
	/// The result.
	pub result: AttestedOutput<AccountId>,
	/// Whether another verifier challenged it already (its dispute is open to more
	/// challengers).
	pub disputed: bool,
	/// Whether its outputs, too large for its statement, were published at a verifier's
	/// request.
	pub published: bool,
}

/// What a committee member owes a dispute in its current phase.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Debug)]
pub enum VotePhase {
	/// A commitment to its vote.
	Commit,
	/// The reveal of its committed vote.
	Reveal,
}

/// A dispute in which a verifier sits on the committee and owes a commitment or a reveal.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VoteDue {
	/// The disputed job.
	pub job: JobId,
	/// The job's attempt whose result is disputed.
	pub attempt: u32,
	/// What the member owes.
	pub phase: VotePhase,
	/// The output hashes the challengers computed.
	pub challenger_hashes: Vec<H256>,
}

/// A dispute the chain decides, as a party's node plays it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OpenGame {
	/// The disputed job.
	pub job: JobId,
	/// The job's attempt whose result is disputed.
	pub attempt: u32,
	/// The job's model.
	pub model: ModelHash,
	/// The executor's trace (a hash per node), once it is on chain.
	pub trace: Option<Vec<H256>>,
}

/// What the worker reads from the chain and submits to it; the settlement pallet implements
/// it over its own storage and that of the pallets it uses.
pub trait Chain {
	/// The chain's accounts.
	type AccountId: Clone + PartialEq + Encode + Debug;
	/// Output bytes a statement can carry: converting fails for outputs too large for the
	/// chain.
	type Outputs: TryFrom<Vec<u8>> + Clone;
	/// The chain's block numbers, which time the worker's task locks.
	type Blocks: BlockNumberProvider;

	/// The account whose registered session key is `key`.
	fn key_owner(key: &InferenceKey) -> Option<Self::AccountId>;

	/// Whether `who` is a bonded verifier.
	fn is_verifier(who: &Self::AccountId) -> bool;

	/// The statements `who` owes.
	fn pending_work(who: &Self::AccountId) -> Vec<WorkItem>;

	/// The model of `job` while the job is open.
	fn job_model(job: JobId) -> Option<ModelHash>;

	/// The input of an open job (canonical tensor encoding).
	fn input(job: JobId) -> Option<Vec<u8>>;

	/// A registered model's specs and tolerance.
	fn served_model(model: &ModelHash) -> Option<ServedModel>;

	/// A model's bytes, when they are stored on chain.
	fn model_bytes(model: &ModelHash) -> Option<Vec<u8>>;

	/// Where a model kept off chain is fetched from.
	fn off_chain_model(model: &ModelHash) -> Option<OffChainModel>;

	/// The models `who` serves as an executor or audits as a verifier.
	fn models_of(who: &Self::AccountId) -> Vec<ModelHash>;

	/// What the executor's session key signs for `statement`, if its job is open.
	fn statement_payload(
		statement: &StatementOf<Self>,
	) -> Option<StatementPayload<Self::AccountId>>;

	/// Most statements one transaction carries.
	fn max_statements_per_tx() -> u32;

	/// Largest output a statement carries, in bytes: the size of a page of published
	/// outputs.
	fn max_output_len() -> u32;

	/// Submits signed statements in one transaction; whether the pool took it.
	fn submit_statements(statements: Vec<(StatementOf<Self>, InferenceSignature)>) -> bool;

	/// What the executor's session key signs for its group statement of `results` (an
	/// output hash and the outputs to carry, per member still in the group, in the order of
	/// their ids) about the group whose first job is `first`, if the group is open and
	/// `results` holds one per member.
	fn group_payload(
		first: JobId,
		who: &Self::AccountId,
		results: &[GroupResultOf<Self>],
	) -> Option<GroupStatementPayload<Self::AccountId>>;

	/// Submits a signed group statement; whether the pool took it.
	fn submit_group_results(
		first: JobId,
		who: Self::AccountId,
		results: Vec<GroupResultOf<Self>>,
		signature: InferenceSignature,
	) -> bool;

	/// What a proof of `attempt` of `job` on `model` by `who` is bound to.
	fn proof_binding(
		job: JobId,
		attempt: u32,
		model: &ModelHash,
		who: &Self::AccountId,
	) -> [u8; 32];

	/// Submits a signed proven statement with its proof; whether the pool took it (a proof
	/// larger than the chain takes is not sent).
	fn submit_proof(
		statement: StatementOf<Self>,
		signature: InferenceSignature,
		proof: Vec<u8>,
	) -> bool;

	/// The block in which `job`'s quorum reveal phase opened, while it is open.
	fn reveals_opened(job: JobId) -> Option<BlockNumberOf<Self>>;

	/// The disputes whose committee holds `who` and in which `who` owes a commitment (commit
	/// phase) or a reveal (reveal phase, from the block after the one that opened it).
	fn votes_due(who: &Self::AccountId) -> Vec<VoteDue>;

	/// The attested results `who` may still challenge: of the models it audits, within
	/// their windows, of another executor, and not yet challenged by `who` nor judged by it
	/// (on a committee).
	fn challengeable_results(
		who: &Self::AccountId,
	) -> Vec<Challengeable<Self::AccountId, BlockNumberOf<Self>>>;

	/// The attested result of `job`: provisional, its outputs asked for, or disputed.
	fn attested_result(job: JobId) -> Option<AttestedOutput<Self::AccountId>>;

	/// What the verifier's session key signs for `verdict`, if its job is open.
	fn verdict_payload(
		verdict: &Verdict<Self::AccountId>,
	) -> Option<VerdictPayload<Self::AccountId>>;

	/// Submits a signed verdict; whether the pool took it.
	fn submit_verdict(verdict: Verdict<Self::AccountId>, signature: InferenceSignature) -> bool;

	/// A move in a dispute the chain decides, as the chain takes it.
	type Move: Encode;

	/// The disputes the chain decides in which `who`, the executor, owes its trace.
	fn traces_due(who: &Self::AccountId) -> Vec<OpenGame>;

	/// The disputes the chain decides over other executors' results on the models `who`
	/// audits, whose trace is on chain and open to proofs.
	fn traces_to_check(who: &Self::AccountId) -> Vec<OpenGame>;

	/// A trace as a move; `None` if it is larger than the chain takes.
	fn trace_move(run: TraceRun) -> Option<Self::Move>;

	/// A step proof as a move; `None` if it is larger than the chain takes.
	fn step_move(run: StepRun) -> Option<Self::Move>;

	/// What `party`'s session key signs for `game_move` in the dispute over `job`, if the job
	/// is open.
	fn game_move_payload(
		job: JobId,
		party: &Self::AccountId,
		game_move: &Self::Move,
	) -> Option<GameMovePayload<Self::AccountId>>;

	/// Submits a signed move; whether the pool took it.
	fn submit_game_move(
		job: JobId,
		party: Self::AccountId,
		game_move: Self::Move,
		signature: InferenceSignature,
	) -> bool;
}

/// Works off everything the session keys in the node's keystore owe, as far as the node's
/// roles allow: executors' statements, verifiers' audits and votes. Then keeps the models
/// they serve in the node's model store (fetching those not there yet), and forgets what it
/// recorded about jobs that have ended.
pub fn work<C: Chain>() {
	let roles = inference::roles();
	if !roles.executor && !roles.verifier {
		return;
	}
	let mut local = Vec::new();
	for key in InferenceKey::all() {
		let Some(who) = C::key_owner(&key) else {
			log::debug!(target: LOG_TARGET, "session key {key:?}: no registered owner, skipped");
			continue;
		};
		let verifying = roles.verifier && C::is_verifier(&who);
		if roles.verifier && !verifying {
			log::debug!(target: LOG_TARGET, "{who:?}: not a bonded verifier, no audits");
		}
		let owed = statements::Owed { assignments: roles.executor, spot_checks: verifying };
		statements::submit_owed_statements::<C>(&key, &who, owed);
		if roles.executor {
			proofs::submit_owed_proofs::<C>(&key, &who);
			publish::publish_owed_outputs::<C>(&key, &who);
			games::submit_owed_traces::<C>(&key, &who);
		}
		if verifying {
			audit::audit_and_vote::<C>(&key, &who, roles.audit_ppm);
			games::check_traces::<C>(&key, &who);
		}
		local.push(who);
	}
	models::keep_served_models::<C>(&local);
	records::forget_ended_jobs::<C>(&local);
}
