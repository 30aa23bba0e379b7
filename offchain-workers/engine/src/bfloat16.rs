//! bfloat16 models on tract, which has no bfloat16 type: the engine computes them in f32.
//!
//! Before tract reads a model, [`widen`] turns every bfloat16 in it into f32: value types,
//! weights and constants (exactly: a bfloat16 is the upper half of an f32) and `Cast`s to
//! bfloat16. A bfloat16 input is widened on its way in and an output rounded to the nearest
//! bfloat16 (ties to even) on its way out, so clients see the model's declared types. Inside
//! the graph values keep f32 precision where bfloat16 arithmetic would round after every
//! operator, as runtimes without bfloat16 kernels do; outputs differ from such a runtime's by
//! at most a few bfloat16 ULPs, within which a model's tolerance compares them.

use half::bf16;
use tract_onnx::pb::{
	attribute_proto::AttributeType, tensor_proto::DataType, type_proto, GraphProto, ModelProto,
	NodeProto, TensorProto, TypeProto, ValueInfoProto,
};

const BFLOAT16: i32 = DataType::Bfloat16 as i32;
const FLOAT: i32 = DataType::Float as i32;

/// Which of a model's graph inputs (initializers excluded) and outputs were bfloat16 before
/// [`widen`] made them f32.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Widened {
	/// Per graph input, in order.
	pub inputs: Vec<bool>,
	/// Per graph output, in order.
	pub outputs: Vec<bool>,
}

/// Rewrites every bfloat16 in `model` as f32 (see the module's documentation).
pub(crate) fn widen(model: &mut ModelProto) -> Widened {
	let Some(graph) = model.graph.as_mut() else { return Widened::default() };
	let initializers: Vec<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
	let is_bf16 = |value: &ValueInfoProto| elem_type(value) == Some(BFLOAT16);
	let widened = Widened {
		inputs: graph
			.input
			.iter()
			.filter(|value| !initializers.contains(&value.name))
			.map(is_bf16)
			.collect(),
		outputs: graph.output.iter().map(is_bf16).collect(),
	};
	widen_graph(graph);
	for function in &mut model.functions {
		function.node.iter_mut().for_each(widen_node);
	}
	widened
}

/// The element type of a tensor value.
fn elem_type(value: &ValueInfoProto) -> Option<i32> {
	let type_proto::Value::TensorType(tensor) = value.r#type.as_ref()?.value.as_ref()?;
	Some(tensor.elem_type)
}

fn widen_graph(graph: &mut GraphProto) {
	for value in graph.input.iter_mut().chain(&mut graph.output).chain(&mut graph.value_info) {
		if let Some(kind) = value.r#type.as_mut() {
			widen_type(kind);
		}
	}
	graph.initializer.iter_mut().for_each(widen_tensor);
	graph.node.iter_mut().for_each(widen_node);
}

fn widen_type(kind: &mut TypeProto) {
	if let Some(type_proto::Value::TensorType(tensor)) = kind.value.as_mut() {
		if tensor.elem_type == BFLOAT16 {
			tensor.elem_type = FLOAT;
		}
	}
}

/// Widens the attributes of `node`: tensors, subgraphs and data-type codes (`Cast`'s `to`,
/// the `dtype` of generators).
fn widen_node(node: &mut NodeProto) {
	for attribute in &mut node.attribute {
		if attribute.r#type == AttributeType::Int as i32
			&& attribute.i == i64::from(BFLOAT16)
			&& matches!(attribute.name.as_str(), "to" | "dtype")
		{
			attribute.i = i64::from(FLOAT);
		}
		attribute.t.iter_mut().chain(&mut attribute.tensors).for_each(widen_tensor);
		attribute.g.iter_mut().chain(&mut attribute.graphs).for_each(widen_graph);
		attribute.type_protos.iter_mut().for_each(widen_type);
	}
}

/// A bfloat16 tensor's elements as f32, in `raw_data` (ONNX keeps typed bfloat16 elements in
/// the low half of `int32_data`).
fn widen_tensor(tensor: &mut TensorProto) {
	if tensor.data_type != BFLOAT16 {
		return;
	}
	let halves: Vec<u16> = if tensor.raw_data.is_empty() {
		tensor.int32_data.iter().map(|&x| x as u16).collect()
	} else {
		tensor.raw_data.chunks_exact(2).map(|pair| u16::from_le_bytes([pair[0], pair[1]])).collect()
	};
	tensor.raw_data = halves.into_iter().flat_map(|half| to_f32(half).to_le_bytes()).collect();
	tensor.int32_data.clear();
	tensor.data_type = FLOAT;
}

/// The f32 of a bfloat16 bit pattern (exact).
fn to_f32(half: u16) -> f32 {
	bf16::from_bits(half).to_f32()
}

/// The bfloat16 nearest to `value`, ties to even; NaNs stay NaNs.
fn from_f32(value: f32) -> u16 {
	bf16::from_f32(value).to_bits()
}

/// bfloat16 elements (little-endian bytes) as f32 elements.
pub(crate) fn widen_elements(elements: &[u8]) -> Vec<u8> {
	elements
		.chunks_exact(2)
		.flat_map(|pair| to_f32(u16::from_le_bytes([pair[0], pair[1]])).to_le_bytes())
		.collect()
}

/// f32 elements (little-endian bytes) rounded to bfloat16 elements.
pub(crate) fn narrow_elements(elements: &[u8]) -> Vec<u8> {
	elements
		.chunks_exact(4)
		.flat_map(|word| {
			from_f32(f32::from_le_bytes([word[0], word[1], word[2], word[3]])).to_le_bytes()
		})
		.collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn rounding_to_bfloat16_is_to_nearest_ties_to_even() {
		assert_eq!(from_f32(1.0), 0x3f80);
		// 1 + 2^-8 lies halfway between 1.0 (even) and its successor: to 1.0.
		assert_eq!(from_f32(f32::from_bits(0x3f80_8000)), 0x3f80);
		// Halfway between 0x3f81 (odd) and 0x3f82: up, to even.
		assert_eq!(from_f32(f32::from_bits(0x3f81_8000)), 0x3f82);
		assert_eq!(from_f32(f32::from_bits(0x3f80_8001)), 0x3f81);
		assert_eq!(from_f32(f32::MAX), 0x7f80, "beyond the largest bfloat16: infinity");
		assert_eq!(from_f32(-0.0), 0x8000);
		assert!(to_f32(from_f32(f32::NAN)).is_nan());
		assert!(to_f32(from_f32(f32::from_bits(0x7f80_0001))).is_nan(), "low-bit NaN stays NaN");
		for half in [0x0001u16, 0x3f80, 0xc049, 0x7f7f, 0xff80] {
			assert_eq!(from_f32(to_f32(half)), half, "{half:#x} round trip");
		}
	}

	#[test]
	fn widening_rewrites_types_weights_and_casts() {
		let value = |name: &str, elem_type| ValueInfoProto {
			name: name.into(),
			r#type: Some(TypeProto {
				value: Some(type_proto::Value::TensorType(type_proto::Tensor {
					elem_type,
					shape: None,
				})),
				..Default::default()
			}),
			..Default::default()
		};
		let cast = NodeProto {
			op_type: "Cast".into(),
			attribute: vec![tract_onnx::pb::AttributeProto {
				name: "to".into(),
				r#type: AttributeType::Int as i32,
				i: i64::from(BFLOAT16),
				..Default::default()
			}],
			..Default::default()
		};
		let mut model = ModelProto {
			graph: Some(GraphProto {
				input: vec![value("x", BFLOAT16), value("w", BFLOAT16), value("n", FLOAT)],
				output: vec![value("y", FLOAT), value("z", BFLOAT16)],
				initializer: vec![TensorProto {
					name: "w".into(),
					data_type: BFLOAT16,
					dims: vec![2],
					int32_data: vec![0x3f80, 0xc000],
					..Default::default()
				}],
				node: vec![cast],
				..Default::default()
			}),
			..Default::default()
		};
		let widened = widen(&mut model);
		assert_eq!(widened, Widened { inputs: vec![true, false], outputs: vec![false, true] });
		let graph = model.graph.unwrap();
		assert!(graph.input.iter().chain(&graph.output).all(|v| elem_type(v) == Some(FLOAT)));
		let weights = &graph.initializer[0];
		assert_eq!(weights.data_type, FLOAT);
		assert_eq!(weights.raw_data, [1.0f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat());
		assert_eq!(graph.node[0].attribute[0].i, i64::from(FLOAT));
	}
}
