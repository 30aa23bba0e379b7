//! Types of the settlement pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	traits::{ConstU32, Get},
	BoundedVec, CloneNoBound, DebugNoBound, DefaultNoBound, EqNoBound, PartialEqNoBound,
};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_kernels::graph::{Header, Node, MAX_NODE_INPUTS};
use haca_primitives::{
	statement::{self, Inclusion, MAX_FAILURE_DETAIL},
	InferenceKey, InferenceSignature, JobId,
};
use scale_info::TypeInfo;
use sp_core::H256;

use crate::Config;

/// Signed statements submitted together.
pub type StatementBatch<T> =
	BoundedVec<(Statement<T>, InferenceSignature), <T as Config>::MaxStatementsPerTx>;

/// Output tensors in the canonical encoding, bounded.
pub type OutputBytes<T> = BoundedVec<u8, <T as Config>::MaxOutputLen>;

/// A proof of a proven result, bounded.
pub type ProofBytes<T> = BoundedVec<u8, <T as Config>::MaxProofBytes>;

/// An executor's explanation of a failed run, in its engine's words (UTF-8).
pub type FailureDetail = BoundedVec<u8, ConstU32<MAX_FAILURE_DETAIL>>;

/// The explanation a failure statement carries (checked to fit when the statement was).
pub(crate) fn failure_detail<Bound: Get<u32>>(carried: BoundedVec<u8, Bound>) -> FailureDetail {
	FailureDetail::truncate_from(carried.into_inner())
}

/// A statement an executor submits about a job, with its outputs bounded by `MaxOutputLen`.
pub type Statement<T> =
	statement::Statement<<T as frame_system::Config>::AccountId, OutputBytes<T>>;

/// A verifier's challenge or vote, signed by its session key.
pub type Verdict<T> = statement::Verdict<<T as frame_system::Config>::AccountId>;

/// Where a provisional attested result is.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub enum ResultStatus<BlockNumber> {
	/// Readable now; settles after `challenge_until` unless challenged.
	Provisional {
		/// Last block in which a verifier may challenge it.
		challenge_until: BlockNumber,
	},
	/// A verifier challenged it; a committee decides.
	Disputed,
	/// A verifier asked for its outputs, too large for its statement: the executor publishes
	/// them page by page by `publish_until`, or loses its stake. Nobody may challenge it
	/// meanwhile; a new challenge window opens once every page is on chain.
	Publishing {
		/// Last block for the pages.
		publish_until: BlockNumber,
		/// One bit per page that arrived (page `i` is bit `i`).
		received: u64,
	},
}

/// An attested result awaiting settlement.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct AttestedResult<T: Config> {
	/// Who produced it.
	pub executor: T::AccountId,
	/// Hash of the output tensors.
	pub output_hash: H256,
	/// The output tensors, when they fit in the statement.
	pub outputs: Option<OutputBytes<T>>,
	/// Whether its outputs, too large for the statement, were published in `OutputPages`.
	pub published: bool,
	/// The executor's signature of the result (of its group statement's root, when
	/// `inclusion` is set).
	pub signed: SessionSignature,
	/// Where it is.
	pub status: ResultStatus<BlockNumberFor<T>>,
	/// Where the result sits in the group statement that made it, if a group statement did.
	pub inclusion: Option<Inclusion>,
}

impl<T: Config> AttestedResult<T> {
	/// Whether its outputs are on chain (in the statement or published), so that anyone
	/// can compare them within the model's tolerance.
	pub fn outputs_on_chain(&self) -> bool {
		self.outputs.is_some() || self.published
	}
}

/// One member's result in a group statement: the hash of its outputs, and the outputs when
/// they fit in `MaxOutputLen`.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct GroupOutput<T: Config> {
	/// Hash of the output tensors.
	pub output_hash: H256,
	/// The output tensors, when they fit.
	pub outputs: Option<OutputBytes<T>>,
}

/// An executor's results for every member still in a group assigned to it, in the order
/// of their job ids, signed once: its session key signs the
/// [`statement::GroupStatementPayload`] of the root of their [`statement::GroupLeaf`]s.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct GroupStatement<T: Config> {
	/// The group's first job id.
	pub first: JobId,
	/// The executor.
	pub executor: T::AccountId,
	/// One result per member still in the group.
	pub results: BoundedVec<GroupOutput<T>, T::MaxGroupSize>,
}

impl<T: Config> GroupStatement<T> {
	/// Bytes of outputs the statement carries.
	pub fn carried_len(&self) -> u32 {
		self.results
			.iter()
			.map(|result| result.outputs.as_ref().map_or(0, |o| o.len() as u32))
			.sum()
	}
}

/// One member's result in a [`GroupResult`].
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct GroupedResult<T: Config> {
	/// The job.
	pub job: JobId,
	/// Hash of its input.
	pub input_hash: H256,
	/// Hash of its output tensors.
	pub output_hash: H256,
	/// Its output tensors, when they fit on chain.
	pub outputs: Option<OutputBytes<T>>,
	/// Whether it left for a result of its own ([`crate::Results`]), challenged or asked for
	/// its outputs.
	pub left: bool,
}

/// The results of a group's members from one group statement, provisional until the
/// challenge window closes, when those still in it settle together.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct GroupResult<T: Config> {
	/// Who produced them.
	pub executor: T::AccountId,
	/// The group's assignment they are from.
	pub attempt: u32,
	/// The root of their leaves, which the executor signed.
	pub root: H256,
	/// The executor's signature of the root.
	pub signed: SessionSignature,
	/// Last block in which a verifier may challenge them.
	pub challenge_until: BlockNumberFor<T>,
	/// The results, one per leaf, in leaf order.
	pub members: BoundedVec<GroupedResult<T>, T::MaxGroupSize>,
}

impl<T: Config> GroupResult<T> {
	/// The leaves the executor signed the root of.
	pub fn leaves(&self) -> alloc::vec::Vec<statement::GroupLeaf> {
		self.members
			.iter()
			.map(|member| statement::GroupLeaf {
				job: member.job,
				attempt: self.attempt,
				input_hash: member.input_hash,
				output_hash: member.output_hash,
			})
			.collect()
	}
}

/// A committee member's vote in a dispute.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub enum Vote {
	/// Committed to ([`haca_primitives::statement::VerdictClaim::vote_commitment`]), not
	/// revealed yet.
	Committed(H256),
	/// Revealed: the output hash the member voted for.
	Revealed(H256),
}

/// A challenge to an attested result, decided by a committee of verifiers that commits to
/// its votes and then reveals them.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Dispute<T: Config> {
	/// The verifiers who challenged, in order, each with the output hash it computed (its
	/// `ChallengeBond` is held). The first opened the dispute; others joined it within the
	/// result's challenge window.
	pub challengers: BoundedVec<(T::AccountId, H256), T::MaxChallengers>,
	/// Last block in which verifiers may join the challenge: the end of the result's window.
	pub challenge_until: BlockNumberFor<T>,
	/// The verifiers who vote, parties excluded; empty until drawn, in a block after the
	/// first challenge's, from randomness nobody knew when it was sent.
	pub committee: BoundedVec<T::AccountId, T::CommitteeSize>,
	/// Block the first challenge was included in.
	pub challenged_at: BlockNumberFor<T>,
	/// The committee's votes so far, by member.
	pub votes: BoundedVec<(T::AccountId, Vote), T::CommitteeSize>,
	/// Last block in which members may commit to votes.
	pub commit_until: BlockNumberFor<T>,
	/// Last block in which members may reveal their votes, once the reveal phase opened
	/// (when every member committed, or after `commit_until`).
	pub reveal_until: Option<BlockNumberFor<T>>,
}

/// Where a chain-decided dispute is.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub enum GamePhase<BlockNumber> {
	/// The executor owes the trace of its run (`submit_trace`) by `until`, or loses.
	Trace {
		/// Last block for the trace.
		until: BlockNumber,
	},
	/// The executor's trace is on chain ([`crate::Traces`]): anyone may prove one of its
	/// steps wrong (`prove_step`) by `until`; otherwise the result stands.
	Proofs {
		/// Last block for a proof.
		until: BlockNumber,
	},
}

/// A challenge to an attested result of a model with a dispute graph, which the chain
/// decides by re-executing one of its operators.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Game<T: Config> {
	/// The verifier who challenged (its `ChallengeBond` is held).
	pub challenger: T::AccountId,
	/// The output hash it computed.
	pub output_hash: H256,
	/// Where the game is.
	pub phase: GamePhase<BlockNumberFor<T>>,
}

/// The node output hashes of a graph's run, one per node in node order.
pub type TraceLeaves<T> = BoundedVec<H256, <T as Config>::MaxGraphNodes>;

/// Sibling hashes of a Merkle proof (`haca_primitives::merkle::proof`): a tree of up to
/// 2^32 leaves needs 32 at most.
pub type MerkleProof = BoundedVec<H256, ConstU32<32>>;

/// An executor's trace of a disputed run, as it stays on chain while anyone may prove a
/// step of it wrong.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct ExecutorTrace<T: Config> {
	/// The graph's header: which values are inputs, constants and outputs.
	pub header: Header,
	/// Each node's output hash (`merkle::leaf_hash` of its canonical encoding).
	pub leaves: TraceLeaves<T>,
}

/// What an executor sends for its trace of a disputed run.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct TraceSubmission<T: Config> {
	/// The graph's header, leaf 0 of the model's graph root.
	pub header: Header,
	/// Its Merkle proof against the graph root.
	pub header_proof: MerkleProof,
	/// Each node's output hash, in node order.
	pub leaves: TraceLeaves<T>,
	/// The graph's outputs as the trace computed them (canonical tensor encoding): they must
	/// hash to their leaves and agree with the committed result within the model's
	/// tolerance.
	pub outputs: TraceOutputs<T>,
}

/// A trace's outputs in the canonical tensor encoding, bounded.
pub type TraceOutputs<T> = BoundedVec<u8, <T as Config>::MaxStepBytes>;

/// A proof that one step of an executor's trace is wrong: the node, its inputs as the trace
/// has them, and the constants' proofs.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct StepProof<T: Config> {
	/// The node's index in node order.
	pub index: u32,
	/// The node: its operator and the values it reads.
	pub node: Node,
	/// Its Merkle proof against the graph root (leaf `index + 1`).
	pub node_proof: MerkleProof,
	/// The values it reads, in its input order (canonical tensor encoding): the job's input
	/// tensors, constants, or earlier nodes' outputs as the trace hashes them.
	pub inputs: TraceOutputs<T>,
	/// For each input that is a constant, in input order, its Merkle proof against the
	/// weights root.
	pub constant_proofs: BoundedVec<MerkleProof, ConstU32<MAX_NODE_INPUTS>>,
	/// The work the operator's run takes (`haca_kernels::work`), which the call is charged
	/// for; a run that takes more fails.
	pub work: u64,
}

/// A move in a dispute the chain decides, as a party's node submits it.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub enum GameMove<T: Config> {
	/// The disputed executor's trace (`submit_trace`).
	Trace(TraceSubmission<T>),
	/// A proof of a wrong step of it (`prove_step`).
	Step(StepProof<T>),
}

/// An executor's session key and its signature of a statement, kept with the result the
/// statement made so that the job's outcome can show it ([`statement::Attestation`]).
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct SessionSignature {
	/// The session key that signed.
	pub key: InferenceKey,
	/// Its signature of the statement's payload.
	pub signature: InferenceSignature,
}

/// One executor's reveal in a quorum.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Reveal<T: Config> {
	/// The executor.
	pub executor: T::AccountId,
	/// The output hash it committed to.
	pub output_hash: H256,
	/// Its output tensors, when they fit on chain (compared within the model's tolerance).
	pub outputs: Option<OutputBytes<T>>,
	/// The salt its commitment hid the output hash with.
	pub salt: [u8; 32],
	/// Its signature of the reveal.
	pub signed: SessionSignature,
}

/// The spot checker's answer in a quorum round: a commitment made like an executor's, and
/// its reveal. The answer counts for nothing but the checker's bond.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct SpotCheck<T: Config> {
	/// The checker.
	pub checker: T::AccountId,
	/// Its commitment ([`haca_primitives::statement::Claim::commitment`]), or `None` when it
	/// reported that it could not run the job.
	pub commitment: Option<H256>,
	/// Its reveal, once made (`executor` is the checker).
	pub reveal: Option<Reveal<T>>,
}

/// A k-of-n quorum round.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DefaultNoBound,
	Encode,
	Decode,
	MaxEncodedLen,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct QuorumRound<T: Config> {
	/// Commitments ([`haca_primitives::statement::Claim::commitment`]), by executor.
	pub commits: BoundedVec<(T::AccountId, H256), T::MaxQuorum>,
	/// Reveals so far.
	pub reveals: BoundedVec<Reveal<T>, T::MaxQuorum>,
	/// The spot checker's answer, once it answered.
	pub spot_check: Option<SpotCheck<T>>,
	/// Last block of the reveal phase, once it opened.
	pub reveal_until: Option<BlockNumberFor<T>>,
}

/// A scheduled end of a phase.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
pub enum Timer {
	/// An attested result's challenge window closes.
	ChallengeWindow,
	/// A quorum's reveal phase closes.
	RevealPhase,
	/// A dispute's committee is drawn.
	Committee,
	/// A dispute's commit phase or reveal phase closes.
	Dispute,
	/// The time to publish an attested result's outputs runs out.
	Publication,
	/// A chain-decided dispute's phase closes.
	Game,
	/// The challenge window of an attested result whose outputs were published closes
	/// (settling it removes the pages).
	PublishedWindow,
	/// The challenge window of a group's results closes (the timer's job is the group's
	/// first).
	GroupWindow {
		/// How many results the group statement held.
		members: u32,
		/// Bytes of outputs it carried.
		bytes: u32,
	},
}
