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
	resend_round,
	statements::{send_in_batches, signed_statement, Ready},
	Chain, LOG_TARGET,
};

/// Publishes the outputs `who` was asked for, each result's once per round of
/// [`crate::RESEND_AFTER_BLOCKS`] blocks (a page the pool refused has its publication sent
/// again in a later block; the pages still missing a round later, lost on their way to a
/// block, are sent again).
pub(crate) fn publish_owed_outputs<C: Chain>(key: &InferenceKey, who: &C::AccountId) {
	let mut ready: Vec<Ready<C>> = Vec::new();
	let round = resend_round::<C>();
	for item in C::pending_work(who).into_iter().filter(|item| item.due == Due::OutputPages) {
		let task = (item.job, (b"haca/publish", item.job, item.attempt, who, round).encode());
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

/// The signed statements of the pages of `item`'s outputs not on chain yet; `None` to try
/// again later. A run that does not reproduce the result's output hash publishes nothing
/// (the pages would not hash to it either).
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
	let missing = |(page, _): &(usize, &[u8])| {
		1u64.checked_shl(*page as u32).is_none_or(|bit| result.pages_received & bit == 0)
	};
	let pages =
		executed.outputs.chunks(page_len).enumerate().filter(missing).map(|(page, bytes)| {
			let claim = Claim::OutputPage {
				page: page as u32,
				hash: H256(sp_io::hashing::blake2_256(bytes)),
			};
			let bytes = C::Outputs::try_from(bytes.to_vec()).ok();
			signed_statement::<C>(key, who, item, claim, bytes)
		});
	let pages: Option<Vec<_>> = pages.collect();
	if pages.is_some() {
		log::info!(target: LOG_TARGET, "job {}: publishing its outputs", item.job);
	}
	pages
}
