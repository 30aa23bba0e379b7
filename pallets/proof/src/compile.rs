//! A model's dispute graph to its circuit, and a job's tensors to and from quanta.
//!
//! A graph is provable when it is one chain from its single input to its single output:
//! an optional `QuantizeLinear` (per-tensor), then `QLinearMatMul`s of constant 8-bit
//! weights (per-tensor or per-column scales and zero points), each optionally followed by a
//! `Clip` of its quanta between constants, then an optional `DequantizeLinear`
//! (per-tensor). The conversions at both ends run in the runtime with the same kernels as
//! the dispute game's; the layers between them are proven.

use alloc::vec::Vec;
use haca_kernels::{graph::Graph, run, Op};
use haca_primitives::tensor::{ElementType, Tensor};

use crate::circuit::{Circuit, Layer, Quantization};

/// Why a graph has no circuit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CompileError {
	/// Not one input and one output.
	Interface,
	/// Node `node` is not an operator, or not in a form, a circuit proves.
	Unsupported { node: u32 },
	/// The graph's output is not the chain's last value.
	Output,
}

/// The elements of an 8-bit tensor as i32, and whether they are signed.
fn quanta(tensor: &Tensor) -> Option<(Vec<i32>, bool)> {
	match tensor.element_type {
		ElementType::U8 => Some((tensor.data.iter().map(|&byte| byte.into()).collect(), false)),
		ElementType::I8 => {
			Some((tensor.data.iter().map(|&byte| (byte as i8).into()).collect(), true))
		}
		_ => None,
	}
}

/// The elements of an f32 tensor.
fn floats(tensor: &Tensor) -> Option<Vec<f32>> {
	(tensor.element_type == ElementType::F32).then(|| {
		tensor
			.data
			.chunks_exact(4)
			.map(|bytes| f32::from_le_bytes(bytes.try_into().unwrap_or_default()))
			.collect()
	})
}

/// A scalar's only element.
fn scalar<T: Copy>(values: Option<Vec<T>>) -> Option<T> {
	values.filter(|values| values.len() == 1).map(|values| values[0])
}

/// The circuit of `graph`'s chain.
pub fn compile(graph: &Graph) -> Result<Circuit, CompileError> {
	if graph.header.inputs != 1 || graph.header.outputs.len() != 1 {
		return Err(CompileError::Interface);
	}
	let constant = |value: u32| {
		graph.header.constant_of(value).and_then(|index| graph.constants.get(index as usize))
	};
	let first_node = graph.header.inputs + graph.header.constants;
	// The chain's last value, and the type of its quanta once quantised.
	let mut current = 0;
	let mut input = None;
	let mut output = None;
	let mut layers: Vec<Layer> = Vec::new();
	for (index, node) in graph.nodes.iter().enumerate() {
		let number = index as u32;
		let unsupported = CompileError::Unsupported { node: number };
		let reads = &node.inputs;
		if reads.first() != Some(&current) || output.is_some() {
			return Err(unsupported);
		}
		let constants = reads[1..].iter().map(|&value| constant(value)).collect::<Option<Vec<_>>>();
		let constants = constants.ok_or(unsupported)?;
		let quantum_type = layers
			.last()
			.map(|layer| layer.signed)
			.or(input.as_ref().map(|input: &Quantization| input.signed));
		match (&node.op, &constants[..]) {
			(Op::QuantizeLinear { .. }, [scale, zero @ ..]) if index == 0 => {
				let scale = scalar(floats(scale)).ok_or(unsupported)?;
				let (zero, signed) = match zero {
					[] => (0, false),
					[zero] => {
						let (values, signed) = quanta(zero).ok_or(unsupported)?;
						(scalar(Some(values)).ok_or(unsupported)?, signed)
					}
					_ => return Err(unsupported),
				};
				input = Some(Quantization { signed, linear: Some((scale.to_bits(), zero)) });
			}
			(Op::QLinearMatMul, [a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero]) => {
				let layer = matmul_layer(a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero)
					.ok_or(unsupported)?;
				let a_signed = quanta(a_zero).ok_or(unsupported)?.1;
				if quantum_type.is_some_and(|signed| signed != a_signed) {
					return Err(unsupported);
				}
				if input.is_none() {
					input = Some(Quantization { signed: a_signed, linear: None });
				}
				layers.push(layer);
			}
			(Op::Clip, bounds) if bounds.len() <= 2 => {
				let layer = layers.last_mut().filter(|_| !bounds.is_empty()).ok_or(unsupported)?;
				let bound = |at: usize| -> Result<Option<i32>, CompileError> {
					let Some(tensor) = bounds.get(at) else { return Ok(None) };
					let (values, signed) = quanta(tensor).ok_or(unsupported)?;
					if signed != layer.signed {
						return Err(unsupported);
					}
					scalar(Some(values)).map(Some).ok_or(unsupported)
				};
				let (low, high) = (bound(0)?, bound(1)?);
				layer.low = layer.low.max(low.unwrap_or(i32::MIN));
				layer.high = layer.high.min(high.unwrap_or(i32::MAX));
				if layer.low > layer.high {
					return Err(unsupported);
				}
			}
			(Op::DequantizeLinear { .. }, [scale, zero @ ..]) if !layers.is_empty() => {
				let scale = scalar(floats(scale)).ok_or(unsupported)?;
				let signed = quantum_type.ok_or(unsupported)?;
				let zero = match zero {
					[] => 0,
					[zero] => {
						let (values, zero_signed) = quanta(zero).ok_or(unsupported)?;
						if zero_signed != signed {
							return Err(unsupported);
						}
						scalar(Some(values)).ok_or(unsupported)?
					}
					_ => return Err(unsupported),
				};
				output = Some(Quantization { signed, linear: Some((scale.to_bits(), zero)) });
			}
			_ => return Err(unsupported),
		}
		current = first_node + number;
	}
	if graph.header.outputs[0] != current || layers.is_empty() {
		return Err(CompileError::Output);
	}
	let input = input.ok_or(CompileError::Output)?;
	let signed = layers.last().is_some_and(|layer| layer.signed);
	Ok(Circuit { input, layers, output: output.unwrap_or(Quantization { signed, linear: None }) })
}

/// The layer of a `QLinearMatMul` of the chain's value by a constant `b` (`[inputs,
/// outputs]`).
fn matmul_layer(
	a_scale: &Tensor,
	a_zero: &Tensor,
	b: &Tensor,
	b_scale: &Tensor,
	b_zero: &Tensor,
	y_scale: &Tensor,
	y_zero: &Tensor,
) -> Option<Layer> {
	let [inputs, outputs] = b.shape[..] else { return None };
	let (columns, rows) = (outputs as usize, inputs as usize);
	let (weights, b_signed) = quanta(b)?;
	let (b_zeros, zero_signed) = quanta(b_zero)?;
	let b_scales = floats(b_scale)?;
	let per_column = |values: usize| values == 1 || values == columns;
	if zero_signed != b_signed || !per_column(b_zeros.len()) || !per_column(b_scales.len()) {
		return None;
	}
	fn pick<T: Copy>(values: &[T], at: usize) -> T {
		if values.len() == 1 {
			values[0]
		} else {
			values[at]
		}
	}
	let (a_scale, y_scale) = (scalar(floats(a_scale))?, scalar(floats(y_scale))?);
	let (y_zero, signed) = quanta(y_zero)
		.and_then(|(values, signed)| scalar(Some(values)).map(|value| (value, signed)))?;
	let input_zero = scalar(Some(quanta(a_zero)?.0))?;
	// Row `i` of the layer is column `i` of `b`, less its zero point.
	let mut layer_weights = Vec::with_capacity(rows * columns);
	for output in 0..columns {
		for input in 0..rows {
			let weight = weights[input * columns + output] - pick(&b_zeros, output);
			layer_weights.push(i16::try_from(weight).ok()?);
		}
	}
	// In the kernel's order: a_scale · b_scale, then / y_scale.
	let multipliers =
		(0..columns).map(|output| (a_scale * pick(&b_scales, output) / y_scale).to_bits());
	let (low, high) = if signed { (-128, 127) } else { (0, 255) };
	Some(Layer {
		inputs,
		outputs,
		input_zero,
		weights: layer_weights,
		bias: alloc::vec![0; columns],
		multipliers: multipliers.collect(),
		output_zero: y_zero,
		low,
		high,
		signed,
	})
}

impl Circuit {
	/// The input quanta of a job's input tensor: its elements quantised (`QuantizeLinear`'s
	/// kernel) or read as they are; `None` if its type does not fit.
	pub fn input_quanta(&self, input: &Tensor) -> Option<Vec<i32>> {
		let quantised = match self.input.linear {
			Some((scale, zero)) => {
				let zero = zero_point(self.input.signed, zero);
				let scale = Tensor::from_f32(&[], &[f32::from_bits(scale)])?;
				let mut outputs =
					run(&Op::QuantizeLinear { axis: 1 }, &[input.clone(), scale, zero]).ok()?;
				outputs.pop()?
			}
			None => input.clone(),
		};
		let (values, signed) = quanta(&quantised)?;
		(signed == self.input.signed).then_some(values)
	}

	/// The output tensor (`[samples, outputs]`) of output quanta: dequantised
	/// (`DequantizeLinear`'s kernel) or as they are.
	pub fn output_tensor(&self, quanta: &[i32]) -> Option<Tensor> {
		let per_sample = self.output_len();
		let samples = u32::try_from(quanta.len() / per_sample.max(1)).ok()?;
		let dims = [samples, per_sample as u32];
		let element_type = if self.output.signed { ElementType::I8 } else { ElementType::U8 };
		let data = quanta.iter().map(|&value| value as u8).collect();
		let tensor = Tensor { element_type, shape: dims.to_vec().try_into().ok()?, data };
		let Some((scale, zero)) = self.output.linear else { return Some(tensor) };
		let scale = Tensor::from_f32(&[], &[f32::from_bits(scale)])?;
		let zero = zero_point(self.output.signed, zero);
		run(&Op::DequantizeLinear { axis: 1 }, &[tensor, scale, zero]).ok()?.pop()
	}
}

/// A scalar zero point of 8-bit quanta.
fn zero_point(signed: bool, zero: i32) -> Tensor {
	let element_type = if signed { ElementType::I8 } else { ElementType::U8 };
	Tensor { element_type, shape: Default::default(), data: alloc::vec![zero as u8] }
}
