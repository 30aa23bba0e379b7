//! `haca-node model`: models fetched by their hash from registered locators served by a local
//! HTTP server (the first locator that serves the right bytes wins; one that serves wrong
//! bytes, too many, none, or hangs is dropped, one that fails on its side retried), and the
//! store they land in.

#[allow(dead_code)]
mod common;

use std::{
	path::{Path, PathBuf},
	process::Command,
};

use common::{http::serve, scratch_dir, NODE_BINARY};

fn model_bytes() -> Vec<u8> {
	let path =
		PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../offchain-workers/models/mlp.onnx");
	std::fs::read(path).unwrap()
}

fn hex(bytes: &[u8]) -> String {
	sp_core::bytes::to_hex(bytes, false)
}

/// `haca-node model <args>` with the store in `dir`: success, stdout, stderr.
fn model(dir: &Path, args: &[&str]) -> (bool, String, String) {
	let output = Command::new(NODE_BINARY)
		.arg("model")
		.args(args)
		.arg("--model-dir")
		.arg(dir)
		.output()
		.expect("haca-node runs");
	let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
	(output.status.success(), text(&output.stdout), text(&output.stderr))
}

#[test]
fn a_model_is_fetched_from_the_first_locator_that_serves_its_bytes() {
	let bytes = model_bytes();
	let hash = sp_crypto_hashing::blake2_256(&bytes);
	let server = serve(bytes.clone());
	let dir = scratch_dir("model-fetch");
	let size = bytes.len().to_string();
	let urls: Vec<String> =
		["ftp://elsewhere/model", "/missing", "/wrong", "/long", "/hang", "/flaky"]
			.iter()
			.map(
				|path| {
					if path.starts_with('/') {
						format!("{server}{path}")
					} else {
						path.to_string()
					}
				},
			)
			.collect();
	let mut args = vec!["fetch", &hex(&hash), "--size", &size, "--timeout", "2", "--retries", "1"]
		.into_iter()
		.map(String::from)
		.collect::<Vec<_>>();
	for url in &urls {
		args.extend(["--url".to_string(), url.clone()]);
	}
	let args: Vec<&str> = args.iter().map(String::as_str).collect();
	let (ok, stdout, stderr) = model(&dir, &args);
	assert!(ok, "{stdout}{stderr}");
	for reason in [
		"ftp://elsewhere/model: not an http:// or https:// locator",
		"/missing: the server answered 404",
		"/wrong: wrong bytes",
		"/long: longer than the registered",
		"/hang: no model within 2s",
	] {
		assert!(stderr.contains(reason), "{reason}: {stderr}");
	}
	assert!(stderr.contains(&format!("fetched {}", hex(&hash))), "{stderr}");
	let stored = dir.join(format!("{}.onnx", &hex(&hash)[2..]));
	assert_eq!(std::fs::read(stored).unwrap(), bytes);
	let (ok, listed, _) = model(&dir, &["list"]);
	assert!(
		ok && listed.contains(&format!("{} {:>12} bytes", hex(&hash), bytes.len())),
		"{listed}"
	);
}

#[test]
fn a_model_no_locator_serves_is_not_stored() {
	let bytes = model_bytes();
	let hash = sp_crypto_hashing::blake2_256(&bytes);
	let server = serve(bytes.clone());
	let dir = scratch_dir("model-fetch-none");
	let (wrong, long) = (format!("{server}/wrong"), format!("{server}/long"));
	let size = bytes.len().to_string();
	let args = ["fetch", &hex(&hash), "--size", &size, "--url", &wrong, "--url", &long];
	let (ok, _, stderr) = model(&dir, &args);
	assert!(!ok);
	assert!(stderr.contains(&format!("no locator served model {}", hex(&hash))), "{stderr}");
	assert!(stderr.contains("wrong bytes") && stderr.contains("longer than"), "{stderr}");
	assert!(std::fs::read_dir(&dir).map_or(true, |mut entries| entries.next().is_none()));
	let (ok, _, stderr) = model(&dir, &["fetch", "0x1234", "--size", "1", "--url", &wrong]);
	assert!(!ok && stderr.contains("not a model hash"), "{stderr}");
}

#[test]
fn a_local_file_is_added_under_its_hash_and_listed() {
	let bytes = model_bytes();
	let hash = sp_crypto_hashing::blake2_256(&bytes);
	let dir = scratch_dir("model-add");
	let file =
		PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../offchain-workers/models/mlp.onnx");
	let (ok, stdout, stderr) = model(&dir, &["add", file.to_str().unwrap()]);
	assert!(ok, "{stderr}");
	assert!(stdout.starts_with(&format!("{} {} bytes", hex(&hash), bytes.len())), "{stdout}");
	let (ok, listed, _) = model(&dir, &["list"]);
	assert!(ok && listed.contains(&hex(&hash)), "{listed}");
	// A store smaller than the model refuses it by name.
	let (ok, _, stderr) = model(&dir, &["add", file.to_str().unwrap(), "--model-cache-size", "10"]);
	assert!(!ok && stderr.contains("larger than the store"), "{stderr}");
}
