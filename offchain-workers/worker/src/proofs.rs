//! Proven jobs: the executor proves its run of each through the node's engine and submits
//! the statement (the output quanta, the claim signing their hash and the proof's) with the
//! proof. A run the engine cannot prove is a failure, sent as any other.

use alloc::vec::Vec;
use codec::Encode;
use haca_inference::{inference, InferenceError, Proved};
use haca_primitives::{
	runtime_api::{Due, WorkItem},
	statement::Claim,
	InferenceKey,
};
use sp_core::H256;

use crate::{
	models::model_bytes,
	records::run_tasks_once,
	resend_round,
	statements::{failure_claim, send_in_batches, signed_statement},
	Chain, LOG_TARGET,
};

/// Proves and submits the proven results `who` owes, each once per attempt of its job and
/// round of [`crate::RESEND_AFTER_BLOCKS`] blocks: one still owed in the next round, lost on
/// its way to a block, is proven and sent again.
pub(crate) fn submit_owed_proofs<C: Chain>(key: &InferenceKey, who: &C::AccountId) {
	let mut failures = Vec::new();
	let round = resend_round::<C>();
	for item in C::pending_work(who).into_iter().filter(|item| item.due == Due::Proof) {
		let task = (item.job, (b"haca/proof", item.job, item.attempt, who, round).encode());
		run_tasks_once::<C>(core::slice::from_ref(&task), |_| {
			let sent = match prove::<C>(who, &item) {
				Ok(proved) => submit::<C>(key, who, &item, proved),
				// Local, passing conditions: try again in a later block.
				Err(InferenceError::NoInferenceRole | InferenceError::Busy) => false,
				Err(error) => {
					log::info!(target: LOG_TARGET, "job {}: not proven: {error:?}", item.job);
					let (claim, carried) = failure_claim::<C>(&item.model, error);
					match signed_statement::<C>(key, who, &item, claim, carried) {
						Some(signed) => {
							failures.push((task.clone(), signed));
							true
						}
						None => false,
					}
				}
			};
			alloc::vec![sent]
		});
	}
	send_in_batches::<C>(failures);
}

/// The engine's proof of `who`'s run of a proven job.
fn prove<C: Chain>(who: &C::AccountId, item: &WorkItem) -> Result<Proved, InferenceError> {
	let served = C::served_model(&item.model).ok_or(InferenceError::ModelUnavailable)?;
	let circuit = served.circuit.ok_or(InferenceError::GraphMismatch)?;
	let input = C::input(item.job).ok_or(InferenceError::BadInput)?;
	let binding = C::proof_binding(item.job, item.attempt, &item.model, who);
	let bytes = model_bytes::<C>(&item.model)?;
	inference::prove(item.model.as_ref(), bytes, circuit.hash, binding, &input)
}

/// Signs and submits a proven result; whether the pool took it.
fn submit<C: Chain>(
	key: &InferenceKey,
	who: &C::AccountId,
	item: &WorkItem,
	proved: Proved,
) -> bool {
	let Proved { quanta, output_hash, proof } = proved;
	let claim = Claim::Proven {
		output_hash: H256(output_hash),
		proof: H256(sp_io::hashing::blake2_256(&proof)),
	};
	let Ok(carried) = C::Outputs::try_from(quanta) else { return false };
	let Some((statement, signature)) = signed_statement::<C>(key, who, item, claim, Some(carried))
	else {
		return false;
	};
	let taken = C::submit_proof(statement, signature, proof);
	log::info!(
		target: LOG_TARGET,
		"job {}: proven result {}",
		item.job,
		if taken { "sent" } else { "refused by the pool" }
	);
	taken
}
