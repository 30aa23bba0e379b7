//! A model's dispute graph to its circuit, and a job's tensors to and from quanta.
//!
//! A graph is provable when it is one chain from its single input to its single output:
//! an optional `QuantizeLinear` (per-tensor), then layers, each a `QLinearMatMul` (per-tensor
//! or per-column weight scales and zero points) or a `QLinearConv` (per-tensor or
//! per-filter, with or without bias) by constant 8-bit weights and optionally followed by a
//! `Clip` of its quanta between constants, with `Flatten`s or `Reshape`s of each sample to a
//! row between them, then an optional `DequantizeLinear` (per-tensor) and an optional
//! `ArgMax` over each sample's outputs (its class). A convolution is a
//! dense layer whose weights are zero outside each output's window: the circuit is
//! compiled for one shape of a sample. The conversions at both ends run in the runtime with
//! the same kernels as the dispute game's; the layers between them are proven.

use alloc::vec::Vec;
use haca_kernels::{graph::Graph, run, Op};
use haca_primitives::tensor::{ElementType, Tensor};

use crate::circuit::{Circuit, Classes, Layer, Quantization};

/// Why a graph has no circuit.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CompileError {
	/// Not one input and one output.
	Interface,
	/// Node `node` is not an operator, or not in a form, a circuit proves.
	Unsupported { node: u32 },
	/// The graph's output is not the chain's last value, or not a row of quanta a sample.
	Output,
	/// Node `node` reads a value of a shape it does not take (for the sample's shape given).
	Shape { node: u32 },
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

/// The elements of a tensor of `element_type`, each read from its `N` little-endian bytes.
fn elements<T, const N: usize>(
	tensor: &Tensor,
	element_type: ElementType,
	read: fn([u8; N]) -> T,
) -> Option<Vec<T>> {
	(tensor.element_type == element_type).then(|| {
		tensor.data.chunks_exact(N).map(|bytes| read(bytes.try_into().unwrap_or([0; N]))).collect()
	})
}

fn floats(tensor: &Tensor) -> Option<Vec<f32>> {
	elements(tensor, ElementType::F32, f32::from_le_bytes)
}

fn integers(tensor: &Tensor) -> Option<Vec<i64>> {
	elements(tensor, ElementType::I64, i64::from_le_bytes)
}

fn sums(tensor: &Tensor) -> Option<Vec<i32>> {
	elements(tensor, ElementType::I32, i32::from_le_bytes)
}

/// A scalar's only element.
fn scalar<T: Copy>(values: Option<Vec<T>>) -> Option<T> {
	values.filter(|values| values.len() == 1).map(|values| values[0])
}

/// The circuit of `graph`'s chain, for inputs whose samples (the input's slices along its
/// first axis) have the shape `sample`.
pub fn compile(graph: &Graph, sample: &[u32]) -> Result<Circuit, CompileError> {
	if graph.header.inputs != 1 || graph.header.outputs.len() != 1 {
		return Err(CompileError::Interface);
	}
	let constant = |value: u32| {
		graph.header.constant_of(value).and_then(|index| graph.constants.get(index as usize))
	};
	let first_node = graph.header.inputs + graph.header.constants;
	// The chain's last value, and the type of its quanta once quantised.
	let mut current = 0;
	// The shape of one sample of the chain's last value.
	let mut shape = sample.to_vec();
	let mut input = None;
	let mut output = None;
	let mut classes = None;
	let mut layers: Vec<Layer> = Vec::new();
	for (index, node) in graph.nodes.iter().enumerate() {
		let number = index as u32;
		let unsupported = CompileError::Unsupported { node: number };
		let misshapen = CompileError::Shape { node: number };
		let reads = &node.inputs;
		// Only the class of the output may follow its conversion, and nothing the class.
		let after_output = output.is_some() && !matches!(node.op, Op::ArgMax { .. });
		if reads.first() != Some(&current) || after_output || classes.is_some() {
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
				if shape != [layer.inputs] {
					return Err(misshapen);
				}
				shape = alloc::vec![layer.outputs];
				let a_signed = quanta(a_zero).ok_or(unsupported)?.1;
				if quantum_type.is_some_and(|signed| signed != a_signed) {
					return Err(unsupported);
				}
				if input.is_none() {
					input = Some(Quantization { signed: a_signed, linear: None });
				}
				layers.push(layer);
			}
			(
				Op::QLinearConv { pads, strides, dilations, group },
				[x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero, bias @ ..],
			) if bias.len() <= 1 => {
				let Ok(&[channels, height, width]) = <&[u32; 3]>::try_from(&shape[..]) else {
					return Err(misshapen);
				};
				let convolution = Convolution {
					image: [channels, height, width],
					pads: *pads,
					strides: *strides,
					dilations: *dilations,
					group: *group,
				};
				let (layer, output) = convolution
					.layer(
						[x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero],
						bias.first().copied(),
					)
					.ok_or(unsupported)?;
				shape = output.to_vec();
				let x_signed = quanta(x_zero).ok_or(unsupported)?.1;
				if quantum_type.is_some_and(|signed| signed != x_signed) {
					return Err(unsupported);
				}
				if input.is_none() {
					input = Some(Quantization { signed: x_signed, linear: None });
				}
				layers.push(layer);
			}
			(Op::Flatten { axis: 1 }, []) => shape = alloc::vec![shape.iter().product()],
			(Op::Reshape, [target]) => {
				let row: u32 = shape.iter().product();
				// Each sample to a row: the batch axis kept (0) or inferred (-1), the row's
				// length given or inferred.
				let fits = match integers(target).ok_or(unsupported)?[..] {
					[0, length] => length == -1 || length == i64::from(row),
					[-1, length] => length == i64::from(row),
					_ => return Err(unsupported),
				};
				if !fits {
					return Err(misshapen);
				}
				shape = alloc::vec![row];
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
			// Over each sample's row of outputs.
			(Op::ArgMax { axis: 1 | -1, keep_dims, select_last }, [])
				if !layers.is_empty() && shape.len() == 1 =>
			{
				classes = Some(Classes { keep_dims: *keep_dims, select_last: *select_last });
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
	if graph.header.outputs[0] != current || layers.is_empty() || shape.len() != 1 {
		return Err(CompileError::Output);
	}
	let input = input.ok_or(CompileError::Output)?;
	let signed = layers.last().is_some_and(|layer| layer.signed);
	let output = output.unwrap_or(Quantization { signed, linear: None });
	Ok(Circuit { input, layers, output, classes })
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

/// A `QLinearConv` of one sample's image (`[channels, height, width]`).
struct Convolution {
	image: [u32; 3],
	pads: [u32; 4],
	strides: [u32; 2],
	dilations: [u32; 2],
	group: u32,
}

impl Convolution {
	/// The dense layer of this convolution by `(x_scale, x_zero, w, w_scale, w_zero,
	/// y_scale, y_zero)` and the optional bias, and the shape of its output image.
	///
	/// Its weights are the convolution's own: the `ConvInteger` kernel applied to a batch of
	/// unit images (one 1 each, zero point 0) gives each input's weights to every output,
	/// padding and windows included.
	fn layer(&self, parameters: [&Tensor; 7], bias: Option<&Tensor>) -> Option<(Layer, [u32; 3])> {
		let [x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero] = parameters;
		let inputs: u32 = self.image.iter().product();
		// No trace holds a wider layer: its unit images are not worth computing.
		if inputs > crate::circuit::MAX_COLUMNS {
			return None;
		}
		let units = Tensor {
			element_type: ElementType::U8,
			shape: [inputs].into_iter().chain(self.image).collect::<Vec<_>>().try_into().ok()?,
			data: (0..inputs as usize)
				.flat_map(|unit| (0..inputs as usize).map(move |at| u8::from(at == unit)))
				.collect(),
		};
		let no_zero = Tensor {
			element_type: ElementType::U8,
			shape: Default::default(),
			data: alloc::vec![0],
		};
		let convolution = Op::ConvInteger {
			pads: self.pads,
			strides: self.strides,
			dilations: self.dilations,
			group: self.group,
		};
		let columns =
			run(&convolution, &[units, w.clone(), no_zero, w_zero.clone()]).ok()?.pop()?;
		let output: [u32; 3] = columns.shape.get(1..)?.try_into().ok()?;
		let (filters, plane) = (output[0] as usize, (output[1] * output[2]) as usize);
		let outputs = filters * plane;
		let columns = sums(&columns)?;
		// Row `o` of the layer is element `o` of every unit image's output.
		let mut weights = Vec::with_capacity(outputs * inputs as usize);
		for at in 0..outputs {
			for unit in 0..inputs as usize {
				weights.push(i16::try_from(columns[unit * outputs + at]).ok()?);
			}
		}
		let w_scales = floats(w_scale)?;
		let per_filter = |values: usize| values == 1 || values == filters;
		let bias = match bias {
			Some(bias) => sums(bias).filter(|bias| bias.len() == filters)?,
			None => alloc::vec![0; filters],
		};
		if !per_filter(w_scales.len()) {
			return None;
		}
		let (x_scale, y_scale) = (scalar(floats(x_scale))?, scalar(floats(y_scale))?);
		let (y_zero, signed) = quanta(y_zero)
			.and_then(|(values, signed)| scalar(Some(values)).map(|value| (value, signed)))?;
		// In the kernel's order: x_scale · w_scale, then / y_scale.
		let multiplier = |filter: usize| {
			let w_scale = w_scales[if w_scales.len() == 1 { 0 } else { filter }];
			(x_scale * w_scale / y_scale).to_bits()
		};
		let (low, high) = if signed { (-128, 127) } else { (0, 255) };
		let layer = Layer {
			inputs,
			outputs: outputs as u32,
			input_zero: scalar(Some(quanta(x_zero)?.0))?,
			weights,
			bias: (0..outputs).map(|at| bias[at / plane]).collect(),
			multipliers: (0..outputs).map(|at| multiplier(at / plane)).collect(),
			output_zero: y_zero,
			low,
			high,
			signed,
		};
		Some((layer, output))
	}
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

	/// The element type of the model's input tensor and its elements a sample.
	pub fn input_type(&self) -> (ElementType, usize) {
		(element_type(&self.input), self.input_len())
	}

	/// The element type of the model's output tensor and its elements a sample.
	pub fn output_type(&self) -> (ElementType, usize) {
		match self.classes {
			Some(_) => (ElementType::I64, 1),
			None => (element_type(&self.output), self.output_len()),
		}
	}

	/// The output tensor of output quanta: `[samples, outputs]`, dequantised
	/// (`DequantizeLinear`'s kernel) or as they are; or each sample's class (`ArgMax`'s
	/// kernel).
	pub fn output_tensor(&self, quanta: &[i32]) -> Option<Tensor> {
		let outputs = self.converted_outputs(quanta)?;
		let Some(Classes { keep_dims, select_last }) = self.classes else { return Some(outputs) };
		run(&Op::ArgMax { axis: 1, keep_dims, select_last }, &[outputs]).ok()?.pop()
	}

	/// `[samples, outputs]` of output quanta, dequantised or as they are.
	fn converted_outputs(&self, quanta: &[i32]) -> Option<Tensor> {
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

/// The element type of a tensor `quantization` converts.
fn element_type(quantization: &Quantization) -> ElementType {
	match (quantization.linear, quantization.signed) {
		(Some(_), _) => ElementType::F32,
		(None, true) => ElementType::I8,
		(None, false) => ElementType::U8,
	}
}

/// A scalar zero point of 8-bit quanta.
fn zero_point(signed: bool, zero: i32) -> Tensor {
	let element_type = if signed { ElementType::I8 } else { ElementType::U8 };
	Tensor { element_type, shape: Default::default(), data: alloc::vec![zero as u8] }
}
