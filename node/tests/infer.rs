//! `haca-node infer` runs a model on `.npy` or `.pb` inputs as an executor would.

#[allow(dead_code)]
mod common;

use std::{path::PathBuf, process::Command};

use common::{scratch_dir, NODE_BINARY};
use haca_primitives::tensor::tensors_agree;

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
