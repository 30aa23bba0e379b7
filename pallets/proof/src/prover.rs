//! Proving, natively: the trace of a circuit's run on a job's input quanta, and its STARK.

use alloc::vec::Vec;
use winter_air::{AuxRandElements, PartitionOptions, ProofOptions, TraceInfo};
use winter_crypto::{DefaultRandomCoin, MerkleTree};
use winter_math::{fields::f64::BaseElement, FieldElement};
use winter_prover::{
	matrix::ColMatrix, CompositionPoly, CompositionPolyTrace, ConstraintCompositionCoefficients,
	DefaultConstraintCommitment, DefaultConstraintEvaluator, DefaultTraceLde, Prover, StarkDomain,
	TracePolyTable, TraceTable,
};

use crate::{
	air::{element, row_constants, Columns, InferenceAir, Statement},
	circuit::{round_half_step, Circuit},
	Hasher, ProofError,
};

/// The trace of `circuit`'s run on `inputs` (whole samples of quanta), and the output
/// quanta it computes.
pub fn trace(
	circuit: &Circuit,
	binding: [u8; 32],
	inputs: &[i32],
) -> Result<(Statement, TraceTable<BaseElement>), ProofError> {
	let layout = circuit.layout().map_err(ProofError::Circuit)?;
	let (input_len, output_len) = (circuit.input_len(), circuit.output_len());
	let (low, high) = circuit.input.range();
	if inputs.iter().any(|&value| value < low || value > high) {
		return Err(ProofError::InputRange);
	}
	// A statement with placeholder outputs checks the shapes before any work.
	let samples = inputs.len() / input_len.max(1);
	let mut statement = Statement::new(
		circuit.clone(),
		binding,
		inputs.to_vec(),
		alloc::vec![0; samples * output_len],
	)?;
	let columns = Columns::new(&layout);
	let (width, period) = (layout.width, layout.period);
	let rows: Vec<_> = (0..period).map(|row| row_constants(circuit, &layout, row)).collect();
	let length = statement.trace_length();
	let mut table = alloc::vec![alloc::vec![BaseElement::ZERO; length]; layout.columns()];
	let mut outputs = Vec::with_capacity(samples * output_len);
	// The output register shifts on from one sample into the next, as the constraints say.
	let mut output = alloc::vec![0i64; width];
	for sample in 0..length / period {
		// Padding samples (up to a power of two) run on zeros.
		let mut input = alloc::vec![0i64; width];
		if let Some(quanta) = inputs.get(sample * input_len..(sample + 1) * input_len) {
			for (at, &value) in quanta.iter().enumerate() {
				input[width - input_len + at] = value.into();
			}
		}
		for (row, constants) in rows.iter().enumerate() {
			let at = sample * period + row;
			let mut cells = alloc::vec![BaseElement::ZERO; layout.columns()];
			let mut set = |column: usize, value: i64| cells[column] = element(value);
			for register in 0..width {
				set(columns.input(register), input[register]);
				set(columns.output(register), output[register]);
			}
			let sum: i64 = input.iter().zip(&constants.weights).map(|(x, w)| x * w).sum::<i64>()
				+ constants.constant;
			debug_assert!((0..1i64 << layout.product_bits).contains(&sum));
			for bit in 0..layout.product_bits as usize {
				set(columns.product(bit), sum >> bit & 1);
			}
			// `sum` is the product plus half a step plus 2^(bits - 1); the offset is a
			// multiple of 2^shift, so the remainder is the product's.
			let offset = 1i64 << (layout.product_bits - 1);
			let (quotient, remainder) = round_half_step(sum - offset, layout.shift);
			set(columns.tie(), (remainder == 0).into());
			set(columns.quotient(), quotient);
			let value = quotient + constants.zero;
			let y = value.clamp(constants.low, constants.high);
			let (below, above) = (value < constants.low, value > constants.high);
			set(columns.below(), below.into());
			set(columns.above(), above.into());
			let gap = if below {
				constants.low - 1 - value
			} else if above {
				value - constants.high - 1
			} else {
				0
			};
			for bit in 0..layout.gap_bits as usize {
				set(columns.gap(bit), gap >> bit & 1);
			}
			for bit in 0..8 {
				set(columns.over_low(bit), (y - constants.low) >> bit & 1);
				set(columns.under_high(bit), (constants.high - y) >> bit & 1);
			}
			// A tie's remainder has no inverse: the column holds 0 there.
			if remainder != 0 {
				cells[columns.inverse()] = element(remainder).inv();
			}
			if at == 0 {
				cells[columns.first_row()] = BaseElement::ONE;
			}
			for (column, cell) in cells.into_iter().enumerate() {
				table[column][at] = cell;
			}
			output.rotate_left(1);
			output[width - 1] = y;
			if constants.load {
				input.clone_from(&output);
			}
			// After the last layer's last row: the outputs, as the next row holds them.
			if row + 1 == layout.rows && sample < samples {
				outputs.extend(output[width - output_len..].iter().map(|&value| value as i32));
			}
		}
	}
	statement.outputs = outputs;
	Ok((statement, TraceTable::init(table)))
}

/// Proves `circuit`'s run on `inputs` for `binding`: the output quanta and the proof.
pub fn prove(
	circuit: &Circuit,
	binding: [u8; 32],
	inputs: &[i32],
) -> Result<(Vec<i32>, Vec<u8>), ProofError> {
	let (statement, trace) = trace(circuit, binding, inputs)?;
	let outputs = statement.outputs.clone();
	Ok((outputs, prove_trace(statement, trace)?))
}

/// Proves that `trace` satisfies `statement` (it does not if it is not its circuit's run:
/// the proof is then refused).
pub fn prove_trace(
	statement: Statement,
	trace: TraceTable<BaseElement>,
) -> Result<Vec<u8>, ProofError> {
	let prover = InferenceProver { options: crate::options(), statement };
	let proof = prover.prove(trace).map_err(|_| ProofError::Proving)?;
	Ok(proof.to_bytes())
}

struct InferenceProver {
	options: ProofOptions,
	statement: Statement,
}

impl Prover for InferenceProver {
	type BaseField = BaseElement;
	type Air = InferenceAir;
	type Trace = TraceTable<BaseElement>;
	type HashFn = Hasher;
	type VC = MerkleTree<Hasher>;
	type RandomCoin = DefaultRandomCoin<Hasher>;
	type TraceLde<E: FieldElement<BaseField = BaseElement>> = DefaultTraceLde<E, Hasher, Self::VC>;
	type ConstraintCommitment<E: FieldElement<BaseField = BaseElement>> =
		DefaultConstraintCommitment<E, Hasher, Self::VC>;
	type ConstraintEvaluator<'a, E: FieldElement<BaseField = BaseElement>> =
		DefaultConstraintEvaluator<'a, InferenceAir, E>;

	fn get_pub_inputs(&self, _trace: &Self::Trace) -> Statement {
		self.statement.clone()
	}

	fn options(&self) -> &ProofOptions {
		&self.options
	}

	fn new_trace_lde<E: FieldElement<BaseField = BaseElement>>(
		&self,
		trace_info: &TraceInfo,
		main_trace: &ColMatrix<BaseElement>,
		domain: &StarkDomain<BaseElement>,
		partition_options: PartitionOptions,
	) -> (Self::TraceLde<E>, TracePolyTable<E>) {
		DefaultTraceLde::new(trace_info, main_trace, domain, partition_options)
	}

	fn build_constraint_commitment<E: FieldElement<BaseField = BaseElement>>(
		&self,
		composition_poly_trace: CompositionPolyTrace<E>,
		num_constraint_composition_columns: usize,
		domain: &StarkDomain<BaseElement>,
		partition_options: PartitionOptions,
	) -> (Self::ConstraintCommitment<E>, CompositionPoly<E>) {
		DefaultConstraintCommitment::new(
			composition_poly_trace,
			num_constraint_composition_columns,
			domain,
			partition_options,
		)
	}

	fn new_evaluator<'a, E: FieldElement<BaseField = BaseElement>>(
		&self,
		air: &'a InferenceAir,
		aux_rand_elements: Option<AuxRandElements<E>>,
		composition_coefficients: ConstraintCompositionCoefficients<E>,
	) -> Self::ConstraintEvaluator<'a, E> {
		DefaultConstraintEvaluator::new(air, aux_rand_elements, composition_coefficients)
	}
}
