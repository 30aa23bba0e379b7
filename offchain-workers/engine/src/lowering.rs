//! The lowering of an ONNX model to its dispute graph ([`haca_kernels::graph`]): every node
//! of the ONNX graph, in its order, becomes one [`Op`] with its attributes made explicit
//! (defaults filled in, floats as bits); initializers and `Constant` nodes become the
//! graph's constants, `Identity` nodes disappear. A node outside the op set, or in a form
//! the kernels do not take (auto padding, ceil mode, opset-12 softmax, extra outputs), makes
//! the model's disputes the committee's, with that node named.

use std::collections::HashMap;

use crate::EngineError;

use haca_kernels::{
	graph::{Graph, Header, Node, ValueId, LOWERING_VERSION},
	Op,
};
use haca_primitives::{
	dispute::GraphCommitment,
	tensor::{ElementType, Tensor, TensorSpec},
};
use prost::Message;
use tract_onnx::pb::{
	attribute_proto::AttributeType, AttributeProto, ModelProto, NodeProto, TensorProto,
};

/// Why a model has no dispute graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoweringError {
	/// Not an ONNX model this lowering can read.
	#[error("not an ONNX model: {0}")]
	Format(String),
	/// A node outside the op set, or in a form the kernels do not take.
	#[error("node \"{node}\" ({op}) is outside the dispute op set: {reason}")]
	Unsupported { node: String, op: String, reason: String },
}

/// A model's dispute graph, with the ONNX names of its nodes' outputs (to show people which
/// node a trace or a dispute is about).
#[derive(Clone, Debug)]
pub struct Lowered {
	/// The graph.
	pub graph: Graph,
	/// The ONNX name of each node's output, in node order.
	pub names: Vec<String>,
}

/// Lowers the ONNX model in `bytes` to its dispute graph.
pub fn lower(bytes: &[u8]) -> Result<Lowered, LoweringError> {
	let model =
		ModelProto::decode(bytes).map_err(|error| LoweringError::Format(error.to_string()))?;
	let graph = model.graph.as_ref().ok_or_else(|| LoweringError::Format("no graph".into()))?;
	let opset = model
		.opset_import
		.iter()
		.find(|opset| opset.domain.is_empty() || opset.domain == "ai.onnx")
		.map_or(1, |opset| opset.version);
	let mut values: HashMap<&str, ValueId> = HashMap::new();
	let initializers: HashMap<&str, &TensorProto> =
		graph.initializer.iter().map(|tensor| (tensor.name.as_str(), tensor)).collect();
	let mut inputs = 0u32;
	for input in graph.input.iter().filter(|input| !initializers.contains_key(input.name.as_str()))
	{
		values.insert(&input.name, inputs);
		inputs += 1;
	}
	let mut constants = Vec::new();
	for tensor in &graph.initializer {
		values.insert(&tensor.name, inputs + constants.len() as u32);
		constants.push(constant(tensor, &tensor.name)?);
	}
	// `Constant` nodes are constants too: numbered with the initializers, before every node.
	for node in
		graph.node.iter().filter(|node| node.op_type == "Constant" && node.domain.is_empty())
	{
		let unsupported = |reason: &str| unsupported(node, reason);
		let value = attribute(node, "value").and_then(|a| a.t.as_ref());
		let value = value.ok_or_else(|| unsupported("a Constant without a tensor `value`"))?;
		let output = node.output.first().ok_or_else(|| unsupported("no output"))?;
		values.insert(output, inputs + constants.len() as u32);
		constants.push(constant(value, &node.name)?);
	}
	let (mut nodes, mut names) = (Vec::new(), Vec::new());
	for node in
		graph.node.iter().filter(|node| !(node.op_type == "Constant" && node.domain.is_empty()))
	{
		let value_of = |name: &str| {
			values.get(name).copied().ok_or_else(|| {
				unsupported(node, &format!("input \"{name}\" is not computed before it"))
			})
		};
		// Omitted optional inputs are empty names: only at the end.
		let given: Vec<&String> =
			node.input.iter().rev().skip_while(|name| name.is_empty()).collect();
		if given.iter().any(|name| name.is_empty()) {
			return Err(unsupported(node, "an optional input omitted before a given one"));
		}
		let reads =
			given.into_iter().rev().map(|name| value_of(name)).collect::<Result<Vec<_>, _>>()?;
		if node.output.is_empty() {
			return Err(unsupported(node, "no output"));
		}
		if node.op_type == "Identity" && node.domain.is_empty() && reads.len() == 1 {
			values.insert(&node.output[0], reads[0]);
			continue;
		}
		let op = op(node, opset)?;
		// Omitted optional outputs are empty names.
		if node.output.iter().skip(1).any(|name| !name.is_empty()) {
			return Err(unsupported(node, "it has more than one output"));
		}
		let reads = reads.try_into().map_err(|_| unsupported(node, "too many inputs"))?;
		values.insert(&node.output[0], inputs + (constants.len() + nodes.len()) as u32);
		nodes.push(Node { op, inputs: reads });
		names.push(node.output[0].clone());
	}
	let outputs = graph
		.output
		.iter()
		.map(|output| {
			values.get(output.name.as_str()).copied().ok_or_else(|| {
				LoweringError::Format(format!("graph output \"{}\" is not computed", output.name))
			})
		})
		.collect::<Result<Vec<_>, _>>()?
		.try_into()
		.map_err(|_| LoweringError::Format("too many graph outputs".into()))?;
	let header =
		Header { version: LOWERING_VERSION, inputs, constants: constants.len() as u32, outputs };
	Ok(Lowered { graph: Graph { header, constants, nodes }, names })
}

/// What a registration of the model in `bytes`, with inputs up to `inputs`, records about
/// its dispute graph.
pub fn commitment(bytes: &[u8], inputs: &[TensorSpec]) -> Result<GraphCommitment, EngineError> {
	let graph = lower(bytes)
		.map_err(|error| {
			EngineError::GraphMismatch(format!("the model has no dispute graph: {error}"))
		})?
		.graph;
	graph.commitment(&crate::sample_inputs(inputs)).map_err(|error| {
		EngineError::GraphMismatch(format!(
			"the dispute graph fails on the largest inputs: {error:?}"
		))
	})
}

/// Checks that the model in `bytes`, with inputs up to `inputs`, lowers to the graph its
/// registration `recorded`; the error names what differs.
pub fn check_commitment(
	bytes: &[u8],
	inputs: &[TensorSpec],
	recorded: &GraphCommitment,
) -> Result<(), EngineError> {
	let mismatch = |reason: String| EngineError::GraphMismatch(reason);
	if recorded.lowering != LOWERING_VERSION {
		return Err(mismatch(format!(
			"registered for lowering version {}, this engine lowers by version {LOWERING_VERSION}",
			recorded.lowering
		)));
	}
	let computed = commitment(bytes, inputs)?;
	let differs =
		|what: &str, registered: &dyn core::fmt::Debug, computed: &dyn core::fmt::Debug| {
			mismatch(format!("{what}: {registered:?} registered, {computed:?} computed"))
		};
	if recorded.nodes != computed.nodes {
		return Err(differs("node count", &recorded.nodes, &computed.nodes));
	}
	if recorded.graph_root != computed.graph_root {
		return Err(differs("graph root", &recorded.graph_root, &computed.graph_root));
	}
	if recorded.weights_root != computed.weights_root {
		return Err(differs("weights root", &recorded.weights_root, &computed.weights_root));
	}
	if recorded.largest_step != computed.largest_step {
		return Err(differs("largest step", &recorded.largest_step, &computed.largest_step));
	}
	if recorded.largest_step_bytes != computed.largest_step_bytes {
		return Err(differs(
			"largest step's bytes",
			&recorded.largest_step_bytes,
			&computed.largest_step_bytes,
		));
	}
	Ok(())
}

fn unsupported(node: &NodeProto, reason: &str) -> LoweringError {
	let op = if node.domain.is_empty() {
		node.op_type.clone()
	} else {
		format!("{}.{}", node.domain, node.op_type)
	};
	LoweringError::Unsupported { node: node.name.clone(), op, reason: reason.into() }
}

/// A constant tensor of the graph.
fn constant(tensor: &TensorProto, owner: &str) -> Result<Tensor, LoweringError> {
	crate::proto::from_proto(tensor.clone())
		.map_err(|error| LoweringError::Format(format!("constant of \"{owner}\": {error}")))
}

fn attribute<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
	node.attribute.iter().find(|attribute| attribute.name == name)
}

/// Reads a node's attributes, defaults filled in, refusing values the kernels do not take.
struct Attributes<'a> {
	node: &'a NodeProto,
}

impl Attributes<'_> {
	fn int(&self, name: &str, default: i64) -> Result<i64, LoweringError> {
		match attribute(self.node, name) {
			None => Ok(default),
			Some(a) if a.r#type == AttributeType::Int as i32 => Ok(a.i),
			Some(_) => Err(unsupported(self.node, &format!("attribute {name} is not an integer"))),
		}
	}

	fn float_bits(&self, name: &str, default: f32) -> Result<u32, LoweringError> {
		match attribute(self.node, name) {
			None => Ok(default.to_bits()),
			Some(a) if a.r#type == AttributeType::Float as i32 => Ok(a.f.to_bits()),
			Some(_) => Err(unsupported(self.node, &format!("attribute {name} is not a float"))),
		}
	}

	fn flag(&self, name: &str) -> Result<bool, LoweringError> {
		match self.int(name, 0)? {
			0 => Ok(false),
			1 => Ok(true),
			other => Err(unsupported(self.node, &format!("{name} = {other}"))),
		}
	}

	fn ints(&self, name: &str) -> Option<&[i64]> {
		attribute(self.node, name).map(|a| a.ints.as_slice())
	}

	/// `count` non-negative integers (`default` each when absent).
	fn u32s<const N: usize>(&self, name: &str, default: u32) -> Result<[u32; N], LoweringError> {
		let Some(values) = self.ints(name) else { return Ok([default; N]) };
		let values: Vec<u32> =
			values
				.iter()
				.map(|&v| u32::try_from(v))
				.collect::<Result<_, _>>()
				.map_err(|_| unsupported(self.node, &format!("a negative {name}")))?;
		values
			.try_into()
			.map_err(|_| unsupported(self.node, &format!("{name} of a 2-D image expected")))
	}

	fn string(&self, name: &str) -> Option<&[u8]> {
		attribute(self.node, name).map(|a| a.s.as_slice())
	}

	/// Fails unless explicit padding (or none) is asked for.
	fn explicit_padding(&self) -> Result<(), LoweringError> {
		match self.string("auto_pad") {
			None | Some(b"NOTSET") => Ok(()),
			Some(_) => Err(unsupported(self.node, "auto_pad (give explicit pads)")),
		}
	}
}

/// The operator of `node` with its attributes.
fn op(node: &NodeProto, opset: i64) -> Result<Op, LoweringError> {
	let attributes = Attributes { node };
	if !node.domain.is_empty() && node.domain != "ai.onnx" {
		return Err(unsupported(node, "not an operator of the default domain"));
	}
	Ok(match node.op_type.as_str() {
		"Add" => Op::Add,
		"Sub" => Op::Sub,
		"Mul" => Op::Mul,
		"Div" => Op::Div,
		"Relu" => Op::Relu,
		"Sigmoid" => Op::Sigmoid,
		"Tanh" => Op::Tanh,
		"Erf" => Op::Erf,
		"MatMul" => Op::MatMul,
		"MatMulInteger" => Op::MatMulInteger,
		"Gemm" => Op::Gemm {
			trans_a: attributes.flag("transA")?,
			trans_b: attributes.flag("transB")?,
			alpha: attributes.float_bits("alpha", 1.0)?,
			beta: attributes.float_bits("beta", 1.0)?,
		},
		"Conv" => {
			let (pads, strides, dilations, group) = convolution(node, &attributes)?;
			Op::Conv { pads, strides, dilations, group }
		}
		"MaxPool" => {
			if attributes.int("storage_order", 0)? != 0 {
				return Err(unsupported(node, "storage_order"));
			}
			let (kernel, pads, strides) = pooling(node, &attributes)?;
			Op::MaxPool { kernel, pads, strides }
		}
		"GlobalAveragePool" => Op::GlobalAveragePool,
		"Flatten" => Op::Flatten {
			axis: u8::try_from(attributes.int("axis", 1)?)
				.map_err(|_| unsupported(node, "a negative axis"))?,
		},
		"Reshape" if attributes.int("allowzero", 0)? == 0 => Op::Reshape,
		"Transpose" => {
			let perm = attributes.ints("perm").ok_or_else(|| unsupported(node, "no perm"))?;
			let perm: Vec<u8> = perm
				.iter()
				.map(|&axis| u8::try_from(axis))
				.collect::<Result<_, _>>()
				.map_err(|_| unsupported(node, "perm out of range"))?;
			Op::Transpose {
				perm: perm.try_into().map_err(|_| unsupported(node, "perm over the rank bound"))?,
			}
		}
		"ArgMax" => Op::ArgMax {
			axis: small_axis(node, attributes.int("axis", 0)?)?,
			keep_dims: attributes.int("keepdims", 1)? != 0,
			select_last: attributes.flag("select_last_index")?,
		},
		"Softmax" if opset >= 13 => {
			Op::Softmax { axis: small_axis(node, attributes.int("axis", -1)?)? }
		}
		"ReduceMean" if node.input.len() == 1 => {
			let axes: Vec<i8> = attributes
				.ints("axes")
				.unwrap_or_default()
				.iter()
				.map(|&axis| small_axis(node, axis))
				.collect::<Result<_, _>>()?;
			Op::ReduceMean {
				axes: axes.try_into().map_err(|_| unsupported(node, "axes over the rank bound"))?,
				keep_dims: attributes.int("keepdims", 1)? != 0,
			}
		}
		"LayerNormalization" => Op::LayerNormalization {
			axis: small_axis(node, attributes.int("axis", -1)?)?,
			epsilon: attributes.float_bits("epsilon", 1e-5)?,
		},
		"Clip" if opset >= 11 => Op::Clip,
		"Cast" => Op::Cast { to: element_type(node, attributes.int("to", 0)?)? },
		"AveragePool" => {
			let (kernel, pads, strides) = pooling(node, &attributes)?;
			Op::AveragePool {
				kernel,
				pads,
				strides,
				count_include_pad: attributes.flag("count_include_pad")?,
			}
		}
		"Concat" => Op::Concat {
			axis: small_axis(
				node,
				attribute(node, "axis").ok_or_else(|| unsupported(node, "no axis"))?.i,
			)?,
		},
		"Slice" if opset >= 10 => Op::Slice,
		"Gather" => Op::Gather { axis: small_axis(node, attributes.int("axis", 0)?)? },
		"QuantizeLinear" | "DequantizeLinear" => {
			if attributes.int("block_size", 0)? != 0 || attributes.int("output_dtype", 0)? != 0 {
				return Err(unsupported(node, "blocked quantisation or an output_dtype"));
			}
			let axis = small_axis(node, attributes.int("axis", 1)?)?;
			if node.op_type == "QuantizeLinear" {
				Op::QuantizeLinear { axis }
			} else {
				Op::DequantizeLinear { axis }
			}
		}
		"QLinearMatMul" => Op::QLinearMatMul,
		"ConvInteger" => {
			let (pads, strides, dilations, group) = convolution(node, &attributes)?;
			Op::ConvInteger { pads, strides, dilations, group }
		}
		"QLinearConv" => {
			let (pads, strides, dilations, group) = convolution(node, &attributes)?;
			Op::QLinearConv { pads, strides, dilations, group }
		}
		"Clip" => return Err(unsupported(node, "opset-6 Clip (bounds as attributes)")),
		"Slice" => return Err(unsupported(node, "opset-1 Slice (bounds as attributes)")),
		"Reshape" => return Err(unsupported(node, "allowzero")),
		"Softmax" => {
			return Err(unsupported(node, "opset-12 Softmax (over the flattened trailing axes)"))
		}
		"ReduceMean" => return Err(unsupported(node, "axes as an input")),
		_ => return Err(unsupported(node, "no kernel")),
	})
}

/// A 2-D convolution's pads, strides, dilations and group, refusing auto padding.
#[allow(clippy::type_complexity)]
fn convolution(
	node: &NodeProto,
	attributes: &Attributes,
) -> Result<([u32; 4], [u32; 2], [u32; 2], u32), LoweringError> {
	attributes.explicit_padding()?;
	Ok((
		attributes.u32s("pads", 0)?,
		attributes.u32s("strides", 1)?,
		attributes.u32s("dilations", 1)?,
		u32::try_from(attributes.int("group", 1)?)
			.map_err(|_| unsupported(node, "a negative group"))?,
	))
}

/// A 2-D pooling's window, pads and strides, refusing ceil mode, dilation and auto padding.
#[allow(clippy::type_complexity)]
fn pooling(
	node: &NodeProto,
	attributes: &Attributes,
) -> Result<([u32; 2], [u32; 4], [u32; 2]), LoweringError> {
	attributes.explicit_padding()?;
	if attributes.flag("ceil_mode")? {
		return Err(unsupported(node, "ceil_mode"));
	}
	if attributes.u32s::<2>("dilations", 1)? != [1, 1] {
		return Err(unsupported(node, "dilated pooling"));
	}
	let kernel =
		attributes.ints("kernel_shape").ok_or_else(|| unsupported(node, "no kernel_shape"))?;
	if kernel.len() != 2 {
		return Err(unsupported(node, "kernel_shape of a 2-D image expected"));
	}
	Ok((
		attributes.u32s("kernel_shape", 1)?,
		attributes.u32s("pads", 0)?,
		attributes.u32s("strides", 1)?,
	))
}

/// The element type of an ONNX `DataType` code the kernels convert to.
fn element_type(node: &NodeProto, code: i64) -> Result<ElementType, LoweringError> {
	use tract_onnx::pb::tensor_proto::DataType;
	Ok(match DataType::try_from(code as i32) {
		Ok(DataType::Float) => ElementType::F32,
		Ok(DataType::Int32) => ElementType::I32,
		Ok(DataType::Int64) => ElementType::I64,
		Ok(DataType::Uint8) => ElementType::U8,
		Ok(DataType::Int8) => ElementType::I8,
		_ => return Err(unsupported(node, &format!("a cast to data type {code}"))),
	})
}

fn small_axis(node: &NodeProto, axis: i64) -> Result<i8, LoweringError> {
	i8::try_from(axis).map_err(|_| unsupported(node, "axis out of range"))
}
