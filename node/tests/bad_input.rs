//! Bad command-line input ends with a one-line error, not a panic.

#[allow(dead_code)]
mod common;

use std::process::Command;

use common::{scratch_dir, NODE_BINARY};

/// Runs `haca-node` with `args` and returns its standard error, asserting it failed.
fn run_failing(args: &[&str]) -> String {
	let output = Command::new(NODE_BINARY).args(args).output().expect("haca-node runs");
	assert!(!output.status.success(), "haca-node {args:?} should fail");
	String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts `stderr` is a single error line mentioning `needle`.
fn assert_one_line_error(stderr: &str, needle: &str) {
	assert!(!stderr.contains("panicked"), "panic instead of an error:\n{stderr}");
	let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
	assert_eq!(lines.len(), 1, "expected one line, got:\n{stderr}");
	assert!(lines[0].starts_with("Error: "), "unexpected output: {stderr}");
	assert!(lines[0].contains(needle), "`{needle}` missing from: {stderr}");
}

#[test]
fn missing_chain_spec_is_a_one_line_error() {
	let stderr = run_failing(&["--chain", "nonexistent", "--tmp"]);
	assert_one_line_error(&stderr, "nonexistent");
}

#[test]
fn corrupt_chain_spec_is_a_one_line_error() {
	let path = scratch_dir("corrupt-spec").join("corrupt.json");
	std::fs::write(&path, "{ \"name\": \"half a spec\", ").expect("write spec");
	let stderr = run_failing(&["--chain", path.to_str().expect("utf-8 path"), "--tmp"]);
	assert_one_line_error(&stderr, "corrupt.json");
}

#[test]
fn dishonest_roles_are_refused_on_a_live_chain() {
	let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../chain-specs/local.json");
	let mut spec: serde_json::Value =
		serde_json::from_str(&std::fs::read_to_string(spec).expect("committed spec"))
			.expect("valid JSON");
	spec["chainType"] = "Live".into();
	let path = scratch_dir("live-spec").join("live.json");
	std::fs::write(&path, spec.to_string()).expect("write spec");
	let path = path.to_str().expect("utf-8 path");
	for role in [["--executor", "--dishonest-executor"], ["--verifier", "--dishonest-verifier"]] {
		let log = scratch_dir("live-spec").join("stderr");
		let mut node = Command::new(NODE_BINARY)
			.args(["--chain", path, "--tmp", "--no-mdns"])
			.args(role)
			.args(["--rpc-port", "0", "--port", "0", "--prometheus-port", "0"])
			.stderr(std::fs::File::create(&log).expect("log file"))
			.spawn()
			.expect("haca-node starts");
		// Refused at once; a node that started anyway is stopped (by its id) and fails the
		// test.
		let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
		let status = loop {
			if let Some(status) = node.try_wait().expect("wait on the node") {
				break status;
			}
			if std::time::Instant::now() > deadline {
				let _ = node.kill();
				let _ = node.wait();
				panic!("the node ran with {role:?} on a live chain");
			}
			std::thread::sleep(std::time::Duration::from_millis(100));
		};
		assert!(!status.success());
		let stderr = std::fs::read_to_string(&log).expect("log");
		assert_one_line_error(&stderr, "--dishonest-verifier are for test networks only");
	}
}
