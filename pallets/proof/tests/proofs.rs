//! Circuits compute what the kernels compute, bit for bit, and a proof verifies for its own
//! statement only.

use haca_kernels::{
	graph::{Graph, Header, Node},
	Op,
};
use haca_primitives::tensor::{ElementType, Tensor};
use haca_proof::{
	air::{element, Statement},
	compile::compile,
	prover::{prove, prove_trace, trace},
	verify, Circuit, ProofError,
};
use proptest::prelude::*;

fn bytes(element_type: ElementType, dims: &[u32], data: Vec<u8>) -> Tensor {
	Tensor { element_type, shape: dims.to_vec().try_into().unwrap(), data }
}

fn f32_scalar(value: f32) -> Tensor {
	Tensor::from_f32(&[], &[value]).unwrap()
}

/// The parameters of a two-layer int8 MLP in onnxruntime's operator form.
#[derive(Clone, Debug)]
struct Mlp {
	sizes: [u32; 3],
	w1: Vec<i8>,
	w2: Vec<i8>,
	scales: [f32; 5],
	zeros: [u8; 3],
	clip: (u8, u8),
	/// An `ArgMax` of the outputs after them (keeping the axis, selecting the last), if set.
	classes: Option<(bool, bool)>,
}

fn mlp() -> impl Strategy<Value = Mlp> {
	(1u32..12, 1u32..12, 1u32..8).prop_flat_map(|(a, b, c)| {
		(
			Just([a, b, c]),
			prop::collection::vec(any::<i8>(), (a * b) as usize),
			prop::collection::vec(any::<i8>(), (b * c) as usize),
			[0.01f32..0.1, 0.002f32..0.02, 0.02f32..0.2, 0.002f32..0.02, 0.02f32..0.2],
			[any::<u8>(), any::<u8>(), any::<u8>()],
			(0u8..128, 128u8..=255),
			prop::option::of((any::<bool>(), any::<bool>())),
		)
			.prop_map(|(sizes, w1, w2, scales, zeros, clip, classes)| Mlp {
				sizes,
				w1,
				w2,
				scales,
				zeros,
				clip,
				classes,
			})
	})
}

/// Its dispute graph: QuantizeLinear, QLinearMatMul, Clip, QLinearMatMul, DequantizeLinear
/// and, for classes, ArgMax.
fn graph(mlp: &Mlp) -> Graph {
	let [a, b, c] = mlp.sizes;
	let [x_scale, w1_scale, h_scale, w2_scale, y_scale] = mlp.scales;
	let u8_scalar = |value: u8| bytes(ElementType::U8, &[], vec![value]);
	let i8s = |dims: &[u32], values: &[i8]| {
		bytes(ElementType::I8, dims, values.iter().map(|&value| value as u8).collect())
	};
	let constants = vec![
		f32_scalar(x_scale),     // 1
		u8_scalar(mlp.zeros[0]), // 2
		i8s(&[a, b], &mlp.w1),   // 3
		f32_scalar(w1_scale),    // 4
		i8s(&[], &[0]),          // 5
		f32_scalar(h_scale),     // 6
		u8_scalar(mlp.zeros[1]), // 7
		u8_scalar(mlp.clip.0),   // 8
		u8_scalar(mlp.clip.1),   // 9
		i8s(&[b, c], &mlp.w2),   // 10
		f32_scalar(w2_scale),    // 11
		f32_scalar(y_scale),     // 12
		u8_scalar(mlp.zeros[2]), // 13
	];
	let node = |op: Op, inputs: &[u32]| Node { op, inputs: inputs.to_vec().try_into().unwrap() };
	// Nodes' outputs are values 14 on.
	let mut nodes = vec![
		node(Op::QuantizeLinear { axis: 1 }, &[0, 1, 2]),
		node(Op::QLinearMatMul, &[14, 1, 2, 3, 4, 5, 6, 7]),
		node(Op::Clip, &[15, 8, 9]),
		node(Op::QLinearMatMul, &[16, 6, 7, 10, 11, 5, 12, 13]),
		node(Op::DequantizeLinear { axis: 1 }, &[17, 12, 13]),
	];
	if let Some((keep_dims, select_last)) = mlp.classes {
		nodes.push(node(Op::ArgMax { axis: -1, keep_dims, select_last }, &[18]));
	}
	let output = 13 + nodes.len() as u32;
	Graph {
		header: Header {
			version: haca_kernels::graph::LOWERING_VERSION,
			inputs: 1,
			constants: constants.len() as u32,
			outputs: vec![output].try_into().unwrap(),
		},
		constants,
		nodes,
	}
}

fn input(samples: u32, width: u32, values: &[f32]) -> Tensor {
	let values: Vec<f32> =
		values.iter().cycle().take((samples * width) as usize).copied().collect();
	Tensor::from_f32(&[samples, width], &values).unwrap()
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

	/// The circuit compiled from a quantised MLP's graph, run on the quantised input and its
	/// output dequantised, gives the graph's output (the kernels') bit for bit; so does the
	/// proven run, and the proof verifies.
	#[test]
	fn a_compiled_circuit_computes_and_proves_the_kernels_output(
		mlp in mlp(),
		samples in 1u32..4,
		values in prop::collection::vec(-3.0f32..8.0, 1..40),
	) {
		let graph = graph(&mlp);
		let input = input(samples, mlp.sizes[0], &values);
		let expected = graph.trace(std::slice::from_ref(&input)).unwrap().outputs.remove(0);
		let circuit = compile(&graph, &[mlp.sizes[0]]).unwrap();
		let layout = circuit.layout().unwrap();
		let quanta = circuit.input_quanta(&input).unwrap();
		let evaluated: Vec<i32> = quanta
			.chunks(circuit.input_len())
			.flat_map(|sample| circuit.evaluate(&layout, sample))
			.collect();
		prop_assert_eq!(circuit.output_tensor(&evaluated).unwrap(), expected.clone());
		let (proven, proof) = prove(&circuit, [7; 32], &quanta).unwrap();
		prop_assert_eq!(&proven, &evaluated);
		let statement = Statement::new(circuit, [7; 32], quanta, proven).unwrap();
		prop_assert_eq!(verify(statement, &proof), Ok(()));
	}
}

/// A digits-size MLP: 64 inputs, 64 hidden, 10 outputs.
fn digits() -> (Circuit, Vec<i32>) {
	let mut rng = 0x2545_f491_4f6c_dd1du64;
	let mut next = move || {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		rng
	};
	let mlp = Mlp {
		sizes: [64, 64, 10],
		w1: (0..64 * 64).map(|_| next() as i8 / 2).collect(),
		w2: (0..64 * 10).map(|_| next() as i8).collect(),
		scales: [0.0392, 0.0047, 0.0617, 0.0071, 0.0873],
		zeros: [0, 128, 128],
		clip: (128, 255),
		classes: None,
	};
	let circuit = compile(&graph(&mlp), &[mlp.sizes[0]]).unwrap();
	let values: Vec<f32> = (0..64).map(|at| (at % 17) as f32 * 0.45).collect();
	let quanta = circuit.input_quanta(&input(1, 64, &values)).unwrap();
	(circuit, quanta)
}

#[test]
fn a_proof_verifies_for_its_own_statement_only() {
	let (circuit, quanta) = digits();
	let (outputs, proof) = prove(&circuit, [1; 32], &quanta).unwrap();
	let statement = |binding, inputs: &[i32], outputs: &[i32]| {
		Statement::new(circuit.clone(), binding, inputs.to_vec(), outputs.to_vec()).unwrap()
	};
	assert_eq!(verify(statement([1; 32], &quanta, &outputs), &proof), Ok(()));

	// Another job or executor (the binding), another input, another output.
	assert_eq!(verify(statement([2; 32], &quanta, &outputs), &proof), Err(ProofError::Rejected));
	let mut other_input = quanta.clone();
	other_input[5] ^= 1;
	assert_eq!(
		verify(statement([1; 32], &other_input, &outputs), &proof),
		Err(ProofError::Rejected)
	);
	let mut other_output = outputs.clone();
	other_output[3] = (other_output[3] + 1) % 256;
	assert_eq!(
		verify(statement([1; 32], &quanta, &other_output), &proof),
		Err(ProofError::Rejected)
	);

	// Another model: one weight changed.
	let mut other_circuit = circuit.clone();
	other_circuit.layers[0].weights[100] += 1;
	let other = Statement::new(other_circuit, [1; 32], quanta.clone(), outputs.clone()).unwrap();
	assert_eq!(verify(other, &proof), Err(ProofError::Rejected));

	// Truncated, extended, random, or with a byte flipped anywhere after the context.
	let verdict = |bytes: &[u8]| verify(statement([1; 32], &quanta, &outputs), bytes);
	assert_eq!(verdict(&proof[..proof.len() / 2]), Err(ProofError::Malformed));
	assert_eq!(verdict(&proof[..proof.len() - 1]), Err(ProofError::Malformed));
	assert_eq!(verdict(&[proof.clone(), vec![0]].concat()), Err(ProofError::Malformed));
	assert_eq!(verdict(&[]), Err(ProofError::Malformed));
	let noise: Vec<u8> = (0..proof.len()).map(|at| (at * 31 % 251) as u8).collect();
	assert_eq!(verdict(&noise), Err(ProofError::Malformed));
	for at in (64..proof.len()).step_by(proof.len() / 97) {
		let mut flipped = proof.clone();
		flipped[at] ^= 0x10;
		assert!(verdict(&flipped).is_err(), "a proof with byte {at} flipped verified");
	}
}

/// A proof that states a sequence longer than its bytes is refused, not allocated: the
/// decoder once reserved what a proof stated and aborted, on 8.6 exabytes for a length's
/// bytes zeroed (read as a 9-byte length), and on 621 GB for a Merkle opening's node count
/// (decoded by the verifier after the proof). Both found by the `proof_verify` fuzz target,
/// whose inputs these are.
#[test]
fn lengths_a_proof_states_beyond_its_bytes_are_refused() {
	let circuit = haca_proof::testing::small_circuit();
	let inputs = vec![20, 40, 60, 80];
	let (outputs, proof) = prove(&circuit, [1; 32], &inputs).unwrap();
	let statement = Statement::new(circuit, [1; 32], inputs, outputs).unwrap();
	let refused = |at: usize, patch: &[u8]| {
		let mut patched = proof.clone();
		let end = (at + patch.len()).min(proof.len());
		patched[at..end].copy_from_slice(&patch[..end - at]);
		if patched != proof {
			assert!(verify(statement.clone(), &patched).is_err(), "{patch:?} at {at} verified");
		}
	};
	for at in 100..400 {
		refused(at, &[0; 4]);
	}
	let opening = [&[0x90; 13][..], b"gooooooo", &[0x90; 18], b"$\n\n"].concat();
	refused(0x9090 % proof.len(), &opening);
}

#[test]
fn a_trace_that_lies_about_one_output_proves_nothing() {
	let (circuit, quanta) = digits();
	let (mut statement, mut table) = trace(&circuit, [1; 32], &quanta).unwrap();
	// The honest trace proves its outputs.
	let honest = prove_trace(statement.clone(), table.clone()).unwrap();
	assert_eq!(verify(statement.clone(), &honest), Ok(()));
	// The last output quantum claimed one higher, in the statement and in the trace's
	// output register where the assertion reads it.
	let layout = statement.layout.clone();
	let last = statement.outputs.len() - 1;
	statement.outputs[last] = (statement.outputs[last] + 1) % 256;
	let column = layout.width + layout.width - 1;
	table.set(column, layout.rows, element(statement.outputs[last].into()));
	let lie = prove_trace(statement.clone(), table).unwrap();
	assert_eq!(verify(statement, &lie), Err(ProofError::Rejected));
}

#[test]
fn circuits_the_trace_cannot_hold_are_refused() {
	let (mut circuit, _) = digits();
	circuit.layers[0].multipliers[0] = (-1.0f32).to_bits();
	assert!(matches!(circuit.layout(), Err(haca_proof::CircuitError::Multiplier { layer: 0 })));
	let (mut circuit, _) = digits();
	circuit.layers[1].inputs = 63;
	assert!(matches!(circuit.layout(), Err(haca_proof::CircuitError::Shape { .. })));
	let (mut circuit, _) = digits();
	circuit.layers[0].low = 200;
	circuit.layers[0].high = 100;
	assert!(matches!(circuit.layout(), Err(haca_proof::CircuitError::Range { layer: 0 })));
	// Wider than the trace's columns allow.
	let (mut circuit, _) = digits();
	let layer = &mut circuit.layers[1];
	layer.inputs = 64;
	layer.outputs = 200;
	layer.weights = vec![1; 64 * 200];
	layer.bias = vec![0; 200];
	layer.multipliers = vec![0.01f32.to_bits(); 200];
	assert_eq!(circuit.layout(), Err(haca_proof::CircuitError::TooLarge));
}

/// A trace as regular as can be (tiny layers, identical samples) has no column of the
/// trace's full degree but the one the layout adds for it; the prover needs one.
#[test]
fn the_most_regular_traces_prove() {
	for sizes in [[1, 1, 1], [2, 1, 1], [3, 2, 1]] {
		let mlp = Mlp {
			sizes,
			w1: vec![1; (sizes[0] * sizes[1]) as usize],
			w2: vec![1; (sizes[1] * sizes[2]) as usize],
			scales: [0.05, 0.01, 0.1, 0.01, 0.1],
			zeros: [0, 128, 128],
			clip: (0, 255),
			classes: None,
		};
		let circuit = compile(&graph(&mlp), &[mlp.sizes[0]]).unwrap();
		for samples in [1, 2, 4] {
			let quanta = circuit.input_quanta(&input(samples, sizes[0], &[1.0])).unwrap();
			let (outputs, proof) = prove(&circuit, [5; 32], &quanta).unwrap();
			let statement = Statement::new(circuit.clone(), [5; 32], quanta, outputs).unwrap();
			assert_eq!(verify(statement, &proof), Ok(()), "{sizes:?}, {samples} samples");
		}
	}
}
