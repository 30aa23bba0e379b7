//! The committed chain specs (`chain-specs/*.json`) are what the current runtime generates,
//! and the node starts from each of them.

#[allow(dead_code)]
mod common;

use std::{path::PathBuf, process::Command, time::Duration};

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
		.args(["build-spec", "--chain", chain, "--disable-default-bootnode"])
		.output()
		.expect("haca-node runs");
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	serde_json::from_slice(&output.stdout).expect("build-spec prints JSON")
}

/// Whether this build's wasm toolchain is the one the committed specs were made with (the
/// blob in a spec is byte-exact only for the same compiler).
fn same_wasm_toolchain() -> Result<(), String> {
	let recorded = std::fs::read_to_string(spec_dir().join("TOOLCHAIN")).expect("TOOLCHAIN");
	let mut rustc = Command::new("rustc");
	if let Some(toolchain) = option_env!("WASM_BUILD_TOOLCHAIN") {
		rustc.arg(format!("+{toolchain}"));
	}
	let output = rustc.arg("--version").output().map_err(|error| error.to_string())?;
	let current = String::from_utf8_lossy(&output.stdout);
	(current.trim() == recorded.trim()).then_some(()).ok_or(format!(
		"specs made with `{}`, this wasm with `{}`",
		recorded.trim(),
		current.trim()
	))
}

#[test]
fn committed_chain_specs_match_the_runtime() {
	let same_toolchain = same_wasm_toolchain();
	if let Err(why) = &same_toolchain {
		eprintln!("NOTE: runtime code in the specs not compared ({why}); everything else is");
	}
	for chain in CHAINS {
		let (mut committed, mut current) = (committed(chain), generated(chain));
		let code = "/genesis/runtimeGenesis/code";
		assert!(current.pointer(code).is_some_and(Value::is_string), "{chain}: no code");
		if same_toolchain.is_err() {
			*committed.pointer_mut(code).expect("code") = Value::Null;
			*current.pointer_mut(code).expect("code") = Value::Null;
		}
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
	for (chain, node) in nodes {
		// Alice is a validator of every spec; alone (forced) she authors, finality needs more.
		node.wait_for_best(1, Duration::from_secs(120)).await;
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
