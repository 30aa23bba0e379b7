//! The node's inference roles: the engine its off-chain workers reach through the
//! `haca_inference` host functions.

use std::sync::Arc;

use haca_engine::{Engine, EngineConfig, EngineMetrics};
use haca_inference::{InferenceHost, MappedOutputs, NodeInference, NodeRoles};

/// What the node runs inference for, and how.
#[derive(Debug, Clone)]
pub struct InferenceOptions {
	/// Executor and/or verifier.
	pub roles: NodeRoles,
	/// The engine's limits and model directory.
	pub engine: EngineConfig,
	/// Test networks only: every run's outputs wrong (their last byte flipped, see [`LIE`]):
	/// an executor reports them, a verifier audits with them.
	pub dishonest: bool,
}

impl InferenceOptions {
	/// Starts the engine; its metrics go to `registry` when there is one.
	pub fn start(
		self,
		registry: Option<&prometheus_endpoint::Registry>,
	) -> Result<NodeInference, prometheus_endpoint::PrometheusError> {
		let metrics = registry.map(EngineMetrics::register).transpose()?;
		let engine = Arc::new(Engine::new(self.engine, metrics));
		let engine: Arc<dyn InferenceHost> =
			if self.dishonest { Arc::new(MappedOutputs { engine, map: LIE }) } else { engine };
		Ok(NodeInference { engine, roles: self.roles })
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
