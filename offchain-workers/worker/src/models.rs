//! The models the node needs: on chain, or kept off chain and fetched by content hash into
//! the node's model store (`inference::request_model`).

use alloc::vec::Vec;
use haca_inference::{inference, InferenceError, ModelAvailability};
use haca_primitives::ModelHash;

use crate::{Chain, LOG_TARGET};

/// The bytes the engine loads `model` from: `Some` for a model on chain, `None` for one in
/// the node's model store. A model kept off chain and not yet stored is fetched: `Busy` (try
/// again later) while it is, `ModelUnavailable` once every source has failed.
pub(crate) fn model_bytes<C: Chain>(model: &ModelHash) -> Result<Option<Vec<u8>>, InferenceError> {
	if let Some(bytes) = C::model_bytes(model) {
		return Ok(Some(bytes));
	}
	let off_chain = C::off_chain_model(model).ok_or(InferenceError::ModelUnavailable)?;
	match inference::request_model(model.as_ref(), off_chain.size.into(), off_chain.locators) {
		ModelAvailability::Stored => Ok(None),
		ModelAvailability::Fetching => {
			log::debug!(target: LOG_TARGET, "model {model:?}: being fetched, runs later");
			Err(InferenceError::Busy)
		}
		ModelAvailability::Unavailable => {
			log::info!(target: LOG_TARGET, "model {model:?}: no source serves it");
			Err(InferenceError::ModelUnavailable)
		}
	}
}

/// Keeps the models the accounts of this node's session keys serve or audit in its model
/// store, and fetches those kept off chain ahead of their first job.
pub(crate) fn keep_served_models<C: Chain>(accounts: &[C::AccountId]) {
	let mut served: Vec<ModelHash> = accounts.iter().flat_map(C::models_of).collect();
	served.sort();
	served.dedup();
	inference::keep_models(served.iter().map(|model| model.0).collect());
	for model in &served {
		if let Some(off_chain) = C::off_chain_model(model) {
			inference::request_model(model.as_ref(), off_chain.size.into(), off_chain.locators);
		}
	}
}
