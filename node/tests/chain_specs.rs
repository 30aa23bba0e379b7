//! The committed chain specs (`chain-specs/*.json`) are what the current runtime generates,
//! and the node starts from each of them.

#[allow(dead_code)]
mod common;

use std::{path::PathBuf, process::Command, time::Duration};

use codec::Encode;
use common::{Node, NODE_BINARY};
use serde_json::Value;

/// The committed specs, by `--chain` name.
const CHAINS: [&str; 3] = ["dev", "local", "testnet"];

fn spec_dir() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../chain-specs")
}

fn committed(chain: &str) -> Value {
	let path = spec_dir().join(format!("{chain}.json"));
	let text = std::fs::read_to_string(&path).expect("committed chain spec");
	serde_json::from_str(&text).expect("valid JSON")
}

fn generated(chain: &str) -> Value {
	let output = Command::new(NODE_BINARY)
		.args(["export-chain-spec", "--chain", chain])
		.output()
		.expect("haca-node runs");
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	serde_json::from_slice(&output.stdout).expect("export-chain-spec prints JSON")
}

/// Where the runtime blob sits in a spec.
const CODE: &str = "/genesis/runtimeGenesis/code";

/// Everything in the committed specs but the runtime blob is what the current runtime
/// generates. The blob's bytes depend on where the sources are checked out (cargo hashes
/// path dependencies' locations into symbol names, which order the code), so the blob is
/// checked by what it serves: see the next test.
#[test]
fn committed_chain_specs_match_the_runtime() {
	for chain in CHAINS {
		let (mut committed, mut current) = (committed(chain), generated(chain));
		assert!(current.pointer(CODE).is_some_and(Value::is_string), "{chain}: no code");
		assert!(committed.pointer(CODE).is_some_and(Value::is_string), "{chain}: no code");
		*committed.pointer_mut(CODE).expect("code") = Value::Null;
		*current.pointer_mut(CODE).expect("code") = Value::Null;
		assert!(
			committed == current,
			"chain-specs/{chain}.json is stale: regenerate it with scripts/chain-specs.sh"
		);
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn the_node_starts_from_each_committed_spec_and_authors_blocks() {
	let nodes: Vec<(&str, Node)> = CHAINS
		.iter()
		.map(|chain| {
			let path = spec_dir().join(format!("{chain}.json"));
			let path = path.to_str().expect("UTF-8 path");
			(
				*chain,
				Node::start(
					&format!("spec-{chain}"),
					&[
						"--chain",
						path,
						"--alice",
						"--validator",
						"--force-authoring",
						"--unsafe-force-node-key-generation",
					],
				),
			)
		})
		.collect();
	// The current runtime's metadata: the committed blob must serve exactly this.
	let metadata = sp_core::bytes::to_hex(&haca_runtime::Runtime::metadata().encode(), false);
	for (chain, node) in nodes {
		// Alice is a validator of every spec; alone (forced) she authors, finality needs more.
		node.wait_for_best(1, Duration::from_secs(120)).await;
		let served: String = jsonrpsee::core::client::ClientT::request(
			&node.rpc(),
			"state_getMetadata",
			jsonrpsee::rpc_params![],
		)
		.await
		.expect("state_getMetadata answers");
		assert!(
			served == metadata,
			"chain-specs/{chain}.json carries an outdated runtime: regenerate it with \
			 scripts/chain-specs.sh"
		);
		let version: Value = jsonrpsee::core::client::ClientT::request(
			&node.rpc(),
			"state_getRuntimeVersion",
			jsonrpsee::rpc_params![],
		)
		.await
		.expect("state_getRuntimeVersion answers");
		assert_eq!(version["specVersion"], Value::from(haca_runtime::VERSION.spec_version));
		let name: String = jsonrpsee::core::client::ClientT::request(
			&node.rpc(),
			"system_chain",
			jsonrpsee::rpc_params![],
		)
		.await
		.expect("system_chain answers");
		assert_eq!(Value::from(name), committed(chain)["name"], "{chain}");
		let status = node.stop();
		assert!(status.success(), "{chain}: node exited with {status}");
	}
}
