//! What a dispute the chain decides itself is about: the model's dispute graph, a lowering
//! of its ONNX graph to operators the runtime re-executes one at a time (the graph itself,
//! its kernels and the lowering are `haca_kernels` and `haca_engine::lowering`).

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use serde::{Deserialize, Serialize};
use sp_core::H256;

/// The version of the lowering, of the graph format, of the kernels' arithmetic and of the
/// work each operator counts: the first leaf of every graph commits to it, so a graph
/// lowered by another version has another root and an engine of another version refuses
/// the model rather than diverge.
pub const LOWERING_VERSION: u32 = 2;

/// What a model's registration records about its dispute graph, as `haca-node inspect`
/// prints it. Executors and verifiers lower the model themselves and refuse to serve or
/// audit it when anything here differs.
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
	Serialize,
	Deserialize,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GraphCommitment {
	/// The [`LOWERING_VERSION`] the graph was lowered by.
	pub lowering: u32,
	/// Merkle root over the graph's header and its nodes.
	pub graph_root: H256,
	/// Merkle root over the graph's constants (weights).
	pub weights_root: H256,
	/// Number of nodes (operators).
	pub nodes: u32,
	/// The most work (`haca_kernels::work`) one node takes at the model's largest input
	/// shapes: what the costliest proof of a step is charged for.
	pub largest_step: u64,
	/// The most bytes one node's inputs take, encoded, at the model's largest input shapes:
	/// what the largest proof of a step carries.
	pub largest_step_bytes: u32,
}
