//! The engine against real ONNX models made by `scripts/gen_models.py`: correctness against
//! NumPy's independent evaluation, determinism across runs, thread counts and processes,
//! and the named errors for bad models and inputs.

use std::{path::PathBuf, process::Command, sync::Arc, thread};

use codec::Encode;
use haca_engine::{npy, Engine, EngineConfig, EngineError, ModelId};
use haca_primitives::tensor::{
	decode_tensors, tensors_agree, ElementType, Tensor, TensorError, TensorSpec,
};

fn model_path(file: &str) -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models").join(file)
}

fn spec(element_type: ElementType, dims: &[u32]) -> TensorSpec {
	TensorSpec {
		name: b"t".to_vec().try_into().unwrap(),
		element_type,
		shape: dims.to_vec().try_into().unwrap(),
		variable_axes: 0,
	}
}

/// A model file, its hash and its specs.
struct Model {
	hash: ModelId,
	bytes: Vec<u8>,
	inputs: Vec<TensorSpec>,
	outputs: Vec<TensorSpec>,
	name: &'static str,
}

fn mlp() -> Model {
	model("mlp", spec(ElementType::F32, &[1, 4]), spec(ElementType::F32, &[1, 3]))
}

fn int_matmul() -> Model {
	model("int_matmul", spec(ElementType::U8, &[1, 8]), spec(ElementType::I32, &[1, 4]))
}

fn model(name: &'static str, input: TensorSpec, output: TensorSpec) -> Model {
	let bytes = std::fs::read(model_path(&format!("{name}.onnx"))).expect("generated model");
	Model {
		hash: sp_crypto_hashing::blake2_256(&bytes),
		bytes,
		inputs: vec![input],
		outputs: vec![output],
		name,
	}
}

fn npy_file(file: String) -> Tensor {
	npy::read(&std::fs::read(model_path(&file)).expect("reference file")).expect("valid .npy")
}

fn engine_with(threads: usize, model: &Model) -> Engine {
	let engine = Engine::new(EngineConfig { threads, ..Default::default() }, None);
	engine.load(model.hash, &model.bytes, &model.inputs, &model.outputs).expect("model loads");
	engine
}

fn reference_input(model: &Model) -> Vec<u8> {
	vec![npy_file(format!("{}.input.npy", model.name))].encode()
}

fn reference_output(model: &Model) -> Vec<Tensor> {
	vec![npy_file(format!("{}.output.npy", model.name))]
}

#[test]
fn float_outputs_match_numpy_within_a_few_ulps() {
	let model = mlp();
	let outputs = engine_with(1, &model).run(&model.hash, &reference_input(&model)).unwrap();
	let outputs = decode_tensors(&outputs).unwrap();
	assert!(tensors_agree(&outputs, &reference_output(&model), 8), "{outputs:?}");
	assert!(
		!tensors_agree(&outputs, &reference_output(&model), 0)
			|| outputs == reference_output(&model)
	);
}

#[test]
fn integer_models_are_exact() {
	let model = int_matmul();
	let outputs = engine_with(2, &model).run(&model.hash, &reference_input(&model)).unwrap();
	assert_eq!(decode_tensors(&outputs).unwrap(), reference_output(&model));
}

#[test]
fn outputs_are_bit_identical_across_runs_and_thread_counts() {
	let model = mlp();
	let input = reference_input(&model);
	let first = engine_with(1, &model).run(&model.hash, &input).unwrap();
	for _ in 0..50 {
		assert_eq!(engine_with(1, &model).run(&model.hash, &input).unwrap(), first);
	}
	let engine = Arc::new(engine_with(4, &model));
	let runs: Vec<_> = (0..16)
		.map(|_| {
			let (engine, input, hash) = (engine.clone(), input.clone(), model.hash);
			thread::spawn(move || engine.run(&hash, &input))
		})
		.collect();
	for run in runs {
		assert_eq!(run.join().unwrap().unwrap(), first);
	}
}

#[test]
fn runs_in_one_engine_depend_only_on_their_own_input() {
	let model = mlp();
	let engine = engine_with(1, &model);
	let input = reference_input(&model);
	let mut negated = npy_file(format!("{}.input.npy", model.name));
	negated.data.chunks_exact_mut(4).for_each(|element| element[3] ^= 0x80);
	let other_input = vec![negated].encode();
	let first = engine.run(&model.hash, &input).unwrap();
	let other = engine.run(&model.hash, &other_input).unwrap();
	assert_ne!(other, first);
	// The plan's kept session ran the other input in between: nothing of it remains.
	assert_eq!(engine.run(&model.hash, &input).unwrap(), first);
	assert_eq!(engine_with(1, &model).run(&model.hash, &other_input).unwrap(), other);
}

/// `output = input + noise`, the noise from `RandomUniform` seeded with 7: an operator
/// with state of its own (its generator).
fn seeded_noise_model() -> Model {
	model("random_seeded", spec(ElementType::F32, &[1, 4]), spec(ElementType::F32, &[1, 4]))
}

#[test]
fn models_with_stateful_operators_start_every_run_afresh() {
	let model = seeded_noise_model();
	let engine = engine_with(1, &model);
	let input = reference_input(&mlp());
	let first = engine.run(&model.hash, &input).unwrap();
	assert_ne!(first, input, "the model adds noise");
	// A generator kept from the first run would draw different noise.
	assert_eq!(engine.run(&model.hash, &input).unwrap(), first);
	// Nor is one kept from run to run of a batch (on the caller's thread: the model is quick).
	let batch = engine.run_batch(&model.hash, &[&input, &input, &input]).unwrap();
	assert_eq!(batch, vec![Ok(first); 3]);
}

#[test]
fn models_drawing_unseeded_random_numbers_are_refused() {
	let model =
		model("random_unseeded", spec(ElementType::F32, &[1, 4]), spec(ElementType::F32, &[1, 4]));
	// tract itself runs it, with different noise every run: no two nodes could agree on it.
	use tract_onnx::prelude::{tensor2, tvec, Framework, InferenceModelExt, IntoRunnable};
	let plan = tract_onnx::onnx()
		.model_for_read(&mut &*model.bytes)
		.and_then(|graph| graph.into_optimized()?.into_runnable())
		.expect("tract reads the model");
	let input = tensor2(&[[0.5f32, -1.0, 2.0, 0.25]]);
	let run = || plan.run(tvec![input.clone().into()]).unwrap();
	assert_ne!(run()[0], run()[0]);

	let engine = Engine::new(EngineConfig::default(), None);
	assert_eq!(
		engine.load(model.hash, &model.bytes, &model.inputs, &model.outputs),
		Err(EngineError::UnseededRandom("RandomNormal"))
	);
	assert_eq!(
		haca_engine::Plan::discover(&model.bytes, &model.inputs, haca_engine::DATA_DEPENDENT_MAX)
			.err(),
		Some(EngineError::UnseededRandom("RandomNormal"))
	);
}

/// Prints the MLP's output hash when asked to by the parent test (in a fresh process).
#[test]
fn child_prints_output_hash() {
	if std::env::var("HACA_ENGINE_CHILD").is_err() {
		return;
	}
	let model = mlp();
	let outputs = engine_with(1, &model).run(&model.hash, &reference_input(&model)).unwrap();
	println!(
		"OUTPUT_HASH={}",
		sp_core::hexdisplay::HexDisplay::from(&sp_crypto_hashing::blake2_256(&outputs))
	);
}

#[test]
fn outputs_are_bit_identical_in_a_fresh_process() {
	let model = mlp();
	let outputs = engine_with(1, &model).run(&model.hash, &reference_input(&model)).unwrap();
	let here =
		sp_core::hexdisplay::HexDisplay::from(&sp_crypto_hashing::blake2_256(&outputs)).to_string();
	let child = Command::new(std::env::current_exe().unwrap())
		.args(["--exact", "child_prints_output_hash", "--nocapture", "--test-threads=1"])
		.env("HACA_ENGINE_CHILD", "1")
		.output()
		.expect("the test binary runs");
	let stdout = String::from_utf8_lossy(&child.stdout);
	let there = stdout
		.lines()
		.find_map(|line| line.split("OUTPUT_HASH=").nth(1))
		.map(str::trim)
		.unwrap_or_else(|| panic!("child printed no hash:\n{stdout}"));
	assert_eq!(here, there);
}

#[test]
fn bad_models_and_inputs_get_named_errors() {
	let model = mlp();
	let engine = Engine::new(EngineConfig::default(), None);
	let mut other_hash = model.hash;
	other_hash[0] ^= 1;
	assert_eq!(
		engine.load(other_hash, &model.bytes, &model.inputs, &model.outputs),
		Err(EngineError::HashMismatch)
	);
	let garbage = b"not an onnx model".to_vec();
	assert!(matches!(
		engine.load(
			sp_crypto_hashing::blake2_256(&garbage),
			&garbage,
			&model.inputs,
			&model.outputs
		),
		Err(EngineError::InvalidModel(_))
	));
	let wrong_output = [spec(ElementType::F32, &[1, 2])];
	assert!(matches!(
		engine.load(model.hash, &model.bytes, &model.inputs, &wrong_output),
		Err(EngineError::SpecMismatch(_))
	));
	let two_inputs = [model.inputs[0].clone(), model.inputs[0].clone()];
	assert!(matches!(
		engine.load(model.hash, &model.bytes, &two_inputs, &model.outputs),
		Err(EngineError::SpecMismatch(_))
	));
	assert_eq!(engine.run(&model.hash, &reference_input(&model)), Err(EngineError::NotLoaded));

	engine.load(model.hash, &model.bytes, &model.inputs, &model.outputs).unwrap();
	assert!(engine.is_loaded(&model.hash));
	let wrong_input = vec![Tensor {
		element_type: ElementType::F32,
		shape: vec![1, 5].try_into().unwrap(),
		data: vec![0; 20],
	}]
	.encode();
	assert_eq!(
		engine.run(&model.hash, &wrong_input),
		Err(EngineError::BadInput(TensorError::Shape))
	);
	let mut trailing = reference_input(&model);
	trailing.push(0);
	assert_eq!(
		engine.run(&model.hash, &trailing),
		Err(EngineError::BadInput(TensorError::Malformed))
	);
	assert_eq!(engine.run(&model.hash, &[0]), Err(EngineError::BadInput(TensorError::Count)));
}

/// The tensors of one kind (`input` or `output`) of a test data set in the ONNX backend
/// layout, in order.
fn test_data(directory: &str, kind: &str) -> Vec<Tensor> {
	let set = model_path(directory).join("test_data_set_0");
	(0..)
		.map(|index| set.join(format!("{kind}_{index}.pb")))
		.take_while(|path| path.exists())
		.map(|path| haca_engine::proto::read(&std::fs::read(path).unwrap()).expect("valid .pb"))
		.collect()
}

fn specs_of(tensors: &[Tensor]) -> Vec<TensorSpec> {
	tensors
		.iter()
		.map(|tensor| TensorSpec {
			element_type: tensor.element_type,
			..spec(ElementType::F32, &tensor.shape)
		})
		.collect()
}

#[test]
fn every_element_type_runs_and_matches_numpy() {
	let (inputs, expected) =
		(test_data("element_types", "input"), test_data("element_types", "output"));
	let types = |tensors: &[Tensor]| tensors.iter().map(|t| t.element_type).collect::<Vec<_>>();
	use ElementType::*;
	assert_eq!(types(&inputs), [Bool, F16, BF16, U16, U32, U64]);
	assert_eq!(types(&expected), [F16, Bool, BF16, U32, U64, I64]);

	let bytes = std::fs::read(model_path("element_types/model.onnx")).unwrap();
	// The specs the model declares, and the outputs tract finds, are the reference's.
	let declared =
		haca_engine::Plan::declared_inputs(&bytes, &haca_engine::DimBounds::default()).unwrap();
	assert_eq!(types(&inputs), declared.iter().map(|s| s.element_type).collect::<Vec<_>>());
	let plan =
		haca_engine::Plan::discover(&bytes, &specs_of(&inputs), haca_engine::DATA_DEPENDENT_MAX)
			.unwrap();
	assert_eq!(types(&expected), plan.outputs().iter().map(|s| s.element_type).collect::<Vec<_>>());

	let engine = Engine::new(EngineConfig::default(), None);
	let hash = sp_crypto_hashing::blake2_256(&bytes);
	engine.load(hash, &bytes, &specs_of(&inputs), &specs_of(&expected)).unwrap();
	let outputs = decode_tensors(&engine.run(&hash, &inputs.encode()).unwrap()).unwrap();
	assert!(tensors_agree(&outputs, &expected, 1), "{outputs:?}\n{expected:?}");

	// A bfloat16 input declared as float32 (or the reverse) is a spec mismatch.
	let mut wrong = specs_of(&inputs);
	wrong[2].element_type = F32;
	let fresh = Engine::new(EngineConfig::default(), None);
	assert!(matches!(
		fresh.load(hash, &bytes, &wrong, &specs_of(&expected)),
		Err(EngineError::SpecMismatch(_))
	));
	assert!(matches!(
		haca_engine::Plan::discover(&bytes, &wrong, haca_engine::DATA_DEPENDENT_MAX),
		Err(EngineError::SpecMismatch(message)) if message.contains("bfloat16")
	));
	// A boolean byte other than 0 or 1 is a bad input, not undefined behaviour in tract.
	let mut bad = inputs.clone();
	bad[0].data[1] = 2;
	assert_eq!(
		engine.run(&hash, &bad.encode()),
		Err(EngineError::BadInput(TensorError::NotBoolean))
	);
}

/// A one-node ONNX model: `op_type` (in `domain`, named `node`) from input `x` to output `y`.
fn one_node_model(op_type: &str, domain: &str, node: &str, x: i32, y: i32) -> Vec<u8> {
	shaped_one_node_model(op_type, domain, node, x, y, None)
}

/// As [`one_node_model`], `x` and `y` both of `shape` (none declared if `None`).
fn shaped_one_node_model(
	op_type: &str,
	domain: &str,
	node: &str,
	x: i32,
	y: i32,
	shape: Option<tract_onnx::pb::TensorShapeProto>,
) -> Vec<u8> {
	use prost::Message;
	use tract_onnx::pb::{
		type_proto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TypeProto,
		ValueInfoProto,
	};
	let value = |name: &str, elem_type| ValueInfoProto {
		name: name.into(),
		r#type: Some(TypeProto {
			value: Some(type_proto::Value::TensorType(type_proto::Tensor {
				elem_type,
				shape: shape.clone(),
			})),
			..Default::default()
		}),
		..Default::default()
	};
	let opset = |domain: &str, version| OperatorSetIdProto { domain: domain.into(), version };
	ModelProto {
		ir_version: 8,
		opset_import: vec![opset("", 17), opset("ai.onnx.ml", 3)],
		graph: Some(GraphProto {
			name: "g".into(),
			node: vec![NodeProto {
				op_type: op_type.into(),
				domain: domain.into(),
				name: node.into(),
				input: vec!["x".into()],
				output: vec!["y".into()],
				..Default::default()
			}],
			input: vec![value("x", x)],
			output: vec![value("y", y)],
			..Default::default()
		}),
		..Default::default()
	}
	.encode_to_vec()
}

#[test]
fn unsupported_operators_and_types_are_named() {
	use haca_engine::Plan;
	use tract_onnx::pb::tensor_proto::DataType;
	let float = DataType::Float as i32;
	let x = [spec(ElementType::F32, &[1, 2])];

	let svm = one_node_model("SVMRegressor", "ai.onnx.ml", "svm", float, float);
	assert_eq!(
		Plan::discover(&svm, &x, haca_engine::DATA_DEPENDENT_MAX).err(),
		Some(EngineError::Unsupported(
			"operator ai.onnx.ml.SVMRegressor (node \"svm\" of graph \"g\") is not one tract \
			 implements"
				.into()
		))
	);
	let unnamed = one_node_model("NoSuchOp", "", "", float, float);
	assert!(matches!(
		Plan::discover(&unnamed, &x, haca_engine::DATA_DEPENDENT_MAX),
		Err(EngineError::Unsupported(message)) if message.starts_with("operator NoSuchOp (node #0")
	));

	let complex = one_node_model("Identity", "", "id", DataType::Complex64 as i32, float);
	assert!(matches!(
		Plan::discover(&complex, &x, haca_engine::DATA_DEPENDENT_MAX),
		Err(EngineError::Unsupported(message))
			if message.contains("input 0 (\"x\") has element type COMPLEX64")
	));
}

#[test]
fn strings_go_through_the_engine_as_they_came() {
	use haca_engine::Plan;
	use haca_primitives::tensor::{Tensor, TensorSpec};
	use tract_onnx::pb::tensor_proto::DataType;
	let text = DataType::String as i32;
	let bytes = one_node_model("Identity", "", "id", text, text);
	let batch = |rows| TensorSpec::new("x", ElementType::String, &[rows]).unwrap();
	let specs = [batch(4).with_variable_axes(&[0])];
	let plan = Plan::compile(&bytes, &specs, &specs).unwrap();
	for words in [&["chat", "", "日本語", "é"][..], &["one"], &[]] {
		let strings = Tensor::from_strings(&[words.len() as u32], words.iter().copied()).unwrap();
		let inputs = vec![strings].encode();
		assert_eq!(plan.run(&inputs).unwrap(), inputs, "{words:?}");
	}
	let not_utf8 = vec![Tensor {
		element_type: ElementType::String,
		shape: vec![1].try_into().unwrap(),
		data: vec![4, 0xff],
	}];
	assert_eq!(
		plan.run(&not_utf8.encode()),
		Err(EngineError::BadInput(TensorError::InvalidString))
	);
	// A string output is found and declared as such.
	let discovered = Plan::discover(&bytes, &[batch(2)], haca_engine::DATA_DEPENDENT_MAX).unwrap();
	assert_eq!(discovered.outputs()[0].element_type, ElementType::String);
}

/// A model of one `Relu` on `x` of shape `[batch, 3]`, `batch` a named dimension (a
/// dynamic batch, as exporters write it).
fn batch_relu_model() -> Vec<u8> {
	use tract_onnx::pb::{
		tensor_proto::DataType,
		tensor_shape_proto::{dimension::Value as Dim, Dimension},
		TensorShapeProto,
	};
	let dim = |value| Dimension { value: Some(value), ..Default::default() };
	let shape =
		TensorShapeProto { dim: vec![dim(Dim::DimParam("batch".into())), dim(Dim::DimValue(3))] };
	let float = DataType::Float as i32;
	shaped_one_node_model("Relu", "", "relu", float, float, Some(shape))
}

#[test]
fn a_dynamic_batch_runs_at_any_size_up_to_its_bound() {
	use haca_engine::Plan;
	let bytes = batch_relu_model();
	let rows = [spec(ElementType::F32, &[4, 3]).with_variable_axes(&[0])];
	let plan = Plan::compile(&bytes, &rows, &rows).unwrap();
	// Through one plan, so sessions kept from a run of one size serve runs of another.
	for count in [2u32, 4, 1, 2, 0, 3] {
		let values: Vec<f32> = (0..count * 3).map(|i| i as f32 - 4.0).collect();
		let input = vec![Tensor::from_f32(&[count, 3], &values).unwrap()];
		let relu: Vec<f32> = values.iter().map(|v| v.max(0.0)).collect();
		let expected = vec![Tensor::from_f32(&[count, 3], &relu).unwrap()];
		let outputs = decode_tensors(&plan.run(&input.encode()).unwrap()).unwrap();
		assert_eq!(outputs, expected, "batch of {count}");
	}
	let five = vec![Tensor::from_f32(&[5, 3], &[1.0; 15]).unwrap()];
	assert_eq!(plan.run(&five.encode()), Err(EngineError::BadInput(TensorError::Shape)));

	// Outputs the batch sets must be variable up to at least the batch's bound.
	let fixed = spec(ElementType::F32, &[4, 3]);
	let small = spec(ElementType::F32, &[2, 3]).with_variable_axes(&[0]);
	for outputs in [fixed.clone(), small] {
		assert!(matches!(
			Plan::compile(&bytes, &rows, &[outputs]).err(),
			Some(EngineError::SpecMismatch(message)) if message.contains("F32[≤4, 3]")
		));
	}
	// Discovered, the output is variable as the input is; a fixed input fixes it.
	let discovered = Plan::discover(&bytes, &rows, haca_engine::DATA_DEPENDENT_MAX);
	assert_eq!(discovered.unwrap().outputs()[0].variable_axes, 0b1);
	let plan = Plan::discover(&bytes, &[fixed], haca_engine::DATA_DEPENDENT_MAX).unwrap();
	assert_eq!((plan.outputs()[0].variable_axes, &plan.outputs()[0].shape[..]), (0, &[4, 3][..]));
	// A variable axis the model fixes is refused.
	let wide = [spec(ElementType::F32, &[4, 5]).with_variable_axes(&[1])];
	assert!(matches!(
		Plan::compile(&bytes, &wide, &wide).err(),
		Some(EngineError::SpecMismatch(message)) if message.contains("fixes it at 3")
	));
}

#[test]
fn outputs_the_data_sizes_stay_within_their_declared_maximum() {
	use haca_engine::Plan;
	use tract_onnx::pb::tensor_proto::DataType;
	let (float, int64) = (DataType::Float as i32, DataType::Int64 as i32);
	// NonZero: the indices of the non-zero elements, one column per element.
	let nonzero = one_node_model("NonZero", "", "nz", float, int64);
	let x = [spec(ElementType::F32, &[1, 3])];
	let run = |plan: &Plan, values: &[f32]| {
		let input = vec![Tensor::from_f32(&[1, 3], values).unwrap()];
		plan.run(&input.encode()).map(|bytes| decode_tensors(&bytes).unwrap())
	};
	let plan = Plan::discover(&nonzero, &x, 2).unwrap();
	let declared = spec(ElementType::I64, &[2, 2]).with_variable_axes(&[1]);
	assert_eq!(plan.outputs()[0].shape, declared.shape);
	assert_eq!(plan.outputs()[0].variable_axes, declared.variable_axes);
	let indices = |columns: &[(i64, i64)]| Tensor {
		element_type: ElementType::I64,
		shape: vec![2, columns.len() as u32].try_into().unwrap(),
		data: (columns.iter().map(|c| c.0).chain(columns.iter().map(|c| c.1)))
			.flat_map(i64::to_le_bytes)
			.collect(),
	};
	assert_eq!(run(&plan, &[0.0, 1.5, 0.0]), Ok(vec![indices(&[(0, 1)])]));
	assert_eq!(run(&plan, &[2.0, 0.0, -1.0]), Ok(vec![indices(&[(0, 0), (0, 2)])]));
	assert_eq!(run(&plan, &[0.0; 3]), Ok(vec![indices(&[])]));
	assert!(matches!(
		run(&plan, &[1.0, 2.0, 3.0]),
		Err(EngineError::Execution(message)) if message.contains("does not fit its spec I64[2, ≤2]")
	));
	// The same bound, registered: compiles; a fixed output shape does not.
	assert!(Plan::compile(&nonzero, &x, &[declared]).is_ok());
	assert!(matches!(
		Plan::compile(&nonzero, &x, &[spec(ElementType::I64, &[2, 2])]).err(),
		Some(EngineError::SpecMismatch(message)) if message.contains("I64[2, ?]")
	));
}
