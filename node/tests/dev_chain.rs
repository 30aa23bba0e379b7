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
