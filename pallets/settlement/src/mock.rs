//! Test runtime for the settlement pallet, with the real models, executors and jobs pallets.

use codec::Encode;
use frame_support::{derive_impl, parameter_types, traits::Hooks};
use frame_system::EnsureRoot;
use haca_primitives::{
	statement::Claim,
	tensor::{ElementType, Tensor, TensorSpec},
	InferenceKey, InferenceSignature, ModeSet, ModelHash,
};
use sp_core::{sr25519, Pair, H256};
use sp_runtime::BuildStorage;

use crate as pallet_settlement;

type Block = frame_system::mocking::MockBlock<Test>;

/// Account ids in tests.
pub type AccountId = u64;
/// Balances in tests.
pub type Balance = u64;

/// The client.
pub const CLIENT: AccountId = 1;
/// The model owner.
pub const OWNER: AccountId = 2;
/// Executors.
pub const EXECUTORS: [AccountId; 3] = [10, 11, 12];
/// Verifiers.
pub const VERIFIERS: [AccountId; 5] = [20, 21, 22, 23, 24];
/// Starting balance of every account.
pub const INITIAL_BALANCE: Balance = 1_000_000;
/// Fee per run of the test model.
pub const MODEL_FEE: Balance = 100;
/// Executors' and verifiers' bond.
pub const BOND: Balance = 10_000;
/// The least bond of an eligible executor or verifier: [`BOND`] stays above it through two
/// slashes, not three.
pub const MIN_BOND: Balance = 5_000;
/// Blocks an assignment has to deliver.
pub const RESULT_TIMEOUT: u64 = 5;
/// Challenge window in blocks.
pub const CHALLENGE_WINDOW: u64 = 8;
/// Reveal window in blocks.
pub const REVEAL_WINDOW: u64 = 3;
/// Dispute window in blocks.
pub const DISPUTE_WINDOW: u64 = 4;
/// Blocks to publish outputs asked for.
pub const PUBLISH_WINDOW: u64 = 3;
/// Blocks for an executor's trace in a game.
pub const TRACE_WINDOW: u64 = 3;
/// Blocks for proofs of a wrong step in a game.
pub const PROOF_WINDOW: u64 = 4;
/// Bond of a challenge.
pub const CHALLENGE_BOND: Balance = 1_000;
/// What a committee member loses for a vote against the outcome, or none.
pub const VOTER_SLASH: Balance = 300;
/// Stake per fee: what a job on the test model puts at stake of each executor's bond.
pub const STAKE_PER_FEE: u32 = 20;
/// The stake of a job on the test model, which a lying, dissenting or silent executor
/// loses: [`BOND`] covers five such jobs at once.
pub const JOB_STAKE: Balance = MODEL_FEE * STAKE_PER_FEE as Balance;
/// Tolerance of the test model's float outputs.
pub const TOLERANCE_ULPS: u32 = 4;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Models: pallet_models,
		Executors: pallet_executors,
		Jobs: pallet_jobs,
		Settlement: pallet_settlement,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
	/// As the runtime's and the pallet's `()` weights: refunds of storage access show.
	type DbWeight = frame_support::weights::constants::ParityDbWeight;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

parameter_types! {
	pub const Deposit: Balance = 10;
	pub const MinBond: Balance = MIN_BOND;
	pub const UnbondingDelay: u64 = 10;
	pub const ResultTimeout: u64 = RESULT_TIMEOUT;
	pub const ChallengeWindow: u64 = CHALLENGE_WINDOW;
	pub const RevealWindow: u64 = REVEAL_WINDOW;
	pub const DisputeWindow: u64 = DISPUTE_WINDOW;
	pub const PublishWindow: u64 = PUBLISH_WINDOW;
	pub const TraceWindow: u64 = TRACE_WINDOW;
	pub const ProofWindow: u64 = PROOF_WINDOW;
	/// Largest output a statement carries; tests of published outputs lower it.
	pub static MaxOutputLen: u32 = 256;
	pub const ChallengeBond: Balance = CHALLENGE_BOND;
	pub const VoterSlash: Balance = VOTER_SLASH;
	/// What a block spends on phase ends; tests of the carry-over lower it.
	pub static MaxTimerWeight: frame_support::weights::Weight = frame_support::weights::Weight::MAX;
	pub const MinJobStake: Balance = 500;
	/// Chance that a quorum assignment draws a spot checker; spot-check tests raise it.
	pub static SpotCheckChance: sp_runtime::Perbill = sp_runtime::Perbill::zero();
}

#[derive_impl(pallet_models::config_preludes::TestDefaultConfig)]
impl pallet_models::Config for Test {
	type Currency = Balances;
	type AdminOrigin = EnsureRoot<AccountId>;
	type BaseDeposit = Deposit;
	type ByteDeposit = Deposit;
	/// What settlement's default `MaxOutputLen` and `MaxOutputPages` publish.
	type MaxOutputBytes = frame_support::traits::ConstU32<1024>;
	/// What settlement's reveals carry.
	type MaxInlineOutputBytes = MaxOutputLen;
	/// The int8 MLP export fits on chain.
	type MaxModelBytes = frame_support::traits::ConstU32<{ 8 * 1024 }>;
}

#[derive_impl(pallet_executors::config_preludes::TestDefaultConfig)]
impl pallet_executors::Config for Test {
	type Currency = Balances;
	type OnSlash = ();
	type Models = Models;
	type MinExecutorBond = MinBond;
	type MinVerifierBond = MinBond;
	type UnbondingDelay = UnbondingDelay;
	type MinJobStake = MinJobStake;
	type JobStakePerFee = frame_support::traits::ConstU32<STAKE_PER_FEE>;
}

#[derive_impl(pallet_jobs::config_preludes::TestDefaultConfig)]
impl pallet_jobs::Config for Test {
	type Currency = Balances;
	type Models = Models;
	type Executors = Executors;
	type Randomness = pallet_jobs::testing::ParentBlockRandomness<Test>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkRandomness = pallet_jobs::testing::ParentBlockRandomness<Test>;
	type OnPartialDelivery = Settlement;
	type ResultTimeout = ResultTimeout;
	type SpotCheckChance = SpotCheckChance;
	type PendingTimeout = frame_support::traits::ConstU64<100>;
	type JobDeposit = Deposit;
	type InputByteDeposit = Deposit;
}

#[derive_impl(pallet_settlement::config_preludes::TestDefaultConfig)]
impl pallet_settlement::Config for Test {
	type Currency = Balances;
	type OnSlash = ();
	type Jobs = Jobs;
	type Models = Models;
	type Executors = Executors;
	type Randomness = pallet_jobs::testing::ParentBlockRandomness<Test>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkRandomness = pallet_jobs::testing::ParentBlockRandomness<Test>;
	type ChallengeWindow = ChallengeWindow;
	type RevealWindow = RevealWindow;
	type DisputeWindow = DisputeWindow;
	type PublishWindow = PublishWindow;
	type TraceWindow = TraceWindow;
	type ProofWindow = ProofWindow;
	type MaxOutputLen = MaxOutputLen;
	type ChallengeBond = ChallengeBond;
	type VoterSlash = VoterSlash;
	type MaxTimerWeight = MaxTimerWeight;
}

/// The session key pair of executor or verifier `who`.
pub fn pair(who: AccountId) -> sr25519::Pair {
	pallet_executors::testing::key_pair(&format!("//haca-{who}"))
}

pub fn spec(dims: &[u32]) -> TensorSpec {
	TensorSpec::new("t", ElementType::F32, dims).unwrap()
}

/// The test model's terms: a `[1, 4]` f32 input, an f32 output of shape `output`, every
/// mode, `MODEL_FEE` a run, `TOLERANCE_ULPS`.
pub fn terms(output: &[u32]) -> pallet_models::ModelTermsOf<Test> {
	pallet_models::ModelTerms {
		inputs: vec![spec(&[1, 4])].try_into().unwrap(),
		outputs: vec![spec(output)].try_into().unwrap(),
		modes: ModeSet::ATTESTED_OR_QUORUM,
		fee: MODEL_FEE,
		tolerance_ulps: TOLERANCE_ULPS,
		graph: None,
	}
}

/// Encoded f32 tensors of shape `dims`.
pub fn f32_tensors(dims: &[u32], values: &[f32]) -> Vec<u8> {
	vec![Tensor::from_f32(dims, values).unwrap()].encode()
}

/// An output of the test model.
pub fn output(values: [f32; 2]) -> Vec<u8> {
	f32_tensors(&[1, 2], &values)
}

/// The hash of encoded tensors.
pub fn hash_of(bytes: &[u8]) -> H256 {
	H256(sp_io::hashing::blake2_256(bytes))
}

/// The test model: f32 [1, 4] in, f32 [1, 2] out, every mode.
pub fn model() -> ModelHash {
	ModelHash::repeat_byte(1)
}

/// A statement by `executor` about `job`, signed by `signer`'s session key.
pub fn signed_by(
	signer: AccountId,
	job: u64,
	executor: AccountId,
	claim: Claim,
	outputs: Option<Vec<u8>>,
) -> (crate::Statement<Test>, InferenceSignature) {
	let statement = crate::Statement::<Test> {
		job,
		executor,
		claim,
		outputs: outputs.map(|bytes| bytes.try_into().unwrap()),
	};
	let payload = crate::Pallet::<Test>::signing_payload(&statement).expect("open job");
	let signature = pair(signer).sign(&payload.signing_bytes());
	(statement, signature.into())
}

/// A statement by `executor` about `job`, signed by its own key.
pub fn signed(
	job: u64,
	executor: AccountId,
	claim: Claim,
	outputs: Option<Vec<u8>>,
) -> (crate::Statement<Test>, InferenceSignature) {
	signed_by(executor, job, executor, claim, outputs)
}

/// Submits statements in a signed batch from `CLIENT` (anyone may relay them).
pub fn submit(statements: Vec<(crate::Statement<Test>, InferenceSignature)>) {
	frame_support::assert_ok!(Settlement::submit_statements(
		RuntimeOrigin::signed(CLIENT),
		statements.try_into().unwrap()
	));
}

/// Advances to block `n`, running the jobs' and settlement's `on_initialize` each block.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Jobs::on_initialize(next);
		Settlement::on_initialize(next);
	}
}

/// Test externalities at block 1: the test model registered, `EXECUTORS` bonded as its
/// executors (capacity 4 each) and `VERIFIERS` (all, or the first few) as its verifiers.
pub struct ExtBuilder {
	verifiers: usize,
}

impl Default for ExtBuilder {
	fn default() -> Self {
		Self { verifiers: VERIFIERS.len() }
	}
}

impl ExtBuilder {
	/// Bonds only the first `count` of `VERIFIERS`.
	pub fn verifiers(mut self, count: usize) -> Self {
		self.verifiers = count;
		self
	}

	/// The externalities.
	pub fn build(self) -> sp_io::TestExternalities {
		let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
		pallet_balances::GenesisConfig::<Test> {
			balances: [CLIENT, OWNER]
				.into_iter()
				.chain(EXECUTORS)
				.chain(VERIFIERS)
				.map(|who| (who, INITIAL_BALANCE))
				.collect(),
			..Default::default()
		}
		.assimilate_storage(&mut storage)
		.unwrap();
		let mut ext = sp_io::TestExternalities::new(storage);
		ext.execute_with(|| {
			System::set_block_number(1);
			frame_support::assert_ok!(Models::register(
				RuntimeOrigin::signed(OWNER),
				model(),
				1_000_000,
				pallet_models::ModelSource::OffChain(
					vec![b"https://models.example/m".to_vec().try_into().unwrap()]
						.try_into()
						.unwrap()
				),
				terms(&[1, 2]),
				None,
			));
			let verifiers = VERIFIERS.iter().take(self.verifiers);
			for (who, executor) in
				EXECUTORS.iter().map(|w| (*w, true)).chain(verifiers.map(|w| (*w, false)))
			{
				let key: InferenceKey = pair(who).public().into();
				frame_support::assert_ok!(Executors::register(
					RuntimeOrigin::signed(who),
					pallet_executors::Roles { executor, verifier: !executor },
					key,
					pallet_executors::testing::key_proof::<Test>(&who, &pair(who)),
					BOND,
					if executor { 4 } else { 0 },
					vec![model()].try_into().unwrap(),
				));
			}
		});
		ext
	}

	/// Runs `test` in the externalities, then checks the invariants of all four pallets.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(|| {
			test();
			Settlement::do_try_state().expect("settlement invariants hold");
			Jobs::do_try_state().expect("jobs invariants hold");
			Executors::do_try_state().expect("executors invariants hold");
			Models::do_try_state().expect("models invariants hold");
		});
	}
}

/// Externalities for the benchmark tests: funded accounts and a keystore for session keys.
#[cfg(feature = "runtime-benchmarks")]
pub fn new_bench_ext() -> sp_io::TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.register_extension(sp_keystore::KeystoreExt::new(
		sp_keystore::testing::MemoryKeystore::new(),
	));
	ext.execute_with(|| System::set_block_number(1));
	ext
}

impl<LocalCall> frame_system::offchain::CreateTransactionBase<LocalCall> for Test
where
	RuntimeCall: From<LocalCall>,
{
	type Extrinsic = frame_system::mocking::MockUncheckedExtrinsic<Test>;
	type RuntimeCall = RuntimeCall;
}

impl<LocalCall> frame_system::offchain::CreateTransaction<LocalCall> for Test
where
	RuntimeCall: From<LocalCall>,
{
	type Extension = ();

	fn create_transaction(call: RuntimeCall, extension: ()) -> Self::Extrinsic {
		sp_runtime::generic::UncheckedExtrinsic::new_transaction(call, extension)
	}
}

impl<LocalCall> frame_system::offchain::CreateAuthorizedTransaction<LocalCall> for Test
where
	RuntimeCall: From<LocalCall>,
{
	fn create_extension() {}
}
