//! The node's inference roles: the engine and the model fetcher its off-chain workers reach
//! through the `haca_inference` host functions.

use std::sync::Arc;

use haca_engine::{Engine, EngineConfig, EngineMetrics, ModelStore};
use haca_inference::{InferenceHost, MappedOutputs, NodeInference, NodeRoles};

use crate::fetch::{FetchMetrics, FetchPolicy, Fetcher, PeerSource};

/// What the node runs inference for, and how.
#[derive(Debug, Clone)]
pub struct InferenceOptions {
	/// Executor and/or verifier.
	pub roles: NodeRoles,
	/// The engine's limits.
	pub engine: EngineConfig,
	/// Test networks only: every run's outputs wrong (their last byte flipped, see [`LIE`]):
	/// an executor reports them, a verifier audits with them.
	pub dishonest: bool,
}

impl InferenceOptions {
	/// Starts the engine, which loads off-chain models from `store`, and the fetcher that
	/// fills the store from `peers` and locators (tried per `policy`), its tasks on
	/// `spawner`; their metrics go to `registry` when there is one.
	pub fn start(
		mut self,
		registry: Option<&prometheus_endpoint::Registry>,
		store: ModelStore,
		peers: PeerSource,
		policy: FetchPolicy,
		spawner: sc_service::SpawnTaskHandle,
	) -> Result<NodeInference, prometheus_endpoint::PrometheusError> {
		self.engine.model_dir = Some(store.dir().to_path_buf());
		let fetch_metrics = registry.map(FetchMetrics::register).transpose()?;
		let fetcher = Fetcher::new(store, peers, policy, spawner, fetch_metrics);
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
