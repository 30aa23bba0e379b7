//! The node's inference roles: the engine its off-chain workers reach through the
//! `haca_inference` host functions.

use std::sync::Arc;

use haca_engine::{Engine, EngineConfig, EngineMetrics};
use haca_inference::{InferenceError, InferenceHost, ModelSpecs, NodeInference, NodeRoles};

/// What the node runs inference for, and how.
#[derive(Debug, Clone)]
pub struct InferenceOptions {
	/// Executor and/or verifier.
	pub roles: NodeRoles,
	/// The engine's limits and model directory.
	pub engine: EngineConfig,
	/// Test networks only: report wrong outputs (see [`DishonestEngine`]).
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
			if self.dishonest { Arc::new(DishonestEngine(engine)) } else { engine };
		Ok(NodeInference { engine, roles: self.roles })
	}
}

/// An engine that lies: every output comes back with its last byte changed (the top byte
/// of the last element), still matching the model's output spec. For exercising
/// challenges, committees and slashing on test networks (`--dishonest-executor`).
pub struct DishonestEngine(Arc<Engine>);

impl InferenceHost for DishonestEngine {
	fn is_loaded(&self, model: &[u8; 32]) -> bool {
		self.0.is_loaded(model)
	}

	fn load(
		&self,
		model: &[u8; 32],
		bytes: Option<Vec<u8>>,
		specs: &ModelSpecs,
	) -> Result<(), InferenceError> {
		InferenceHost::load(&*self.0, model, bytes, specs)
	}

	fn run_batch(
		&self,
		model: &[u8; 32],
		inputs: &[&[u8]],
	) -> Result<Vec<Result<Vec<u8>, InferenceError>>, InferenceError> {
		let mut results = InferenceHost::run_batch(&*self.0, model, inputs)?;
		for outputs in results.iter_mut().flatten() {
			if let Some(last) = outputs.last_mut() {
				*last ^= 0x40;
			}
		}
		Ok(results)
	}
}
