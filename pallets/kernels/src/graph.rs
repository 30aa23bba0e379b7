//! A dispute graph: a model lowered to [`Op`]s, and the Merkle roots that commit to it, to its
//! weights and to a run of it (a trace).
//!
//! Values are numbered: the graph's inputs first, then its constants (weights), then each
//! node's output in node order; a node reads only values numbered before its own output.
//! - The graph root is the Merkle root over the [`Header`] and then each [`Node`], each
//!   SCALE-encoded.
//! - The weights root is the Merkle root over the constants, each in the canonical tensor
//!   encoding.
//! - A trace root is the Merkle root over each node's output, in the canonical tensor
//!   encoding, in node order.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use haca_primitives::{
	dispute::GraphCommitment,
	merkle,
	tensor::{Tensor, MAX_TENSORS},
};
use scale_info::TypeInfo;
use sp_core::{ConstU32, H256};
use sp_runtime::BoundedVec;

use crate::{run, KernelError, Op};

pub use haca_primitives::dispute::LOWERING_VERSION;

/// Most inputs a node reads (`QLinearConv` with its bias reads nine).
pub const MAX_NODE_INPUTS: u32 = 9;

/// The number of a value of the graph.
pub type ValueId = u32;

/// What the graph takes and gives, the first leaf of its root.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct Header {
	/// [`LOWERING_VERSION`] of the lowering that made the graph.
	pub version: u32,
	/// Number of graph inputs (values `0..inputs`).
	pub inputs: u32,
	/// Number of constants (the values after the inputs).
	pub constants: u32,
	/// The values the graph gives, in the model's output order.
	pub outputs: BoundedVec<ValueId, ConstU32<MAX_TENSORS>>,
}

/// One operator applied to earlier values; its output is the next value.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct Node {
	/// The operator.
	pub op: Op,
	/// The values it reads, in the operator's input order.
	pub inputs: BoundedVec<ValueId, ConstU32<MAX_NODE_INPUTS>>,
}

/// A model's dispute graph.
#[derive(Clone, PartialEq, Debug)]
pub struct Graph {
	/// Inputs, constants, outputs.
	pub header: Header,
	/// The constants, in value order.
	pub constants: Vec<Tensor>,
	/// The operators, in value order.
	pub nodes: Vec<Node>,
}

impl Header {
	/// The constant (its index among the constants) that `value` is, if it is one.
	pub fn constant_of(&self, value: ValueId) -> Option<u32> {
		value.checked_sub(self.inputs).filter(|&constant| constant < self.constants)
	}

	/// The node whose output `value` is, if it is one.
	pub fn node_of(&self, value: ValueId) -> Option<u32> {
		value.checked_sub(self.inputs.checked_add(self.constants)?)
	}
}

/// What proves one node's output: the node with its Merkle proof against the graph root,
/// the values it reads, each constant's Merkle proof against the weights root (in input
/// order), and the work the node takes ([`crate::work`]).
#[derive(Clone, PartialEq, Debug)]
pub struct Step {
	/// The node's index.
	pub index: u32,
	/// The node.
	pub node: Node,
	/// Its proof: leaf `index + 1` of the graph root.
	pub node_proof: Vec<H256>,
	/// The values it reads, in its input order.
	pub inputs: Vec<Tensor>,
	/// The proof of each input that is a constant, in input order.
	pub constant_proofs: Vec<Vec<H256>>,
	/// The work it takes.
	pub work: u64,
}

/// A run of a graph: each node's output hash, their root, and the graph's outputs.
#[derive(Clone, PartialEq, Debug)]
pub struct Trace {
	/// The leaf hash of each node's output, in node order.
	pub leaves: Vec<H256>,
	/// Their Merkle root.
	pub root: H256,
	/// The graph's outputs.
	pub outputs: Vec<Tensor>,
}

/// Why a graph cannot run on inputs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TraceError {
	/// Not as many inputs as the graph takes.
	InputCount,
	/// A node reads a value not computed before it, or an output is no value.
	Malformed { node: u32 },
	/// A node's operator failed on its inputs.
	Kernel { node: u32, error: KernelError },
}

impl Graph {
	/// The leaves of the graph root: the header's, then each node's.
	pub fn leaves(&self) -> Vec<H256> {
		let header = merkle::leaf_hash(&self.header.encode());
		let nodes = self.nodes.iter().map(|node| merkle::leaf_hash(&node.encode()));
		core::iter::once(header).chain(nodes).collect()
	}

	/// The Merkle root over the header and the nodes.
	pub fn root(&self) -> H256 {
		merkle::root(&self.leaves())
	}

	/// The leaves of the weights root: each constant's.
	pub fn weight_leaves(&self) -> Vec<H256> {
		self.constants.iter().map(|constant| merkle::leaf_hash(&constant.encode())).collect()
	}

	/// The Merkle root over the constants.
	pub fn weights_root(&self) -> H256 {
		merkle::root(&self.weight_leaves())
	}

	/// What a registration records about the graph, whose largest inputs are `inputs` (work
	/// grows with the shapes, not the values).
	pub fn commitment(&self, inputs: &[Tensor]) -> Result<GraphCommitment, TraceError> {
		let values = self.values(inputs)?;
		let (mut largest_step, mut largest_step_bytes) = (0, 0);
		for node in &self.nodes {
			let reads = Self::reads(node, &values);
			largest_step = largest_step.max(crate::work(&node.op, &reads));
			let bytes = u32::try_from(reads.encoded_size()).unwrap_or(u32::MAX);
			largest_step_bytes = largest_step_bytes.max(bytes);
		}
		Ok(GraphCommitment {
			lowering: self.header.version,
			graph_root: self.root(),
			weights_root: self.weights_root(),
			nodes: self.nodes.len() as u32,
			largest_step,
			largest_step_bytes,
		})
	}

	/// Runs the graph on `inputs`, every node by its kernel.
	pub fn trace(&self, inputs: &[Tensor]) -> Result<Trace, TraceError> {
		let values = self.values(inputs)?;
		let leaves = self.node_leaves(&values);
		let outputs = self
			.header
			.outputs
			.iter()
			.map(|&value| values.get(value as usize).cloned())
			.collect::<Option<Vec<_>>>()
			.ok_or(TraceError::Malformed { node: self.nodes.len() as u32 })?;
		Ok(Trace { root: merkle::root(&leaves), leaves, outputs })
	}

	/// The output hash of each node of a run whose values are `values` ([`Graph::values`]).
	pub fn node_leaves(&self, values: &[Tensor]) -> Vec<H256> {
		let first_node = values.len().saturating_sub(self.nodes.len());
		values[first_node..].iter().map(|value| merkle::leaf_hash(&value.encode())).collect()
	}

	/// What proves node `index`'s output in a run whose values are `values`
	/// ([`Graph::values`]); `None` if there is no such node.
	pub fn step(&self, values: &[Tensor], index: usize) -> Option<Step> {
		let node = self.nodes.get(index)?.clone();
		let inputs = Self::reads(&node, values);
		let weight_leaves = self.weight_leaves();
		let constant_proofs = node
			.inputs
			.iter()
			.filter_map(|&value| self.header.constant_of(value))
			.map(|constant| merkle::proof(&weight_leaves, constant as usize))
			.collect::<Option<_>>()?;
		Some(Step {
			index: index as u32,
			node_proof: merkle::proof(&self.leaves(), index + 1)?,
			work: crate::work(&node.op, &inputs),
			inputs,
			constant_proofs,
			node,
		})
	}

	/// The values `node` reads in a run whose values are `values`.
	fn reads(node: &Node, values: &[Tensor]) -> Vec<Tensor> {
		node.inputs.iter().filter_map(|&value| values.get(value as usize).cloned()).collect()
	}

	/// Every value of the graph's run on `inputs`, in value order: the inputs, the
	/// constants, then each node's output.
	pub fn values(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TraceError> {
		if inputs.len() != self.header.inputs as usize
			|| self.constants.len() != self.header.constants as usize
		{
			return Err(TraceError::InputCount);
		}
		let mut values: Vec<Tensor> = inputs.iter().chain(&self.constants).cloned().collect();
		for (index, node) in self.nodes.iter().enumerate() {
			let index = index as u32;
			let reads = node
				.inputs
				.iter()
				.map(|&value| values.get(value as usize).cloned())
				.collect::<Option<Vec<_>>>()
				.ok_or(TraceError::Malformed { node: index })?;
			let mut outputs =
				run(&node.op, &reads).map_err(|error| TraceError::Kernel { node: index, error })?;
			let output = outputs.pop().filter(|_| outputs.is_empty());
			values.push(output.ok_or(TraceError::Malformed { node: index })?);
		}
		Ok(values)
	}
}
