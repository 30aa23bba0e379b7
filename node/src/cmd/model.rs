//! `haca-node model`: the node's model store, the models it keeps off chain under their
//! content hash in `--model-dir` (`add`, `list`), filled from registered locators (`fetch`).

use std::{
	io::IsTerminal,
	path::PathBuf,
	time::{Duration, SystemTime},
};

use haca_engine::ModelStore;
use sp_core::hexdisplay::HexDisplay;

use crate::fetch::{fetch, FetchPolicy};

/// Manage the models this node keeps off chain.
#[derive(Debug, clap::Subcommand)]
pub enum ModelCmd {
	/// Put a local model file in the store, under its hash (what `--executor` and
	/// `--verifier` nodes read off-chain models from).
	Add(AddCmd),
	/// List the stored models: hash, size, last use.
	List(ListCmd),
	/// Fetch a registered model by its hash from its locators into the store, checking its
	/// size and hash before storing it. The size and locators are read from the chain
	/// through a node's RPC, or given.
	Fetch(FetchCmd),
}

/// Where the store is and how large it may grow.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreParams {
	/// The model store: the node's `--model-dir`.
	#[arg(long, value_name = "DIR")]
	pub model_dir: PathBuf,

	/// Most bytes of models the store holds; the least recently used leave first.
	#[arg(long, value_name = "BYTES", default_value_t = crate::fetch::DEFAULT_STORE_BYTES)]
	pub model_cache_size: u64,
}

impl StoreParams {
	fn store(&self) -> ModelStore {
		ModelStore::new(&self.model_dir, self.model_cache_size)
	}
}

#[derive(Debug, clap::Parser)]
pub struct AddCmd {
	/// The ONNX model file.
	pub file: PathBuf,

	#[clap(flatten)]
	pub store: StoreParams,
}

#[derive(Debug, clap::Parser)]
pub struct ListCmd {
	#[clap(flatten)]
	pub store: StoreParams,
}

#[derive(Debug, clap::Parser)]
pub struct FetchCmd {
	/// The model's blake2-256 hash, as registered (`0x` and 64 hex digits).
	pub hash: String,

	/// A node's RPC endpoint (HTTP) to read the model's registered size and locators from.
	#[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9944")]
	pub rpc_url: String,

	/// Its registered size in bytes, instead of the chain's: a source sending more or less
	/// is dropped.
	#[arg(long, value_name = "BYTES", requires = "urls")]
	pub size: Option<u64>,

	/// Its locators (`http://` or `https://`), tried in order, instead of the chain's;
	/// repeatable.
	#[arg(long = "url", value_name = "URL", requires = "size")]
	pub urls: Vec<String>,

	/// Longest one attempt at a locator may take.
	#[arg(long, value_name = "SECONDS", default_value_t = 300)]
	pub timeout: u64,

	/// Attempts after the first at one locator, when it timed out, dropped the connection
	/// or failed on its side (5xx).
	#[arg(long, value_name = "COUNT", default_value_t = 3)]
	pub retries: u32,

	#[clap(flatten)]
	pub store: StoreParams,
}

impl ModelCmd {
	/// Runs the subcommand.
	pub fn run(&self) -> sc_cli::Result<()> {
		match self {
			Self::Add(cmd) => cmd.run(),
			Self::List(cmd) => cmd.run(),
			Self::Fetch(cmd) => cmd.run(),
		}
	}
}

impl AddCmd {
	fn run(&self) -> sc_cli::Result<()> {
		let bytes = std::fs::read(&self.file)
			.map_err(|error| format!("{}: {error}", self.file.display()))?;
		let hash = sp_crypto_hashing::blake2_256(&bytes);
		let path = self.store.store().insert(&hash, &bytes, &[]).map_err(|e| e.to_string())?;
		println!("0x{} {} bytes -> {}", HexDisplay::from(&hash), bytes.len(), path.display());
		Ok(())
	}
}

impl ListCmd {
	fn run(&self) -> sc_cli::Result<()> {
		for model in self.store.store().list().map_err(|error| error.to_string())? {
			let age = SystemTime::now().duration_since(model.used).unwrap_or_default();
			println!(
				"0x{} {:>12} bytes  used {} s ago",
				HexDisplay::from(&model.hash),
				model.size,
				age.as_secs()
			);
		}
		Ok(())
	}
}

impl FetchCmd {
	fn run(&self) -> sc_cli::Result<()> {
		let hash: [u8; 32] = sp_core::bytes::from_hex(&self.hash)
			.ok()
			.and_then(|bytes| bytes.try_into().ok())
			.ok_or_else(|| format!("{}: not a model hash (0x and 64 hex digits)", self.hash))?;
		let policy = FetchPolicy {
			timeout: Duration::from_secs(self.timeout),
			retries: self.retries,
			backoff: Duration::from_secs(1),
		};
		let store = self.store.store();
		let runtime = tokio::runtime::Builder::new_current_thread()
			.enable_all()
			.build()
			.map_err(|error| error.to_string())?;
		let (size, urls) = match self.size {
			Some(size) => (size, self.urls.clone()),
			None => runtime.block_on(registered_source(&self.rpc_url, &hash))?,
		};
		let terminal = std::io::stderr().is_terminal();
		let mut shown = 0;
		// On a terminal a progress line, rewritten in place; otherwise a line at the start and
		// one at the end.
		let mut progress = |got: u64| {
			let percent = got * 100 / size.max(1);
			if terminal && percent != shown {
				shown = percent;
				eprint!(
					"\rfetching 0x{}: {got} of {size} bytes ({percent}%)",
					HexDisplay::from(&hash)
				);
			}
		};
		if !terminal {
			eprintln!("fetching 0x{} ({size} bytes)", HexDisplay::from(&hash));
		}
		let started = std::time::Instant::now();
		let fetched = runtime.block_on(fetch(&urls, &hash, size, policy, &mut progress));
		if terminal {
			eprintln!();
		}
		let fetched = fetched.map_err(|failures| {
			let reasons: Vec<String> =
				failures.iter().map(|(url, error)| format!("{url}: {error}")).collect();
			format!("no locator served model 0x{}: {}", HexDisplay::from(&hash), reasons.join("; "))
		})?;
		for (url, error) in &fetched.dropped {
			eprintln!("dropped {url}: {error}");
		}
		let bytes = fetched.bytes;
		let seconds = started.elapsed().as_secs_f64();
		let path = store.insert(&hash, &bytes, &[]).map_err(|error| error.to_string())?;
		eprintln!(
			"fetched 0x{} ({size} bytes) in {seconds:.2} s ({:.1} MB/s) -> {}",
			HexDisplay::from(&hash),
			size as f64 / 1e6 / seconds.max(1e-9),
			path.display()
		);
		Ok(())
	}
}

/// The registered size and locators of off-chain model `hash`, read through the RPC at
/// `rpc_url` (the runtime API `InferenceApi_off_chain_model`).
async fn registered_source(rpc_url: &str, hash: &[u8; 32]) -> sc_cli::Result<(u64, Vec<String>)> {
	use codec::{Decode, Encode};
	use haca_primitives::traits::OffChainModel;
	use jsonrpsee::core::client::ClientT;
	let client = jsonrpsee::http_client::HttpClient::builder()
		.build(rpc_url)
		.map_err(|error| format!("{rpc_url}: {error}"))?;
	let call = ("InferenceApi_off_chain_model", sp_core::bytes::to_hex(&hash.encode(), false));
	let answer: String = client
		.request("state_call", jsonrpsee::rpc_params![call.0, call.1])
		.await
		.map_err(|error| format!("reading the model from {rpc_url}: {error}"))?;
	let bytes = sp_core::bytes::from_hex(&answer).map_err(|error| format!("{rpc_url}: {error}"))?;
	let model = Option::<OffChainModel>::decode(&mut &bytes[..])
		.map_err(|error| format!("{rpc_url}: unexpected answer: {error}"))?
		.ok_or_else(|| {
			format!("model 0x{}: not registered off chain on this chain", HexDisplay::from(hash))
		})?;
	let locators = model.locators.iter().map(|uri| String::from_utf8_lossy(uri).into_owned());
	Ok((model.size.into(), locators.collect()))
}
