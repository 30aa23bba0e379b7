//! `haca-node infer` runs a model on `.npy` or `.pb` inputs as an executor would.

#[allow(dead_code)]
mod common;

use std::{path::PathBuf, process::Command};

use common::{scratch_dir, NODE_BINARY};
use haca_primitives::{dispute::LOWERING_VERSION, tensor::tensors_agree};

fn models() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../offchain-workers/models")
}

#[test]
fn infer_prints_hashes_and_writes_outputs_that_match_numpy() {
	let out = scratch_dir("infer");
	let output = Command::new(NODE_BINARY)
		.arg("infer")
		.arg("--model")
		.arg(models().join("mlp.onnx"))
		.arg("--input")
		.arg(models().join("mlp.input.npy"))
		.arg("--output-dir")
		.arg(&out)
		.output()
		.expect("haca-node runs");
	let stdout = String::from_utf8_lossy(&output.stdout);
	assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));

	let model_hash =
		sp_crypto_hashing::blake2_256(&std::fs::read(models().join("mlp.onnx")).unwrap());
	let hex: String = model_hash.iter().map(|b| format!("{b:02x}")).collect();
	assert!(stdout.contains(&format!("model hash:  0x{hex}")), "{stdout}");
	assert!(stdout.contains("output 0:    F32 [1, 3]"), "{stdout}");
	assert!(stdout.contains("output hash: 0x"), "{stdout}");

	let read = |path: PathBuf| haca_engine::npy::read(&std::fs::read(path).unwrap()).unwrap();
	let ours = read(out.join("output_0.npy"));
	let numpy = read(models().join("mlp.output.npy"));
	assert!(tensors_agree(&[ours], &[numpy], 8));
}

#[test]
fn infer_reads_and_writes_onnx_tensor_protos() {
	let out = scratch_dir("infer-pb");
	let output = Command::new(NODE_BINARY)
		.arg("infer")
		.arg("--model")
		.arg(models().join("int_matmul.onnx"))
		.arg("--input")
		.arg(models().join("int_matmul.input.pb"))
		.args(["--output-format", "pb", "--output-dir"])
		.arg(&out)
		.output()
		.expect("haca-node runs");
	let stdout = String::from_utf8_lossy(&output.stdout);
	assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
	let read = |path: PathBuf| haca_engine::proto::read(&std::fs::read(path).unwrap()).unwrap();
	assert_eq!(
		read(out.join("output_0.pb")),
		read(models().join("int_matmul.output.pb")),
		"integer outputs are exact"
	);
}

#[test]
fn infer_refuses_unknown_input_formats_by_name() {
	let output = Command::new(NODE_BINARY)
		.arg("infer")
		.arg("--model")
		.arg(models().join("mlp.onnx"))
		.arg("--input")
		.arg(models().join("mlp.onnx"))
		.output()
		.expect("haca-node runs");
	assert!(!output.status.success());
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(stderr.contains("unknown tensor format (use .npy or .pb)"), "{stderr}");
}

#[test]
fn infer_with_a_mismatched_input_is_a_one_line_error() {
	let output = Command::new(NODE_BINARY)
		.arg("infer")
		.arg("--model")
		.arg(models().join("mlp.onnx"))
		.arg("--input")
		.arg(models().join("int_matmul.input.npy"))
		.output()
		.expect("haca-node runs");
	assert!(!output.status.success());
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
	assert!(stderr.starts_with("Error: ") && stderr.contains("invalid model"), "{stderr}");
}

#[test]
fn infer_runs_every_element_type_on_onnx_test_data() {
	let dir = models().join("element_types");
	let set = dir.join("test_data_set_0");
	let read = |path: PathBuf| haca_engine::proto::read(&std::fs::read(path).unwrap()).unwrap();
	let run = |format: &str, out: &PathBuf| {
		let mut command = Command::new(NODE_BINARY);
		command.arg("infer").arg("--model").arg(dir.join("model.onnx"));
		for index in 0..6 {
			command.arg("--input").arg(set.join(format!("input_{index}.pb")));
		}
		command.args(["--output-format", format, "--output-dir"]).arg(out);
		command.output().expect("haca-node runs")
	};

	let out = scratch_dir("infer-types");
	let output = run("pb", &out);
	let stdout = String::from_utf8_lossy(&output.stdout);
	assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
	for (index, described) in
		["F16 [2, 3]", "Bool [2, 3]", "BF16 [2, 3]", "U32 [3]", "U64 [2]", "I64 [2]"]
			.iter()
			.enumerate()
	{
		assert!(stdout.contains(&format!("output {index}:    {described}")), "{stdout}");
		let ours = read(out.join(format!("output_{index}.pb")));
		let numpy = read(set.join(format!("output_{index}.pb")));
		let agree = tensors_agree(std::slice::from_ref(&ours), std::slice::from_ref(&numpy), 1);
		assert!(agree, "{ours:?} {numpy:?}");
	}

	// bfloat16 has no NumPy dtype: asking for .npy outputs names the output and the reason.
	let output = run("npy", &scratch_dir("infer-types-npy"));
	assert!(!output.status.success());
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(stderr.contains("output_2: bfloat16 has no NumPy dtype"), "{stderr}");
}

/// `haca-node inspect` with `args`: whether it succeeded, and its stdout and stderr.
fn inspect(model: &str, args: &[&str]) -> (bool, String, String) {
	let output = Command::new(NODE_BINARY)
		.arg("inspect")
		.arg("--model")
		.arg(models().join(model))
		.args(args)
		.output()
		.expect("haca-node runs");
	let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
	(output.status.success(), text(&output.stdout), text(&output.stderr))
}

#[test]
fn inspect_prints_the_specs_to_register_with_dynamic_dimensions_bounded() {
	// torch.onnx names a dynamic batch: bounded by name.
	let (ok, stdout, stderr) = inspect("exports/cnn/model.onnx", &["--bound", "batch=8"]);
	assert!(ok, "{stdout}{stderr}");
	assert!(stdout.contains("input 0:     input: F32[≤8, 1, 8, 8]"), "{stdout}");
	assert!(stdout.contains("output 0:    logits: F32[≤8, 3]"), "{stdout}");
	assert!(
		stdout.contains(&format!(
			"disputes:    by the chain: 8 operators (lowering {LOWERING_VERSION}), graph root 0x"
		)),
		"{stdout}"
	);
	let json = stdout.lines().last().unwrap();
	let specs: serde_json::Value = serde_json::from_str(json).unwrap();
	assert_eq!(specs["inputs"][0]["shape"], serde_json::json!([8, 1, 8, 8]));
	assert_eq!(specs["inputs"][0]["variable_axes"], 1);
	assert_eq!(specs["outputs"][0]["name"], "logits");
	// The dispute graph, as `models.register` takes it.
	assert_eq!(specs["graph"]["lowering"], LOWERING_VERSION);
	assert_eq!(specs["graph"]["nodes"], 8);
	assert!(specs["graph"]["graphRoot"].as_str().unwrap().starts_with("0x"), "{json}");
	assert!(specs["graph"]["weightsRoot"].as_str().unwrap().starts_with("0x"), "{json}");

	// skl2onnx leaves it unnamed.
	let (ok, stdout, stderr) =
		inspect("exports/logistic_regression/model.onnx", &["--unnamed-bound", "16"]);
	assert!(ok, "{stdout}{stderr}");
	assert!(stdout.contains("input 0:     X: F32[≤16, 6]"), "{stdout}");
	assert!(stdout.contains("output 0:    label: I64[≤16]"), "{stdout}");
	assert!(
		stdout.contains("disputes:    by a committee: node \"LinearClassifier\" (ai.onnx.ml.LinearClassifier) is outside the dispute op set"),
		"{stdout}"
	);
	let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
	assert!(json["graph"].is_null(), "{json}");
}

#[test]
fn inspect_runs_an_embedding_model_on_indices_inside_any_table() {
	// Its sample token ids must index the 50-row embedding table.
	let (ok, stdout, stderr) =
		inspect("exports/text_classifier/model.onnx", &["--bound", "batch=8"]);
	assert!(ok, "{stdout}{stderr}");
	assert!(stdout.contains("input 0:     input_ids: I64[≤8, 8]"), "{stdout}");
	let json = stdout.lines().last().unwrap();
	let specs: serde_json::Value = serde_json::from_str(json).unwrap();
	assert_eq!(specs["graph"]["nodes"], 7, "{json}");
}

#[test]
fn inspect_names_what_stops_a_registration() {
	let (ok, _, stderr) = inspect("exports/cnn/model.onnx", &[]);
	assert!(!ok);
	assert!(
		stderr
			.contains("input 0 (\"input\"): axis 0 is dynamic (\"batch\"): give its largest size"),
		"{stderr}"
	);
	let (ok, _, stderr) = inspect("exports/logistic_regression/model.onnx", &[]);
	assert!(!ok);
	assert!(stderr.contains("axis 0 is dynamic and unnamed"), "{stderr}");
	let (ok, _, stderr) = inspect("exports/svc_binary/model.onnx", &["--unnamed-bound", "4"]);
	assert!(!ok);
	assert!(stderr.contains("SVMClassifier: a binary classifier is not supported"), "{stderr}");
	let (ok, _, stderr) = inspect("exports/cnn/model.onnx", &["--bound", "batch"]);
	assert!(!ok);
	assert!(stderr.contains("expected NAME=SIZE"), "{stderr}");
}
