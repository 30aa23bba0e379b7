//! Test support: start the real `haca-node` binary on free ports and talk to it over RPC.

use std::{
	collections::BTreeSet,
	fs::File,
	net::TcpListener,
	path::PathBuf,
	process::{Child, Command, ExitStatus, Stdio},
	sync::Mutex,
	time::{Duration, Instant},
};

pub mod http;

use jsonrpsee::{
	core::client::ClientT,
	http_client::{HttpClient, HttpClientBuilder},
	rpc_params,
};
use serde_json::Value;

/// Path of the node binary built for these tests.
pub const NODE_BINARY: &str = env!("CARGO_BIN_EXE_haca-node");

/// A port that was free a moment ago (the OS picks it) and that this test process has not
/// handed out before: nodes started together never share a port.
pub fn free_port() -> u16 {
	static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
	loop {
		let port = TcpListener::bind("127.0.0.1:0")
			.and_then(|listener| listener.local_addr())
			.expect("the OS hands out a free port")
			.port();
		if HANDED_OUT.lock().expect("port registry").insert(port) {
			return port;
		}
	}
}

/// A fresh scratch directory for one test.
pub fn scratch_dir(label: &str) -> PathBuf {
	let nanos = std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.expect("clock after 1970")
		.as_nanos();
	let dir = std::env::temp_dir().join(format!("haca-{label}-{}-{nanos}", std::process::id()));
	std::fs::create_dir_all(&dir).expect("scratch dir can be created");
	dir
}

/// A running `haca-node` process. Dropping it kills the process (by its id) and waits for
/// it, so a failing test leaves no orphan behind.
pub struct Node {
	child: Mutex<Child>,
	/// The node's JSON-RPC port.
	pub rpc_port: u16,
	/// The node's peer-to-peer port.
	pub p2p_port: u16,
	/// The node's Prometheus port.
	pub prometheus_port: u16,
	/// Where the node's output goes.
	pub log_path: PathBuf,
}

impl Node {
	/// Starts a single-validator development node (`--dev --tmp`) on free ports.
	pub fn start_dev(label: &str) -> Self {
		Self::start_dev_with(label, &[])
	}

	/// Starts a development node with `extra` arguments (e.g. `--executor`).
	pub fn start_dev_with(label: &str, extra: &[&str]) -> Self {
		Self::start(label, &[&["--dev"], extra].concat())
	}

	/// Starts a node with `args` (chain, roles, keys), a temporary database and free ports.
	pub fn start(label: &str, args: &[&str]) -> Self {
		let dir = scratch_dir(label);
		let (rpc_port, p2p_port, prometheus_port) = (free_port(), free_port(), free_port());
		let log_path = dir.join("node.log");
		let log = File::create(&log_path).expect("log file can be created");
		let child = Command::new(NODE_BINARY)
			.args(["--tmp", "--no-mdns", "--no-telemetry"])
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--port", &p2p_port.to_string()])
			.args(["--prometheus-port", &prometheus_port.to_string()])
			.args(args)
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.expect("haca-node starts");
		Node { child: Mutex::new(child), rpc_port, p2p_port, prometheus_port, log_path }
	}

	/// An RPC client for this node.
	pub fn rpc(&self) -> HttpClient {
		HttpClientBuilder::default()
			.request_timeout(Duration::from_secs(10))
			.build(format!("http://127.0.0.1:{}", self.rpc_port))
			.expect("valid RPC URL")
	}

	/// The most memory the node's process has held (its peak resident set), in KiB.
	pub fn peak_memory_kib(&self) -> Option<u64> {
		let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
		let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
		line.split_whitespace().nth(1)?.parse().ok()
	}

	/// The node's process id.
	pub fn pid(&self) -> u32 {
		self.child.lock().expect("node lock").id()
	}

	/// How the node's process ended, if it has.
	pub fn exit_status(&self) -> Option<ExitStatus> {
		self.child.lock().expect("node lock").try_wait().expect("wait on the node")
	}

	/// The node's output so far (for failure messages).
	pub fn log(&self) -> String {
		std::fs::read_to_string(&self.log_path).unwrap_or_default()
	}

	/// Number of the latest finalised block, once the RPC server answers.
	pub async fn finalized_number(&self) -> Option<u64> {
		let hash: String =
			self.rpc().request("chain_getFinalizedHead", rpc_params![]).await.ok()?;
		self.block_number(Some(hash)).await
	}

	/// Number of the best block, once the RPC server answers.
	pub async fn best_number(&self) -> Option<u64> {
		self.block_number(None).await
	}

	/// Number of the block `hash` (the best block when `None`).
	async fn block_number(&self, hash: Option<String>) -> Option<u64> {
		let header: Value = self.rpc().request("chain_getHeader", rpc_params![hash]).await.ok()?;
		let number = header.get("number")?.as_str()?;
		u64::from_str_radix(number.trim_start_matches("0x"), 16).ok()
	}

	/// Waits until at least `target` blocks are finalised; panics with the node's log after
	/// `timeout`.
	pub async fn wait_for_finalized(&self, target: u64, timeout: Duration) -> u64 {
		self.wait_for(target, timeout, true).await
	}

	/// Waits until the best block is at least `target`; panics with the node's log after
	/// `timeout`.
	pub async fn wait_for_best(&self, target: u64, timeout: Duration) -> u64 {
		self.wait_for(target, timeout, false).await
	}

	async fn wait_for(&self, target: u64, timeout: Duration, finalized: bool) -> u64 {
		let start = Instant::now();
		loop {
			let number =
				if finalized { self.finalized_number().await } else { self.best_number().await };
			if let Some(number) = number.filter(|number| *number >= target) {
				return number;
			}
			if let Some(status) = self.exit_status() {
				panic!(
					"the node exited ({status}) before {target} blocks; node log:\n{}",
					self.log()
				);
			}
			let what = if finalized { "finalised" } else { "imported" };
			assert!(
				start.elapsed() < timeout,
				"fewer than {target} blocks {what} after {timeout:?}; node log:\n{}",
				self.log()
			);
			tokio::time::sleep(Duration::from_millis(500)).await;
		}
	}

	/// Asks the node to shut down (SIGINT, as Ctrl-C) and waits for it to exit.
	pub fn stop(self) -> ExitStatus {
		let pid = self.pid().to_string();
		let signalled = Command::new("kill").args(["-INT", &pid]).status();
		assert!(signalled.is_ok_and(|s| s.success()), "SIGINT delivered to {pid}");
		let start = Instant::now();
		loop {
			if let Some(status) = self.exit_status() {
				return status;
			}
			assert!(start.elapsed() < Duration::from_secs(30), "node {pid} ignored SIGINT");
			std::thread::sleep(Duration::from_millis(100));
		}
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		// Already exited after `stop`: both calls then do nothing harmful.
		let child = self.child.get_mut().expect("node lock");
		let _ = child.kill();
		let _ = child.wait();
	}
}

/// The body of `GET /metrics` on the node's Prometheus endpoint.
pub fn prometheus_metrics(port: u16) -> String {
	use std::io::{Read, Write};
	let mut stream =
		std::net::TcpStream::connect(("127.0.0.1", port)).expect("prometheus endpoint");
	stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("request sent");
	let mut response = String::new();
	stream.read_to_string(&mut response).expect("response read");
	response
}
