//! What the engine can run, checked on the ONNX protobuf before tract translates it: a model
//! with an operator tract lacks, or with a graph input or output of a type HACA has no
//! element type for, is refused naming the operator and its node, or the tensor and its
//! type; so is a tree ensemble whose structure tract's evaluator would run off.

use std::collections::HashSet;

use tract_onnx::{
	model::OnnxOpRegister,
	pb::{tensor_proto::DataType, type_proto, GraphProto, ModelProto, ValueInfoProto},
	prelude::DatumType,
};

use crate::{convert, ops, EngineError};

/// Checks `model`'s operators against `operators` (tract's) and its graph's inputs and
/// outputs against HACA's element types.
pub(crate) fn check(model: &ModelProto, operators: &OnnxOpRegister) -> Result<(), EngineError> {
	let Some(graph) = &model.graph else { return Ok(()) };
	let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
	let inputs = graph.input.iter().filter(|input| !initializers.contains(input.name.as_str()));
	for (index, input) in inputs.enumerate() {
		check_type(input, "input", index)?;
	}
	for (index, output) in graph.output.iter().enumerate() {
		check_type(output, "output", index)?;
	}
	let functions: HashSet<&str> =
		model.functions.iter().filter_map(|function| function.name.as_deref()).collect();
	check_operators(graph, operators, &functions)
}

fn check_type(value: &ValueInfoProto, what: &str, index: usize) -> Result<(), EngineError> {
	let Some(type_proto::Value::TensorType(tensor)) =
		value.r#type.as_ref().and_then(|kind| kind.value.as_ref())
	else {
		return Ok(());
	};
	let data_type = DataType::try_from(tensor.elem_type);
	let supported = match data_type {
		Ok(DataType::Bfloat16) => true,
		Ok(data_type) => {
			DatumType::try_from(data_type).ok().and_then(convert::element_type).is_some()
		}
		Err(_) => false,
	};
	if supported {
		return Ok(());
	}
	let name = data_type.map_or_else(|_| tensor.elem_type.to_string(), |t| t.as_str_name().into());
	Err(EngineError::Unsupported(format!(
		"{what} {index} (\"{}\") has element type {name}, which HACA's tensors do not have",
		value.name
	)))
}

/// Checks every node of `graph` and of its subgraphs.
fn check_operators(
	graph: &GraphProto,
	operators: &OnnxOpRegister,
	functions: &HashSet<&str>,
) -> Result<(), EngineError> {
	for (index, node) in graph.node.iter().enumerate() {
		let op = match node.domain.as_str() {
			"" | "ai.onnx" => node.op_type.clone(),
			domain => format!("{domain}.{}", node.op_type),
		};
		let named = match node.name.as_str() {
			"" => format!("#{index}"),
			name => format!("\"{name}\""),
		};
		let known = operators.0.contains_key(&node.op_type) || functions.contains(&*node.op_type);
		if !known {
			return Err(EngineError::Unsupported(format!(
				"operator {op} (node {named} of graph \"{}\") is not one tract implements",
				graph.name
			)));
		}
		if matches!(node.op_type.as_str(), "TreeEnsembleClassifier" | "TreeEnsembleRegressor") {
			ops::check_tree_ensemble(node)
				.map_err(|why| EngineError::InvalidModel(format!("{op} (node {named}): {why}")))?;
		}
		for attribute in &node.attribute {
			for subgraph in attribute.g.iter().chain(&attribute.graphs) {
				check_operators(subgraph, operators, functions)?;
			}
		}
	}
	Ok(())
}
