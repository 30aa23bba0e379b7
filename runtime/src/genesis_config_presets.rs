//! Genesis presets: the named initial states `haca-node` and `chain-spec-builder` build
//! chain specs from (`development`, `local_testnet`, `testnet`).

use crate::{
	AccountId, BalancesConfig, ExecutorsConfig, ModelsConfig, RuntimeGenesisConfig, SudoConfig,
	MILLI_UNIT, UNIT,
};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use haca_primitives::{
	dispute::GraphCommitment,
	tensor::{ElementType, TensorSpec},
	ModeSet,
};
use serde_json::Value;
use sp_consensus_babe::AuthorityId as BabeId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_core::H256;
use sp_genesis_builder::{self, PresetId};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

/// The multi-node test network preset: validators, executors and verifiers on separate
/// nodes.
pub const TESTNET_PRESET: &str = "testnet";

/// Balance given to every endowed account at genesis.
const ENDOWMENT: crate::Balance = 1_000_000 * UNIT;

/// The demo model of the development chains: a small float MLP (4 inputs, 3 outputs),
/// made by `scripts/gen_models.py`, stored on chain at genesis.
pub const DEMO_MODEL: &[u8] = include_bytes!("../../offchain-workers/models/mlp.onnx");

/// The demo model's dispute graph, as `haca-node inspect` prints it (the node's tests lower
/// [`DEMO_MODEL`] and compare): the chain decides disputes over its results.
pub fn demo_model_graph() -> GraphCommitment {
	let root = |hex| H256(array_bytes::hex2array_unchecked(hex));
	GraphCommitment {
		lowering: 2,
		graph_root: root("dc10f3e813e45d99d06fabfc7e24e735ee905d6d4cbccb16c2aa75add5c6df02"),
		weights_root: root("b4ce66bdfa046896dc39b5cc2c91cbe25cf73e0b278f7d81a3bf0effd7c62963"),
		nodes: 4,
		largest_step: 1603,
		largest_step_bytes: 368,
	}
}

/// Fee per run of the demo model.
pub const DEMO_MODEL_FEE: crate::Balance = 100 * MILLI_UNIT;

/// The demo model's content hash.
pub fn demo_model_hash() -> haca_primitives::ModelHash {
	haca_primitives::ModelHash::from(sp_io::hashing::blake2_256(DEMO_MODEL))
}

/// The demo model as the models pallet's genesis entry, owned by `owner`.
fn demo_model(owner: &AccountId) -> pallet_models::GenesisModelOf<crate::Runtime> {
	let spec = |name, dims: &[u32]| TensorSpec::new(name, ElementType::F32, dims).expect("small");
	pallet_models::GenesisModel {
		owner: owner.clone(),
		bytes: DEMO_MODEL.to_vec(),
		inputs: vec![spec("input", &[1, 4])],
		outputs: vec![spec("output", &[1, 3])],
		modes: ModeSet::ATTESTED_OR_QUORUM,
		fee: DEMO_MODEL_FEE,
		tolerance_ulps: 8,
		graph: Some(demo_model_graph()),
		circuit: None,
	}
}

/// Bond of the preset executors: it covers the stakes of a thousand demo jobs at once.
const EXECUTOR_BOND: crate::Balance = 10_000 * UNIT;

/// `account` registered as an executor of the demo model (with its dev session key).
fn demo_executor(account: Sr25519Keyring) -> pallet_executors::GenesisExecutorOf<crate::Runtime> {
	pallet_executors::GenesisExecutor {
		account: account.to_account_id(),
		roles: pallet_executors::Roles { executor: true, verifier: false },
		key: account.public().into(),
		bond: EXECUTOR_BOND,
		capacity: 8,
		models: vec![demo_model_hash()],
	}
}

/// `account` registered as a verifier of the demo model.
fn demo_verifier(account: Sr25519Keyring) -> pallet_executors::GenesisExecutorOf<crate::Runtime> {
	pallet_executors::GenesisExecutor {
		account: account.to_account_id(),
		roles: pallet_executors::Roles { executor: false, verifier: true },
		key: account.public().into(),
		bond: crate::configs::MinVerifierBond::get(),
		capacity: 0,
		models: vec![demo_model_hash()],
	}
}

/// Builds the genesis patch from validator keys, endowed accounts, the sudo key, and the
/// executors and verifiers of the demo model.
fn testnet_genesis(
	initial_authorities: Vec<(BabeId, GrandpaId)>,
	endowed_accounts: Vec<AccountId>,
	root: AccountId,
	executors: Vec<pallet_executors::GenesisExecutorOf<crate::Runtime>>,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed_accounts.into_iter().map(|k| (k, ENDOWMENT)).collect::<Vec<_>>(),
		},
		babe: pallet_babe::GenesisConfig {
			authorities: initial_authorities.iter().map(|x| (x.0.clone(), 1)).collect::<Vec<_>>(),
			epoch_config: crate::BABE_GENESIS_EPOCH_CONFIG,
		},
		grandpa: pallet_grandpa::GenesisConfig {
			authorities: initial_authorities.iter().map(|x| (x.1.clone(), 1)).collect::<Vec<_>>(),
		},
		models: ModelsConfig { models: vec![demo_model(&root)] },
		executors: ExecutorsConfig { executors },
		sudo: SudoConfig { key: Some(root) },
	})
}

/// BABE (sr25519) and GRANDPA (ed25519) keys derived from a development seed (`//Alice`, ...).
fn authority_keys(babe: Sr25519Keyring, grandpa: Ed25519Keyring) -> (BabeId, GrandpaId) {
	(babe.public().into(), grandpa.public().into())
}

/// The development chain's verifiers: a node started with `--dev --verifier` holds their
/// keys, so that one node audits the dev chain (one verifier challenges, the other two
/// decide).
pub const DEV_VERIFIERS: [Sr25519Keyring; 3] =
	[Sr25519Keyring::Bob, Sr25519Keyring::Charlie, Sr25519Keyring::Dave];

/// Every development account (`//Alice` .. `//Ferdie`, their stashes, `//One`, `//Two`).
fn development_accounts() -> Vec<AccountId> {
	Sr25519Keyring::iter().map(|k| k.to_account_id()).collect()
}

/// Single validator (Alice), who also executes the demo model; Bob, Charlie and Dave
/// verify ([`DEV_VERIFIERS`]); the development accounts are funded.
pub fn development_config_genesis() -> Value {
	testnet_genesis(
		vec![authority_keys(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		development_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		core::iter::once(demo_executor(Sr25519Keyring::Alice))
			.chain(DEV_VERIFIERS.map(demo_verifier))
			.collect(),
	)
}

/// Two validators (Alice, Bob), one executor (Charlie), three verifiers (Dave, Eve,
/// Ferdie); the development accounts are funded.
pub fn local_config_genesis() -> Value {
	testnet_genesis(
		vec![
			authority_keys(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			authority_keys(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
		],
		development_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		vec![
			demo_executor(Sr25519Keyring::Charlie),
			demo_verifier(Sr25519Keyring::Dave),
			demo_verifier(Sr25519Keyring::Eve),
			demo_verifier(Sr25519Keyring::Ferdie),
		],
	)
}

/// Two validators (Alice, Bob), two executors (Charlie, Dave) and three verifiers (Eve,
/// Ferdie, One: a challenge by one leaves a committee of the other two); each role meant
/// for its own node. The development accounts are funded.
pub fn testnet_config_genesis() -> Value {
	testnet_genesis(
		vec![
			authority_keys(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			authority_keys(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
		],
		development_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		vec![
			demo_executor(Sr25519Keyring::Charlie),
			demo_executor(Sr25519Keyring::Dave),
			demo_verifier(Sr25519Keyring::Eve),
			demo_verifier(Sr25519Keyring::Ferdie),
			demo_verifier(Sr25519Keyring::One),
		],
	)
}

/// The JSON genesis patch of the preset `id`, if the runtime has it.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_config_genesis(),
		TESTNET_PRESET => testnet_config_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// Names of the presets this runtime provides.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
		PresetId::from(TESTNET_PRESET),
	]
}
