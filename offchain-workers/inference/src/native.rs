//! The native engine behind the host functions: [`InferenceHost`] for [`haca_engine::Engine`].

use alloc::vec::Vec;
use haca_engine::{Engine, EngineError};

use sp_core::H256;

use crate::{
	dispute, proofs, InferenceError, InferenceHost, ModelSpecs, Proved, StepRun, TraceRun,
};

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
		let bytes = model_bytes(self, model, bytes)?;
		let graph = specs.graph.as_ref();
		let loaded = (graph.map_or(Ok(()), |graph| self.check_graph(&bytes, &specs.inputs, graph)))
			.and_then(|()| Engine::load(self, *model, &bytes, &specs.inputs, &specs.outputs));
		if let Err(error) = &loaded {
			self.note_load_failure(*model, error);
		}
		loaded.map_err(Into::into)
	}

	fn load_failure(&self, model: &[u8; 32]) -> Option<String> {
		Engine::load_failure(self, model)
	}

	fn run_batch(
		&self,
		model: &[u8; 32],
		inputs: &[&[u8]],
	) -> Result<Vec<Result<Vec<u8>, InferenceError>>, InferenceError> {
		let results = Engine::run_batch(self, model, inputs)?;
		Ok(results.into_iter().map(|result| result.map_err(Into::into)).collect())
	}

	fn trace(
		&self,
		model: &[u8; 32],
		bytes: Option<Vec<u8>>,
		input: &[u8],
	) -> Result<TraceRun, InferenceError> {
		dispute::trace(&checked_bytes(self, model, bytes)?, input)
	}

	fn wrong_step(
		&self,
		model: &[u8; 32],
		bytes: Option<Vec<u8>>,
		input: &[u8],
		claimed: &[H256],
	) -> Result<Option<StepRun>, InferenceError> {
		dispute::wrong_step(&checked_bytes(self, model, bytes)?, input, claimed)
	}

	fn prove(
		&self,
		model: &[u8; 32],
		bytes: Option<Vec<u8>>,
		circuit: &H256,
		binding: [u8; 32],
		input: &[u8],
	) -> Result<Proved, InferenceError> {
		let bytes = checked_bytes(self, model, bytes)?;
		let proved = proofs::prove(&bytes, circuit, binding, input, self.timeout());
		if let Err(error @ EngineError::GraphMismatch(_)) = &proved {
			// The worker explains the failure in these words.
			self.note_load_failure(*model, error);
		}
		proved.map_err(Into::into)
	}
}

/// `bytes`, or the model from `engine`'s model store.
fn model_bytes(
	engine: &Engine,
	model: &[u8; 32],
	bytes: Option<Vec<u8>>,
) -> Result<Vec<u8>, InferenceError> {
	bytes.or_else(|| engine.stored_model(model)).ok_or(InferenceError::ModelUnavailable)
}

/// `bytes`, or the model from `engine`'s model store, if they hash to `model`.
fn checked_bytes(
	engine: &Engine,
	model: &[u8; 32],
	bytes: Option<Vec<u8>>,
) -> Result<Vec<u8>, InferenceError> {
	let bytes = model_bytes(engine, model, bytes)?;
	(sp_crypto_hashing::blake2_256(&bytes) == *model)
		.then_some(bytes)
		.ok_or(InferenceError::InvalidModel)
}
