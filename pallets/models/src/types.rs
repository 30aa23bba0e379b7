//! Types of the model registry.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	traits::Get, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	dispute::GraphCommitment, proof::CircuitCommitment, traits::TensorSpecs, ModeSet,
};
use scale_info::TypeInfo;

use crate::{BalanceOf, Config};

/// Where executors get a model's bytes from.
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
#[scale_info(skip_type_params(MaxLocatorLen, MaxLocators))]
pub enum ModelSource<MaxLocatorLen: Get<u32>, MaxLocators: Get<u32>> {
	/// Uploaded to chain state in chunks ([`crate::Chunks`]); any executor can load it.
	OnChain,
	/// Kept off chain: nodes that hold it serve it to their peers, and its locators, one or
	/// more `http://` or `https://` URIs ([`well_formed_locator`]) tried in order, serve it
	/// to any node. A node checks the size and hash of what it fetches.
	OffChain(BoundedVec<BoundedVec<u8, MaxLocatorLen>, MaxLocators>),
}

/// Where a model's bytes are, in the runtime's bounds.
pub type ModelSourceOf<T> = ModelSource<<T as Config>::MaxLocatorLen, <T as Config>::MaxLocators>;

/// Whether `locator` is an `http://` or `https://` URI with a host: the scheme, then a
/// non-empty authority of letters, digits and `.-_~:@[]%`, then nothing or a path of
/// visible ASCII (no spaces or control characters).
pub fn well_formed_locator(locator: &[u8]) -> bool {
	let Some(rest) = locator.strip_prefix(b"https://").or_else(|| locator.strip_prefix(b"http://"))
	else {
		return false;
	};
	let authority_len = rest.iter().position(|&byte| byte == b'/').unwrap_or(rest.len());
	let (authority, path) = rest.split_at(authority_len);
	let authority_byte = |byte: &u8| byte.is_ascii_alphanumeric() || b".-_~:@[]%".contains(byte);
	!authority.is_empty()
		&& authority.iter().all(authority_byte)
		&& path.iter().all(|byte| byte.is_ascii_graphic())
}

/// Life cycle of a model.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub enum ModelStatus {
	/// On-chain bytes are being uploaded; `chunks` of them are in.
	Uploading {
		/// Chunks uploaded so far (they arrive in order).
		chunks: u32,
	},
	/// Accepts jobs.
	Active,
	/// Takes no new jobs; purged (deposit returned) once no job references it.
	Retired,
	/// Found not to load or run; takes no new jobs.
	Broken,
}

/// What a registration states about a model besides where its bytes are: its tensors, the
/// verification modes it accepts, its fee and its float tolerance.
#[derive(Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
pub struct ModelTerms<Balance> {
	/// Input tensors, in graph order.
	pub inputs: TensorSpecs,
	/// Output tensors, in graph order.
	pub outputs: TensorSpecs,
	/// Verification modes the model accepts.
	pub modes: ModeSet,
	/// Fee per inference run, paid to each executor that runs it.
	pub fee: Balance,
	/// Largest distance, in units of least precision, at which two float outputs count as
	/// equal (0: bit-identical).
	pub tolerance_ulps: u32,
	/// Its dispute graph (`haca-node inspect` prints it): the chain decides disputes over
	/// its results by re-executing one operator. `None` leaves them to a committee.
	pub graph: Option<GraphCommitment>,
}

/// A model's terms in the runtime's balance.
pub type ModelTermsOf<T> = ModelTerms<BalanceOf<T>>;

/// A registered model.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct ModelInfo<T: Config> {
	/// Who registered the model and paid its deposit.
	pub owner: T::AccountId,
	/// Size of the ONNX file in bytes.
	pub byte_size: u32,
	/// Where the bytes are.
	pub source: ModelSourceOf<T>,
	/// Input tensors, in graph order.
	pub inputs: TensorSpecs,
	/// Output tensors, in graph order.
	pub outputs: TensorSpecs,
	/// Verification modes the model accepts.
	pub modes: ModeSet,
	/// Fee per inference run, paid to each executor that runs it.
	pub fee: BalanceOf<T>,
	/// Largest distance, in units of least precision, at which two float outputs count as
	/// equal (0: bit-identical).
	pub tolerance_ulps: u32,
	/// Its dispute graph, when the chain decides disputes over its results.
	pub graph: Option<GraphCommitment>,
	/// Its circuit, when it accepts proven jobs (the bytes are in [`crate::Circuits`]).
	pub circuit: Option<CircuitCommitment>,
	/// Life-cycle status.
	pub status: ModelStatus,
	/// Block of the registration (an upload lapses `UploadPeriod` blocks after it).
	pub registered_at: BlockNumberFor<T>,
	/// Deposit held from the owner for the storage the model uses.
	pub deposit: BalanceOf<T>,
	/// Jobs that reference the model and have not ended.
	pub job_references: u32,
}

/// A model registered and uploaded at genesis; its owner pays the usual deposit. In a chain
/// spec, a named object whose bytes are hex.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisModel<AccountId, Balance> {
	/// Who owns it.
	pub owner: AccountId,
	/// The ONNX bytes.
	#[serde(with = "sp_core::bytes")]
	pub bytes: alloc::vec::Vec<u8>,
	/// Its input tensors.
	pub inputs: alloc::vec::Vec<haca_primitives::tensor::TensorSpec>,
	/// Its output tensors.
	pub outputs: alloc::vec::Vec<haca_primitives::tensor::TensorSpec>,
	/// The verification modes it accepts.
	pub modes: ModeSet,
	/// Fee per run.
	pub fee: Balance,
	/// How far apart float outputs may be and still agree, in units of least precision.
	pub tolerance_ulps: u32,
	/// Its dispute graph, if the chain decides its disputes.
	#[serde(default)]
	pub graph: Option<GraphCommitment>,
	/// Its circuit (hex), if it accepts proven jobs.
	#[serde(default)]
	pub circuit: Option<sp_core::Bytes>,
}
