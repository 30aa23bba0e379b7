//! The real `haca-node` binary runs a development chain that produces and finalises blocks.

#[allow(dead_code)]
mod common;

use std::time::Duration;

use common::Node;
use jsonrpsee::{core::client::ClientT, rpc_params};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn dev_node_finalises_blocks_and_reports_health() {
	let node = Node::start_dev("dev-chain");

	let finalized = node.wait_for_finalized(3, Duration::from_secs(120)).await;
	assert!(finalized >= 3);

	let health: Value =
		node.rpc().request("system_health", rpc_params![]).await.expect("system_health answers");
	assert_eq!(health["isSyncing"], Value::Bool(false), "health: {health}");
	assert_eq!(health["shouldHavePeers"], Value::Bool(false), "health: {health}");
	assert_eq!(health["peers"], Value::from(0), "health: {health}");

	let chain: String =
		node.rpc().request("system_chain", rpc_params![]).await.expect("system_chain answers");
	assert_eq!(chain, "HACA Development");

	let status = node.stop();
	assert!(status.success(), "node exited with {status}");
}

/// `haca_checkModel`, the registration dry run over RPC: the specs to register for a model
/// executors run, and in words what stops them otherwise (the same answers as `inspect`).
#[tokio::test(flavor = "multi_thread")]
async fn check_model_answers_with_the_specs_or_what_stops_executors() {
	let models =
		std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../offchain-workers/models");
	let onnx = |name: &str| {
		let bytes = std::fs::read(models.join(name)).expect("a project model");
		sp_core::bytes::to_hex(&bytes, false)
	};
	let node = Node::start_dev("check-model");
	node.wait_for_best(1, Duration::from_secs(120)).await;
	let rpc = node.rpc();
	let check = |model: &str, bounds: Value, unnamed: Value| {
		let params = rpc_params![onnx(model), bounds, unnamed];
		let rpc = &rpc;
		async move {
			let answer: Value =
				rpc.request("haca_checkModel", params).await.expect("haca_checkModel answers");
			answer
		}
	};

	let runs = check("int_matmul.onnx", Value::Null, Value::Null).await;
	assert_eq!(runs["runs"], Value::Bool(true), "{runs}");
	let bytes = std::fs::read(models.join("int_matmul.onnx")).unwrap();
	let hash = sp_core::bytes::to_hex(&sp_crypto_hashing::blake2_256(&bytes), false);
	assert_eq!(runs["modelHash"], Value::from(hash));
	assert_eq!(runs["inputs"][0]["shape"], serde_json::json!([1, 8]), "{runs}");
	assert_eq!(runs["outputs"][0]["element_type"], Value::from("I32"), "{runs}");

	let unbounded = check("exports/cnn/model.onnx", Value::Null, Value::Null).await;
	assert_eq!(unbounded["runs"], Value::Bool(false));
	let reason = unbounded["reason"].as_str().unwrap();
	assert!(reason.contains("axis 0 is dynamic (\"batch\"): give its largest size"), "{reason}");
	let bounded =
		check("exports/cnn/model.onnx", serde_json::json!({ "batch": 8 }), Value::Null).await;
	assert_eq!(bounded["runs"], Value::Bool(true), "{bounded}");

	let refused = check("exports/svc_binary/model.onnx", Value::Null, Value::from(4)).await;
	assert_eq!(refused["runs"], Value::Bool(false));
	let reason = refused["reason"].as_str().unwrap();
	assert!(reason.contains("SVMClassifier: a binary classifier is not supported"), "{reason}");

	let status = node.stop();
	assert!(status.success(), "node exited with {status}");
}
