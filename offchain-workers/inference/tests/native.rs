//! The host side of `inference::run_batch` over the real engine.

use codec::Encode;
use haca_engine::{lowering, npy, Engine};
use haca_inference::{run_and_hash, InferenceError, InferenceHost, MappedOutputs, ModelSpecs};
use haca_primitives::tensor::{ElementType, TensorSpec};
use sp_core::H256;

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
	let inputs = vec![TensorSpec::new("input", ElementType::F32, &[1, 4]).unwrap()];
	let specs = ModelSpecs {
		graph: Some(lowering::commitment(&bytes, &inputs).unwrap()),
		inputs,
		outputs: vec![TensorSpec::new("output", ElementType::F32, &[1, 3]).unwrap()],
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
	let why = InferenceHost::load_failure(&engine, &hash).expect("the failure is explained");
	assert!(why.contains("does not match its registered dispute graph"), "{why}");
	// Committee-decided models (no graph recorded) load without one, and the old
	// explanation goes.
	specs.graph = None;
	InferenceHost::load(&engine, &hash, Some(bytes), &specs).unwrap();
	assert!(InferenceHost::is_loaded(&engine, &hash));
	assert_eq!(InferenceHost::load_failure(&engine, &hash), None);
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
	assert_eq!(
		InferenceHost::load_failure(&engine, &unknown).as_deref(),
		Some("model bytes do not match the model hash")
	);
	assert!(InferenceHost::is_loaded(&engine, &hash));
}

#[test]
fn a_trace_proves_the_first_step_another_trace_got_wrong() {
	use haca_primitives::{merkle, tensor::decode_tensors};
	let engine = Engine::new(Default::default(), None);
	let (bytes, hash, specs) = mlp();
	let graph = specs.graph.unwrap();
	let input = mlp_input(0.5);
	let run = InferenceHost::trace(&engine, &hash, Some(bytes.clone()), &input).unwrap();
	assert_eq!(run.leaves.len() as u32, graph.nodes);
	let header_leaf = merkle::leaf_hash(&run.header.encode());
	assert!(merkle::verify(graph.graph_root, header_leaf, 0, graph.nodes + 1, &run.header_proof));
	// The trace ends within the model's tolerance of the engine's run.
	InferenceHost::load(&engine, &hash, Some(bytes.clone()), &specs).unwrap();
	let engine_outputs = decode_tensors(&engine.run(&hash, &input).unwrap()).unwrap();
	let trace_outputs = decode_tensors(&run.outputs).unwrap();
	assert!(haca_primitives::tensor::tensors_agree(&trace_outputs, &engine_outputs, 8));

	let wrong_step = |claimed: &[H256]| {
		InferenceHost::wrong_step(&engine, &hash, Some(bytes.clone()), &input, claimed).unwrap()
	};
	assert_eq!(wrong_step(&run.leaves), None, "every step of its own trace holds");
	let mut claimed = run.leaves.clone();
	claimed[2] = H256::repeat_byte(9);
	claimed[3] = H256::repeat_byte(9);
	let step = wrong_step(&claimed).expect("step 2 is wrong");
	assert_eq!(step.index, 2);
	let node_leaf = merkle::leaf_hash(&step.node.encode());
	assert!(merkle::verify(graph.graph_root, node_leaf, 3, graph.nodes + 1, &step.node_proof));
	let inputs = decode_tensors(&step.inputs).unwrap();
	assert_eq!(step.work, haca_kernels::work(&step.node.op, &inputs));
	let output = haca_kernels::run(&step.node.op, &inputs).unwrap().remove(0);
	assert_eq!(merkle::leaf_hash(&output.encode()), run.leaves[2]);

	// A lying engine's trace stands by its lie, and its last step is wrong.
	let other = std::sync::Arc::new(Engine::new(Default::default(), None));
	let liar = MappedOutputs { engine: other, map: |outputs| *outputs.last_mut().unwrap() ^= 1 };
	let lie = InferenceHost::trace(&liar, &hash, Some(bytes.clone()), &input).unwrap();
	assert_ne!(lie.outputs, run.outputs);
	assert_eq!(lie.leaves[..3], run.leaves[..3]);
	let last = decode_tensors(&lie.outputs).unwrap().remove(0);
	assert_eq!(lie.leaves[3], merkle::leaf_hash(&last.encode()));
	assert_eq!(wrong_step(&lie.leaves).map(|step| step.index), Some(3));
}
