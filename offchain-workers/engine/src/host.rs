//! The engine behind the runtime's inference host functions (`haca_inference`).

use haca_inference::{InferenceError, InferenceHost, ModelSpecs};

use crate::{Engine, EngineError, ModelHash};

impl Engine {
	/// The bytes of a model kept off chain: `<model dir>/<hex hash>.onnx`.
	pub fn stored_model(&self, model: &ModelHash) -> Option<Vec<u8>> {
		let hex: String = model.iter().map(|byte| format!("{byte:02x}")).collect();
		std::fs::read(self.model_dir.as_ref()?.join(format!("{hex}.onnx"))).ok()
	}
}

impl From<EngineError> for InferenceError {
	fn from(error: EngineError) -> Self {
		match error {
			EngineError::HashMismatch
			| EngineError::InvalidModel(_)
			| EngineError::SpecMismatch(_) => Self::InvalidModel,
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
