//! The algebra of a proof: the trace's columns, the constraints between consecutive rows,
//! and the assertions that tie the trace to a job's input and output quanta.
//!
//! A sample takes [`Layout::period`] rows, one per output quantum of each layer in order,
//! then padding. Row `r` holds the register of the layer's input quanta (`input`, right
//! aligned) and a shift register that collects the outputs (`output`); it computes
//!
//! - `Σ_j input_j · w_j(r) + c(r) = Σ_k product_k · 2^k`: the sum times the multiplier's
//!   significand, plus half a step, offset to be non-negative, in bits (`w` and `c` are
//!   the circuit's weights and constants, scaled, in periodic columns);
//! - the low `shift` bits are the remainder, `tie` whether it is zero (with its
//!   `inverse`), and `quotient` the rest rounded to even on a tie;
//! - the output `y = clamp(quotient + zero, low, high)`, held as its distances to both
//!   bounds (8 bits each); `below` or `above` say it was clamped, and `gap`'s bits prove how
//!   far the unclamped value was beyond the bound;
//! - the next row's `output` register is this row's shifted by one, `y` entering last;
//!   the next row's `input` register is this row's, or at a layer's last row, the next
//!   row's `output` register (the layer's outputs, right aligned).
//!
//! Assertions put the job's input quanta in the first row of each sample's `input`, and
//! its output quanta in the `output` register of the row after its last layer: one
//! sequence assertion per register column over all samples, so their cost to the verifier
//! does not grow with the number of samples.

use alloc::vec::Vec;
use winter_air::{
	Air, AirContext, Assertion, EvaluationFrame, ProofOptions, TraceInfo,
	TransitionConstraintDegree,
};
use winter_math::{fields::f64::BaseElement, FieldElement, ToElements};

use crate::{
	circuit::{Circuit, Layout},
	ProofError,
};

/// The field element of an integer.
pub fn element(value: i64) -> BaseElement {
	let magnitude = BaseElement::new(value.unsigned_abs());
	if value < 0 {
		-magnitude
	} else {
		magnitude
	}
}

/// What a proof proves: that `circuit` maps each sample of `inputs` to the same sample of
/// `outputs`, for the job and executor `binding` commits to.
#[derive(Clone, Debug)]
pub struct Statement {
	/// The circuit.
	pub circuit: Circuit,
	/// Its layout.
	pub layout: Layout,
	/// What the proof is for (a job, its attempt, its executor): part of what the proof's
	/// challenges are drawn from, so a proof for another binding does not verify.
	pub binding: [u8; 32],
	/// Input quanta, sample after sample.
	pub inputs: Vec<i32>,
	/// Output quanta, sample after sample.
	pub outputs: Vec<i32>,
}

impl Statement {
	/// A statement over whole samples of `circuit`'s input and output quanta.
	pub fn new(
		circuit: Circuit,
		binding: [u8; 32],
		inputs: Vec<i32>,
		outputs: Vec<i32>,
	) -> Result<Self, ProofError> {
		let layout = circuit.layout().map_err(ProofError::Circuit)?;
		let (input_len, output_len) = (circuit.input_len(), circuit.output_len());
		let samples = inputs.len() / input_len;
		if samples == 0 || !inputs.len().is_multiple_of(input_len) {
			return Err(ProofError::InputShape);
		}
		if outputs.len() != samples * output_len {
			return Err(ProofError::OutputShape);
		}
		let statement = Self { circuit, layout, binding, inputs, outputs };
		if statement.trace_length() > crate::circuit::MAX_TRACE_ROWS as usize {
			return Err(ProofError::TooManySamples);
		}
		Ok(statement)
	}

	/// Number of samples.
	pub fn samples(&self) -> usize {
		self.inputs.len() / self.circuit.input_len()
	}

	/// Rows of the trace: a period for each sample, their number up to a power of two.
	pub fn trace_length(&self) -> usize {
		self.samples().next_power_of_two() * self.layout.period
	}

	/// The shape of the trace.
	pub fn trace_info(&self) -> TraceInfo {
		TraceInfo::new(self.layout.columns(), self.trace_length())
	}
}

impl ToElements<BaseElement> for Statement {
	fn to_elements(&self) -> Vec<BaseElement> {
		use codec::Encode;
		let circuit = sp_crypto_hashing::blake2_256(&self.circuit.encode());
		let words = |bytes: [u8; 32]| {
			bytes
				.chunks_exact(4)
				.map(|word| BaseElement::new(u32::from_le_bytes(word.try_into().unwrap()).into()))
				.collect::<Vec<_>>()
		};
		let mut elements = words(circuit);
		elements.extend(words(self.binding));
		elements.push(BaseElement::new(self.inputs.len() as u64));
		elements.extend(self.inputs.iter().map(|&value| element(value.into())));
		elements.push(BaseElement::new(self.outputs.len() as u64));
		elements.extend(self.outputs.iter().map(|&value| element(value.into())));
		elements
	}
}

/// Where each quantity sits in a row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Columns {
	width: usize,
	product_bits: usize,
	gap_bits: usize,
}

impl Columns {
	pub(crate) fn new(layout: &Layout) -> Self {
		Self {
			width: layout.width,
			product_bits: layout.product_bits as usize,
			gap_bits: layout.gap_bits as usize,
		}
	}

	pub(crate) fn input(&self, at: usize) -> usize {
		at
	}

	pub(crate) fn output(&self, at: usize) -> usize {
		self.width + at
	}

	pub(crate) fn product(&self, bit: usize) -> usize {
		2 * self.width + bit
	}

	pub(crate) fn gap(&self, bit: usize) -> usize {
		2 * self.width + self.product_bits + bit
	}

	/// Bits of `y - low`.
	pub(crate) fn over_low(&self, bit: usize) -> usize {
		2 * self.width + self.product_bits + self.gap_bits + bit
	}

	/// Bits of `high - y`.
	pub(crate) fn under_high(&self, bit: usize) -> usize {
		self.over_low(8) + bit
	}

	pub(crate) fn inverse(&self) -> usize {
		self.under_high(8)
	}

	pub(crate) fn tie(&self) -> usize {
		self.inverse() + 1
	}

	pub(crate) fn quotient(&self) -> usize {
		self.inverse() + 2
	}

	pub(crate) fn below(&self) -> usize {
		self.inverse() + 3
	}

	pub(crate) fn above(&self) -> usize {
		self.inverse() + 4
	}

	/// 1 in the trace's first row, 0 elsewhere, and under no constraint: its polynomial has
	/// the trace's full degree, which the prover needs of some column (a trace as regular as
	/// a tiny circuit's, or of identical samples, may have no other).
	#[cfg(feature = "prover")]
	pub(crate) fn first_row(&self) -> usize {
		self.inverse() + 5
	}

	/// Every column that holds a bit.
	fn bits(&self) -> impl Iterator<Item = usize> {
		let first = self.product(0);
		(first..self.inverse()).chain([self.below(), self.above()])
	}
}

/// The periodic columns, each one period long: the weight of each register column, the
/// constant, whether the row loads the next layer's input (`load`) or keeps its own
/// (`keep`), and the output's bounds and zero point.
pub(crate) struct Periodic {
	pub(crate) columns: Vec<Vec<BaseElement>>,
}

/// Indices of the periodic columns after the weights.
const CONSTANT: usize = 0;
const LOAD: usize = 1;
const KEEP: usize = 2;
const LOW: usize = 3;
const HIGH: usize = 4;
const ZERO: usize = 5;

/// The integers of one row's periodic columns.
pub(crate) struct RowConstants {
	/// Scaled weight of each register column.
	pub(crate) weights: Vec<i64>,
	/// The scaled constant plus half a step and the offset.
	pub(crate) constant: i64,
	pub(crate) load: bool,
	pub(crate) keep: bool,
	pub(crate) low: i64,
	pub(crate) high: i64,
	pub(crate) zero: i64,
}

/// The periodic columns' integers at row `row` of a sample.
pub(crate) fn row_constants(circuit: &Circuit, layout: &Layout, row: usize) -> RowConstants {
	let offset = (1i64 << (layout.shift - 1)) + (1i64 << (layout.product_bits - 1));
	let mut weights = alloc::vec![0; layout.width];
	let keep = row + 1 < layout.period;
	let Some(neuron) = layout.neurons.get(row) else {
		return RowConstants {
			weights,
			constant: offset,
			load: false,
			keep,
			low: 0,
			high: 0,
			zero: 0,
		};
	};
	let layer = &circuit.layers[neuron.layer];
	let (inputs, significand) = (layer.inputs as usize, neuron.significand as i64);
	let first = layout.width - inputs;
	for input in 0..inputs {
		let weight = i64::from(layer.weights[neuron.index * inputs + input]);
		weights[first + input] = weight * significand;
	}
	let load = neuron.index + 1 == layer.outputs as usize;
	RowConstants {
		weights,
		constant: neuron.constant * significand + offset,
		load,
		keep: keep && !load,
		low: layer.low.into(),
		high: layer.high.into(),
		zero: layer.output_zero.into(),
	}
}

impl Periodic {
	fn new(circuit: &Circuit, layout: &Layout) -> Self {
		let mut columns = alloc::vec![Vec::with_capacity(layout.period); layout.width + 6];
		for row in 0..layout.period {
			let constants = row_constants(circuit, layout, row);
			let tail = [
				constants.constant,
				constants.load.into(),
				constants.keep.into(),
				constants.low,
				constants.high,
				constants.zero,
			];
			for (column, value) in columns.iter_mut().zip(constants.weights.iter().chain(&tail)) {
				column.push(element(*value));
			}
		}
		Self { columns }
	}
}

/// The AIR of a [`Statement`].
pub struct InferenceAir {
	context: AirContext<BaseElement>,
	statement: Statement,
	columns: Columns,
	periodic: Periodic,
	powers: Vec<BaseElement>,
}

impl InferenceAir {
	/// Number of constraints of a statement's proof: transition constraints and assertions.
	pub(crate) fn constraints(statement: &Statement) -> usize {
		Self::degrees(&statement.layout).len() + Self::assertion_count(statement)
	}

	/// One assertion a quantum of a sample: a sequence over the samples (however many).
	fn assertion_count(statement: &Statement) -> usize {
		statement.circuit.input_len() + statement.circuit.output_len()
	}

	/// The degree of each transition constraint of a layout.
	fn degrees(layout: &Layout) -> Vec<TransitionConstraintDegree> {
		let columns = Columns::new(layout);
		let with_weights =
			|| TransitionConstraintDegree::with_cycles(1, alloc::vec![layout.period]);
		let mut degrees: Vec<_> =
			columns.bits().map(|_| TransitionConstraintDegree::new(2)).collect();
		// below · above, the product's bits, the tie (2), the quotient, the output, its
		// distance to the high bound, the gap.
		degrees.push(TransitionConstraintDegree::new(2));
		degrees.push(with_weights());
		degrees.extend([2, 2, 2, 2, 1, 2].map(TransitionConstraintDegree::new));
		degrees.extend((0..layout.width).map(|_| with_weights()));
		degrees.extend((0..layout.width).map(|_| TransitionConstraintDegree::new(1)));
		degrees
	}
}

impl Air for InferenceAir {
	type BaseField = BaseElement;
	type PublicInputs = Statement;

	fn new(trace_info: TraceInfo, statement: Statement, options: ProofOptions) -> Self {
		let layout = &statement.layout;
		let assertions = Self::assertion_count(&statement);
		let context = AirContext::new(trace_info, Self::degrees(layout), assertions, options);
		let powers =
			(0..64).map(|power| BaseElement::new(1u64 << power.min(63))).collect::<Vec<_>>();
		Self {
			context,
			columns: Columns::new(layout),
			periodic: Periodic::new(&statement.circuit, layout),
			powers,
			statement,
		}
	}

	fn context(&self) -> &AirContext<BaseElement> {
		&self.context
	}

	fn evaluate_transition<E: FieldElement<BaseField = BaseElement>>(
		&self,
		frame: &EvaluationFrame<E>,
		periodic: &[E],
		result: &mut [E],
	) {
		let (current, next) = (frame.current(), frame.next());
		let (columns, layout) = (&self.columns, &self.statement.layout);
		let (width, shift) = (layout.width, layout.shift as usize);
		let (weights, tail) = periodic.split_at(width);
		let power = |bit: usize| E::from(self.powers[bit]);
		let bits = |column: &dyn Fn(usize) -> usize, range: core::ops::Range<usize>| {
			range.fold(E::ZERO, |sum, bit| sum + current[column(bit)] * power(bit))
		};
		let mut constraints = result.iter_mut();
		let mut push = |value: E| {
			if let Some(slot) = constraints.next() {
				*slot = value;
			}
		};
		for column in columns.bits() {
			push(current[column] * (current[column] - E::ONE));
		}
		let (below, above) = (current[columns.below()], current[columns.above()]);
		push(below * above);

		let sum = (0..width)
			.fold(tail[CONSTANT], |sum, at| sum + current[columns.input(at)] * weights[at]);
		let product = |bit| columns.product(bit);
		push(bits(&product, 0..layout.product_bits as usize) - sum);

		let remainder = bits(&product, 0..shift);
		let (tie, inverse) = (current[columns.tie()], current[columns.inverse()]);
		push(remainder * inverse - (E::ONE - tie));
		push(remainder * tie);

		let high_bits = (shift..layout.product_bits as usize)
			.fold(E::ZERO, |sum, bit| sum + current[product(bit)] * power(bit - shift));
		let quotient = current[columns.quotient()];
		let offset = power(layout.product_bits as usize - 1 - shift);
		push(quotient - (high_bits - offset) + tie * current[product(shift)]);

		let value = quotient + tail[ZERO];
		let (low, high) = (tail[LOW], tail[HIGH]);
		let y = low + bits(&|bit| columns.over_low(bit), 0..8);
		let kept = E::ONE - below - above;
		push(y - (kept * value + below * low + above * high));
		push(high - y - bits(&|bit| columns.under_high(bit), 0..8));
		let gap = below * (low - E::ONE - value) + above * (value - high - E::ONE);
		push(bits(&|bit| columns.gap(bit), 0..layout.gap_bits as usize) - gap);

		let (load, keep) = (tail[LOAD], tail[KEEP]);
		for at in 0..width {
			let (input, next_input) = (current[columns.input(at)], next[columns.input(at)]);
			push(keep * (next_input - input) + load * (next_input - next[columns.output(at)]));
		}
		for at in 0..width - 1 {
			push(next[columns.output(at)] - current[columns.output(at + 1)]);
		}
		push(next[columns.output(width - 1)] - y);
	}

	/// Each input quantum's column holds it in every sample's first row, and each output
	/// quantum's column in the row after every sample's last layer: one sequence each, over
	/// the samples and the padding samples up to a power of two (zero inputs, and the outputs
	/// the circuit computes from them).
	fn get_assertions(&self) -> Vec<Assertion<BaseElement>> {
		let statement = &self.statement;
		let (circuit, layout) = (&statement.circuit, &statement.layout);
		let (input_len, output_len) = (circuit.input_len(), circuit.output_len());
		let slots = statement.trace_length() / layout.period;
		let padding_output = circuit.evaluate(layout, &alloc::vec![0; input_len]);
		let column_of = |values: &[i32], len: usize, at: usize, padding: &dyn Fn(usize) -> i32| {
			(0..slots)
				.map(|slot| values.get(slot * len + at).copied().unwrap_or_else(|| padding(at)))
				.map(|value| element(value.into()))
				.collect::<Vec<_>>()
		};
		let inputs = (0..input_len).map(|at| {
			let column = self.columns.input(layout.width - input_len + at);
			let values = column_of(&statement.inputs, input_len, at, &|_| 0);
			Assertion::sequence(column, 0, layout.period, values)
		});
		let outputs = (0..output_len).map(|at| {
			let column = self.columns.output(layout.width - output_len + at);
			let values = column_of(&statement.outputs, output_len, at, &|at| padding_output[at]);
			Assertion::sequence(column, layout.rows, layout.period, values)
		});
		inputs.chain(outputs).collect()
	}

	fn get_periodic_column_values(&self) -> Vec<Vec<BaseElement>> {
		self.periodic.columns.clone()
	}
}
