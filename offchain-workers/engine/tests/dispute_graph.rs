//! Dispute graphs of the project's models: lowered, traced reproducibly, each node's kernel
//! held to tract's output for that node on tract's own inputs to it, and the traced outputs
//! to the engine's within the models' tolerance (integer and quantised models exactly).

use codec::Encode;
use haca_engine::{
	lowering::{check_commitment, commitment, lower, LoweringError},
	proto, sample_inputs, DimBounds, EngineError, Plan,
};
use haca_kernels::run;
use haca_primitives::{
	dispute::{GraphCommitment, LOWERING_VERSION},
	merkle,
	tensor::{decode_tensors, tensors_agree, ElementType, Tensor, TensorSpec},
};
use tract_onnx::prelude::*;

fn file(name: &str) -> Vec<u8> {
	std::fs::read(format!("{}/../models/{name}", env!("CARGO_MANIFEST_DIR")))
		.expect("generated model")
}

/// A model and an input for it: its stored reference input, or samples at its declared
/// shapes.
fn case(model: &str, input: Option<&str>) -> (Vec<u8>, Vec<Tensor>) {
	let bytes = file(model);
	let inputs = match input {
		Some(input) => vec![proto::read(&file(input)).unwrap()],
		None => sample_inputs(&Plan::declared_inputs(&bytes, &DimBounds::default()).unwrap()),
	};
	(bytes, inputs)
}

const CASES: [(&str, Option<&str>); 8] = [
	("mlp.onnx", Some("mlp.input.pb")),
	("int_matmul.onnx", Some("int_matmul.input.pb")),
	("cnn_small.onnx", None),
	("exports/cnn/model.onnx", Some("exports/cnn/test_data_set_0/input_0.pb")),
	(
		"exports/transformer_encoder/model.onnx",
		Some("exports/transformer_encoder/test_data_set_0/input_0.pb"),
	),
	("exports/int8_mlp/model.onnx", Some("exports/int8_mlp/test_data_set_0/input_0.pb")),
	("exports/int8_cnn/model.onnx", Some("exports/int8_cnn/test_data_set_0/input_0.pb")),
	(
		"exports/text_classifier/model.onnx",
		Some("exports/text_classifier/test_data_set_0/input_0.pb"),
	),
];

fn specs(tensors: &[Tensor]) -> Vec<TensorSpec> {
	tensors.iter().map(|t| TensorSpec::new("t", t.element_type, &t.shape).unwrap()).collect()
}

/// The tract type of the element types the test models take and give.
fn datum_type(element_type: ElementType) -> DatumType {
	match element_type {
		ElementType::F32 => DatumType::F32,
		ElementType::I32 => DatumType::I32,
		ElementType::I64 => DatumType::I64,
		ElementType::U8 => DatumType::U8,
		ElementType::I8 => DatumType::I8,
		other => panic!("no test tensor of {other:?}"),
	}
}

fn to_tract(tensor: &Tensor) -> TValue {
	let shape: Vec<usize> = tensor.shape.iter().map(|&d| d as usize).collect();
	unsafe {
		tract_onnx::prelude::Tensor::from_raw_dt(
			datum_type(tensor.element_type),
			&shape,
			&tensor.data,
		)
	}
	.unwrap()
	.into_tvalue()
}

fn from_tract(tensor: &tract_onnx::prelude::Tensor) -> Tensor {
	let element_type =
		[ElementType::F32, ElementType::I32, ElementType::I64, ElementType::U8, ElementType::I8]
			.into_iter()
			.find(|&element_type| datum_type(element_type) == tensor.datum_type())
			.unwrap_or_else(|| panic!("no test tensor of {:?}", tensor.datum_type()));
	let data = tensor.try_as_plain_ram().unwrap().as_bytes().to_vec();
	let shape = tensor.shape().iter().map(|&d| d as u32).collect::<Vec<_>>().try_into().unwrap();
	Tensor { element_type, shape, data }
}

/// Whether two f32 tensors are equal within `|a - b| <= 1e-5 + 1e-4·|b|` elementwise (sums in
/// another order round differently; a cancellation can be far apart in ULPs yet close).
fn close(a: &Tensor, b: &Tensor) -> bool {
	let floats = |t: &Tensor| {
		t.data
			.chunks_exact(4)
			.map(|b| f32::from_le_bytes(b.try_into().unwrap()))
			.collect::<Vec<_>>()
	};
	a.shape == b.shape
		&& floats(a).iter().zip(floats(b)).all(|(x, y)| (x - y).abs() <= 1e-5 + 1e-4 * y.abs())
}

#[test]
fn each_kernel_computes_what_tract_computes_for_its_node() {
	for (name, input) in CASES {
		let (bytes, inputs) = case(name, input);
		let lowered = lower(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
		// tract's value of every node output, the model's own path (not optimised).
		let mut model = tract_onnx::onnx().model_for_read(&mut &bytes[..]).unwrap();
		for (index, input) in inputs.iter().enumerate() {
			let shape: Vec<usize> = input.shape.iter().map(|&d| d as usize).collect();
			let fact = InferenceFact::dt_shape(datum_type(input.element_type), shape);
			model.set_input_fact(index, fact).unwrap();
		}
		model.select_outputs_by_name(&lowered.names).unwrap();
		let plan = model.into_typed().unwrap().into_runnable().unwrap();
		let tract_values: Vec<Tensor> = plan
			.run(inputs.iter().map(to_tract).collect())
			.unwrap()
			.iter()
			.map(|value| from_tract(value))
			.collect();
		let graph = &lowered.graph;
		let known: Vec<Tensor> =
			inputs.iter().chain(&graph.constants).chain(&tract_values).cloned().collect();
		for (index, node) in graph.nodes.iter().enumerate() {
			let reads: Vec<Tensor> =
				node.inputs.iter().map(|&v| known[v as usize].clone()).collect();
			let ours = run(&node.op, &reads)
				.unwrap_or_else(|e| panic!("{name} node {index}: {e:?}"))
				.remove(0);
			let theirs = &tract_values[index];
			let agree = match ours.element_type {
				ElementType::F32 => close(&ours, theirs),
				_ => &ours == theirs,
			};
			assert!(
				agree,
				"{name} node {index} ({:?}, {}): ours {:?} tract {:?}",
				node.op, lowered.names[index], ours.shape, theirs.shape
			);
		}
	}
}

#[test]
fn traces_are_reproducible_and_end_where_the_engine_does() {
	for (name, input) in CASES {
		let (bytes, inputs) = case(name, input);
		let lowered = lower(&bytes).unwrap();
		assert_eq!(
			lower(&bytes).unwrap().graph.root(),
			lowered.graph.root(),
			"{name}: one lowering"
		);
		let trace = lowered.graph.trace(&inputs).unwrap_or_else(|e| panic!("{name}: {e:?}"));
		let again = lowered.graph.trace(&inputs).unwrap();
		assert_eq!(trace, again, "{name}: one trace");
		assert_eq!(trace.leaves.len(), lowered.graph.nodes.len());
		// Each node's output is provable against the trace root.
		for (index, leaf) in trace.leaves.iter().enumerate() {
			let siblings = merkle::proof(&trace.leaves, index).unwrap();
			assert!(merkle::verify(
				trace.root,
				*leaf,
				index as u32,
				trace.leaves.len() as u32,
				&siblings
			));
		}
		// The engine's plan (tract, optimised) and the trace agree within the tolerance the
		// project's tests give float models; integers exactly.
		let plan = Plan::compile(&bytes, &specs(&inputs), &specs(&trace.outputs)).unwrap();
		let engine = decode_tensors(&plan.run(&inputs.encode()).unwrap()).unwrap();
		let tolerance =
			if trace.outputs.iter().all(|t| t.element_type.is_float()) { 256 } else { 0 };
		assert!(
			tensors_agree(&trace.outputs, &engine, tolerance),
			"{name}: {:?} vs {:?}",
			trace.outputs,
			engine
		);
	}
}

#[test]
fn a_changed_weight_or_input_changes_the_roots() {
	let (bytes, inputs) = case("mlp.onnx", Some("mlp.input.pb"));
	let graph = lower(&bytes).unwrap().graph;
	let trace = graph.trace(&inputs).unwrap();
	// The first weight doubled or halved (its exponent's lowest bit flipped).
	let mut nudged = graph.clone();
	nudged.constants[0].data[3] ^= 0x01;
	assert_eq!(nudged.root(), graph.root(), "weights are committed apart from the graph");
	assert_ne!(nudged.weights_root(), graph.weights_root());
	let other = nudged.trace(&inputs).unwrap();
	assert_ne!(other.root, trace.root);
	// The first node reads the weight: its leaf differs, as every one after it may.
	assert_ne!(other.leaves[0], trace.leaves[0]);
}

#[test]
fn models_outside_the_op_set_are_named() {
	for (model, op) in [
		("exports/svc/model.onnx", "ai.onnx.ml.SVMClassifier"),
		("exports/random_forest_classifier/model.onnx", "ai.onnx.ml.TreeEnsembleClassifier"),
		("element_types/model.onnx", "Where"),
	] {
		match lower(&file(model)) {
			Err(LoweringError::Unsupported { op: found, .. }) => assert_eq!(found, op, "{model}"),
			other => panic!("{model}: {other:?}"),
		}
	}
}

#[test]
fn a_registered_commitment_is_checked_field_by_field() {
	let bytes = file("cnn_small.onnx");
	let inputs = Plan::declared_inputs(&bytes, &DimBounds::default()).unwrap();
	let recorded = commitment(&bytes, &inputs).unwrap();
	assert_eq!(recorded.lowering, LOWERING_VERSION);
	// The second convolution: 8 filters of 3x3 over 8 channels at each of 16x16 positions.
	assert!(recorded.largest_step >= 8 * 72 * 256, "{}", recorded.largest_step);
	// Its largest inputs: the 8 channels of 16x16 f32 into the second convolution.
	assert!(recorded.largest_step_bytes >= 8 * 256 * 4, "{}", recorded.largest_step_bytes);
	check_commitment(&bytes, &inputs, &recorded).expect("the model's own commitment holds");
	let wrong = [
		("version", GraphCommitment { lowering: LOWERING_VERSION + 1, ..recorded }),
		("node count", GraphCommitment { nodes: recorded.nodes + 1, ..recorded }),
		("graph root", GraphCommitment { graph_root: recorded.weights_root, ..recorded }),
		("weights root", GraphCommitment { weights_root: recorded.graph_root, ..recorded }),
		("largest step", GraphCommitment { largest_step: recorded.largest_step - 1, ..recorded }),
		(
			"largest step's bytes",
			GraphCommitment { largest_step_bytes: recorded.largest_step_bytes + 1, ..recorded },
		),
	];
	for (what, commitment) in wrong {
		match check_commitment(&bytes, &inputs, &commitment) {
			Err(EngineError::GraphMismatch(reason)) => assert!(reason.contains(what), "{reason}"),
			other => panic!("{what}: {other:?}"),
		}
	}
	// A model outside the op set has no graph to commit to.
	match check_commitment(&file("element_types/model.onnx"), &inputs, &recorded) {
		Err(EngineError::GraphMismatch(reason)) => {
			assert!(reason.contains("no dispute graph") && reason.contains("Where"), "{reason}")
		}
		other => panic!("{other:?}"),
	}
}

/// Uniform values in `[0, 8)` of `tensor`'s shape, one draw of a generator seeded by `seed`.
fn uniform_like(tensor: &Tensor, seed: &mut u64) -> Tensor {
	let values: Vec<f32> = (0..tensor.data.len() / 4)
		.map(|_| {
			*seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
			(*seed >> 40) as f32 / (1u64 << 24) as f32 * 8.0
		})
		.collect();
	Tensor::from_f32(&tensor.shape, &values).unwrap()
}

#[test]
fn a_quantised_models_trace_is_the_engines_output_bit_for_bit() {
	// A quantum apart is a whole step of the dequantised logits apart: an honest executor's
	// trace must show exactly what its engine committed. Dividing by the input's scale
	// instead of multiplying by its reciprocal (as tract does) differs on 2 of these inputs.
	let (bytes, inputs) =
		case("exports/int8_mlp/model.onnx", Some("exports/int8_mlp/test_data_set_0/input_0.pb"));
	let graph = lower(&bytes).unwrap().graph;
	let outputs = graph.trace(&inputs).unwrap().outputs;
	let plan = Plan::compile(&bytes, &specs(&inputs), &specs(&outputs)).unwrap();
	let mut seed = 7u64;
	for _ in 0..3000 {
		let input = uniform_like(&inputs[0], &mut seed);
		let trace = graph.trace(std::slice::from_ref(&input)).unwrap().outputs;
		let engine = decode_tensors(&plan.run(&vec![input.clone()].encode()).unwrap()).unwrap();
		assert_eq!(trace, engine, "{input:?}");
	}
}

/// A model of one `QLinearMatMul`: u8 rows of 8 times a column of ones, requantised by
/// `multiplier` (the rows' scale; the other scales 1, the zero points 0).
fn requantising_model(multiplier: f32) -> Vec<u8> {
	use prost::Message;
	use tract_onnx::pb::{
		tensor_shape_proto::{dimension::Value, Dimension},
		type_proto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
		TensorShapeProto, TypeProto, ValueInfoProto,
	};
	let constant = |name: &str, tensor: Tensor| {
		TensorProto::decode(&haca_engine::proto::write(&tensor, name)[..]).unwrap()
	};
	let u8s = |dims: &[u32], data: Vec<u8>| Tensor {
		element_type: ElementType::U8,
		shape: dims.to_vec().try_into().unwrap(),
		data,
	};
	let scalar = |value: f32| Tensor::from_f32(&[], &[value]).unwrap();
	let value = |name: &str, dims: &[i64]| ValueInfoProto {
		name: name.into(),
		r#type: Some(TypeProto {
			value: Some(type_proto::Value::TensorType(type_proto::Tensor {
				elem_type: 2,
				shape: Some(TensorShapeProto {
					dim: dims
						.iter()
						.map(|&d| Dimension {
							value: Some(Value::DimValue(d)),
							..Default::default()
						})
						.collect(),
				}),
			})),
			..Default::default()
		}),
		..Default::default()
	};
	let names = ["a", "a_scale", "zero", "b", "one", "zero", "one", "zero"];
	ModelProto {
		ir_version: 8,
		opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 17 }],
		graph: Some(GraphProto {
			name: "requantise".into(),
			node: vec![NodeProto {
				op_type: "QLinearMatMul".into(),
				name: "product".into(),
				input: names.iter().map(|&name| name.into()).collect(),
				output: vec!["y".into()],
				..Default::default()
			}],
			initializer: vec![
				constant("a_scale", scalar(multiplier)),
				constant("zero", u8s(&[], vec![0])),
				constant("b", u8s(&[8, 1], vec![1; 8])),
				constant("one", scalar(1.0)),
			],
			input: vec![value("a", &[ROWS as i64, 8])],
			output: vec![value("y", &[ROWS as i64, 1])],
			..Default::default()
		}),
		..Default::default()
	}
	.encode_to_vec()
}

/// Rows summing to each of 0 to 2040 (8 bytes of up to 255).
const ROWS: usize = 2041;

#[test]
fn requantisation_rounds_as_tract_does_where_f32_would_not() {
	let rows: Vec<u8> = (0..ROWS)
		.flat_map(|sum| (0..8).map(move |at| (sum as i64 - 255 * at).clamp(0, 255) as u8))
		.collect();
	let a = Tensor {
		element_type: ElementType::U8,
		shape: vec![ROWS as u32, 8].try_into().unwrap(),
		data: rows,
	};
	let mut rounded_in_f32_differs = 0;
	for multiplier in [0.1f32, 0.05, 0.01, 0.123, 0.11, 0.07, 1.0 / 9.0, 1.0 / 11.0, 0.062_5] {
		let bytes = requantising_model(multiplier);
		let graph = lower(&bytes).unwrap().graph;
		let trace = graph.trace(std::slice::from_ref(&a)).unwrap().outputs;
		let plan = Plan::compile(&bytes, &specs(std::slice::from_ref(&a)), &specs(&trace)).unwrap();
		let engine = decode_tensors(&plan.run(&vec![a.clone()].encode()).unwrap()).unwrap();
		assert_eq!(trace, engine, "multiplier {multiplier}");
		rounded_in_f32_differs += (0..ROWS)
			.filter(|&sum| {
				let in_f32 = (sum as f32 * multiplier).round_ties_even().min(255.0) as u8;
				in_f32 != trace[0].data[sum]
			})
			.count();
	}
	// The inputs reach the cases where rounding the f32 product would be a quantum off.
	assert!(rounded_in_f32_differs > 0);
}
