//! The node's inference roles: the engine and the model fetcher its off-chain workers reach
//! through the `haca_inference` host functions.

use std::{path::Path, sync::Arc};

use haca_engine::{Engine, EngineConfig, EngineMetrics, ModelStore};
use haca_inference::{InferenceHost, MappedOutputs, NodeInference, NodeRoles};

use crate::fetch::{FetchMetrics, FetchPolicy, Fetcher};

/// What the node runs inference for, and how.
#[derive(Debug, Clone)]
pub struct InferenceOptions {
	/// Executor and/or verifier.
	pub roles: NodeRoles,
	/// The engine's limits and model store.
	pub engine: EngineConfig,
	/// Most bytes of models the model store holds.
	pub store_bytes: u64,
	/// How hard to try each locator of a model being fetched.
	pub fetch: FetchPolicy,
	/// Test networks only: every run's outputs wrong (their last byte flipped, see [`LIE`]):
	/// an executor reports them, a verifier audits with them.
	pub dishonest: bool,
}

impl InferenceOptions {
	/// Starts the engine and the model fetcher (its tasks on `spawner`), the model store in
	/// `chain_dir`'s `models` unless the options name one; their metrics go to `registry`
	/// when there is one.
	pub fn start(
		mut self,
		registry: Option<&prometheus_endpoint::Registry>,
		spawner: sc_service::SpawnTaskHandle,
		chain_dir: &Path,
	) -> Result<NodeInference, prometheus_endpoint::PrometheusError> {
		let store_dir = self.engine.model_dir.get_or_insert_with(|| chain_dir.join("models"));
		let store = ModelStore::new(store_dir.clone(), self.store_bytes);
		let fetch_metrics = registry.map(FetchMetrics::register).transpose()?;
		let fetcher = Fetcher::new(store, self.fetch, spawner, fetch_metrics);
		let metrics = registry.map(EngineMetrics::register).transpose()?;
		let engine = Arc::new(Engine::new(self.engine, metrics));
		let engine: Arc<dyn InferenceHost> =
			if self.dishonest { Arc::new(MappedOutputs { engine, map: LIE }) } else { engine };
		Ok(NodeInference { engine, roles: self.roles, fetcher: Some(Arc::new(fetcher)) })
	}
}

/// How a lying engine changes a run's outputs: the last byte (the top byte of the last
/// element) flipped, still matching the model's output spec. For exercising challenges,
/// disputes and slashing on test networks (`--dishonest-executor`, `--dishonest-verifier`).
const LIE: fn(&mut Vec<u8>) = |outputs| {
	if let Some(last) = outputs.last_mut() {
		*last ^= 0x40;
	}
};
