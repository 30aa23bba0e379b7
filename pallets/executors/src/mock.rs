//! Test runtime for the executors pallet, with a stand-in model registry.

use core::cell::RefCell;
use frame_support::{derive_impl, parameter_types, traits::ConstU32};
use haca_primitives::{
	traits::{JobTerms, ModelRegistry, ModelUnavailable, SettlementTerms},
	InferenceKey, ModeSet, ModelHash,
};
use sp_runtime::BuildStorage;

use crate as pallet_executors;

type Block = frame_system::mocking::MockBlock<Test>;

/// Account ids in tests.
pub type AccountId = u64;
/// Balances in tests.
pub type Balance = u64;

/// Funded accounts.
pub const ALICE: AccountId = 1;
/// Funded accounts.
pub const BOB: AccountId = 2;
/// Funded accounts.
pub const CHARLIE: AccountId = 3;
/// An account that cannot pay a bond.
pub const POOR: AccountId = 9;
/// Starting balance of the funded accounts.
pub const INITIAL_BALANCE: Balance = 1_000_000;
/// Smallest executor bond.
pub const EXECUTOR_BOND: Balance = 1_000;
/// Smallest verifier bond.
pub const VERIFIER_BOND: Balance = 500;
/// Unbonding delay in blocks.
pub const UNBONDING_DELAY: u64 = 10;
/// Least stake of a job; with the prelude's `JobStakePerFee` of 10, the stake of jobs with
/// fees up to 30.
pub const MIN_JOB_STAKE: Balance = 300;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Registry: pallet_executors,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

thread_local! {
	static ACTIVE_MODELS: RefCell<Vec<ModelHash>> = const { RefCell::new(Vec::new()) };
}

/// Stand-in model registry: models in `ACTIVE_MODELS` are active.
pub struct MockModels;

impl MockModels {
	/// Makes `model` active.
	pub fn activate(model: ModelHash) {
		ACTIVE_MODELS.with(|models| models.borrow_mut().push(model));
	}
}

impl ModelRegistry<AccountId, Balance> for MockModels {
	fn job_terms(model: &ModelHash) -> Result<JobTerms<Balance>, ModelUnavailable> {
		ACTIVE_MODELS
			.with(|models| models.borrow().contains(model))
			.then(|| JobTerms {
				inputs: Default::default(),
				fee: 1,
				modes: ModeSet::ATTESTED_OR_QUORUM,
			})
			.ok_or(ModelUnavailable::Unknown)
	}
	fn settlement_terms(_: &ModelHash) -> Option<SettlementTerms<AccountId, Balance>> {
		None
	}
	fn model_bytes(_: &ModelHash) -> Option<Vec<u8>> {
		None
	}
	fn off_chain_model(_: &ModelHash) -> Option<haca_primitives::traits::OffChainModel> {
		None
	}
	fn circuit(_: &ModelHash) -> Option<Vec<u8>> {
		None
	}
	fn add_job_references(_: &ModelHash, _: u32) {}
	#[cfg(feature = "runtime-benchmarks")]
	fn activate_for_benchmark(
		model: &ModelHash,
		_inputs: haca_primitives::traits::TensorSpecs,
		_outputs: haca_primitives::traits::TensorSpecs,
		_fee: Balance,
	) {
		Self::activate(*model);
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn set_graph_for_benchmark(_: &ModelHash, _: haca_primitives::dispute::GraphCommitment) {}
	#[cfg(feature = "runtime-benchmarks")]
	fn set_circuit_for_benchmark(_: &ModelHash, _: Vec<u8>) {}
	#[cfg(feature = "runtime-benchmarks")]
	fn max_circuit_bytes() -> u32 {
		0
	}
	fn remove_job_reference(_: &ModelHash) {}
}

parameter_types! {
	pub const MinExecutorBond: Balance = EXECUTOR_BOND;
	pub const MinVerifierBond: Balance = VERIFIER_BOND;
	pub const UnbondingDelay: u64 = UNBONDING_DELAY;
	pub const MinJobStake: Balance = MIN_JOB_STAKE;
}

#[derive_impl(pallet_executors::config_preludes::TestDefaultConfig)]
impl pallet_executors::Config for Test {
	type Currency = Balances;
	type OnSlash = ();
	type Models = MockModels;
	type MinExecutorBond = MinExecutorBond;
	type MinVerifierBond = MinVerifierBond;
	type UnbondingDelay = UnbondingDelay;
	type MinJobStake = MinJobStake;
	type MaxExecutorsPerModel = ConstU32<2>;
	type MaxVerifiers = ConstU32<2>;
	type LatenessPenalty = ConstU32<40>;
}

/// The model hash `n` (active after [`new_test_ext`] for `n` in 1..=3).
pub fn model(n: u8) -> ModelHash {
	ModelHash::repeat_byte(n)
}

/// The pair of session key `n`.
pub fn key_pair(n: u8) -> sp_core::sr25519::Pair {
	crate::testing::key_pair(&format!("//haca-key-{n}"))
}

/// The session key `n`.
pub fn key(n: u8) -> InferenceKey {
	crate::testing::key_of(&key_pair(n))
}

/// Session key `n`'s proof of possession for `who`.
pub fn proof(who: AccountId, n: u8) -> haca_primitives::InferenceKeyProof {
	crate::testing::key_proof::<Test>(&who, &key_pair(n))
}

/// Externalities with funded accounts and models 1, 2 and 3 active.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: [ALICE, BOB, CHARLIE, 4, 5]
			.into_iter()
			.map(|who| (who, INITIAL_BALANCE))
			.chain([(POOR, 600)])
			.collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	// The benchmarks make session keys and proofs in a keystore.
	ext.register_extension(sp_keystore::KeystoreExt::new(
		sp_keystore::testing::MemoryKeystore::new(),
	));
	ext.execute_with(|| {
		System::set_block_number(1);
		(1..=3).for_each(|n| MockModels::activate(model(n)));
	});
	ext
}
