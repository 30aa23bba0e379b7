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

/// The trace of `input` through the dispute graph of the model in `bytes`.
pub(crate) fn trace(bytes: &[u8], input: &[u8]) -> Result<TraceRun, InferenceError> {
	let (graph, values) = run(bytes, input)?;
	let outputs: Vec<&Tensor> =
		graph.header.outputs.iter().map(|&value| &values[value as usize]).collect();
	Ok(TraceRun {
		header_proof: merkle::proof(&graph.leaves(), 0).unwrap_or_default(),
		leaves: graph.node_leaves(&values),
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
	let ours = graph.node_leaves(&values);
	if ours.len() != claimed.len() {
		return Ok(None);
	}
	let Some(index) = ours.iter().zip(claimed).position(|(ours, theirs)| ours != theirs) else {
		return Ok(None);
	};
	let step = graph.step(&values, index).ok_or(InferenceError::Execution)?;
	Ok(Some(StepRun {
		index: step.index,
		node: step.node,
		node_proof: step.node_proof,
		inputs: step.inputs.encode(),
		constant_proofs: step.constant_proofs,
		work: step.work,
	}))
}
