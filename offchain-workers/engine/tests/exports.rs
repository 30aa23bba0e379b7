//! Models as their users export them (`scripts/gen_exports.py`: scikit-learn through
//! skl2onnx, ZipMap off; a CNN, a transformer encoder and a text classifier as torch.onnx
//! writes them; int8 networks as onnxruntime's quantisation tool writes them), run by the
//! engine and held against onnxruntime's outputs, which the generator stored next to each
//! model in the ONNX backend layout.

use std::path::{Path, PathBuf};

use codec::Encode;
use haca_engine::{proto, EngineError, Plan};
use haca_primitives::tensor::{
	decode_strings, decode_tensors, encode_strings, tensors_agree, ElementType, Tensor, TensorSpec,
};

/// Float outputs may differ from onnxruntime's by this many units in the last place
/// (different summation orders and `exp` implementations); integer and string outputs
/// (labels) not at all.
const TOLERANCE_ULPS: u32 = 256;

fn export(name: &str) -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/exports").join(name)
}

fn tensors(dir: &Path, kind: &str) -> Vec<Tensor> {
	let set = dir.join("test_data_set_0");
	(0..)
		.map(|index| set.join(format!("{kind}_{index}.pb")))
		.take_while(|path| path.exists())
		.map(|path| proto::read(&std::fs::read(path).unwrap()).expect("valid .pb"))
		.collect()
}

fn specs(tensors: &[Tensor]) -> Vec<TensorSpec> {
	tensors
		.iter()
		.map(|tensor| TensorSpec::new("t", tensor.element_type, &tensor.shape).unwrap())
		.collect()
}

/// The specs of batches like `tensors` (batch first) of up to `largest` rows.
fn batch_specs(tensors: &[Tensor], largest: u32) -> Vec<TensorSpec> {
	specs(tensors)
		.into_iter()
		.map(|mut spec| {
			spec.shape[0] = largest;
			spec.with_variable_axes(&[0])
		})
		.collect()
}

/// The first `rows` rows of each tensor.
fn first_rows(tensors: &[Tensor], rows: u32) -> Vec<Tensor> {
	tensors
		.iter()
		.map(|tensor| {
			let mut shape = tensor.shape.clone();
			shape[0] = rows;
			let data = match decode_strings(&tensor.data) {
				Some(strings) if tensor.element_type == ElementType::String => {
					let row_len = strings.len() / tensor.shape[0] as usize;
					encode_strings(strings[..row_len * rows as usize].iter().copied()).unwrap()
				}
				_ => {
					let row_len = tensor.data.len() / tensor.shape[0] as usize;
					tensor.data[..row_len * rows as usize].to_vec()
				}
			};
			Tensor { element_type: tensor.element_type, shape, data }
		})
		.collect()
}

/// Runs export `name` on its stored input; its outputs and onnxruntime's.
fn run(name: &str) -> Result<(Vec<Tensor>, Vec<Tensor>), EngineError> {
	let dir = export(name);
	let bytes = std::fs::read(dir.join("model.onnx")).unwrap();
	let (inputs, expected) = (tensors(&dir, "input"), tensors(&dir, "output"));
	let plan = Plan::compile(&bytes, &specs(&inputs), &specs(&expected))?;
	let outputs = decode_tensors(&plan.run(&inputs.encode())?).unwrap();
	Ok((outputs, expected))
}

const EXPORTS: [&str; 18] = [
	"logistic_regression",
	"logistic_regression_names",
	"random_forest_names",
	"random_forest_classifier",
	"gradient_boosting_regressor",
	"mlp_classifier",
	"svc",
	"svc_linear",
	"svc_poly",
	"svc_names",
	"scaler_logistic_pipeline",
	"cnn",
	"transformer_encoder",
	"int8_mlp",
	"int8_qcnn",
	"int8_qcnn_classes",
	"int8_cnn",
	"text_classifier",
];

#[test]
fn exports_match_onnxruntime() {
	for name in EXPORTS {
		let (outputs, expected) = run(name).unwrap_or_else(|error| panic!("{name}: {error}"));
		assert!(
			tensors_agree(&outputs, &expected, TOLERANCE_ULPS),
			"{name}: {outputs:?}\nonnxruntime: {expected:?}"
		);
	}
}

#[test]
fn exports_take_any_batch_up_to_their_bound() {
	// Exported with a dynamic batch; registered once for batches of up to 8 rows.
	for name in EXPORTS {
		let dir = export(name);
		let bytes = std::fs::read(dir.join("model.onnx")).unwrap();
		let (inputs, expected) = (tensors(&dir, "input"), tensors(&dir, "output"));
		let plan = Plan::compile(&bytes, &batch_specs(&inputs, 8), &batch_specs(&expected, 8))
			.unwrap_or_else(|error| panic!("{name}: {error}"));
		let stored = inputs[0].shape[0];
		for rows in [stored, 1, stored - 1] {
			let outputs = plan.run(&first_rows(&inputs, rows).encode()).unwrap();
			let outputs = decode_tensors(&outputs).unwrap();
			let expected = first_rows(&expected, rows);
			assert!(
				tensors_agree(&outputs, &expected, TOLERANCE_ULPS),
				"{name}, {rows} rows: {outputs:?}\nonnxruntime: {expected:?}"
			);
		}
	}
}

#[test]
fn exports_the_engine_cannot_run_are_refused_by_name() {
	match run("svc_binary") {
		Err(EngineError::InvalidModel(message)) => {
			assert!(
				message.contains("SVMClassifier: a binary classifier is not supported"),
				"{message}"
			)
		}
		other => panic!("{other:?}"),
	}
}

/// The random forest export with `edit` applied to its `TreeEnsembleClassifier` node.
fn tampered_forest(edit: impl Fn(&mut tract_onnx::pb::NodeProto)) -> Vec<u8> {
	use prost::Message;
	let bytes = std::fs::read(export("random_forest_classifier").join("model.onnx")).unwrap();
	let mut model = tract_onnx::pb::ModelProto::decode(&bytes[..]).unwrap();
	let graph = model.graph.as_mut().unwrap();
	let node = graph.node.iter_mut().find(|n| n.op_type == "TreeEnsembleClassifier").unwrap();
	edit(node);
	model.encode_to_vec()
}

fn ints<'a>(node: &'a mut tract_onnx::pb::NodeProto, name: &str) -> &'a mut Vec<i64> {
	&mut node.attribute.iter_mut().find(|a| a.name == name).unwrap().ints
}

#[test]
fn tree_ensembles_that_would_run_off_their_arrays_are_refused() {
	let dir = export("random_forest_classifier");
	let (inputs, outputs) = (specs(&tensors(&dir, "input")), specs(&tensors(&dir, "output")));
	let compile = |bytes: Vec<u8>| Plan::compile(&bytes, &inputs, &outputs).err();
	assert_eq!(compile(tampered_forest(|_| {})), None, "the untouched export loads");
	let refused = |bytes: Vec<u8>, why: &str| match compile(bytes) {
		Some(EngineError::InvalidModel(message)) => assert!(message.contains(why), "{message}"),
		other => panic!("accepted or other error: {other:?}"),
	};
	// tract would add the leaf's weight past the end of its three class scores.
	refused(tampered_forest(|node| ints(node, "class_ids")[0] = 99), "beyond the 3");
	// A branch into the next tree's nodes.
	refused(tampered_forest(|node| ints(node, "nodes_truenodeids")[0] = 500), "outside its tree");
	// Node ids with a gap: tract's row arithmetic would point elsewhere.
	refused(tampered_forest(|node| ints(node, "nodes_nodeids")[1] = 900), "without gaps");
	// tract's classifier reads `>=` nodes as leaves.
	let greater_equal = |node: &mut tract_onnx::pb::NodeProto| {
		let modes = node.attribute.iter_mut().find(|a| a.name == "nodes_modes").unwrap();
		modes.strings[0] = b"BRANCH_GTE".to_vec();
	};
	refused(tampered_forest(greater_equal), "BRANCH_GTE");
}

/// A one-tree `TreeEnsembleRegressor` over one feature: `x <mode> 0.5` leads to 1.0, else
/// to 2.0 (plus a base value of 10); NaN goes the true way if `nan_true`.
fn stump(mode: &str, nan_true: bool) -> Vec<u8> {
	use prost::Message;
	use tract_onnx::pb::{
		attribute_proto::AttributeType, type_proto, AttributeProto, GraphProto, ModelProto,
		NodeProto, OperatorSetIdProto, TypeProto, ValueInfoProto,
	};
	let ints = |name: &str, ints: Vec<i64>| AttributeProto {
		name: name.into(),
		r#type: AttributeType::Ints as i32,
		ints,
		..Default::default()
	};
	let floats = |name: &str, floats: Vec<f32>| AttributeProto {
		name: name.into(),
		r#type: AttributeType::Floats as i32,
		floats,
		..Default::default()
	};
	let modes = AttributeProto {
		name: "nodes_modes".into(),
		r#type: AttributeType::Strings as i32,
		strings: vec![mode.into(), b"LEAF".to_vec(), b"LEAF".to_vec()],
		..Default::default()
	};
	let value = |name: &str, dims: &[i64]| ValueInfoProto {
		name: name.into(),
		r#type: Some(TypeProto {
			value: Some(type_proto::Value::TensorType(type_proto::Tensor {
				elem_type: 1,
				shape: Some(tract_onnx::pb::TensorShapeProto {
					dim: dims
						.iter()
						.map(|&d| tract_onnx::pb::tensor_shape_proto::Dimension {
							value: Some(
								tract_onnx::pb::tensor_shape_proto::dimension::Value::DimValue(d),
							),
							..Default::default()
						})
						.collect(),
				}),
			})),
			..Default::default()
		}),
		..Default::default()
	};
	let node = NodeProto {
		op_type: "TreeEnsembleRegressor".into(),
		domain: "ai.onnx.ml".into(),
		name: "stump".into(),
		input: vec!["x".into()],
		output: vec!["y".into()],
		attribute: vec![
			ints("nodes_treeids", vec![0, 0, 0]),
			ints("nodes_nodeids", vec![0, 1, 2]),
			ints("nodes_featureids", vec![0, 0, 0]),
			ints("nodes_truenodeids", vec![1, 0, 0]),
			ints("nodes_falsenodeids", vec![2, 0, 0]),
			ints("nodes_missing_value_tracks_true", vec![i64::from(nan_true), 0, 0]),
			floats("nodes_values", vec![0.5, 0.0, 0.0]),
			modes,
			ints("target_treeids", vec![0, 0]),
			ints("target_nodeids", vec![1, 2]),
			ints("target_ids", vec![0, 0]),
			floats("target_weights", vec![1.0, 2.0]),
			floats("base_values", vec![10.0]),
		],
		..Default::default()
	};
	let opset = |domain: &str, version| OperatorSetIdProto { domain: domain.into(), version };
	ModelProto {
		ir_version: 8,
		opset_import: vec![opset("", 17), opset("ai.onnx.ml", 3)],
		graph: Some(GraphProto {
			name: "g".into(),
			node: vec![node],
			input: vec![value("x", &[4, 1])],
			output: vec![value("y", &[4, 1])],
			..Default::default()
		}),
		..Default::default()
	}
	.encode_to_vec()
}

#[test]
fn the_tree_regressor_follows_each_comparison_and_the_nan_rule() {
	let x = Tensor::from_f32(&[4, 1], &[0.7, 0.2, 0.5, f32::NAN]).unwrap();
	let specs =
		|tensor: &Tensor| vec![TensorSpec::new("t", tensor.element_type, &tensor.shape).unwrap()];
	let predict = |mode: &str, nan_true: bool| -> Vec<f32> {
		let bytes = stump(mode, nan_true);
		let plan = Plan::discover(&bytes, &specs(&x), haca_engine::DATA_DEPENDENT_MAX)
			.unwrap_or_else(|e| panic!("{mode}: {e}"));
		let outputs = decode_tensors(&plan.run(&vec![x.clone()].encode()).unwrap()).unwrap();
		outputs[0].data.chunks(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
	};
	// Inputs 0.7, 0.2, 0.5 and NaN against 0.5: 11 where the comparison holds, else 12.
	assert_eq!(predict("BRANCH_LEQ", false), [12.0, 11.0, 11.0, 12.0]);
	assert_eq!(predict("BRANCH_LT", true), [12.0, 11.0, 12.0, 11.0]);
	assert_eq!(predict("BRANCH_GT", false), [11.0, 12.0, 12.0, 12.0]);
	assert_eq!(predict("BRANCH_GTE", false), [11.0, 12.0, 11.0, 12.0]);
	assert_eq!(predict("BRANCH_GTE", true), [11.0, 12.0, 11.0, 11.0]);
	assert_eq!(predict("BRANCH_EQ", false), [12.0, 12.0, 11.0, 12.0]);
	assert_eq!(predict("BRANCH_NEQ", false), [11.0, 11.0, 12.0, 12.0]);
}
