//! Test runtime for the jobs pallet, with the real models and executors pallets.

use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU32, Hooks},
};
use frame_system::EnsureRoot;
use haca_primitives::{
	tensor::{ElementType, Tensor, TensorSpec},
	ModeSet, ModelHash,
};
use sp_runtime::BuildStorage;

use crate as pallet_jobs;

type Block = frame_system::mocking::MockBlock<Test>;

/// Account ids in tests.
pub type AccountId = u64;
/// Balances in tests.
pub type Balance = u64;

/// The client in most tests.
pub const CLIENT: AccountId = 1;
/// Owner of the test models.
pub const OWNER: AccountId = 2;
/// Executors.
pub const EXEC_A: AccountId = 10;
/// Executors.
pub const EXEC_B: AccountId = 11;
/// Executors.
pub const EXEC_C: AccountId = 12;
/// A client who cannot pay.
pub const POOR: AccountId = 99;
/// Starting balance of funded accounts.
pub const INITIAL_BALANCE: Balance = 1_000_000;
/// Fee per run of the test model.
pub const MODEL_FEE: Balance = 100;
/// Blocks an assignment has to deliver.
pub const RESULT_TIMEOUT: u64 = 5;
/// Blocks a job waits for executors before it fails.
pub const PENDING_TIMEOUT: u64 = 20;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Models: pallet_models,
		Executors: pallet_executors,
		Jobs: pallet_jobs,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
	/// As the runtime's and the pallet's `()` weights: storage access in weights shows.
	type DbWeight = frame_support::weights::constants::ParityDbWeight;
}

/// Payouts below it to accounts that do not exist fail.
pub const EXISTENTIAL_DEPOSIT: Balance = 5;

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
	type ExistentialDeposit = frame_support::traits::ConstU64<EXISTENTIAL_DEPOSIT>;
}

parameter_types! {
	pub const BaseDeposit: Balance = 100;
	pub const ByteDeposit: Balance = 1;
	pub const MinBond: Balance = 1_000;
	/// Twenty units per job: the tests' capacities, not their bonds, limit assignments.
	pub const MinJobStake: Balance = 20;
	/// What a block spends on deadlines and draws; tests of the metering lower it.
	pub static MaxHookWeight: frame_support::weights::Weight =
		frame_support::weights::Weight::MAX;
	pub const UnbondingDelay: u64 = 10;
	pub const ResultTimeout: u64 = RESULT_TIMEOUT;
	pub const PendingTimeout: u64 = PENDING_TIMEOUT;
	pub const JobDeposit: Balance = 10;
	pub const InputByteDeposit: Balance = 1;
}

parameter_types! {
	/// None by default, so attested jobs need no verifiers in most tests.
	pub storage MinAttestedVerifiers: u32 = 0;
}

#[derive_impl(pallet_models::config_preludes::TestDefaultConfig)]
impl pallet_models::Config for Test {
	type Currency = Balances;
	type AdminOrigin = EnsureRoot<AccountId>;
	type BaseDeposit = BaseDeposit;
	type ByteDeposit = ByteDeposit;
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
	type JobStakePerFee = ConstU32<0>;
	type MaxCapacity = ConstU32<64>;
}

#[derive_impl(pallet_jobs::config_preludes::TestDefaultConfig)]
impl pallet_jobs::Config for Test {
	type Currency = Balances;
	type Models = Models;
	type Executors = Executors;
	type Randomness = pallet_jobs::testing::ParentBlockRandomness<Test>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkRandomness = pallet_jobs::testing::ParentBlockRandomness<Test>;
	type ResultTimeout = ResultTimeout;
	type MaxAttempts = ConstU32<2>;
	type MinAttestedVerifiers = MinAttestedVerifiers;
	type MaxPendingJobs = ConstU32<8>;
	type MaxPendingPerClient = ConstU32<4>;
	type PendingTimeout = PendingTimeout;
	type MaxHookWeight = MaxHookWeight;
	type JobDeposit = JobDeposit;
	type InputByteDeposit = InputByteDeposit;
}

/// The input spec of the test models: one f32 tensor of shape [1, 4].
pub fn input_spec() -> TensorSpec {
	TensorSpec {
		name: b"input".to_vec().try_into().unwrap(),
		element_type: ElementType::F32,
		shape: vec![1, 4].try_into().unwrap(),
		variable_axes: 0,
	}
}

/// A valid input for the test models, encoded.
pub fn valid_input() -> Vec<u8> {
	use codec::Encode;
	vec![Tensor::from_f32(&[1, 4], &[1.0, 2.0, 3.0, 4.0]).unwrap()].encode()
}

/// The hash of test model `n`.
pub fn model(n: u8) -> ModelHash {
	ModelHash::repeat_byte(n)
}

/// Registers the active off-chain test model `n` (see [`model`]) accepting `modes`.
fn register_model(n: u8, modes: ModeSet) -> ModelHash {
	let specs = || vec![input_spec()].try_into().unwrap();
	frame_support::assert_ok!(Models::register(
		RuntimeOrigin::signed(OWNER),
		model(n),
		1_000_000,
		pallet_models::ModelSource::OffChain(
			vec![b"https://models.example/m.onnx".to_vec().try_into().unwrap()].try_into().unwrap()
		),
		pallet_models::ModelTerms {
			inputs: specs(),
			outputs: specs(),
			modes,
			fee: MODEL_FEE,
			tolerance_ulps: 0,
			graph: None,
		},
		None,
	));
	model(n)
}

/// Registers `who` as an executor of `models` with `capacity`.
pub fn register_executor(who: AccountId, capacity: u32, models: &[ModelHash]) {
	register_with_key(
		who,
		pallet_executors::Roles { executor: true, verifier: false },
		capacity,
		models,
	);
}

/// Registers `who` in `roles` with session key `//haca-<who>` and the least bond.
pub fn register_with_key(
	who: AccountId,
	roles: pallet_executors::Roles,
	capacity: u32,
	models: &[ModelHash],
) {
	use pallet_executors::testing::{key_of, key_pair, key_proof};
	let pair = key_pair(&format!("//haca-{who}"));
	frame_support::assert_ok!(Executors::register(
		RuntimeOrigin::signed(who),
		roles,
		key_of(&pair),
		key_proof::<Test>(&who, &pair),
		MinBond::get(),
		capacity,
		models.to_vec().try_into().unwrap(),
	));
}

/// Advances to block `n`, running the jobs pallet's `on_initialize` in each block.
pub fn run_to_block(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Jobs::on_initialize(next);
	}
}

/// Test externalities: the test accounts funded (`POOR` with 100), then the models and
/// executors asked for, registered in that order at block 1.
#[derive(Default)]
pub struct ExtBuilder {
	models: Vec<(u8, ModeSet)>,
	executors: Vec<(AccountId, u32, Vec<u8>)>,
}

impl ExtBuilder {
	/// Registers test model `n` accepting `modes`.
	pub fn model(mut self, n: u8, modes: ModeSet) -> Self {
		self.models.push((n, modes));
		self
	}

	/// Registers `who` as an executor with `capacity` of the test models numbered `models`.
	pub fn executor(mut self, who: AccountId, capacity: u32, models: &[u8]) -> Self {
		self.executors.push((who, capacity, models.to_vec()));
		self
	}

	/// Registers each of `who` as [`Self::executor`] does.
	pub fn executors(self, who: &[AccountId], capacity: u32, models: &[u8]) -> Self {
		who.iter().fold(self, |builder, who| builder.executor(*who, capacity, models))
	}

	/// The externalities, at block 1.
	pub fn build(self) -> sp_io::TestExternalities {
		let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
		pallet_balances::GenesisConfig::<Test> {
			balances: [CLIENT, OWNER, EXEC_A, EXEC_B, EXEC_C, 3, 4]
				.into_iter()
				.map(|who| (who, INITIAL_BALANCE))
				.chain([(POOR, 100)])
				.collect(),
			..Default::default()
		}
		.assimilate_storage(&mut storage)
		.unwrap();
		let mut ext = sp_io::TestExternalities::new(storage);
		ext.execute_with(|| {
			System::set_block_number(1);
			for (n, modes) in self.models {
				register_model(n, modes);
			}
			for (who, capacity, models) in self.executors {
				let models: Vec<_> = models.into_iter().map(model).collect();
				register_executor(who, capacity, &models);
			}
		});
		ext
	}

	/// Runs `test` in the externalities, then checks the invariants of the three pallets.
	pub fn build_and_execute(self, test: impl FnOnce()) {
		self.build().execute_with(|| {
			test();
			Jobs::do_try_state().expect("jobs invariants hold");
			Models::do_try_state().expect("models invariants hold");
			Executors::do_try_state().expect("executors invariants hold");
		});
	}
}

/// Externalities for the benchmark tests: attested jobs need verifiers, as in the runtime.
#[cfg(feature = "runtime-benchmarks")]
pub fn new_bench_ext() -> sp_io::TestExternalities {
	let mut ext = ExtBuilder::default().build();
	ext.execute_with(|| MinAttestedVerifiers::set(&3));
	ext
}
