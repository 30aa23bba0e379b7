//! Runs through a model's dispute graph on the native side: the trace a disputed executor
//! submits, and the proof of the first step a claimed trace got wrong.

use alloc::vec::Vec;
use codec::Encode;
use haca_engine::lowering;
use haca_kernels::graph::Graph;
use haca_primitives::{
	merkle,
	tensor::{decode_tensors, Tensor},
};
use sp_core::H256;

use crate::{InferenceError, StepRun, TraceRun};

/// The model's dispute graph and every value of its run on `input`.
fn run(bytes: &[u8], input: &[u8]) -> Result<(Graph, Vec<Tensor>), InferenceError> {
	let graph = lowering::lower(bytes).map_err(|_| InferenceError::GraphMismatch)?.graph;
	let input = decode_tensors(input).map_err(|_| InferenceError::BadInput)?;
	let values = graph.values(&input).map_err(|_| InferenceError::Execution)?;
	Ok((graph, values))
}

/// The output hash of each node of a run's `values`.
fn leaves(graph: &Graph, values: &[Tensor]) -> Vec<H256> {
	let first_node = values.len() - graph.nodes.len();
	values[first_node..].iter().map(|value| merkle::leaf_hash(&value.encode())).collect()
}

/// The trace of `input` through the dispute graph of the model in `bytes`.
pub(crate) fn trace(bytes: &[u8], input: &[u8]) -> Result<TraceRun, InferenceError> {
	let (graph, values) = run(bytes, input)?;
	let outputs: Vec<&Tensor> =
		graph.header.outputs.iter().map(|&value| &values[value as usize]).collect();
	Ok(TraceRun {
		header_proof: merkle::proof(&graph.leaves(), 0).unwrap_or_default(),
		leaves: leaves(&graph, &values),
		outputs: outputs.encode(),
		header: graph.header,
	})
}

/// The first step of `input`'s run through the dispute graph of the model in `bytes` whose
/// output hashes to another leaf than `claimed` has for it, with its proofs; `None` if
/// every step agrees (or `claimed` is no trace of the graph).
pub(crate) fn wrong_step(
	bytes: &[u8],
	input: &[u8],
	claimed: &[H256],
) -> Result<Option<StepRun>, InferenceError> {
	let (graph, values) = run(bytes, input)?;
	let ours = leaves(&graph, &values);
	if ours.len() != claimed.len() {
		return Ok(None);
	}
	let Some(index) = ours.iter().zip(claimed).position(|(ours, theirs)| ours != theirs) else {
		return Ok(None);
	};
	let node = graph.nodes[index].clone();
	let inputs: Vec<Tensor> =
		node.inputs.iter().map(|&value| values[value as usize].clone()).collect();
	let (first_constant, constants) = (graph.header.inputs, graph.header.constants);
	let weight_leaves = graph.weight_leaves();
	let constant_proofs = node
		.inputs
		.iter()
		.filter_map(|&value| value.checked_sub(first_constant).filter(|&c| c < constants))
		.map(|constant| merkle::proof(&weight_leaves, constant as usize).unwrap_or_default())
		.collect();
	Ok(Some(StepRun {
		index: index as u32,
		node_proof: merkle::proof(&graph.leaves(), index + 1).unwrap_or_default(),
		work: haca_kernels::work(&node.op, &inputs),
		inputs: inputs.encode(),
		constant_proofs,
		node,
	}))
}
