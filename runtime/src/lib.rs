//! # HACA runtime
//!
//! The runtime of HACA chain, an appchain for verifiable AI inference: executor nodes run
//! ONNX models off chain, and this runtime checks cheap proofs of that work and settles
//! payment. This crate composes the FRAME pallets ([`configs`]), exposes the runtime APIs
//! ([`apis`]) and the genesis presets ([`genesis_config_presets`]).

#![cfg_attr(not(feature = "std"), no_std)]
// `#[frame_support::runtime]` expands to many items; give its recursion room.
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

use alloc::vec::Vec;

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
pub mod configs;
pub mod genesis_config_presets;
pub mod weights;

use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiAddress, MultiSignature,
};
use sp_version::{runtime_version, RuntimeVersion};

pub use frame_system::Call as SystemCall;
pub use pallet_balances::Call as BalancesCall;
pub use pallet_timestamp::Call as TimestampCall;
#[cfg(any(feature = "std", test))]
pub use sp_runtime::BuildStorage;

/// Opaque types, used by the node to handle blocks without knowing the runtime's
/// extrinsic format.
pub mod opaque {
	use super::*;
	use sp_runtime::traits::Hash as HashT;

	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block identifier type.
	pub type BlockId = generic::BlockId<Block>;
	/// Opaque block hash type.
	pub type Hash = <BlakeTwo256 as HashT>::Output;
}

impl_opaque_keys! {
	/// The session keys of a node: BABE for authoring, GRANDPA for finality, and the
	/// executor key (`author_rotateKeys` generates all three).
	pub struct SessionKeys {
		/// Block authoring key; its VRF outputs are the chain's randomness.
		pub babe: Babe,
		/// Finality voting key.
		pub grandpa: Grandpa,
		/// Executor key that signs inference results (`infr`).
		pub inference: Executors,
	}
}

/// The runtime's version; `spec_version` must grow with every runtime upgrade.
#[runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("haca"),
	impl_name: alloc::borrow::Cow::Borrowed("haca-node"),
	authoring_version: 1,
	spec_version: 100,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// Target block time. BABE produces at most one block per slot.
pub const MILLI_SECS_PER_BLOCK: u64 = 6000;

/// BABE slot duration. It cannot change once the chain has started.
pub const SLOT_DURATION: u64 = MILLI_SECS_PER_BLOCK;

/// Slots per BABE epoch: the authorities' VRF outputs of one epoch seed the next one's.
pub const EPOCH_DURATION_IN_SLOTS: u64 = HOURS as u64;

/// BABE's chance that a slot has a primary (VRF-elected) author, `c` of BABE's paper; the
/// other slots go to a secondary author, who also publishes a VRF output.
pub const PRIMARY_PROBABILITY: (u64, u64) = (1, 4);

/// The BABE epoch configuration of every preset.
pub const BABE_GENESIS_EPOCH_CONFIG: sp_consensus_babe::BabeEpochConfiguration =
	sp_consensus_babe::BabeEpochConfiguration {
		c: PRIMARY_PROBABILITY,
		allowed_slots: sp_consensus_babe::AllowedSlots::PrimaryAndSecondaryVRFSlots,
	};

/// Blocks per minute.
pub const MINUTES: BlockNumber = 60_000 / (MILLI_SECS_PER_BLOCK as BlockNumber);
/// Blocks per hour.
pub const HOURS: BlockNumber = MINUTES * 60;
/// Blocks per day.
pub const DAYS: BlockNumber = HOURS * 24;

/// One token (HACA) in plancks: 12 decimals.
pub const UNIT: Balance = 1_000_000_000_000;
/// One thousandth of a token.
pub const MILLI_UNIT: Balance = 1_000_000_000;
/// One millionth of a token.
pub const MICRO_UNIT: Balance = 1_000_000;

/// The smallest balance an account may hold.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// Signature of transactions.
pub type Signature = MultiSignature;

/// Account identifier: the public key of the transaction signing scheme.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;

/// Balance of an account.
pub type Balance = u128;

/// Number of transactions an account has sent.
pub type Nonce = u32;

/// Hash type of blocks and storage.
pub type Hash = sp_core::H256;

/// Block number.
pub type BlockNumber = u32;

/// Address format of extrinsic senders.
pub type Address = MultiAddress<AccountId, ()>;

/// Block header type.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;

/// Block type.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// Transaction extensions checked on every transaction. `AuthorizeCall` comes first: it
/// lets calls with their own authorization (executors' signed statements) go without a fee
/// payer.
pub type TxExtension = (
	frame_system::AuthorizeCall<Runtime>,
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
);

/// The extensions of an immortal transaction with `nonce` and no tip: what the off-chain
/// worker's authorized transactions carry (nonce 0) and what a simple wallet signs.
pub fn tx_extension(nonce: Nonce) -> TxExtension {
	(
		frame_system::AuthorizeCall::new(),
		frame_system::CheckNonZeroSender::new(),
		frame_system::CheckSpecVersion::new(),
		frame_system::CheckTxVersion::new(),
		frame_system::CheckGenesis::new(),
		frame_system::CheckEra::from(generic::Era::Immortal),
		frame_system::CheckNonce::from(nonce),
		frame_system::CheckWeight::new(),
		pallet_transaction_payment::ChargeTransactionPayment::from(0),
	)
}

/// `call` from `signer` with `nonce`, immortal and without a tip, signed as a wallet signs
/// it for the chain whose genesis block hash is `genesis`.
#[cfg(feature = "std")]
pub fn signed_transaction(
	call: RuntimeCall,
	signer: &sp_core::sr25519::Pair,
	nonce: Nonce,
	genesis: Hash,
) -> UncheckedExtrinsic {
	use codec::Encode;
	use sp_core::Pair;
	let extension = tx_extension(nonce);
	let implicit =
		((), (), VERSION.spec_version, VERSION.transaction_version, genesis, genesis, (), (), ());
	let payload = SignedPayload::from_raw(call.clone(), extension.clone(), implicit);
	let signature = payload.using_encoded(|bytes| signer.sign(bytes));
	UncheckedExtrinsic::new_signed(
		call,
		MultiAddress::Id(signer.public().into()),
		MultiSignature::Sr25519(signature),
		extension,
	)
}

/// Extrinsic type as the runtime sees it.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;

/// The payload that signers of transactions sign.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Storage migrations run on runtime upgrade, beyond those of the pallets.
type Migrations = ();

/// Dispatches extrinsics to the pallets and runs the block life cycle.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

#[frame_support::runtime]
mod runtime {
	/// The HACA runtime.
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	/// Accounts, blocks and events.
	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	/// On-chain time, set by the block author.
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;

	/// Block authoring in slots, and the VRF randomness the chain's draws use.
	#[runtime::pallet_index(2)]
	pub type Babe = pallet_babe;

	/// Block finality.
	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;

	/// The native token.
	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;

	/// Transaction fees.
	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;

	/// Privileged calls by one key (development and bootstrap).
	#[runtime::pallet_index(6)]
	pub type Sudo = pallet_sudo;

	/// Registry of ONNX models by content hash.
	#[runtime::pallet_index(10)]
	pub type Models = pallet_models;

	/// Registry of executors and verifiers, with bonds.
	#[runtime::pallet_index(11)]
	pub type Executors = pallet_executors;

	/// Job registration: escrow, assignment, deadlines, refunds.
	#[runtime::pallet_index(12)]
	pub type Jobs = pallet_jobs;

	/// Proof settlement: statements, challenges, quorums, payment, slashing.
	#[runtime::pallet_index(13)]
	pub type Settlement = pallet_settlement;
}
