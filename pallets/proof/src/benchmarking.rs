//! The costliest proofs to verify, for the runtime's verification benchmark: for a trace of
//! a given number of rows, the widest circuit whose samples fill it, proven.

use alloc::vec::Vec;

use crate::{
	air::Statement,
	circuit::{Circuit, Layer, Quantization, MAX_COLUMNS, MAX_SAMPLE_ROWS, MAX_TRACE_ROWS},
	prover::prove,
};

/// Pseudo-random values (xorshift, fixed seed).
struct Noise(u64);

impl Noise {
	fn next(&mut self) -> u64 {
		self.0 ^= self.0 << 13;
		self.0 ^= self.0 >> 7;
		self.0 ^= self.0 << 17;
		self.0
	}
}

/// Square layers of `width` filling `neurons` rows (the last one narrower if need be), every
/// weight as large as it may be.
fn circuit(width: u32, neurons: u32, noise: &mut Noise) -> Circuit {
	let mut layers = Vec::new();
	let mut left = neurons;
	while left > 0 {
		let outputs = left.min(width);
		let weight = |noise: &mut Noise| if noise.next() & 1 == 0 { 255 } else { -255 };
		layers.push(Layer {
			inputs: layers.last().map_or(width, |last: &Layer| last.outputs),
			outputs,
			input_zero: 0,
			weights: (0..outputs * layers.last().map_or(width, |last: &Layer| last.outputs))
				.map(|_| weight(noise))
				.collect(),
			bias: (0..outputs).map(|_| (noise.next() % 2001) as i32 - 1000).collect(),
			// Two scales apart, so that the common shift widens the requantised product.
			multipliers: (0..outputs)
				.map(|at| if at % 2 == 0 { 0.001_234f32 } else { 0.000_003_1f32 }.to_bits())
				.collect(),
			output_zero: 128,
			low: 0,
			high: 255,
			signed: false,
		});
		left -= outputs;
	}
	let quanta = Quantization { signed: false, linear: None };
	Circuit { input: quanta.clone(), layers, output: quanta, classes: None }
}

/// The widest circuit whose samples fill a trace of at least `rows` rows (a power of two,
/// at least 8, at most `MAX_TRACE_ROWS`), and input quanta for every sample.
pub fn widest_circuit(rows: u32) -> (Circuit, Vec<i32>) {
	let rows = rows.clamp(8, MAX_TRACE_ROWS).next_power_of_two();
	let period = rows.min(MAX_SAMPLE_ROWS);
	let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
	// Two registers of a column per quantum: no register is wider than half the columns.
	let circuit = (1..period.min(MAX_COLUMNS / 2))
		.rev()
		.map(|width| circuit(width, period - 1, &mut Noise(noise.0)))
		.find(|circuit| {
			circuit.layout().is_ok_and(|layout| layout.columns() <= MAX_COLUMNS as usize)
		})
		.expect("a register of one column fits");
	let samples = rows / period;
	let inputs =
		(0..samples as usize * circuit.input_len()).map(|_| (noise.next() % 256) as i32).collect();
	(circuit, inputs)
}

/// The largest part of the widest circuit of a full trace whose encoding takes at most
/// `bytes` bytes (at least one neuron): the costliest circuit of its size to register.
pub fn circuit_of_bytes(bytes: u32) -> Circuit {
	use codec::Encode;
	let (mut circuit, _) = widest_circuit(MAX_TRACE_ROWS);
	while circuit.encoded_size() > bytes as usize && circuit.layers.len() > 1 {
		circuit.layers.pop();
	}
	while circuit.encoded_size() > bytes as usize {
		let last = circuit.layers.last_mut().expect("a layer is left");
		if last.outputs == 1 {
			break;
		}
		last.outputs -= 1;
		last.weights.truncate((last.outputs * last.inputs) as usize);
		last.bias.pop();
		last.multipliers.pop();
	}
	circuit
}

/// A proof of [`widest_circuit`]'s run, and what it proves.
pub fn widest_proof(rows: u32) -> (Statement, Vec<u8>) {
	let (circuit, inputs) = widest_circuit(rows);
	let binding = [0x42; 32];
	let (outputs, proof) = prove(&circuit, binding, &inputs).expect("the circuit is provable");
	let statement =
		Statement::new(circuit, binding, inputs, outputs).expect("the statement fits its circuit");
	(statement, proof)
}
