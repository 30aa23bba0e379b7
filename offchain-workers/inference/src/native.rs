//! The native engine behind the host functions: [`InferenceHost`] for [`haca_engine::Engine`].

use alloc::vec::Vec;
use haca_engine::{Engine, EngineError};

use crate::{InferenceError, InferenceHost, ModelSpecs};

impl From<EngineError> for InferenceError {
	fn from(error: EngineError) -> Self {
		match error {
			EngineError::HashMismatch
			| EngineError::InvalidModel(_)
			| EngineError::UnseededRandom(_)
			| EngineError::Unsupported(_)
			| EngineError::SpecMismatch(_) => Self::InvalidModel,
			EngineError::GraphMismatch(_) => Self::GraphMismatch,
			EngineError::NotLoaded => Self::ModelUnavailable,
			EngineError::BadInput(_) => Self::BadInput,
			EngineError::Execution(_) => Self::Execution,
			EngineError::Timeout => Self::Timeout,
			EngineError::Busy => Self::Busy,
		}
	}
}

impl InferenceHost for Engine {
	fn is_loaded(&self, model: &[u8; 32]) -> bool {
		Engine::is_loaded(self, model)
	}

	fn load(
		&self,
		model: &[u8; 32],
		bytes: Option<Vec<u8>>,
		specs: &ModelSpecs,
	) -> Result<(), InferenceError> {
		let bytes =
			bytes.or_else(|| self.stored_model(model)).ok_or(InferenceError::ModelUnavailable)?;
		if let Some(graph) = &specs.graph {
			self.check_graph(&bytes, graph)?;
		}
		Engine::load(self, *model, &bytes, &specs.inputs, &specs.outputs).map_err(Into::into)
	}

	fn run_batch(
		&self,
		model: &[u8; 32],
		inputs: &[&[u8]],
	) -> Result<Vec<Result<Vec<u8>, InferenceError>>, InferenceError> {
		let results = Engine::run_batch(self, model, inputs)?;
		Ok(results.into_iter().map(|result| result.map_err(Into::into)).collect())
	}
}
