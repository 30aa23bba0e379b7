//! Running jobs through the node's engine (the `haca_inference` host functions).

use alloc::vec::Vec;
use haca_inference::{inference, Executed, InferenceError};
use haca_primitives::{JobId, ModelHash};

use crate::{models::model_bytes, Chain, LOG_TARGET};

/// Runs a job's model on its input through the node's engine.
pub(crate) fn execute<C: Chain>(job: JobId, model: &ModelHash) -> Result<Executed, InferenceError> {
	let executed = execute_batch::<C>(model, &[job]).pop();
	executed.unwrap_or(Err(InferenceError::Execution))
}

/// Runs `model` on the inputs of `jobs` through the node's engine, in one call, loading the
/// model first if the engine does not have it; the result of each job, in order.
pub(crate) fn execute_batch<C: Chain>(
	model: &ModelHash,
	jobs: &[JobId],
) -> Vec<Result<Executed, InferenceError>> {
	let inputs: Vec<Option<Vec<u8>>> = jobs.iter().map(|&job| C::input(job)).collect();
	// A job gone since its work item was read has no input: it fails alone.
	let present: Vec<bool> = inputs.iter().map(Option::is_some).collect();
	let mut ran = match run_loaded::<C>(model, inputs.into_iter().flatten().collect()) {
		Ok(results) => results.into_iter(),
		Err(error) => {
			log::info!(target: LOG_TARGET, "model {model:?}: {} jobs not run: {error:?}", jobs.len());
			return jobs.iter().map(|_| Err(error)).collect();
		}
	};
	let results: Vec<_> = present
		.into_iter()
		.map(|present| {
			if present {
				ran.next().unwrap_or(Err(InferenceError::Execution))
			} else {
				Err(InferenceError::BadInput)
			}
		})
		.collect();
	for (job, result) in jobs.iter().zip(&results) {
		match result {
			Ok(executed) => log::info!(
				target: LOG_TARGET,
				"job {job}: ran model {model:?}, output hash 0x{}",
				sp_core::hexdisplay::HexDisplay::from(&executed.output_hash)
			),
			Err(error) => log::info!(target: LOG_TARGET, "job {job}: run failed: {error:?}"),
		}
	}
	results
}

/// Runs `model` on `inputs`, loading it first if the engine does not have it (from chain,
/// or from the node's model store, fetched first if need be).
fn run_loaded<C: Chain>(
	model: &ModelHash,
	inputs: Vec<Vec<u8>>,
) -> Result<Vec<Result<Executed, InferenceError>>, InferenceError> {
	if !inference::is_loaded(model.as_ref()) {
		let served = C::served_model(model).ok_or(InferenceError::ModelUnavailable)?;
		inference::load(model.as_ref(), model_bytes::<C>(model)?, served.specs)?;
		log::info!(target: LOG_TARGET, "model {model:?}: loaded");
	}
	inference::run_batch(model.as_ref(), inputs).map(|runs| runs.0)
}
