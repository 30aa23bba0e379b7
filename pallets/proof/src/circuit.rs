//! A provable model: the integer layers of a quantised model, with the conversions of its
//! input to quanta and of its output quanta back to floats around them.
//!
//! A layer maps `inputs` quanta `x` (u8 or i8 values) to `outputs` quanta `y`:
//!
//! ```text
//! sum_i = Σ_j (x_j − input_zero) · weights[i][j] + bias_i        (exact in i32)
//! y_i   = clamp(round(sum_i · multiplier_i) + output_zero, low, high)
//! ```
//!
//! where `weights[i][j]` is the weight less its zero point, `multiplier_i` an f32 (for a
//! `QLinearMatMul`, `a_scale · b_scale / y_scale`), the product exact and rounded to the
//! nearest, ties to even, and `[low, high]` the output type's range narrowed by a fused
//! `Clip`. This is `haca_kernels`' (and tract's) `QLinearMatMul` followed by `Clip`, bit for
//! bit, for every sum the bounds [`Circuit::layout`] checks allow.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode};
use scale_info::TypeInfo;

/// Most layers of a circuit.
pub const MAX_LAYERS: u32 = 16;
/// Most columns of a proof's trace (the proof system's own limit: winterfell reads a proof
/// of fewer than 255).
pub const MAX_COLUMNS: u32 = 254;
/// Most trace rows one sample takes.
pub const MAX_SAMPLE_ROWS: u32 = 1 << 10;
/// Most trace rows of a proof (all its samples): what bounds an executor's proving time
/// and memory and the runtime's verification. The widest trace of this many rows is the
/// longest the runtime itself can prove (its extension takes one allocation of 33.3 MB,
/// under the runtime allocator's 32 MiB bound), so that its verification's weight is
/// measured on a worst case its benchmark makes.
pub const MAX_TRACE_ROWS: u32 = 1 << 10;
/// Most bits a requantised product may take: it is decomposed into bits in the trace, and
/// stays far from the field's modulus (2^64 − 2^32 + 1).
pub const MAX_PRODUCT_BITS: u32 = 62;

/// How a tensor of the model's and a layer's quanta convert: the range of 8-bit values,
/// and for a float tensor the scale and zero point of `QuantizeLinear` (at the input) or
/// `DequantizeLinear` (at the output).
#[derive(Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
pub struct Quantization {
	/// i8 quanta if set, u8 otherwise.
	pub signed: bool,
	/// The f32 scale (its bits) and the zero point of a float tensor; `None` when the
	/// model's tensor is the quanta themselves.
	pub linear: Option<(u32, i32)>,
}

/// One integer layer (see the module's documentation).
#[derive(Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
pub struct Layer {
	/// Number of input quanta.
	pub inputs: u32,
	/// Number of output quanta.
	pub outputs: u32,
	/// Zero point of the input quanta.
	pub input_zero: i32,
	/// `outputs × inputs` weights, each less its zero point, row by row.
	pub weights: Vec<i16>,
	/// One bias per output, added to the sum.
	pub bias: Vec<i32>,
	/// One f32 multiplier (its bits) per output.
	pub multipliers: Vec<u32>,
	/// Zero point of the output quanta.
	pub output_zero: i32,
	/// Smallest output quantum.
	pub low: i32,
	/// Largest output quantum.
	pub high: i32,
	/// i8 output quanta if set, u8 otherwise.
	pub signed: bool,
}

/// A model whose output is each sample's class: the i64 index of the largest of its outputs
/// (`ArgMax` over them, after the output's conversion).
#[derive(Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
pub struct Classes {
	/// The output is `[samples, 1]` if set, `[samples]` otherwise.
	pub keep_dims: bool,
	/// The last of equal largest outputs if set, the first otherwise.
	pub select_last: bool,
}

/// A model's integer layers between its input and output conversions.
#[derive(Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
pub struct Circuit {
	/// How the model's input becomes the first layer's quanta.
	pub input: Quantization,
	/// The layers, each reading the previous one's output.
	pub layers: Vec<Layer>,
	/// How the last layer's quanta become the model's output.
	pub output: Quantization,
	/// Whether the model's output is then each sample's class.
	pub classes: Option<Classes>,
}

/// Why a circuit cannot be proven.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub enum CircuitError {
	/// No layer, or more than [`MAX_LAYERS`].
	LayerCount,
	/// A layer's sizes disagree with its weights, biases or multipliers, or with the
	/// previous layer's outputs.
	Shape { layer: u32 },
	/// A zero point, bound or weight outside its 8-bit range, `low > high`, or an output
	/// type that is not the next layer's input type.
	Range { layer: u32 },
	/// A multiplier that is negative, not finite, or too small or large to requantise
	/// exactly within [`MAX_PRODUCT_BITS`].
	Multiplier { layer: u32 },
	/// A sum that could leave i32 (the kernels would wrap it).
	SumRange { layer: u32 },
	/// A scale that is not a finite positive f32, or a zero point outside its range.
	Conversion,
	/// More than [`MAX_COLUMNS`] trace columns or [`MAX_SAMPLE_ROWS`] rows a sample.
	TooLarge,
}

/// Where a circuit's quantities sit in a proof's trace, derived from the circuit.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Layout {
	/// Register width: the most quanta a layer reads or writes.
	pub width: usize,
	/// Rows of one sample's layers: one per output quantum.
	pub rows: usize,
	/// Rows one sample takes: `rows + 1` (where its outputs are read) to a power of two.
	pub period: usize,
	/// The requantisation's common shift: every multiplier is `significand · 2^-shift`.
	pub shift: u32,
	/// Bits of a requantised product, offset to be non-negative.
	pub product_bits: u32,
	/// Bits of the distance from a clamped value to its bound.
	pub gap_bits: u32,
	/// Each output quantum's layer, in row order.
	pub neurons: Vec<Neuron>,
}

/// What one row of a sample computes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Neuron {
	/// Its layer.
	pub layer: usize,
	/// Its index among the layer's outputs.
	pub index: usize,
	/// Its multiplier's significand scaled to the common shift.
	pub significand: u64,
	/// The constant of its sum: `bias − input_zero · Σ weights`.
	pub constant: i64,
}

/// Bits of the largest integer under `bound`: the fewest bits that hold `0..bound`.
fn bits_for(bound: u128) -> u32 {
	128 - bound.saturating_sub(1).leading_zeros()
}

/// An 8-bit range: u8 or i8.
fn range(signed: bool) -> (i32, i32) {
	if signed {
		(i8::MIN.into(), i8::MAX.into())
	} else {
		(u8::MIN.into(), u8::MAX.into())
	}
}

/// A non-negative finite f32 as `significand · 2^-shift`, the significand odd or zero;
/// `None` for a negative, infinite or NaN one.
fn split(bits: u32) -> Option<(u64, i32)> {
	let value = f32::from_bits(bits);
	if !value.is_finite() || bits >> 31 == 1 {
		return None;
	}
	let (fraction, biased) = (u64::from(bits & 0x7f_ffff), ((bits >> 23) & 0xff) as i32);
	let (mut significand, mut shift) =
		if biased == 0 { (fraction, 149) } else { (fraction | 1 << 23, 150 - biased) };
	if significand == 0 {
		return Some((0, 0));
	}
	while significand & 1 == 0 {
		significand >>= 1;
		shift -= 1;
	}
	Some((significand, shift))
}

/// `value` divided by `2^shift`, rounded to even where the remainder is zero (a tie, when
/// `value` is a product plus half a step), and the remainder.
pub(crate) fn round_half_step(value: i64, shift: u32) -> (i64, i64) {
	let (whole, rest) = (value.div_euclid(1 << shift), value.rem_euclid(1 << shift));
	(whole - i64::from(rest == 0 && whole & 1 == 1), rest)
}

impl Quantization {
	/// The quanta's range.
	pub fn range(&self) -> (i32, i32) {
		range(self.signed)
	}

	fn check(&self) -> Result<(), CircuitError> {
		let Some((scale, zero)) = self.linear else { return Ok(()) };
		let (low, high) = self.range();
		let scale = f32::from_bits(scale);
		if !(scale.is_finite() && scale > 0.0) || zero < low || zero > high {
			return Err(CircuitError::Conversion);
		}
		Ok(())
	}
}

impl Layer {
	fn weight(&self, output: usize, input: usize) -> i64 {
		self.weights[output * self.inputs as usize + input].into()
	}

	/// `sum · significand · 2^-shift` rounded to the nearest (ties to even), plus the output
	/// zero point, clamped.
	fn requantize(&self, sum: i64, shift: u32, significand: u64) -> i32 {
		let (rounded, _) = round_half_step(sum * significand as i64 + (1 << (shift - 1)), shift);
		(rounded + i64::from(self.output_zero)).clamp(self.low.into(), self.high.into()) as i32
	}
}

impl Circuit {
	/// A circuit from its SCALE encoding, all of it, nested at most as deep as a circuit is.
	pub fn from_encoded(bytes: &[u8]) -> Option<Self> {
		use codec::DecodeLimit;
		Self::decode_all_with_depth_limit(8, &mut &bytes[..]).ok()
	}

	/// Number of quanta one sample's input has.
	pub fn input_len(&self) -> usize {
		self.layers.first().map_or(0, |layer| layer.inputs as usize)
	}

	/// Number of quanta one sample's output has.
	pub fn output_len(&self) -> usize {
		self.layers.last().map_or(0, |layer| layer.outputs as usize)
	}

	/// Checks the circuit is provable and places it in a trace.
	pub fn layout(&self) -> Result<Layout, CircuitError> {
		let layer_count = self.layers.len();
		if layer_count == 0 || layer_count > MAX_LAYERS as usize {
			return Err(CircuitError::LayerCount);
		}
		self.input.check()?;
		self.output.check()?;
		let mut input_type = self.input.signed;
		let mut previous_outputs = None;
		let mut width = 0;
		// Each neuron's significand at its own shift, then at the common one.
		let mut splits = Vec::new();
		for (at, layer) in self.layers.iter().enumerate() {
			let number = at as u32;
			let (inputs, outputs) = (layer.inputs as usize, layer.outputs as usize);
			if inputs == 0
				|| outputs == 0
				|| layer.weights.len() != inputs.saturating_mul(outputs)
				|| layer.bias.len() != outputs
				|| layer.multipliers.len() != outputs
				|| previous_outputs.is_some_and(|previous| previous != inputs)
			{
				return Err(CircuitError::Shape { layer: number });
			}
			let (input_low, input_high) = range(input_type);
			let (output_low, output_high) = range(layer.signed);
			let in_range = |value: i32, (low, high): (i32, i32)| low <= value && value <= high;
			if !in_range(layer.input_zero, (input_low, input_high))
				|| !in_range(layer.output_zero, (output_low, output_high))
				|| !in_range(layer.low, (output_low, output_high))
				|| !in_range(layer.high, (output_low, output_high))
				|| layer.low > layer.high
				|| layer.weights.iter().any(|&weight| !(-255..=255).contains(&weight))
			{
				return Err(CircuitError::Range { layer: number });
			}
			for (index, &multiplier) in layer.multipliers.iter().enumerate() {
				let (significand, shift) =
					split(multiplier).ok_or(CircuitError::Multiplier { layer: number })?;
				splits.push((at, index, significand, shift));
			}
			width = width.max(inputs).max(outputs);
			input_type = layer.signed;
			previous_outputs = Some(outputs);
		}
		if input_type != self.output.signed {
			return Err(CircuitError::Range { layer: layer_count as u32 - 1 });
		}
		let shift = splits.iter().map(|&(.., shift)| shift).max().unwrap_or(1).max(1);
		if shift > MAX_PRODUCT_BITS as i32 - 2 {
			return Err(CircuitError::Multiplier { layer: 0 });
		}
		let shift = shift as u32;
		// The largest requantised product, offset by half a step.
		let mut largest: u128 = 0;
		let mut neurons = Vec::with_capacity(splits.len());
		for (at, index, significand, own_shift) in splits {
			let layer = &self.layers[at];
			let number = at as u32;
			let scaled = u128::from(significand) << (shift as i32 - own_shift).max(0);
			// |x - input_zero| is at most 255 for 8-bit quanta.
			let row = (0..layer.inputs as usize).map(|input| layer.weight(index, input));
			let weight_sum: i64 = row.clone().sum();
			let magnitude: u128 = row.map(|weight| weight.unsigned_abs() as u128 * 255).sum();
			let constant = i64::from(layer.bias[index]) - i64::from(layer.input_zero) * weight_sum;
			let sum_bound = magnitude + u128::from(layer.bias[index].unsigned_abs());
			if sum_bound > i32::MAX as u128 {
				return Err(CircuitError::SumRange { layer: number });
			}
			let product = sum_bound.saturating_mul(scaled);
			if product >= 1 << (MAX_PRODUCT_BITS - 2) {
				return Err(CircuitError::Multiplier { layer: number });
			}
			largest = largest.max(product);
			neurons.push(Neuron { layer: at, index, significand: scaled as u64, constant });
		}
		// The product plus half a step, and its negation, offset by 2^(bits - 1) into
		// `0..2^bits`; at least two bits above the shift, so the offset quotient is even.
		let product_bits = (bits_for(largest + (1 << (shift - 1)) + 1) + 1).max(shift + 2);
		if product_bits > MAX_PRODUCT_BITS {
			return Err(CircuitError::Multiplier { layer: 0 });
		}
		// A rounded quotient is under 2^(product_bits - 1 - shift) in magnitude; the zero
		// point and bound add under 2^9 each.
		let gap_bits = bits_for((1u128 << (product_bits - 1 - shift)) + 1024);
		let rows = neurons.len();
		let period = (rows + 1).next_power_of_two().max(8);
		let layout = Layout { width, rows, period, shift, product_bits, gap_bits, neurons };
		if layout.columns() > MAX_COLUMNS as usize || period > MAX_SAMPLE_ROWS as usize {
			return Err(CircuitError::TooLarge);
		}
		Ok(layout)
	}

	/// The output quanta of one sample's input quanta (as many as the first layer reads),
	/// layer by layer; `layout` is this circuit's.
	pub fn evaluate(&self, layout: &Layout, input: &[i32]) -> Vec<i32> {
		let mut values = input.to_vec();
		let mut neurons = layout.neurons.iter();
		for layer in &self.layers {
			values = (0..layer.outputs as usize)
				.zip(neurons.by_ref())
				.map(|(index, neuron)| {
					let sum = (0..layer.inputs as usize)
						.map(|input| i64::from(values[input]) * layer.weight(index, input))
						.sum::<i64>() + neuron.constant;
					layer.requantize(sum, layout.shift, neuron.significand)
				})
				.collect();
		}
		values
	}
}

impl Layout {
	/// Trace columns: the input and output registers, the product's bits, the gap's bits,
	/// the output's two 8-bit distances to its bounds, and six single columns.
	pub fn columns(&self) -> usize {
		2 * self.width + (self.product_bits + self.gap_bits) as usize + 16 + 6
	}
}
