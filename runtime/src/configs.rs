//! Configuration of every pallet in the runtime.

use frame_support::{
	derive_impl,
	dispatch::DispatchClass,
	parameter_types,
	traits::{ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
	weights::{
		constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		IdentityFee, Weight,
	},
};
use frame_system::{
	limits::{BlockLength, BlockWeights},
	EnsureRoot,
};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_runtime::{traits::One, Perbill};
use sp_version::RuntimeVersion;

use crate::weights::{BlockExecutionWeight, ExtrinsicBaseWeight};

use super::{
	AccountId, Babe, Balance, Balances, Block, BlockNumber, Executors, Hash, Jobs, Models, Nonce,
	PalletInfo, Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason,
	RuntimeOrigin, RuntimeTask, Settlement, System, TxExtension, UncheckedExtrinsic,
	EPOCH_DURATION_IN_SLOTS, EXISTENTIAL_DEPOSIT, MICRO_UNIT, MILLI_SECS_PER_BLOCK, MILLI_UNIT,
	MINUTES, SLOT_DURATION, UNIT, VERSION,
};

/// Share of a block's weight and length that normal (non-operational) extrinsics may use.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

/// A block's compute: two seconds of a six-second slot; proof size unbounded (a solochain).
const MAXIMUM_BLOCK_WEIGHT: Weight =
	Weight::from_parts(2u64 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX);

/// Share of a block's weight that `on_initialize` hooks are expected to use on average.
const AVERAGE_ON_INITIALIZE_RATIO: Perbill = Perbill::from_percent(10);

parameter_types! {
	/// How many recent block hashes are kept (bounds transaction mortality).
	pub const BlockHashCount: BlockNumber = 2400;
	/// The runtime version, as a `Get`.
	pub const Version: RuntimeVersion = VERSION;
	/// Two seconds of compute per six-second block, 75 % of it for normal extrinsics, with
	/// the block and extrinsic base weights measured for this runtime.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::builder()
		.base_block(BlockExecutionWeight::get())
		.for_class(DispatchClass::all(), |weights| {
			weights.base_extrinsic = ExtrinsicBaseWeight::get();
		})
		.for_class(DispatchClass::Normal, |weights| {
			weights.max_total = Some(NORMAL_DISPATCH_RATIO * MAXIMUM_BLOCK_WEIGHT);
		})
		.for_class(DispatchClass::Operational, |weights| {
			weights.max_total = Some(MAXIMUM_BLOCK_WEIGHT);
			weights.reserved =
				Some(MAXIMUM_BLOCK_WEIGHT - NORMAL_DISPATCH_RATIO * MAXIMUM_BLOCK_WEIGHT);
		})
		.avg_block_initialization(AVERAGE_ON_INITIALIZE_RATIO)
		.build_or_panic();
	/// At most 5 MiB of extrinsics per block, 75% of it for normal extrinsics.
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(5 * 1024 * 1024)
		.modify_max_length_for_class(DispatchClass::Normal, |max| *max = NORMAL_DISPATCH_RATIO * *max)
		.build();
	/// The generic Substrate SS58 address prefix.
	pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	type DbWeight = ParityDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

impl pallet_babe::Config for Runtime {
	type EpochDuration = ConstU64<EPOCH_DURATION_IN_SLOTS>;
	type ExpectedBlockTime = ConstU64<MILLI_SECS_PER_BLOCK>;
	// No session pallet: the genesis authorities author every epoch.
	type EpochChangeTrigger = pallet_babe::SameAuthoritiesForever;
	type DisabledValidators = ();
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_timestamp::Config for Runtime {
	type Moment = u64;
	type OnTimestampSet = Babe;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type Balance = Balance;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type ReserveIdentifier = [u8; 8];
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ConstU32<0>;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type DoneSlashHandler = ();
}

parameter_types! {
	/// Fees do not grow with congestion (a constant multiplier of one).
	pub FeeMultiplier: Multiplier = Multiplier::one();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = IdentityFee<Balance>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// Deposit for registering any model.
	pub const ModelBaseDeposit: Balance = UNIT;
	/// Deposit per model byte stored on chain (about 100 HACA per MiB).
	pub const ModelByteDeposit: Balance = 100 * MICRO_UNIT;
}

parameter_types! {
	/// Most nodes of a dispute graph: a disputed executor's trace, 32 bytes a node, is
	/// 128 KiB at most.
	pub const MaxGraphNodes: u32 = 4096;
	/// Most bytes a step's inputs (or a trace's outputs) take, encoded: 1 MiB, as published
	/// outputs.
	pub const MaxStepBytes: u32 = MAX_OUTPUT_LEN * MAX_OUTPUT_PAGES;
}

impl pallet_models::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type AdminOrigin = EnsureRoot<AccountId>;
	type BaseDeposit = ModelBaseDeposit;
	type ByteDeposit = ModelByteDeposit;
	/// Models up to 4 MiB live on chain; larger ones off chain by locator.
	type MaxModelBytes = ConstU32<{ 4 * 1024 * 1024 }>;
	/// Upload chunks of 256 KiB fit comfortably in a block.
	type ChunkSize = ConstU32<{ 256 * 1024 }>;
	type MaxLocatorLen = ConstU32<256>;
	type MaxLocators = ConstU32<4>;
	/// 2^16 ULPs: f32 values agree to within about 0.8 % of their magnitude at most.
	type MaxToleranceUlps = ConstU32<65_536>;
	/// Outputs up to 1 MiB: what an executor can be made to publish for comparison.
	type MaxOutputBytes = ConstU32<{ MAX_OUTPUT_LEN * MAX_OUTPUT_PAGES }>;
	/// Quorum reveals carry float outputs up to what a statement carries.
	type MaxInlineOutputBytes = ConstU32<MAX_OUTPUT_LEN>;
	/// An hour to upload a model's bytes (16 chunks of the largest model); a registration
	/// whose upload stalls longer gives its hash up to the next registrant.
	type UploadPeriod = ConstU32<{ 60 * MINUTES }>;
	type MaxGraphNodes = MaxGraphNodes;
	/// A step's proof of this much work runs its operator in about 0.6 s (2.5 µs per
	/// thousand units on the costliest kernel, `run_products`), under a third of a block.
	type MaxStepWork = ConstU64<250_000_000>;
	type MaxStepBytes = MaxStepBytes;
	/// The widest circuit filling a sample's 1,024 rows (about 180 KiB) fits.
	type MaxCircuitBytes = ConstU32<{ 256 * 1024 }>;
	type WeightInfo = pallet_models::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// Smallest executor bond.
	pub const MinExecutorBond: Balance = 100 * UNIT;
	/// Smallest verifier bond.
	pub const MinVerifierBond: Balance = 50 * UNIT;
	/// Ten minutes between starting to unbond and withdrawing.
	pub const UnbondingDelay: BlockNumber = 10 * MINUTES;
	/// Least stake of a job: what lying on a fee-less job costs.
	pub const MinJobStake: Balance = 10 * UNIT;
}

impl pallet_executors::Config for Runtime {
	type Currency = Balances;
	/// Slashed bonds are burnt.
	type OnSlash = ();
	type RuntimeHoldReason = RuntimeHoldReason;
	type Models = Models;
	type MinExecutorBond = MinExecutorBond;
	type MinVerifierBond = MinVerifierBond;
	type UnbondingDelay = UnbondingDelay;
	type MaxModelsPerExecutor = ConstU32<16>;
	type MaxExecutorsPerModel = ConstU32<64>;
	type MaxVerifiers = ConstU32<64>;
	/// Jobs one executor may hold at once: a counter, so large capacities cost nothing.
	type MaxCapacity = ConstU32<16384>;
	type InitialReputation = ConstU32<1000>;
	type LatenessPenalty = ConstU32<100>;
	type MinJobStake = MinJobStake;
	/// A job stakes a hundred times its per-run fee: lying has a negative expected value
	/// whenever a lie is caught with a probability above 0.9 % (`runtime/tests/economics.rs`).
	type JobStakePerFee = ConstU32<100>;
	type WeightInfo = pallet_executors::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// One minute (ten blocks) to deliver a result.
	pub const ResultTimeout: BlockNumber = 10;
	/// Storage deposit of any job.
	pub const JobDeposit: Balance = 10 * MILLI_UNIT;
	/// Storage deposit per input byte.
	pub const InputByteDeposit: Balance = 10 * MICRO_UNIT;
}

/// Sets the VRF output BABE's randomness reads, for benchmarks (no block author there).
#[cfg(feature = "runtime-benchmarks")]
pub struct BabeVrfOutput;

#[cfg(feature = "runtime-benchmarks")]
impl haca_primitives::traits::RevealRandomness for BabeVrfOutput {
	fn reveal(seed: [u8; 32]) {
		pallet_babe::AuthorVrfRandomness::<Runtime>::put(Some(seed));
	}
}

impl pallet_jobs::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Models = Models;
	type Executors = Executors;
	/// The VRF output of the block before the drawing one: a job included in block `n` is
	/// drawn in block `n + 2` from block `n + 1`'s, which nobody knew when it was sent.
	type Randomness = pallet_babe::ParentBlockRandomness<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkRandomness = BabeVrfOutput;
	type OnPartialDelivery = Settlement;
	/// Inputs up to 64 KiB (encoded tensors).
	type MaxOutputLen = ConstU32<MAX_OUTPUT_LEN>;
	type MaxOutcomes = ConstU32<MAX_OUTCOMES>;
	/// As many jobs' outcomes again, in groups of the largest batch.
	type MaxGroupOutcomes = ConstU32<{ MAX_OUTCOMES / 64 }>;
	type MaxInputLen = ConstU32<{ 64 * 1024 }>;
	/// Up to 64 jobs per `submit_batch` (the block length limits batches of long inputs).
	type MaxJobsPerSubmit = ConstU32<64>;
	type MaxQuorum = ConstU32<5>;
	type ResultTimeout = ResultTimeout;
	type MaxAttempts = ConstU32<3>;
	/// A challenger and a committee of at least two besides the executor, so that no single
	/// vote decides a dispute.
	type MinAttestedVerifiers = ConstU32<3>;
	type MaxPendingJobs = ConstU32<2048>;
	type MaxPendingPerClient = ConstU32<256>;
	/// Ten minutes of waiting for executors.
	type PendingTimeout = ConstU32<{ 10 * MINUTES }>;
	/// A fifth of a block for deadlines and draws; with the phase ends' quarter, hooks
	/// leave more than half of every block to transactions.
	type MaxHookWeight = MaxHookWeight;
	/// A tenth of the job's stake per missed deadline, to the client.
	type LatenessSlash = LatenessSlash;
	/// One quorum assignment in ten draws a spot checker among the model's verifiers.
	type SpotCheckChance = SpotCheckChance;
	type JobDeposit = JobDeposit;
	type InputByteDeposit = InputByteDeposit;
	type WeightInfo = pallet_jobs::weights::SubstrateWeight<Runtime>;
}

/// Largest output a statement carries (16 KiB): larger ones are represented by their hash.
const MAX_OUTPUT_LEN: u32 = 16 * 1024;

/// Ended jobs whose outcome (with outputs up to `MAX_OUTPUT_LEN`) the chain keeps for clients:
/// at most 16 MiB of state, whatever the number of jobs (and as much again for the groups
/// whose results settled together: `MaxGroupOutcomes`).
const MAX_OUTCOMES: u32 = 1024;

/// Pages of `MAX_OUTPUT_LEN` an attested result's outputs may be published in (1 MiB).
const MAX_OUTPUT_PAGES: u32 = 64;

parameter_types! {
	/// Ten blocks (one minute) to challenge an attested result.
	pub const ChallengeWindow: BlockNumber = 10;
	/// Ten blocks for a quorum's reveals.
	pub const RevealWindow: BlockNumber = 10;
	/// Twenty blocks for a committee to commit to its votes (ten more to reveal them).
	pub const DisputeWindow: BlockNumber = 20;
	/// Ten blocks for an executor to publish the outputs a verifier asked for.
	pub const PublishWindow: BlockNumber = 10;
	/// Five blocks for a disputed executor's trace (its node traces the job on demand).
	pub const TraceWindow: BlockNumber = 5;
	/// Five blocks for anyone to prove a step of the trace wrong.
	pub const ProofWindow: BlockNumber = 5;
	/// A committee member's vote against a dispute's outcome, or none, costs it 5 HACA.
	pub const VoterSlash: Balance = 5 * UNIT;
	/// A quarter of the loser's slash goes to the committee members who voted for the outcome.
	pub const CommitteeRewardShare: Perbill = Perbill::from_percent(25);
	/// Bond of a challenge.
	pub const ChallengeBond: Balance = 10 * UNIT;
	/// Half of a slash goes to the wronged party; the rest is burnt.
	pub const SlashRewardShare: Perbill = Perbill::from_percent(50);
	/// The model owner's share of each run's fee.
	pub const OwnerShare: Perbill = Perbill::from_percent(10);
	/// What a block spends on phase ends at most.
	pub MaxTimerWeight: Weight = Perbill::from_percent(25) * MAXIMUM_BLOCK_WEIGHT;
	/// What a block spends on deadlines and draws at most.
	pub MaxHookWeight: Weight = Perbill::from_percent(20) * MAXIMUM_BLOCK_WEIGHT;
	pub const LatenessSlash: Perbill = Perbill::from_percent(10);
	pub const SpotCheckChance: Perbill = Perbill::from_percent(10);
}

impl pallet_settlement::Config for Runtime {
	type Currency = Balances;
	/// Forfeited challenge bonds are burnt.
	type OnSlash = ();
	type RuntimeHoldReason = RuntimeHoldReason;
	type Jobs = Jobs;
	type Models = Models;
	type Executors = Executors;
	/// As the jobs pallet's: a committee is drawn two blocks after its challenge.
	type Randomness = pallet_babe::ParentBlockRandomness<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkRandomness = BabeVrfOutput;
	/// Outputs up to 16 KiB are carried in statements; up to 1 MiB are published in 64
	/// pages when a verifier asks (and compared within tolerance).
	type MaxOutputLen = ConstU32<MAX_OUTPUT_LEN>;
	type MaxOutputPages = ConstU32<MAX_OUTPUT_PAGES>;
	type PublishWindow = PublishWindow;
	/// Statements per transaction: an executor's off-chain worker sends a block's results
	/// in as few transactions as this allows.
	type MaxStatementsPerTx = ConstU32<64>;
	/// Results in a group statement: a whole group (the jobs pallet's `MaxJobsPerSubmit`).
	type MaxGroupSize = ConstU32<64>;
	type MaxQuorum = ConstU32<5>;
	type CommitteeSize = ConstU32<5>;
	/// Challengers of one result: room for every honest auditor besides a liar's own
	/// verifiers racing to challenge first with hashes nobody reproduces.
	type MaxChallengers = ConstU32<8>;
	type ChallengeWindow = ChallengeWindow;
	type RevealWindow = RevealWindow;
	type DisputeWindow = DisputeWindow;
	type ChallengeBond = ChallengeBond;
	type VoterSlash = VoterSlash;
	type SlashRewardShare = SlashRewardShare;
	type CommitteeRewardShare = CommitteeRewardShare;
	type OwnerShare = OwnerShare;
	/// Phase ends per page of a block's timers (a page reads as one storage value).
	type MaxTimersPerPage = ConstU32<256>;
	/// A quarter of a block for phase ends (settlements of attested results among them);
	/// the rest wait for the next blocks.
	type MaxTimerWeight = MaxTimerWeight;
	type TraceWindow = TraceWindow;
	type ProofWindow = ProofWindow;
	type MaxGraphNodes = MaxGraphNodes;
	type MaxStepBytes = MaxStepBytes;
	/// A proof of the largest circuit's trace is about 150 KiB.
	type MaxProofBytes = ConstU32<{ 256 * 1024 }>;
	type WeightInfo = pallet_settlement::weights::SubstrateWeight<Runtime>;
}

impl<LocalCall> frame_system::offchain::CreateTransactionBase<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	type Extrinsic = UncheckedExtrinsic;
	type RuntimeCall = RuntimeCall;
}

impl<LocalCall> frame_system::offchain::CreateTransaction<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	type Extension = TxExtension;

	fn create_transaction(call: RuntimeCall, extension: TxExtension) -> UncheckedExtrinsic {
		UncheckedExtrinsic::new_transaction(call, extension)
	}
}

/// Off-chain workers submit executors' statements as general transactions that
/// `AuthorizeCall` authorizes: immortal, no nonce, no fee.
impl<LocalCall> frame_system::offchain::CreateAuthorizedTransaction<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	fn create_extension() -> TxExtension {
		crate::tx_extension(0)
	}
}
