//! Models kept off chain, fetched by content hash into the node's model store ([`ModelStore`])
//! when the node needs one ([`Fetcher`], behind the `inference::request_model` host function)
//! or its operator asks (`haca-node model fetch`).
//!
//! A model is fetched from its registered locators, in the order its owner listed them
//! (`http.rs`: each streamed with a size cap and a timeout, retried with a doubling backoff
//! when the failure may pass, dropped for wrong, long or short bytes). Only bytes of the
//! registered size that hash to the model enter the store. When every source fails the
//! model is unavailable for [`RETRY_AFTER`], then fetched again when next needed.

mod http;
mod metrics;

use std::{
	collections::{HashMap, HashSet},
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

use haca_engine::ModelStore;
use haca_inference::{ModelAvailability, ModelFetcher};
use sc_service::SpawnTaskHandle;
use sp_core::hexdisplay::HexDisplay;

pub use http::{fetch, FetchPolicy};
pub use metrics::FetchMetrics;

/// How long a model no source served stays unavailable before it is fetched again.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);

/// Default bound of a node's model store, in bytes.
pub const DEFAULT_STORE_BYTES: u64 = 8 << 30;

/// The log target of fetching.
const LOG_TARGET: &str = "haca-fetch";

/// Fetches the off-chain models a node needs into its model store, each once at a time, in
/// the background.
#[derive(Clone)]
pub struct Fetcher {
	inner: Arc<Inner>,
}

struct Inner {
	store: ModelStore,
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
	/// A fetcher into `store`, trying each source per `policy`, its tasks spawned on
	/// `spawner`.
	pub fn new(
		store: ModelStore,
		policy: FetchPolicy,
		spawner: SpawnTaskHandle,
		metrics: Option<FetchMetrics>,
	) -> Self {
		if let Some(metrics) = &metrics {
			metrics.stored(&store);
		}
		let state = Mutex::new(State::default());
		Self { inner: Arc::new(Inner { store, policy, spawner, state, metrics }) }
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
	/// Fetches `model` from `locators` into the store, then records the outcome.
	async fn fetch(self: Arc<Self>, model: [u8; 32], size: u64, locators: Vec<Vec<u8>>) {
		let hex = HexDisplay::from(&model);
		let locators: Vec<String> =
			locators.into_iter().map(|uri| String::from_utf8_lossy(&uri).into_owned()).collect();
		log::info!(target: LOG_TARGET, "model 0x{hex}: fetching {size} bytes");
		let started = Instant::now();
		let fetched = fetch(&locators, &model, size, self.policy, &mut |_| {}).await;
		let dropped = match &fetched {
			Ok(fetched) => &fetched.dropped,
			Err(failures) => failures,
		};
		if let Some(metrics) = &self.metrics {
			dropped.iter().for_each(|(_, error)| metrics.failed("http", error.label()));
		}
		let stored = fetched.map_err(|failures| failures.len()).and_then(|fetched| {
			let kept = self.state.lock().expect("fetcher state lock").kept.clone();
			self.store.insert(&model, &fetched.bytes, &kept).map_err(|error| {
				log::warn!(target: LOG_TARGET, "model 0x{hex}: not stored: {error}");
				0
			})
		});
		let mut state = self.state.lock().expect("fetcher state lock");
		state.fetching.remove(&model);
		match stored {
			Ok(path) => {
				let seconds = started.elapsed().as_secs_f64();
				log::info!(
					target: LOG_TARGET,
					"model 0x{hex}: fetched {size} bytes in {seconds:.2} s ({:.1} MB/s) -> {}",
					size as f64 / 1e6 / seconds.max(1e-9),
					path.display(),
				);
				if let Some(metrics) = &self.metrics {
					metrics.fetched("http", size, started.elapsed());
					metrics.stored(&self.store);
				}
			}
			Err(sources) => {
				log::warn!(
					target: LOG_TARGET,
					"model 0x{hex}: unavailable ({sources} sources failed); fetched again when \
					 needed after {RETRY_AFTER:?}",
				);
				state.failed.insert(model, Instant::now());
			}
		}
	}
}
