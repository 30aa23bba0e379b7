//! Proving on the native side: a model's circuit, compiled from its dispute graph and held
//! to its registered hash, proven on a job's input within the engine's timeout.

use alloc::vec::Vec;
use codec::Encode;
use core::time::Duration;
use haca_engine::{lowering, EngineError};
use haca_primitives::tensor::decode_tensors;
use haca_proof::{compile::compile, prover};
use sp_core::H256;

use crate::Proved;

/// Proves the run on `input` of the circuit of the model in `bytes`, bound to `binding`,
/// if the circuit hashes to `registered`; waits for the proof at most `timeout`.
pub(crate) fn prove(
	bytes: &[u8],
	registered: &H256,
	binding: [u8; 32],
	input: &[u8],
	timeout: Duration,
) -> Result<Proved, EngineError> {
	let mismatch = |reason: String| EngineError::GraphMismatch(reason);
	let graph = lowering::lower(bytes)
		.map_err(|error| mismatch(format!("the model has no circuit: {error}")))?
		.graph;
	let input = match decode_tensors(input).as_deref() {
		Ok([input]) => input.clone(),
		_ => return Err(EngineError::Execution("the circuit takes one input tensor".into())),
	};
	let sample = input.shape.get(1..).unwrap_or_default();
	let circuit = compile(&graph, sample)
		.map_err(|error| mismatch(format!("the model has no circuit: {error:?}")))?;
	let compiled = H256(sp_crypto_hashing::blake2_256(&circuit.encode()));
	if compiled != *registered {
		return Err(mismatch(format!(
			"does not match its registered circuit: {registered:?} registered, {compiled:?} compiled"
		)));
	}
	// Registration holds the circuit to the model's input spec, which the input matches.
	let quanta = circuit.input_quanta(&input).ok_or_else(|| {
		EngineError::Execution("the input does not convert to the circuit's quanta".into())
	})?;
	// Proving takes time in proportion to the circuit, which its registration bounds: on a
	// thread of its own, waited for at most `timeout` (a late proof is dropped).
	let (sender, receiver) = std::sync::mpsc::channel();
	let proving = circuit.clone();
	std::thread::spawn(move || {
		let _ = sender.send(prover::prove(&proving, binding, &quanta));
	});
	let (outputs, proof) = match receiver.recv_timeout(timeout) {
		Ok(proved) => {
			proved.map_err(|error| EngineError::Execution(format!("proving failed: {error:?}")))?
		}
		Err(std::sync::mpsc::RecvTimeoutError::Timeout) => return Err(EngineError::Timeout),
		Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
			return Err(EngineError::Execution("the prover stopped".into()))
		}
	};
	let tensor = circuit
		.output_tensor(&outputs)
		.ok_or_else(|| EngineError::Execution("the proven quanta have no tensor".into()))?;
	let output_hash = sp_crypto_hashing::blake2_256(&alloc::vec![tensor].encode());
	let quanta: Vec<u8> = outputs.iter().map(|&quantum| quantum as u8).collect();
	Ok(Proved { quanta, output_hash, proof })
}
