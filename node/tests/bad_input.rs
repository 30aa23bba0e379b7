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
