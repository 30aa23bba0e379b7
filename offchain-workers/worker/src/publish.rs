//! The executor side of a publication: when a verifier asks for the outputs of one of its
//! attested results, too large for a statement, the node runs the job again (the same
//! engine on the same machine gives the same bytes), checks them against the result's
//! output hash, and submits them page by page, each page's statement signed with its hash.

use alloc::vec::Vec;
use codec::Encode;
use haca_inference::InferenceError;
use haca_primitives::{
	runtime_api::{Due, WorkItem},
	statement::Claim,
	InferenceKey,
};
use sp_core::H256;

use crate::{
	execute::execute,
	records::run_tasks_once,
	statements::{send_in_batches, signed_statement, Ready},
	Chain, LOG_TARGET,
};

/// Publishes the outputs `who` was asked for, each result's once (a page the pool refused
/// has its publication sent again in a later block).
pub(crate) fn publish_owed_outputs<C: Chain>(key: &InferenceKey, who: &C::AccountId) {
	let mut ready: Vec<Ready<C>> = Vec::new();
	for item in C::pending_work(who).into_iter().filter(|item| item.due == Due::OutputPages) {
		let task = (item.job, (b"haca/publish", item.job, item.attempt, who).encode());
		run_tasks_once::<C>(core::slice::from_ref(&task), |_| {
			let Some(pages) = signed_pages::<C>(key, who, &item) else {
				return alloc::vec![false];
			};
			ready.extend(pages.into_iter().map(|page| (task.clone(), page)));
			alloc::vec![true]
		});
	}
	send_in_batches::<C>(ready);
}

/// The signed page statements of `item`'s outputs; `None` to try again later. A run that
/// does not reproduce the result's output hash publishes nothing (the pages would not hash
/// to it either).
fn signed_pages<C: Chain>(
	key: &InferenceKey,
	who: &C::AccountId,
	item: &WorkItem,
) -> Option<Vec<(crate::StatementOf<C>, haca_primitives::InferenceSignature)>> {
	let Some(result) = C::attested_result(item.job) else { return Some(Vec::new()) };
	let executed = match execute::<C>(item.job, &item.model) {
		Ok(executed) => executed,
		Err(InferenceError::Busy | InferenceError::NoInferenceRole) => return None,
		Err(error) => {
			log::warn!(target: LOG_TARGET, "job {}: cannot publish, run failed: {error:?}", item.job);
			return Some(Vec::new());
		}
	};
	if H256(executed.output_hash) != result.output_hash {
		log::error!(
			target: LOG_TARGET,
			"job {}: this run's outputs differ from the result submitted; nothing to publish",
			item.job
		);
		return Some(Vec::new());
	}
	let page_len = C::max_output_len().max(1) as usize;
	let pages = executed.outputs.chunks(page_len).enumerate().map(|(page, bytes)| {
		let claim =
			Claim::OutputPage { page: page as u32, hash: H256(sp_io::hashing::blake2_256(bytes)) };
		let bytes = C::Outputs::try_from(bytes.to_vec()).ok();
		signed_statement::<C>(key, who, item, claim, bytes)
	});
	let pages: Option<Vec<_>> = pages.collect();
	if pages.is_some() {
		log::info!(target: LOG_TARGET, "job {}: publishing its outputs", item.job);
	}
	pages
}
