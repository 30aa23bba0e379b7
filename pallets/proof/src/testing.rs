//! Circuits for other crates' tests.

use crate::{Circuit, Layer, Quantization};

/// A circuit of 4 f32 inputs (u8 quanta of scale 0.05) and 2 f32 outputs: one layer with a
/// bias and a ReLU fused as the clamp at its output zero point.
pub fn small_circuit() -> Circuit {
	Circuit {
		input: Quantization { signed: false, linear: Some((0.05f32.to_bits(), 0)) },
		layers: alloc::vec![Layer {
			inputs: 4,
			outputs: 2,
			input_zero: 0,
			weights: alloc::vec![3, -2, 5, 1, -4, 7, 2, -1],
			bias: alloc::vec![10, -20],
			multipliers: alloc::vec![0.0123f32.to_bits(); 2],
			output_zero: 128,
			low: 128,
			high: 255,
			signed: false,
		}],
		output: Quantization { signed: false, linear: Some((0.1f32.to_bits(), 128)) },
		classes: None,
	}
}
