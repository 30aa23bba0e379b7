//! The circuit of the project's int8 MLP, compiled from its dispute graph, computes tract's
//! output bit for bit, and its proofs verify.

use codec::Encode;
use haca_engine::{lowering::lower, Plan};
use haca_primitives::tensor::{decode_tensors, Tensor, TensorSpec};
use haca_proof::{compile::compile, prover::prove, verify, Statement};

fn model() -> Vec<u8> {
	std::fs::read(format!("{}/../models/exports/int8_mlp/model.onnx", env!("CARGO_MANIFEST_DIR")))
		.expect("generated model")
}

/// Pseudo-random f32s in `low..high` (xorshift, fixed seed).
fn uniform(count: usize, low: f32, high: f32, seed: u64) -> Vec<f32> {
	let mut state = seed | 1;
	(0..count)
		.map(|_| {
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			low + (high - low) * ((state >> 40) as f32 / (1u64 << 24) as f32)
		})
		.collect()
}

#[test]
fn the_int8_mlp_circuit_computes_tracts_output_bit_for_bit() {
	let bytes = model();
	let circuit = compile(&lower(&bytes).unwrap().graph).unwrap();
	let shape: Vec<_> = circuit.layers.iter().map(|layer| (layer.inputs, layer.outputs)).collect();
	assert_eq!(shape, [(64, 64), (64, 10)]);
	// The hidden layer's ReLU is a Clip at its zero point.
	assert_eq!((circuit.layers[0].low, circuit.layers[0].high), (128, 255));
	let layout = circuit.layout().unwrap();

	let rows = 64;
	let spec = |width| {
		TensorSpec::new("t", haca_primitives::tensor::ElementType::F32, &[rows, width])
			.unwrap()
			.with_variable_axes(&[0])
	};
	let plan = Plan::compile(&bytes, &[spec(64)], &[spec(10)]).unwrap();
	let mut samples = 0;
	// Inputs around the quantiser's range (0 to 10), beyond it on both sides, and wide.
	for (batch, (low, high)) in
		[(0.0, 8.0), (-2.0, 12.0), (-50.0, 50.0)].iter().cycle().take(24).enumerate()
	{
		let values = uniform((rows * 64) as usize, *low, *high, batch as u64 + 1);
		let input = Tensor::from_f32(&[rows, 64], &values).unwrap();
		let tract = decode_tensors(&plan.run(&vec![input.clone()].encode()).unwrap()).unwrap();
		let quanta = circuit.input_quanta(&input).unwrap();
		let outputs: Vec<i32> =
			quanta.chunks(64).flat_map(|sample| circuit.evaluate(&layout, sample)).collect();
		assert_eq!(circuit.output_tensor(&outputs).unwrap(), tract[0], "batch {batch}");
		samples += rows;
	}
	assert_eq!(samples, 24 * 64);
}

#[test]
fn a_proven_int8_mlp_run_verifies() {
	let bytes = model();
	let circuit = compile(&lower(&bytes).unwrap().graph).unwrap();
	for samples in [1, 3] {
		let input =
			Tensor::from_f32(&[samples, 64], &uniform(64 * samples as usize, 0.0, 8.0, 9)).unwrap();
		let quanta = circuit.input_quanta(&input).unwrap();
		let (outputs, proof) = prove(&circuit, [3; 32], &quanta).unwrap();
		let statement = Statement::new(circuit.clone(), [3; 32], quanta, outputs).unwrap();
		assert_eq!(verify(statement, &proof), Ok(()));
		assert!(proof.len() < 200 * 1024, "{} bytes", proof.len());
	}
}
