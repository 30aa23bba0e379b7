//! The host side of `inference::run_batch` over the real engine.

use codec::Encode;
use haca_engine::{lowering, npy, Engine};
use haca_inference::{run_and_hash, InferenceError, InferenceHost, ModelSpecs};
use haca_primitives::tensor::{ElementType, TensorSpec};

fn models_dir() -> std::path::PathBuf {
	std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// The generated MLP's input with its first element set to `first`.
fn mlp_input(first: f32) -> Vec<u8> {
	let mut tensor =
		npy::read(&std::fs::read(models_dir().join("mlp.input.npy")).unwrap()).unwrap();
	tensor.data[..4].copy_from_slice(&first.to_le_bytes());
	vec![tensor].encode()
}

/// The generated MLP, its hash and its registered specs (with its dispute graph).
fn mlp() -> (Vec<u8>, [u8; 32], ModelSpecs) {
	let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
	let hash = sp_crypto_hashing::blake2_256(&bytes);
	let specs = ModelSpecs {
		inputs: vec![TensorSpec::new("input", ElementType::F32, &[1, 4]).unwrap()],
		outputs: vec![TensorSpec::new("output", ElementType::F32, &[1, 3]).unwrap()],
		graph: Some(lowering::lower(&bytes).unwrap().graph.commitment()),
	};
	(bytes, hash, specs)
}

/// An engine with the generated MLP loaded through the host interface.
fn engine_with_mlp() -> (Engine, [u8; 32]) {
	let engine = Engine::new(Default::default(), None);
	let (bytes, hash, specs) = mlp();
	InferenceHost::load(&engine, &hash, Some(bytes), &specs).unwrap();
	(engine, hash)
}

#[test]
fn a_model_whose_recorded_graph_differs_is_not_loaded() {
	let engine = Engine::new(Default::default(), None);
	let (bytes, hash, mut specs) = mlp();
	let graph = specs.graph.as_mut().unwrap();
	graph.weights_root.0[0] ^= 1;
	assert_eq!(
		InferenceHost::load(&engine, &hash, Some(bytes.clone()), &specs),
		Err(InferenceError::GraphMismatch)
	);
	assert!(!InferenceHost::is_loaded(&engine, &hash));
	// Committee-decided models (no graph recorded) load without one.
	specs.graph = None;
	InferenceHost::load(&engine, &hash, Some(bytes), &specs).unwrap();
	assert!(InferenceHost::is_loaded(&engine, &hash));
}

#[test]
fn the_host_side_hashes_each_output_of_a_batch() {
	let (engine, hash) = engine_with_mlp();
	let inputs: Vec<Vec<u8>> = (0..9).map(|step| mlp_input(step as f32)).collect();
	let mut batch: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
	batch.insert(3, b"not an input");
	let executed = run_and_hash(&engine, &hash, &batch).unwrap().0;
	assert_eq!(executed.len(), 10);
	assert_eq!(executed[3], Err(InferenceError::BadInput));
	for (input, executed) in batch.iter().zip(&executed).filter(|(_, result)| result.is_ok()) {
		let executed = executed.as_ref().unwrap();
		assert_eq!(executed.outputs, engine.run(&hash, input).unwrap());
		assert_eq!(executed.output_hash, sp_crypto_hashing::blake2_256(&executed.outputs));
	}
}

#[test]
fn engine_errors_reach_the_runtime_by_their_kind() {
	let (engine, hash) = engine_with_mlp();
	let unknown = [7u8; 32];
	assert_eq!(run_and_hash(&engine, &unknown, &[]), Err(InferenceError::ModelUnavailable));
	let specs = ModelSpecs { inputs: vec![], outputs: vec![], graph: None };
	assert_eq!(
		InferenceHost::load(&engine, &unknown, None, &specs),
		Err(InferenceError::ModelUnavailable),
		"no bytes given and none in the model store"
	);
	assert_eq!(
		InferenceHost::load(&engine, &unknown, Some(b"not onnx".to_vec()), &specs),
		Err(InferenceError::InvalidModel),
		"bytes that do not hash to the model"
	);
	assert!(InferenceHost::is_loaded(&engine, &hash));
}
