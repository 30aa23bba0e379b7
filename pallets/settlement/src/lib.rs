//! # Settlement pallet
//!
//! Proof settlement: validators never re-run a model; the runtime they execute checks a
//! cheap proof of an executor's work, pays for it and punishes lies.
//!
//! Executors send [`Statement`]s about jobs they are assigned to, each signed by their
//! session key (`infr`) over a domain-separated payload that binds the claim to the chain,
//! job, model, input and executor (`haca_primitives::statement`). The runtime checks the
//! signature, the assignment, the deadline, duplicates, and that the output tensors match
//! the model's output spec. Statements arrive in batches, either in a signed extrinsic
//! (each item is processed on its own; a bad item is rejected with an event and the rest go
//! on) or as an authorized general transaction that needs no fee payer (every item must
//! check out in the transaction pool, so junk never enters a block).
//!
//! The results of a group (the attested jobs of one batch, assigned to one executor as one:
//! the jobs pallet's groups) come in one **group statement** (`group_results.rs`): one result
//! per member still in the group, signed once over the Merkle root of their leaves
//! (`haca_primitives::statement::GroupLeaf`). The whole statement checks out or none of it
//! does. The results are stored as one record, with one timer, and settle together, one
//! payout per party; a member's result that a verifier challenges or asks the outputs of
//! leaves the group's record for a result of its own, with its inclusion proof, and goes
//! on as any attested result. Each settled member's attestation carries its inclusion
//! proof, so that a receipt checks it against the signed root alone.
//!
//! - **Attested mode**: the result is provisional at once and settles after
//!   `ChallengeWindow` blocks unless a verifier challenges it with a bond and its own output
//!   hash. Other verifiers may join the challenge, each with its bond and hash, until the
//!   window ends (so a liar's own verifier, challenging first with a hash nobody reproduces,
//!   cannot shut out an honest challenger). A committee of verifiers, drawn after the first
//!   challenge from randomness nobody knew when sending it, first commits to the output
//!   hashes its members computed, then reveals them; a majority of the committee for one of
//!   the claims (the executor's or a challenger's) decides. A lying executor is slashed its
//!   job stake (part to the challengers of the winning hash, part to the members who voted
//!   for the outcome, the rest to the runtime's slash handler) and the job re-run at no
//!   extra cost to the client; a challenger of any other hash loses its bond (shared the
//!   same way with the winning side and the members). Members who voted against the
//!   outcome, or not at all, lose `VoterSlash` to those who voted for it. A majority for a
//!   hash nobody claimed (members vote their own run's hash only outside the model's
//!   tolerance of the executor's outputs) also decides against the executor, and every
//!   challenger's bond returns. A dispute without a majority returns
//!   the bonds and re-runs the job; nobody is slashed (nothing shows what anyone should
//!   have voted, and a model no member can run must not cost the committee its bonds).
//! - **Disputes the chain decides** (`games.rs`): when the job's model was registered with a
//!   dispute graph and its input is finite, a challenge opens a game instead of a committee:
//!   the executor submits the trace of its run (a hash per operator of the graph), anyone
//!   may prove one step of it wrong, and the runtime re-executes that one operator with
//!   `haca_kernels` to decide. No vote is involved.
//! - **Proven mode** (`proofs.rs`): for a model registered with a circuit, the executor
//!   submits its output quanta with a STARK that the circuit maps the job's input to them
//!   (`haca_proof`); the runtime verifies it while authorizing the transaction and the job
//!   settles in that block. No window, no committee, nobody to trust.
//! - **Outputs too large for a statement** (over `MaxOutputLen`) are represented by their
//!   hash. Hashes of float outputs differ with the hardware, so they are never judged by
//!   hash: a verifier whose run hashes differently asks for the outputs, the executor
//!   publishes them on chain page by page within `PublishWindow` (or loses its stake), and
//!   the result can be challenged, and is judged within the model's tolerance, only once
//!   they are there (`publication.rs`).
//! - **Quorum mode** (k of n): each executor commits to `hash(output hash, salt)`, then
//!   reveals. The reveal phase opens when all commits are in, or at the delivery deadline
//!   if at least k are. Reveals agree exactly for integer outputs and within the model's
//!   ULP tolerance for float outputs (integer arithmetic on the bit patterns). k agreeing
//!   reveals settle the job; dissenters and executors who never reveal are slashed.
//! - **Spot checks**: an assignment of a quorum job may draw a verifier as spot checker,
//!   which commits and reveals like an executor without counting towards the quorum; when
//!   the executors agree, a checker outside the agreement or silent loses `VoterSlash`
//!   (`spot_checks.rs`). A verifier that does not run the models it audits is caught.
//!
//! Settlement pays each paid run `fee - OwnerShare * fee` to its executor and the rest to
//! the model's owner, out of the client's escrow; the remainder of the maximum fee returns
//! to the client. Phase ends are timers, scheduled per block and run at the start of the
//! block within `MaxTimerWeight`, the rest carried over (`timers.rs`).
//!
//! The node side is the off-chain worker (`haca_worker`), which the pallet's hook runs and
//! which sees the chain through this pallet (`offchain.rs`): on executor nodes it runs
//! assigned jobs through the node's engine and submits the signed statements as authorized
//! transactions; on verifier nodes it audits a sample of provisional results, challenges
//! the wrong ones and votes in disputes with signed [`Verdict`]s.
//!
//! The logic is split by concern: `statements.rs` (checking and applying a statement),
//! `batches.rs` (batches and their weight), `authorize.rs` (pool authorization), `timers.rs`
//! (phase ends), `disputes.rs`, `games.rs`, `publication.rs`, `quorum.rs`, `spot_checks.rs`,
//! `group_results.rs` (group statements and their settlement), `payment.rs`, `asset.rs` (the funds this pallet moves), `api.rs` (runtime API answers),
//! `runtime_api.rs` (the runtime's run of one operator) and `try_state.rs` (invariants).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

mod api;
mod asset;
mod authorize;
mod batches;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod disputes;
mod games;
mod group_results;
#[cfg(test)]
mod mock;
mod offchain;
mod payment;
mod proofs;
mod publication;
mod quorum;
pub mod runtime_api;
mod spot_checks;
mod statements;
#[cfg(test)]
mod tests;
mod timers;
#[cfg(any(feature = "try-runtime", feature = "std"))]
mod try_state;
mod types;
pub mod weights;

use statements::SignatureCheck;
pub use types::*;
pub use weights::WeightInfo;

/// The subject committee draws ask [`Config::Randomness`] about.
pub const COMMITTEE_SUBJECT: &[u8] = b"haca/settlement/committee";

/// Balance type of the pallet's currency.
pub type BalanceOf<T> = <<T as Config>::Currency as frame_support::traits::fungible::Inspect<
	<T as frame_system::Config>::AccountId,
>>::Balance;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Balanced, BalancedHold, Credit, Inspect, Mutate, MutateHold},
			OnUnbalanced,
		},
	};
	use frame_system::pallet_prelude::*;
	use haca_primitives::{
		statement::ExecutionFailure,
		traits::{
			ExecutorAccountability, ExecutorDirectory, ExecutorRegistry, JobLedger, ModelRegistry,
		},
		InferenceSignature, JobId, ModelHash,
	};
	use sp_core::H256;
	use sp_runtime::Perbill;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Values of the config items that have defaults, for test runtimes: a mock derives them
	/// (`#[derive_impl(config_preludes::TestDefaultConfig)]`) and writes only what differs.
	pub mod config_preludes {
		use super::*;
		use frame_support::{derive_impl, traits::ConstU32};

		frame_support::parameter_types! {
			/// Half.
			pub const HalfShare: Perbill = Perbill::from_percent(50);
			/// A fifth.
			pub const FifthShare: Perbill = Perbill::from_percent(20);
			/// A tenth.
			pub const TenthShare: Perbill = Perbill::from_percent(10);
			/// No limit.
			pub const UnlimitedWeight: Weight = Weight::MAX;
		}

		/// Small bounds, half of a slash to the wronged party and a fifth to the committee, a
		/// tenth of a fee to the owner, free weights.
		pub struct TestDefaultConfig;

		#[derive_impl(frame_system::config_preludes::TestDefaultConfig, no_aggregated_types)]
		impl frame_system::DefaultConfig for TestDefaultConfig {}

		#[frame_support::register_default_impl(TestDefaultConfig)]
		impl DefaultConfig for TestDefaultConfig {
			#[inject_runtime_type]
			type RuntimeHoldReason = ();
			type MaxOutputLen = ConstU32<256>;
			type MaxOutputPages = ConstU32<4>;
			type MaxStatementsPerTx = ConstU32<4>;
			type MaxGroupSize = ConstU32<4>;
			type MaxQuorum = ConstU32<3>;
			type CommitteeSize = ConstU32<3>;
			type MaxChallengers = ConstU32<3>;
			type SlashRewardShare = HalfShare;
			type CommitteeRewardShare = FifthShare;
			type OwnerShare = TenthShare;
			type MaxTimersPerPage = ConstU32<4>;
			type MaxTimerWeight = UnlimitedWeight;
			type MaxGraphNodes = ConstU32<64>;
			type MaxStepBytes = ConstU32<4096>;
			type MaxProofBytes = ConstU32<{ 256 * 1024 }>;
			type WeightInfo = ();
		}
	}

	#[pallet::config(with_default)]
	pub trait Config:
		frame_system::Config<RuntimeEvent: From<Event<Self>>>
		+ frame_system::offchain::CreateAuthorizedTransaction<Call<Self>>
	{
		/// The currency fees, bonds and slashes are in.
		#[pallet::no_default]
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ Balanced<Self::AccountId>
			+ BalancedHold<Self::AccountId>;

		/// Where the slashed part of a forfeited challenge bond goes that is not a reward
		/// (`()` burns it).
		#[pallet::no_default]
		type OnSlash: OnUnbalanced<Credit<Self::AccountId, Self::Currency>>;

		/// The runtime's hold reasons, which include this pallet's.
		#[pallet::no_default_bounds]
		type RuntimeHoldReason: From<HoldReason>;

		/// The jobs pallet.
		#[pallet::no_default]
		type Jobs: JobLedger<Self::AccountId, BalanceOf<Self>, BlockNumberFor<Self>>;

		/// The model registry.
		#[pallet::no_default]
		type Models: ModelRegistry<Self::AccountId, BalanceOf<Self>>;

		/// The executor registry.
		#[pallet::no_default]
		type Executors: ExecutorRegistry<Self::AccountId, BalanceOf<Self>>
			+ ExecutorDirectory<Self::AccountId>
			+ ExecutorAccountability<Self::AccountId, BalanceOf<Self>>;

		/// Where committee draws take their randomness from, with the block since which it
		/// is known; a committee is drawn only from randomness known since a block after its
		/// challenge's. `None` (no randomness yet) waits for the next block.
		#[pallet::no_default]
		type Randomness: frame_support::traits::Randomness<Option<Self::Hash>, BlockNumberFor<Self>>;

		/// Makes fresh randomness known in benchmarks, which run without a block author.
		#[cfg(feature = "runtime-benchmarks")]
		#[pallet::no_default]
		type BenchmarkRandomness: haca_primitives::traits::RevealRandomness;

		/// Largest output (encoded tensor list) a statement carries, in bytes; larger outputs
		/// are represented by their hash, and published in pages of this size on request.
		#[pallet::constant]
		type MaxOutputLen: Get<u32>;

		/// Most pages an attested result's outputs are published in (at most 64): models
		/// must not produce more than `MaxOutputLen * MaxOutputPages` bytes of outputs.
		#[pallet::constant]
		type MaxOutputPages: Get<u32>;

		/// Blocks an executor has to publish the outputs a verifier asked for.
		#[pallet::constant]
		#[pallet::no_default]
		type PublishWindow: Get<BlockNumberFor<Self>>;

		/// Most statements in one batch.
		#[pallet::constant]
		type MaxStatementsPerTx: Get<u32>;

		/// Most results in a group statement (at least the jobs pallet's largest group).
		#[pallet::constant]
		type MaxGroupSize: Get<u32>;

		/// Most executors in a quorum (at least the jobs pallet's `MaxQuorum`).
		#[pallet::constant]
		type MaxQuorum: Get<u32>;

		/// Verifiers on a dispute committee.
		#[pallet::constant]
		type CommitteeSize: Get<u32>;

		/// Most verifiers challenging one result: the first and those who join its dispute.
		#[pallet::constant]
		type MaxChallengers: Get<u32>;

		/// Blocks during which an attested result may be challenged.
		#[pallet::constant]
		#[pallet::no_default]
		type ChallengeWindow: Get<BlockNumberFor<Self>>;

		/// Blocks of a reveal phase: a quorum's, or a committee's.
		#[pallet::constant]
		#[pallet::no_default]
		type RevealWindow: Get<BlockNumberFor<Self>>;

		/// Blocks after a challenge in which its committee commits to votes; then they are
		/// revealed within `RevealWindow` blocks (sooner once every member committed).
		#[pallet::constant]
		#[pallet::no_default]
		type DisputeWindow: Get<BlockNumberFor<Self>>;

		/// What a committee member loses of its bond for a vote against the outcome of a
		/// decided dispute, or for not revealing one; and what a spot checker loses for an
		/// answer outside its quorum's agreement, or none.
		#[pallet::constant]
		#[pallet::no_default]
		type VoterSlash: Get<BalanceOf<Self>>;

		/// Share of the loser's slash (executor's stake or challenger's bond) that the members
		/// who voted for the outcome share; in a quorum round, the share of each slashed
		/// executor's stake that a spot checker who agreed with the quorum gets.
		#[pallet::constant]
		type CommitteeRewardShare: Get<Perbill>;

		/// Bond a challenger puts up.
		#[pallet::constant]
		#[pallet::no_default]
		type ChallengeBond: Get<BalanceOf<Self>>;

		/// Share of a slash that goes to the wronged party (the rest to `OnSlash`).
		#[pallet::constant]
		type SlashRewardShare: Get<Perbill>;

		/// Share of each run's fee that goes to the model's owner.
		#[pallet::constant]
		type OwnerShare: Get<Perbill>;

		/// Most phase ends in one page of a block's timers (a block has as many pages as it
		/// needs).
		#[pallet::constant]
		type MaxTimersPerPage: Get<u32>;

		/// Most weight `on_initialize` spends on phase ends in a block; those that do not fit
		/// run in the next blocks.
		#[pallet::constant]
		type MaxTimerWeight: Get<Weight>;

		/// Blocks the executor of a result whose dispute the chain decides has to submit the
		/// trace of its run.
		#[pallet::constant]
		#[pallet::no_default]
		type TraceWindow: Get<BlockNumberFor<Self>>;

		/// Blocks during which anyone may prove a step of an executor's trace wrong.
		#[pallet::constant]
		#[pallet::no_default]
		type ProofWindow: Get<BlockNumberFor<Self>>;

		/// Most nodes of a dispute graph (the models pallet's `MaxGraphNodes`): a trace holds
		/// a hash per node.
		#[pallet::constant]
		type MaxGraphNodes: Get<u32>;

		/// Largest tensors a trace's outputs or a step's inputs may be, encoded, in bytes.
		#[pallet::constant]
		type MaxStepBytes: Get<u32>;

		/// Largest proof a proven result may carry, in bytes.
		#[pallet::constant]
		type MaxProofBytes: Get<u32>;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A challenger's bond, held while its dispute is open.
		#[codec(index = 0)]
		ChallengeBond,
	}

	/// Attested results awaiting settlement.
	#[pallet::storage]
	pub type Results<T: Config> = StorageMap<_, Twox64Concat, JobId, AttestedResult<T>>;

	/// Groups' results awaiting settlement, by the group's first job id; a member's result
	/// that is challenged or asked for its outputs leaves for [`Results`].
	#[pallet::storage]
	pub type GroupResults<T: Config> = StorageMap<_, Twox64Concat, JobId, GroupResult<T>>;

	/// Groups' results awaiting settlement by their jobs' model: what a verifier of the model
	/// may audit, found without walking every group.
	#[pallet::storage]
	pub type ModelGroupResults<T: Config> =
		StorageDoubleMap<_, Identity, ModelHash, Twox64Concat, JobId, ()>;

	/// Open disputes.
	#[pallet::storage]
	pub type Disputes<T: Config> = StorageMap<_, Twox64Concat, JobId, Dispute<T>>;

	/// Open disputes the chain decides itself, over models with a dispute graph.
	#[pallet::storage]
	pub type Games<T: Config> = StorageMap<_, Twox64Concat, JobId, Game<T>>;

	/// Executors' traces of disputed runs, while anyone may prove a step wrong.
	#[pallet::storage]
	pub type Traces<T: Config> = StorageMap<_, Twox64Concat, JobId, ExecutorTrace<T>>;

	/// Quorum rounds in progress.
	#[pallet::storage]
	pub type Quorums<T: Config> = StorageMap<_, Twox64Concat, JobId, QuorumRound<T>>;

	/// Attested results awaiting settlement by their job's model: what a verifier of the
	/// model may audit, found without walking every result.
	#[pallet::storage]
	pub type ModelResults<T: Config> =
		StorageDoubleMap<_, Identity, ModelHash, Twox64Concat, JobId, ()>;

	/// Open disputes by committee member: where a verifier owes votes, found without
	/// walking every dispute.
	#[pallet::storage]
	pub type Seats<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, JobId, ()>;

	/// Quorum rounds in their reveal phase by executor that committed and has not revealed:
	/// the reveals its node owes, found without walking every round.
	#[pallet::storage]
	pub type OwedReveals<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, JobId, ()>;

	/// Pages of attested results' outputs published at a verifier's request, by job and
	/// page; removed with the result.
	#[pallet::storage]
	pub type OutputPages<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, u32, OutputBytes<T>>;

	/// Attested results whose outputs a verifier asked for, by executor that owes their
	/// pages: the publications its node owes, found without walking every result.
	#[pallet::storage]
	pub type OwedPages<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, JobId, ()>;

	/// Phase ends by the block they fall in, and page.
	#[pallet::storage]
	pub type Timers<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		Twox64Concat,
		u32,
		BoundedVec<(JobId, Timer), T::MaxTimersPerPage>,
		ValueQuery,
	>;

	/// How many pages of phase ends each block has.
	#[pallet::storage]
	pub type TimerPages<T: Config> =
		StorageMap<_, Twox64Concat, BlockNumberFor<T>, u32, ValueQuery>;

	/// The first block, and its first page, whose phase ends have not all run.
	#[pallet::storage]
	pub type TimersDue<T: Config> = StorageValue<_, (BlockNumberFor<T>, u32), ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An attested result arrived; it is provisional until its challenge window closes.
		ResultSubmitted {
			/// The job.
			job: JobId,
			/// The executor.
			executor: T::AccountId,
			/// Hash of the output tensors.
			output_hash: H256,
			/// The output tensors, when they fit on chain.
			outputs: Option<OutputBytes<T>>,
			/// Last block of the challenge window.
			challenge_until: BlockNumberFor<T>,
		},
		/// An executor's group statement arrived: a `ResultSubmitted` for each of its results
		/// precedes it; they are provisional until the challenge window closes, and settle
		/// together unless challenged.
		GroupResultsSubmitted {
			/// The group's first job id.
			first: JobId,
			/// The executor.
			executor: T::AccountId,
			/// The root of the results' leaves, which the executor signed.
			root: H256,
			/// How many results it holds.
			count: u32,
		},
		/// A proven result's proof verified: the job settles in this block (`Settled`
		/// follows).
		ResultProven {
			/// The job.
			job: JobId,
			/// The executor.
			executor: T::AccountId,
			/// Hash of the output tensors.
			output_hash: H256,
			/// The output tensors, computed by the runtime from the proven output quanta.
			outputs: OutputBytes<T>,
		},
		/// An executor committed to a quorum output.
		Committed {
			/// The job.
			job: JobId,
			/// The executor.
			executor: T::AccountId,
		},
		/// A quorum's reveal phase opened.
		RevealOpened {
			/// The job.
			job: JobId,
			/// Last block of the phase.
			until: BlockNumberFor<T>,
		},
		/// An executor revealed its quorum output.
		Revealed {
			/// The job.
			job: JobId,
			/// The executor.
			executor: T::AccountId,
			/// Hash of its output tensors.
			output_hash: H256,
			/// Its output tensors, when they fit on chain.
			outputs: Option<OutputBytes<T>>,
		},
		/// A quorum job's spot checker committed to its output.
		SpotCheckCommitted {
			/// The job.
			job: JobId,
			/// The checker.
			checker: T::AccountId,
		},
		/// A quorum job's spot checker revealed its output hash.
		SpotCheckRevealed {
			/// The job.
			job: JobId,
			/// The checker.
			checker: T::AccountId,
			/// Hash of its output tensors.
			output_hash: H256,
		},
		/// A spot checker's output agreed with the quorum's.
		SpotCheckPassed {
			/// The job.
			job: JobId,
			/// The checker.
			checker: T::AccountId,
		},
		/// A spot checker revealed an output outside the quorum's agreement, reported a
		/// failure or stayed silent, and lost part of its bond.
		SpotCheckFailed {
			/// The job.
			job: JobId,
			/// The checker.
			checker: T::AccountId,
			/// What it lost.
			slashed: BalanceOf<T>,
		},
		/// A statement in a batch failed its checks and was skipped.
		StatementRejected {
			/// The job it was about.
			job: JobId,
			/// The executor it claimed to be from.
			executor: T::AccountId,
			/// Why.
			error: DispatchError,
		},
		/// A job's result settled and the job ended: its executors and model owner were
		/// paid out of the escrow and the rest returned to the client.
		Settled {
			/// The job.
			job: JobId,
			/// Hash of the settled output tensors.
			output_hash: H256,
			/// The settled output tensors, when they are on chain (the outcome keeps them:
			/// the runtime API's `outcome`).
			outputs: Option<OutputBytes<T>>,
			/// The executors paid.
			executors: BoundedVec<T::AccountId, T::MaxQuorum>,
			/// Total paid out of the escrow.
			paid: BalanceOf<T>,
			/// Amount returned to the client.
			refunded: BalanceOf<T>,
		},
		/// A verifier asked for an attested result's outputs, too large for its statement.
		OutputsRequested {
			/// The job.
			job: JobId,
			/// The verifier.
			verifier: T::AccountId,
			/// Last block for the executor to publish them.
			until: BlockNumberFor<T>,
		},
		/// Every page of an attested result's outputs is on chain (`OutputPages`); its
		/// challenge window opened afresh.
		OutputsPublished {
			/// The job.
			job: JobId,
			/// Last block of the new challenge window.
			challenge_until: BlockNumberFor<T>,
		},
		/// An executor did not publish the outputs asked for in time, or published pages that
		/// do not hash to its result: it lost its job stake and the job is re-run.
		OutputsWithheld {
			/// The job.
			job: JobId,
			/// The executor.
			executor: T::AccountId,
			/// What it lost.
			slashed: BalanceOf<T>,
		},
		/// A verifier challenged an attested result.
		Challenged {
			/// The job.
			job: JobId,
			/// The verifier.
			challenger: T::AccountId,
			/// The output hash it computed.
			output_hash: H256,
		},
		/// A challenge's committee was drawn; it commits to votes until `commit_until`.
		CommitteeDrawn {
			/// The job.
			job: JobId,
			/// The verifiers who decide.
			committee: BoundedVec<T::AccountId, T::CommitteeSize>,
			/// Last block in which members commit to votes.
			commit_until: BlockNumberFor<T>,
		},
		/// A committee member committed to a vote.
		VoteCommitted {
			/// The job.
			job: JobId,
			/// The member.
			voter: T::AccountId,
		},
		/// A dispute's reveal phase opened.
		VoteRevealOpened {
			/// The job.
			job: JobId,
			/// Last block of the phase.
			until: BlockNumberFor<T>,
		},
		/// A committee member revealed its vote.
		VoteRevealed {
			/// The job.
			job: JobId,
			/// The member.
			voter: T::AccountId,
			/// The output hash it voted for.
			output_hash: H256,
		},
		/// A dispute was decided by a majority of its committee for one of the claims.
		DisputeResolved {
			/// The job.
			job: JobId,
			/// Whether the executor's result stood.
			executor_was_right: bool,
		},
		/// A challenge opened a dispute the chain decides: the executor owes its trace by
		/// `until`.
		TraceDue {
			/// The job.
			job: JobId,
			/// Last block for the trace.
			until: BlockNumberFor<T>,
		},
		/// The executor's trace is on chain (`Traces`): anyone may prove a step of it wrong
		/// until `proofs_until`.
		TraceSubmitted {
			/// The job.
			job: JobId,
			/// Last block for a proof.
			proofs_until: BlockNumberFor<T>,
		},
		/// A step of the executor's trace was proven wrong by re-executing its operator: the
		/// executor lost.
		StepProvenWrong {
			/// The job.
			job: JobId,
			/// The node whose output the trace got wrong.
			node: u32,
			/// Who proved it.
			prover: T::AccountId,
		},
		/// The executor did not submit its trace in time: it lost.
		TraceWithheld {
			/// The job.
			job: JobId,
		},
		/// No majority of a dispute's committee backed either claim: the bond went back and the
		/// job is re-run.
		DisputeTimedOut {
			/// The job.
			job: JobId,
		},
		/// A quorum reached no agreement of `agree` executors: the job is re-run.
		QuorumFailed {
			/// The job.
			job: JobId,
		},
		/// An executor could not run a job (a missed delivery for its reputation).
		ExecutionFailed {
			/// The job.
			job: JobId,
			/// The executor.
			executor: T::AccountId,
			/// Why.
			reason: ExecutionFailure,
			/// The executor's engine's own words, signed with the claim, when it gave any.
			detail: Option<FailureDetail>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No job with this id is open.
		UnknownJob,
		/// The executor is not assigned to the job.
		NotAssigned,
		/// The session key signature does not match the statement.
		BadSignature,
		/// The claim does not fit the job's verification mode or phase.
		WrongClaim,
		/// The job's deadline for this statement passed.
		DeadlinePassed,
		/// The executor already made this statement.
		Duplicate,
		/// The output bytes do not hash to the claimed output hash.
		OutputHashMismatch,
		/// The outputs do not match the model's output spec.
		OutputSpecMismatch,
		/// The outputs fit on chain and must be included.
		OutputsRequired,
		/// The reveal does not match the commitment.
		CommitmentMismatch,
		/// The reveal phase (of the quorum or the dispute) is not open.
		RevealNotOpen,
		/// Only registered verifiers may challenge or vote.
		NotVerifier,
		/// The result is not open to challenges (settled, window closed, or its dispute
		/// decided).
		NotChallengeable,
		/// The challenger computed the same output hash as the executor.
		SameOutput,
		/// The verifier already challenged this result.
		AlreadyChallenged,
		/// Members of a dispute's committee judge it; they cannot challenge its result.
		OnCommittee,
		/// The dispute holds as many challengers as it can.
		TooManyChallengers,
		/// Joining the dispute now would take a seat its committee, drawn soon, needs: join
		/// once it is drawn.
		CommitteeNotDrawn,
		/// Parties to a result cannot challenge it.
		OwnResult,
		/// No verifier of the job's model but the parties is free to sit on a committee.
		NoCommittee,
		/// The challenger cannot pay the bond.
		InsufficientBalance,
		/// No dispute is open for this job.
		NoDispute,
		/// The voter is not on the dispute's committee.
		NotOnCommittee,
		/// The committee member already committed to a vote (or revealed it).
		AlreadyVoted,
		/// The job's model has no settlement terms (it is not registered).
		UnknownModel,
		/// The executor has no registered session key.
		NoSessionKey,
		/// No commitment of the executor (in the quorum round) or of the member (in the
		/// dispute) to reveal.
		NotCommitted,
		/// The quorum round holds as many commitments or reveals as it can.
		QuorumFull,
		/// The result's outputs are not on chain: ask for them (`RequestOutputs`) and
		/// challenge once they are published.
		OutputsNotPublished,
		/// The result's outputs are on chain already (in its statement, or published).
		OutputsOnChain,
		/// Nobody asked for the result's outputs, or all their pages arrived.
		NotRequested,
		/// The page is out of range, or its bytes are not the page's length or do not hash to
		/// the claimed hash.
		WrongPage,
		/// The dispute is not in the phase this call belongs to.
		WrongPhase,
		/// Only the disputed result's executor submits its trace.
		NotExecutor,
		/// The trace does not have one hash per node of the model's dispute graph.
		WrongTraceLength,
		/// The header or node does not prove against the model's graph root.
		BadGraphProof,
		/// A constant does not prove against the model's weights root.
		BadWeightsProof,
		/// The trace's outputs are not canonically encoded tensors.
		MalformedTrace,
		/// The trace's outputs do not hash to the trace's leaves for the graph's outputs.
		TraceOutputsMismatch,
		/// The trace's outputs do not agree with the committed result within the model's
		/// tolerance (exactly, for integers).
		TraceDisagrees,
		/// The step's inputs are not canonically encoded tensors, one per input of the node,
		/// or the node reads a value not computed before it.
		MalformedStep,
		/// An input of the step is not the job's input, or does not hash to the trace's leaf.
		StepInputMismatch,
		/// The operator's run takes more work than the proof was charged for.
		WorkUnderstated,
		/// The operator gives the output the trace holds: the step is right.
		StepHolds,
		/// The chain decides this dispute, and nobody joins it: prove a step of the
		/// executor's trace wrong (`prove_step`) once it is on chain.
		ChainDecides,
		/// A failure's explanation is missing, left over, longer than `MAX_FAILURE_DETAIL`
		/// bytes, not UTF-8, or not what its claim's `detail` hashes.
		BadFailureDetail,
		/// A proven result goes with its proof (`submit_proof`), not in a batch.
		ProofRequired,
		/// The job's model has no circuit: its jobs cannot be proven.
		NotProvable,
		/// The proof is not what the claim's `proof` hashes.
		ProofHashMismatch,
		/// The job's input does not convert to the circuit's input quanta.
		InputNotProvable,
		/// The statement's output quanta are missing, or not one sample per input sample.
		OutputQuantaMismatch,
		/// The proven outputs are larger than a statement's `MaxOutputLen`.
		OutputsTooLarge,
		/// The proof's bytes are not a proof made with the chain's parameters for this
		/// circuit and input (truncated, random, or for another trace's shape).
		MalformedProof,
		/// The proof does not prove the claimed outputs of this job's input under the
		/// model's circuit for this attempt and executor.
		ProofRejected,
		/// A group statement does not hold one result per member still in the group.
		WrongGroupSize,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::process_timers(now)
		}

		/// On executor nodes: run assigned jobs through the node's engine and submit the
		/// signed statements; on verifier nodes: audit results and vote in disputes.
		fn offchain_worker(_now: BlockNumberFor<T>) {
			haca_worker::work::<Self>();
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}

		fn integrity_test() {
			assert!(
				T::MaxQuorum::get() >= T::Jobs::max_executors_per_job(),
				"MaxQuorum must hold every executor the jobs pallet assigns a job to"
			);
			assert!(T::MaxStatementsPerTx::get() > 0, "MaxStatementsPerTx must admit a statement");
			assert!(
				T::MaxGroupSize::get() >= T::Jobs::max_group_size(),
				"MaxGroupSize must hold every member of the jobs pallet's largest group"
			);
			assert!(T::CommitteeSize::get() > 0, "CommitteeSize must seat a verifier");
			assert!(T::MaxChallengers::get() > 0, "MaxChallengers must admit a challenger");
			assert!(T::MaxTimersPerPage::get() > 0, "MaxTimersPerPage must admit a timer");
			assert!(
				T::MaxTimerWeight::get().all_gte(
					Self::heaviest_timer_step()
						.saturating_add(T::DbWeight::get().reads_writes(1, 1))
				),
				"MaxTimerWeight must let the heaviest phase end run"
			);
			assert!(!T::ChallengeWindow::get().is_zero(), "ChallengeWindow must last a block");
			assert!(!T::RevealWindow::get().is_zero(), "RevealWindow must last a block");
			assert!(!T::DisputeWindow::get().is_zero(), "DisputeWindow must last a block");
			assert!(!T::PublishWindow::get().is_zero(), "PublishWindow must last a block");
			assert!(
				(1..=u64::BITS).contains(&T::MaxOutputPages::get()),
				"MaxOutputPages must admit a page and fit the bits of a publication"
			);
			assert!(
				T::SlashRewardShare::get()
					.deconstruct()
					.saturating_add(T::CommitteeRewardShare::get().deconstruct())
					<= Perbill::one().deconstruct(),
				"a slash cannot pay out more than it takes"
			);
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Submits executors' statements. Items are processed one by one: a bad item emits
		/// `StatementRejected` and is skipped. Charged as the costliest statements of their
		/// kinds, refunded down to what the items used (an executor's results share their
		/// writes).
		///
		/// - `origin`: signed; any fee payer.
		/// - `statements`: up to `MaxStatementsPerTx` statements, each with its executor's session-key
		///   signature.
		#[pallet::call_index(0)]
		#[pallet::weight(Pallet::<T>::batch_weight(statements))]
		pub fn submit_statements(
			origin: OriginFor<T>,
			statements: StatementBatch<T>,
		) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			Ok(Some(Self::process_batch(statements, SignatureCheck::Verify)).into())
		}

		/// As `submit_statements`, without a fee payer: authorized, in the pool and again in
		/// the block, only if every statement checks out. The signatures authorization
		/// verified are not verified again, nor charged.
		///
		/// - `origin`: authorized by `authorize_statements`.
		/// - `statements`: as for `submit_statements`.
		#[pallet::call_index(1)]
		#[pallet::weight(Pallet::<T>::batch_weight(statements))]
		#[pallet::authorize(Self::authorize_statements)]
		#[pallet::weight_of_authorize(Pallet::<T>::check_weight(statements))]
		pub fn submit_statements_unsigned(
			origin: OriginFor<T>,
			statements: StatementBatch<T>,
		) -> DispatchResultWithPostInfo {
			ensure_authorized(origin)?;
			Ok(Some(Self::process_batch(statements, SignatureCheck::AlreadyVerified)).into())
		}

		/// Challenges a provisional attested result, or joins the open dispute over it, and
		/// holds `ChallengeBond`; a committee of verifiers decides, or, for a model with a
		/// dispute graph and a finite input, the chain (`submit_trace`, `prove_step`).
		///
		/// - `origin`: signed; a bonded verifier that is not the result's executor, has not
		///   challenged it yet and is not on its dispute's committee.
		/// - `job`: the job whose result is challenged, within its challenge window.
		/// - `output_hash`: the hash of the outputs the challenger computed.
		#[pallet::call_index(2)]
		#[pallet::weight(Pallet::<T>::challenge_weight())]
		pub fn challenge(origin: OriginFor<T>, job: JobId, output_hash: H256) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_challenge(who, job, output_hash)
		}

		/// Commits to a vote in a dispute, in its commit phase: the reveal phase opens once
		/// every member committed.
		///
		/// - `origin`: signed; a member of the dispute's committee that has not committed.
		/// - `job`: the disputed job.
		/// - `commitment`: `VerdictClaim::vote_commitment` of the output hash voted for: the
		///   executor's if the member's own outputs agree with it, else the hash of the
		///   member's own outputs (a challenger's, when they hash to it).
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::commit_vote())]
		pub fn commit_vote(origin: OriginFor<T>, job: JobId, commitment: H256) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_commit_vote(who, job, commitment)
		}

		/// Reveals a committed vote, in the dispute's reveal phase; the last reveal decides.
		///
		/// - `origin`: signed; a member of the dispute's committee that committed.
		/// - `job`: the disputed job.
		/// - `output_hash`, `salt`: what the commitment hid.
		#[pallet::call_index(5)]
		#[pallet::weight(Pallet::<T>::reveal_vote_weight())]
		pub fn reveal_vote(
			origin: OriginFor<T>,
			job: JobId,
			output_hash: H256,
			salt: [u8; 32],
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_reveal_vote(who, job, output_hash, salt)
		}

		/// Asks the executor of a provisional attested result whose outputs are too large for
		/// its statement to publish them (`OutputPages`) within `PublishWindow` blocks, so that
		/// they can be compared within the model's tolerance. The challenge window waits; it
		/// opens afresh once every page is on chain. An executor that does not publish them in
		/// time loses its job stake.
		///
		/// - `origin`: signed; a bonded verifier.
		/// - `job`: the job whose result's outputs are asked for, within its challenge window.
		#[pallet::call_index(6)]
		#[pallet::weight(Pallet::<T>::request_outputs_weight())]
		pub fn request_outputs(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_request_outputs(who, job)
		}

		/// Submits the trace of the executor's run of a job whose result the chain's dispute
		/// game is about, in its trace phase: the graph's header (proven against the graph
		/// root), each node's output hash, and the graph's outputs, which must hash to their
		/// leaves and agree with the result within the model's tolerance.
		///
		/// - `origin`: signed; the disputed result's executor.
		/// - `job`: the disputed job.
		/// - `trace`: the trace.
		#[pallet::call_index(7)]
		#[pallet::weight(Pallet::<T>::trace_weight(trace))]
		pub fn submit_trace(
			origin: OriginFor<T>,
			job: JobId,
			trace: TraceSubmission<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_submit_trace(who, job, trace)
		}

		/// Proves a step of the executor's trace of a disputed job wrong, in the game's proof
		/// phase: the runtime runs the node's operator on its inputs, and an output that
		/// hashes to another leaf than the trace's (or an operator that fails) decides the
		/// dispute against the executor. A step that holds fails with `StepHolds`.
		///
		/// - `origin`: signed; anyone, rewarded out of the executor's slash.
		/// - `job`: the disputed job.
		/// - `proof`: the node and its inputs, with their proofs, and the work it takes.
		#[pallet::call_index(8)]
		#[pallet::weight(Pallet::<T>::step_weight(proof))]
		pub fn prove_step(origin: OriginFor<T>, job: JobId, proof: StepProof<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_prove_step(who, job, proof)
		}

		/// A party's move in a dispute the chain decides, made by its node without a fee
		/// payer: authorized only if the party's session key signed it and it would succeed
		/// (as `submit_trace`, by the disputed executor, or `prove_step`, by anyone with a
		/// session key, rewarded as its account).
		///
		/// - `origin`: authorized by `authorize_game_move`.
		/// - `job`: the disputed job.
		/// - `party`: the account making the move.
		/// - `game_move`: the trace or the step proof.
		/// - `_signature`: the party's session-key signature of the move.
		#[pallet::call_index(9)]
		#[pallet::weight(Pallet::<T>::game_move_weight(game_move))]
		#[pallet::authorize(Self::authorize_game_move)]
		#[pallet::weight_of_authorize(Pallet::<T>::game_move_weight(game_move))]
		pub fn submit_game_move(
			origin: OriginFor<T>,
			job: JobId,
			party: T::AccountId,
			game_move: GameMove<T>,
			// Checked by `authorize_game_move`, which admits the call.
			_signature: InferenceSignature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			Self::apply_game_move(job, party, game_move)
		}

		/// Submits a proven result, without a fee payer: an executor's statement of
		/// `Claim::Proven` (carrying the output quanta, one byte each) and the proof it hashes
		/// to. Authorized, in the pool and again in the block, only if the statement checks
		/// out and the runtime verifies the proof; the job then settles at once
		/// (`ResultProven`, `Settled`).
		///
		/// - `origin`: authorized by `authorize_proof`.
		/// - `statement`: the proven statement.
		/// - `signature`: the executor's session-key signature of the statement.
		/// - `proof`: the proof (`haca_proof`), at most `MaxProofBytes`.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::apply_proof())]
		#[pallet::authorize(Self::authorize_proof)]
		#[pallet::weight_of_authorize(Pallet::<T>::proof_weight(proof))]
		pub fn submit_proof(
			origin: OriginFor<T>,
			statement: Statement<T>,
			signature: InferenceSignature,
			proof: ProofBytes<T>,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			let checked =
				Self::check_proof(&statement, &signature, &proof, SignatureCheck::AlreadyVerified)?;
			Self::apply_proof(statement, signature, checked)
		}

		/// A verifier node's request for outputs, challenge, vote commitment or reveal,
		/// without a fee payer: authorized only if the verifier's session key signed it and it
		/// would succeed (as `challenge`, `commit_vote` or `reveal_vote`, or as a request for
		/// the outputs of a result too large for its statement; a challenge still holds the
		/// verifier's bond).
		///
		/// - `origin`: authorized by `authorize_verdict`.
		/// - `verdict`: the challenge or vote.
		/// - `_signature`: the verifier's session-key signature of the verdict.
		/// Submits an executor's results for every member still in a group assigned to it,
		/// signed once over their Merkle root, without a fee payer: authorized, in the pool and
		/// again in the block, only if the whole statement checks out (one bad result refuses
		/// it). The results are provisional until `ChallengeWindow` blocks pass, then settle
		/// together; each can be challenged on its own meanwhile.
		///
		/// - `origin`: authorized by `authorize_group_results`.
		/// - `statement`: the group statement.
		/// - `signature`: the executor's session-key signature of its payload.
		#[pallet::call_index(11)]
		#[pallet::weight(Pallet::<T>::group_statement_weight(statement))]
		#[pallet::authorize(Self::authorize_group_results)]
		#[pallet::weight_of_authorize(Pallet::<T>::check_group_weight(statement))]
		pub fn submit_group_results(
			origin: OriginFor<T>,
			statement: GroupStatement<T>,
			signature: InferenceSignature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			let checked =
				Self::check_group(&statement, &signature, SignatureCheck::AlreadyVerified)?;
			Self::apply_group(statement, signature, checked)
		}

		#[pallet::call_index(4)]
		#[pallet::weight(Pallet::<T>::verdict_weight())]
		#[pallet::authorize(Self::authorize_verdict)]
		#[pallet::weight_of_authorize(Pallet::<T>::verdict_weight())]
		pub fn submit_verdict(
			origin: OriginFor<T>,
			verdict: Verdict<T>,
			// Checked by `authorize_verdict`, which admits the call.
			_signature: InferenceSignature,
		) -> DispatchResult {
			ensure_authorized(origin)?;
			Self::apply_verdict(verdict)
		}
	}
}
