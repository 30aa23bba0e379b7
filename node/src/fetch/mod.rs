//! Models kept off chain, fetched by content hash into the node's model store ([`ModelStore`])
//! when the node needs one ([`Fetcher`], behind the `inference::request_model` host function)
//! or its operator asks (`haca-node model fetch`).
//!
//! A running node fetches a model from two kinds of source, in this order:
//! 1. its connected peers (`peers.rs`), each in turn, chunk after chunk over the chain's own
//!    network, a peer that fails succeeded by the next from where it stopped: the nodes that
//!    already hold a model spare its owner's servers;
//! 2. the model's registered locators, in the order its owner listed them (`http.rs`: each
//!    streamed with a size cap and a timeout, retried with a doubling backoff when the
//!    failure may pass).
//!
//! A source that serves wrong, long or short bytes is dropped (logged, counted by reason)
//! and the next one tried. Only bytes of the registered size that hash to the model enter
//! the store. When every source fails the model is unavailable for [`RETRY_AFTER`], then
//! fetched again when next needed; a job that needs it meanwhile fails with
//! `ModelUnavailable` and is drawn again.

mod http;
mod metrics;
mod peers;

use std::{
	collections::{HashMap, HashSet},
	path::PathBuf,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

use haca_engine::ModelStore;
use haca_inference::{ModelAvailability, ModelFetcher};
use sc_service::SpawnTaskHandle;
use sp_core::hexdisplay::HexDisplay;

pub use http::{fetch, FetchPolicy};
pub use metrics::FetchMetrics;
pub use peers::{protocol_name, PeerServer, PeerSource};

/// How long a model no source served stays unavailable before it is fetched again.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);

/// Default bound of a node's model store, in bytes.
pub const DEFAULT_STORE_BYTES: u64 = 8 << 30;

/// The log target of fetching.
const LOG_TARGET: &str = "haca-fetch";

/// Why one source (a locator or a peer) did not give the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
	/// Not an `http://` or `https://` URI.
	#[error("not an http:// or https:// locator")]
	BadLocator,
	/// The server answered with another status than 200.
	#[error("the server answered {0}")]
	Status(u16),
	/// The server sent more bytes than the registered size.
	#[error("longer than the registered {0} bytes")]
	TooLong(u64),
	/// The stream ended before the registered size.
	#[error("{got} bytes, short of the registered {size}")]
	TooShort { got: u64, size: u64 },
	/// The bytes do not hash to the model's hash.
	#[error("wrong bytes: they hash to 0x{0}")]
	HashMismatch(String),
	/// No answer within the timeout.
	#[error("no model within {0:?}")]
	Timeout(Duration),
	/// The connection failed.
	#[error("connection: {0}")]
	Connection(String),
	/// The peer does not hold the model, or does not serve models.
	#[error("does not serve the model")]
	NotHeld,
	/// The peer refused more requests for now (its rate limit).
	#[error("busy")]
	Busy,
}

impl FetchError {
	/// The failure's metric label.
	pub fn label(&self) -> &'static str {
		match self {
			Self::BadLocator => "bad_locator",
			Self::Status(_) => "status",
			Self::TooLong(_) => "too_long",
			Self::TooShort { .. } => "too_short",
			Self::HashMismatch(_) => "hash_mismatch",
			Self::Timeout(_) => "timeout",
			Self::Connection(_) => "connection",
			Self::NotHeld => "not_held",
			Self::Busy => "busy",
		}
	}
}

/// The node's model store and how it fetches and serves models.
#[derive(Debug, Clone)]
pub struct ModelOptions {
	/// The store's directory; by default `models` in the chain's directory.
	pub dir: Option<PathBuf>,
	/// Most bytes of models the store holds.
	pub capacity: u64,
	/// How hard to try each locator.
	pub policy: FetchPolicy,
	/// Whether the node serves its stored models to its peers.
	pub serving: bool,
}

impl ModelOptions {
	/// The store these options describe, on a chain whose directory is `chain_dir`.
	pub fn store(&self, chain_dir: &std::path::Path) -> ModelStore {
		let dir = self.dir.clone().unwrap_or_else(|| chain_dir.join("models"));
		ModelStore::new(dir, self.capacity)
	}
}

/// Fetches the off-chain models a node needs into its model store, each once at a time, in
/// the background.
pub struct Fetcher {
	inner: Arc<Inner>,
}

struct Inner {
	store: ModelStore,
	peers: PeerSource,
	policy: FetchPolicy,
	spawner: SpawnTaskHandle,
	state: Mutex<State>,
	metrics: Option<FetchMetrics>,
}

/// What the fetcher is doing and remembers.
#[derive(Default)]
struct State {
	/// Models being fetched.
	fetching: HashSet<[u8; 32]>,
	/// Models no source served, and when the last attempt ended.
	failed: HashMap<[u8; 32], Instant>,
	/// Models the node serves: never evicted from the store.
	kept: Vec<[u8; 32]>,
}

impl Fetcher {
	/// A fetcher into `store` from `peers`, then from locators tried per `policy`, its tasks
	/// spawned on `spawner`.
	pub fn new(
		store: ModelStore,
		peers: PeerSource,
		policy: FetchPolicy,
		spawner: SpawnTaskHandle,
		metrics: Option<FetchMetrics>,
	) -> Self {
		if let Some(metrics) = &metrics {
			metrics.stored(&store);
		}
		let state = Mutex::new(State::default());
		Self { inner: Arc::new(Inner { store, peers, policy, spawner, state, metrics }) }
	}
}

impl ModelFetcher for Fetcher {
	fn request(&self, model: &[u8; 32], size: u64, locators: Vec<Vec<u8>>) -> ModelAvailability {
		let inner = &self.inner;
		if inner.store.contains(model) {
			return ModelAvailability::Stored;
		}
		let mut state = inner.state.lock().expect("fetcher state lock");
		if state.fetching.contains(model) {
			return ModelAvailability::Fetching;
		}
		if state.failed.get(model).is_some_and(|at| at.elapsed() < RETRY_AFTER) {
			return ModelAvailability::Unavailable;
		}
		state.failed.remove(model);
		if size > inner.store.capacity() {
			log::warn!(
				target: LOG_TARGET,
				"model 0x{}: {size} bytes, more than the model store holds ({} bytes)",
				HexDisplay::from(model),
				inner.store.capacity(),
			);
			state.failed.insert(*model, Instant::now());
			return ModelAvailability::Unavailable;
		}
		state.fetching.insert(*model);
		let task = Arc::clone(inner).fetch(*model, size, locators);
		inner.spawner.spawn("haca-model-fetch", Some("haca"), task);
		ModelAvailability::Fetching
	}

	fn keep(&self, models: Vec<[u8; 32]>) {
		self.inner.state.lock().expect("fetcher state lock").kept = models;
	}
}

impl Inner {
	/// Fetches `model` from its sources into the store, then records the outcome.
	async fn fetch(self: Arc<Self>, model: [u8; 32], size: u64, locators: Vec<Vec<u8>>) {
		let hex = HexDisplay::from(&model);
		log::info!(target: LOG_TARGET, "model 0x{hex}: fetching {size} bytes");
		let started = Instant::now();
		let fetched = self.fetch_from_sources(&model, size, locators).await;
		let stored = fetched.and_then(|(source, bytes)| {
			let kept = self.state.lock().expect("fetcher state lock").kept.clone();
			match self.store.insert(&model, &bytes, &kept) {
				Ok(path) => Ok((source, path)),
				Err(error) => {
					log::warn!(target: LOG_TARGET, "model 0x{hex}: not stored: {error}");
					Err(())
				}
			}
		});
		let mut state = self.state.lock().expect("fetcher state lock");
		state.fetching.remove(&model);
		let Ok((source, path)) = stored else {
			log::warn!(
				target: LOG_TARGET,
				"model 0x{hex}: unavailable, every source failed; fetched again when needed \
				 after {RETRY_AFTER:?}",
			);
			state.failed.insert(model, Instant::now());
			return;
		};
		let seconds = started.elapsed().as_secs_f64();
		log::info!(
			target: LOG_TARGET,
			"model 0x{hex}: fetched {size} bytes from {source} in {seconds:.2} s ({:.1} MB/s) \
			 -> {}",
			size as f64 / 1e6 / seconds.max(1e-9),
			path.display(),
		);
		if let Some(metrics) = &self.metrics {
			metrics.fetched(source, size, started.elapsed());
			metrics.stored(&self.store);
		}
	}

	/// The model's bytes and the kind of source that served them (`peer` or `http`): peers
	/// first, then the locators. Each source dropped is logged and counted.
	async fn fetch_from_sources(
		&self,
		model: &[u8; 32],
		size: u64,
		locators: Vec<Vec<u8>>,
	) -> Result<(&'static str, Vec<u8>), ()> {
		let hex = HexDisplay::from(model);
		let dropped = |source: &str, failures: &[(String, FetchError)]| {
			for (from, error) in failures {
				// Most peers do not hold a given model: that is no fault.
				if *error == FetchError::NotHeld {
					log::debug!(target: LOG_TARGET, "model 0x{hex}: {from}: {error}");
				} else {
					log::warn!(target: LOG_TARGET, "model 0x{hex}: {from} dropped: {error}");
				}
				if let Some(metrics) = &self.metrics {
					metrics.failed(source, error.label());
				}
			}
		};
		match self.peers.fetch(model, size).await {
			Ok((bytes, failures)) => {
				dropped("peer", &failures);
				return Ok(("peer", bytes));
			}
			Err(failures) => dropped("peer", &failures),
		}
		let locators: Vec<String> =
			locators.into_iter().map(|uri| String::from_utf8_lossy(&uri).into_owned()).collect();
		match fetch(&locators, model, size, self.policy, &mut |_| {}).await {
			Ok(fetched) => {
				dropped("http", &fetched.dropped);
				Ok(("http", fetched.bytes))
			}
			Err(failures) => {
				dropped("http", &failures);
				Err(())
			}
		}
	}
}
