//! The runtime's dispute kernels, compiled into its wasm and run by the node's executor,
//! against the native ones executors and verifiers trace with: every node of every project
//! model that has a dispute graph, on the model's reference input, and every operator on
//! edge values (NaNs of every sign and payload, infinities, signed zeros, subnormals), gives
//! the same outputs bit for bit, or the same refusal. A step an honest trace holds is one the
//! chain holds.

use std::path::{Path, PathBuf};

use codec::{Decode, Encode};
use haca_engine::{lowering::lower, proto, sample_inputs, DimBounds, Plan};
use haca_kernels::Op;
use haca_primitives::tensor::{ElementType, Tensor};
use pallet_settlement::runtime_api::{run_operator, OperatorRunError};
use sc_executor::WasmExecutor;
use sp_core::traits::{CallContext, CodeExecutor, RuntimeCode, WrappedRuntimeCode};
use sp_runtime::traits::Get;

type HostFunctions = (sp_io::SubstrateHostFunctions, haca_inference::inference::HostFunctions);

type Run = Result<Vec<Tensor>, OperatorRunError>;

/// The runtime, called as the node calls it.
struct Runtime {
	executor: WasmExecutor<HostFunctions>,
	code: WrappedRuntimeCode<'static>,
	hash: Vec<u8>,
}

impl Runtime {
	fn new() -> Self {
		let wasm = haca_runtime::WASM_BINARY.expect("the runtime's wasm is built");
		Self {
			executor: WasmExecutor::builder().build(),
			code: WrappedRuntimeCode(wasm.into()),
			hash: sp_crypto_hashing::blake2_256(wasm).to_vec(),
		}
	}

	/// `DisputeApi::run_operator` in the wasm runtime.
	fn run(&self, op: &Op, inputs: &[Tensor]) -> Run {
		let code =
			RuntimeCode { code_fetcher: &self.code, heap_pages: None, hash: self.hash.clone() };
		let mut state = sp_io::TestExternalities::default();
		let mut ext = state.ext();
		let (output, _) = self.executor.call(
			&mut ext,
			&code,
			"DisputeApi_run_operator",
			&(op, inputs).encode(),
			CallContext::Offchain,
		);
		Run::decode(&mut &output.expect("the runtime answers")[..]).expect("a run's encoding")
	}
}

fn limit() -> u64 {
	<haca_runtime::Runtime as pallet_models::Config>::MaxStepWork::get()
}

fn models_dir() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../offchain-workers/models")
}

/// Every project model that has a dispute graph, with its reference input (the stored one,
/// or samples at its declared shapes), and whether the input is a stored one (on which
/// every node runs).
fn models() -> Vec<(String, Vec<u8>, Vec<Tensor>, bool)> {
	let dir = models_dir();
	let mut found = Vec::new();
	let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
		.unwrap()
		.map(|entry| entry.unwrap().path())
		.filter(|path| path.extension().is_some_and(|ext| ext == "onnx"))
		.collect();
	for export in std::fs::read_dir(dir.join("exports")).unwrap() {
		paths.push(export.unwrap().path().join("model.onnx"));
	}
	paths.sort();
	for path in paths {
		let bytes = std::fs::read(&path).unwrap();
		if lower(&bytes).is_err() {
			continue;
		}
		let stored = |path: &Path| proto::read(&std::fs::read(path).unwrap()).unwrap();
		let data_set = path.with_file_name("test_data_set_0");
		let reference = path.with_extension("input.pb");
		let stored_input = data_set.exists() || reference.exists();
		let inputs = if data_set.exists() {
			(0..)
				.map(|index| data_set.join(format!("input_{index}.pb")))
				.take_while(|path| path.exists())
				.map(|path| stored(&path))
				.collect()
		} else if reference.exists() {
			vec![stored(&reference)]
		} else {
			sample_inputs(&Plan::declared_inputs(&bytes, &DimBounds::default()).unwrap())
		};
		let name = path.strip_prefix(&dir).unwrap().display().to_string();
		found.push((name, bytes, inputs, stored_input));
	}
	found
}

/// The name of `op`'s variant.
fn name(op: &Op) -> String {
	format!("{op:?}").split([' ', '{']).next().unwrap().to_string()
}

#[test]
fn every_node_of_the_project_models_runs_in_wasm_as_natively() {
	let runtime = Runtime::new();
	let mut covered = std::collections::BTreeSet::new();
	let models = models();
	assert!(models.len() >= 8, "{} models with a graph", models.len());
	for (model, bytes, inputs, stored_input) in models {
		let graph = lower(&bytes).unwrap().graph;
		let mut values: Vec<Tensor> = inputs.iter().chain(&graph.constants).cloned().collect();
		for (index, node) in graph.nodes.iter().enumerate() {
			let reads: Vec<Tensor> =
				node.inputs.iter().map(|&value| values[value as usize].clone()).collect();
			let native = run_operator(&node.op, &reads, limit());
			let wasm = runtime.run(&node.op, &reads);
			assert_eq!(wasm, native, "{model} node {index} ({:?})", node.op);
			covered.insert(name(&node.op));
			match native {
				Ok(mut outputs) => values.push(outputs.remove(0)),
				// The kernels refuse this model's sample (an integer division by zero, say):
				// both refuse alike, and there is no value for the nodes after it.
				Err(error) if !stored_input => {
					eprintln!("{model} node {index}: {error:?} on samples");
					break;
				}
				Err(error) => panic!("{model} node {index}: {error:?} on its reference input"),
			}
		}
	}
	// The quantised, layout and pooling operators are all on a project model's path.
	for op in [
		"QLinearMatMul",
		"QLinearConv",
		"ArgMax",
		"ConvInteger",
		"QuantizeLinear",
		"DequantizeLinear",
		"Gather",
		"Slice",
		"Concat",
		"Clip",
		"Cast",
		"AveragePool",
		"LayerNormalization",
		"Softmax",
		"Conv",
		"Gemm",
		"MatMulInteger",
	] {
		assert!(covered.contains(op), "no project model runs {op}: {covered:?}");
	}
}

/// f32 values at the edges: NaNs of both signs and other payloads, infinities, signed
/// zeros, subnormals, the extremes, and ordinary values.
fn edges() -> Vec<f32> {
	[
		0x7fc0_0000,
		0xffc0_0001,
		0x7f80_0001,
		0x7f80_0000,
		0xff80_0000,
		0x0000_0000,
		0x8000_0000,
		0x0000_0001,
		0x807f_ffff,
		0x7f7f_ffff,
		0xff7f_ffff,
	]
	.into_iter()
	.map(f32::from_bits)
	.chain([1.0, -1.0, 0.5, -2.5, 88.7, -104.0, 1e-3, 3.0e38])
	.collect()
}

#[test]
fn every_operator_on_edge_values_runs_in_wasm_as_natively() {
	let runtime = Runtime::new();
	let values = edges();
	let n = values.len() as u32;
	let row = Tensor::from_f32(&[1, n], &values).unwrap();
	let column = Tensor::from_f32(&[n, 1], &values).unwrap();
	let image = Tensor::from_f32(&[1, 1, 1, n], &values).unwrap();
	let square = Tensor::from_f32(&[1, 1], &[1.5]).unwrap();
	let scalar = |value: f32| Tensor::from_f32(&[], &[value]).unwrap();
	let zero_point = |value: u8| Tensor {
		element_type: ElementType::U8,
		shape: Default::default(),
		data: vec![value],
	};
	let u8s = |data: Vec<u8>| Tensor {
		element_type: ElementType::U8,
		shape: vec![data.len() as u32].try_into().unwrap(),
		data,
	};
	let pool = |count_include_pad| Op::AveragePool {
		kernel: [1, 3],
		pads: [0, 1, 0, 1],
		strides: [1, 1],
		count_include_pad,
	};
	let cases: Vec<(Op, Vec<Tensor>)> = vec![
		(Op::Add, vec![row.clone(), column.clone()]),
		(Op::Sub, vec![row.clone(), column.clone()]),
		(Op::Mul, vec![row.clone(), column.clone()]),
		(Op::Div, vec![row.clone(), column.clone()]),
		(Op::Relu, vec![row.clone()]),
		(Op::Sigmoid, vec![row.clone()]),
		(Op::Tanh, vec![row.clone()]),
		(Op::Erf, vec![row.clone()]),
		(Op::Softmax { axis: -1 }, vec![row.clone()]),
		(Op::Softmax { axis: 0 }, vec![column.clone()]),
		(Op::ReduceMean { axes: Default::default(), keep_dims: false }, vec![row.clone()]),
		(
			Op::LayerNormalization { axis: -1, epsilon: 1e-5f32.to_bits() },
			vec![row.clone(), Tensor::from_f32(&[n], &values).unwrap()],
		),
		(Op::MatMul, vec![row.clone(), column.clone()]),
		(Op::MatMul, vec![column.clone(), row.clone()]),
		(
			Op::Gemm {
				trans_a: true,
				trans_b: true,
				alpha: 0.5f32.to_bits(),
				beta: 2.0f32.to_bits(),
			},
			vec![row.clone(), column.clone(), square.clone()],
		),
		(
			Op::Conv { pads: [0, 1, 0, 1], strides: [1, 2], dilations: [1, 1], group: 1 },
			vec![image.clone(), Tensor::from_f32(&[1, 1, 1, 3], &[0.5, -1.0, 2.0]).unwrap()],
		),
		(Op::MaxPool { kernel: [1, 3], pads: [0, 1, 0, 1], strides: [1, 1] }, vec![image.clone()]),
		(pool(false), vec![image.clone()]),
		(pool(true), vec![image.clone()]),
		(Op::GlobalAveragePool, vec![image.clone()]),
		(Op::Clip, vec![row.clone(), scalar(-1.0), scalar(1.0)]),
		(Op::Clip, vec![row.clone(), scalar(f32::NAN)]),
		(Op::Cast { to: ElementType::I32 }, vec![row.clone()]),
		(Op::Cast { to: ElementType::U8 }, vec![row.clone()]),
		(Op::Cast { to: ElementType::I8 }, vec![row.clone()]),
		(
			Op::Cast { to: ElementType::F32 },
			vec![Tensor::from_i32(&[3], &[i32::MIN, -1, 16_777_217]).unwrap()],
		),
		(Op::QuantizeLinear { axis: 1 }, vec![row.clone(), scalar(0.1), zero_point(128)]),
		(
			Op::QuantizeLinear { axis: 0 },
			vec![column.clone(), Tensor::from_f32(&[n], &values).unwrap()],
		),
		(
			Op::DequantizeLinear { axis: 0 },
			vec![u8s((0..=255).step_by(17).collect()), scalar(0.1), zero_point(7)],
		),
		(Op::Concat { axis: 0 }, vec![row.clone(), row.clone()]),
		(Op::Transpose { perm: vec![1, 0].try_into().unwrap() }, vec![row.clone()]),
		(Op::Flatten { axis: 2 }, vec![image.clone()]),
	];
	for (op, inputs) in cases {
		let native = run_operator(&op, &inputs, limit());
		assert!(native.is_ok(), "{op:?}: {native:?}");
		assert_eq!(runtime.run(&op, &inputs), native, "{op:?}");
	}
	// Over the step bound, the runtime refuses before it computes.
	let wide = Tensor::from_f32(&[1000, 1000], &vec![0.5; 1_000_000]).unwrap();
	assert!(matches!(
		runtime.run(&Op::MatMul, &[wide.clone(), wide]),
		Err(OperatorRunError::TooHeavy { .. })
	));
}
