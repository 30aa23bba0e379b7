//! The circuits of the project's int8 MLP and CNN, compiled from their dispute graphs,
//! compute tract's outputs bit for bit, and their proofs verify.

use codec::Encode;
use haca_engine::{lowering::lower, Plan};
use haca_primitives::tensor::{decode_tensors, ElementType, Tensor, TensorSpec};
use haca_proof::{
	circuit::Circuit,
	compile::{compile, CompileError},
	prover::prove,
	verify, Statement,
};

fn model(name: &str) -> Vec<u8> {
	std::fs::read(format!("{}/../models/exports/{name}/model.onnx", env!("CARGO_MANIFEST_DIR")))
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

/// The circuit of the export `name` (samples of shape `sample`, outputs of `output_type`
/// and shape `output` each) run on 1,536 random samples gives tract's outputs bit for bit:
/// inputs around the quantiser's range (0 to 10), beyond it on both sides, and wide. Its
/// outputs.
fn agrees_with_tract(
	name: &str,
	sample: &[u32],
	(output_type, output): (ElementType, &[u32]),
) -> (Circuit, Vec<Tensor>) {
	let bytes = model(name);
	let circuit = compile(&lower(&bytes).unwrap().graph, sample).unwrap();
	let layout = circuit.layout().unwrap();
	let rows = 64;
	let dims = |per_sample: &[u32]| [&[rows][..], per_sample].concat();
	let spec = |element_type, per_sample: &[u32]| {
		TensorSpec::new("t", element_type, &dims(per_sample)).unwrap().with_variable_axes(&[0])
	};
	let plan =
		Plan::compile(&bytes, &[spec(ElementType::F32, sample)], &[spec(output_type, output)])
			.unwrap();
	let width = sample.iter().product::<u32>() as usize;
	let mut outputs = Vec::new();
	for (batch, (low, high)) in
		[(0.0, 8.0), (-2.0, 12.0), (-50.0, 50.0)].iter().cycle().take(24).enumerate()
	{
		let values = uniform(rows as usize * width, *low, *high, batch as u64 + 1);
		let input = Tensor::from_f32(&dims(sample), &values).unwrap();
		let tract = decode_tensors(&plan.run(&vec![input.clone()].encode()).unwrap()).unwrap();
		let quanta = circuit.input_quanta(&input).unwrap();
		let computed: Vec<i32> =
			quanta.chunks(width).flat_map(|sample| circuit.evaluate(&layout, sample)).collect();
		assert_eq!(circuit.output_tensor(&computed).unwrap(), tract[0], "{name}, batch {batch}");
		outputs.push(tract[0].clone());
	}
	assert_eq!(outputs.len() * rows as usize, 24 * 64);
	(circuit, outputs)
}

/// Proofs of runs on 1 and 3 samples of shape `sample` verify, each under 200 KB.
fn proofs_verify(circuit: &Circuit, sample: &[u32]) {
	let width = sample.iter().product::<u32>();
	for samples in [1, 3] {
		let dims = [&[samples][..], sample].concat();
		let values = uniform((width * samples) as usize, 0.0, 8.0, 9);
		let quanta = circuit.input_quanta(&Tensor::from_f32(&dims, &values).unwrap()).unwrap();
		let (outputs, proof) = prove(circuit, [3; 32], &quanta).unwrap();
		let statement = Statement::new(circuit.clone(), [3; 32], quanta, outputs).unwrap();
		assert_eq!(verify(statement, &proof), Ok(()));
		assert!(proof.len() < 200 * 1024, "{} bytes", proof.len());
	}
}

#[test]
fn the_int8_mlp_circuit_computes_tracts_output_bit_for_bit_and_proves() {
	let (circuit, _) = agrees_with_tract("int8_mlp", &[64], (ElementType::F32, &[10]));
	let shape: Vec<_> = circuit.layers.iter().map(|layer| (layer.inputs, layer.outputs)).collect();
	assert_eq!(shape, [(64, 64), (64, 10)]);
	// The hidden layer's ReLU is a Clip at its zero point.
	assert_eq!((circuit.layers[0].low, circuit.layers[0].high), (128, 255));
	proofs_verify(&circuit, &[64]);
}

#[test]
fn the_int8_cnn_circuit_computes_tracts_output_bit_for_bit_and_proves() {
	let (circuit, _) = agrees_with_tract("int8_qcnn", &[1, 8, 8], (ElementType::F32, &[10]));
	// 1x8x8 → 4x4x4 → 8x2x2 (3x3 windows, stride 2, padded) → 10.
	let shape: Vec<_> = circuit.layers.iter().map(|layer| (layer.inputs, layer.outputs)).collect();
	assert_eq!(shape, [(64, 64), (64, 32), (32, 10)]);
	// A corner output of the first convolution sees 4 of the 9 weights, the rest padding.
	let first = &circuit.layers[0];
	assert_eq!(first.weights[..64].iter().filter(|&&weight| weight != 0).count(), 4);
	// The second convolution's biases are per filter, one for each 2x2 plane.
	assert_eq!(circuit.layers[1].bias[0], circuit.layers[1].bias[3]);
	proofs_verify(&circuit, &[1, 8, 8]);
}

#[test]
fn the_int8_cnn_classes_circuit_computes_tracts_classes_and_proves() {
	let (circuit, outputs) =
		agrees_with_tract("int8_qcnn_classes", &[1, 8, 8], (ElementType::I64, &[]));
	assert!(circuit.classes.is_some());
	// Many classes among the samples, so that a wrong index shows.
	let classes: std::collections::BTreeSet<&[u8]> =
		outputs.iter().flat_map(|tensor| tensor.data.chunks(8)).collect();
	assert!(classes.len() >= 4, "{} classes", classes.len());
	proofs_verify(&circuit, &[1, 8, 8]);
}

/// A shape the graph's first layer cannot read is refused by name.
#[test]
fn a_circuit_is_compiled_for_its_samples_shape() {
	let graph = lower(&model("int8_qcnn")).unwrap().graph;
	assert!(matches!(compile(&graph, &[64]), Err(CompileError::Shape { node: 1 })));
	assert!(matches!(compile(&graph, &[1, 9, 9]), Err(CompileError::Shape { node: 6 })));
	let graph = lower(&model("int8_mlp")).unwrap().graph;
	assert!(matches!(compile(&graph, &[1, 8, 8]), Err(CompileError::Shape { node: 1 })));
}
