//! The executor side: runs the jobs assigned to a session key's owner (and, for a
//! verifier, the jobs it spot-checks) and submits the signed statements, each once per
//! attempt of its job, in batches.

use alloc::vec::Vec;
use codec::Encode;
use haca_inference::{inference, Executed, InferenceError};
use haca_primitives::{
	runtime_api::{Due, WorkItem},
	statement::{Claim, Statement},
	InferenceKey, InferenceSignature, JobId, ModelHash,
};
use sp_core::H256;
use sp_runtime::{traits::BlockNumberProvider, RuntimeAppPublic};

use crate::{
	execute::execute_batch,
	records::{keep_reveal, kept_reveal, run_tasks_once, set_done, Commitment, Committed},
	resend_round, Chain, GroupResultOf, StatementOf, ENGINE_BATCH, LOG_TARGET,
};

/// A claim and the outputs to carry with it on chain.
type ClaimWithOutputs<C> = (Claim, Option<<C as Chain>::Outputs>);

/// A statement ready to send, with the task it finishes.
pub(crate) type Ready<C> = ((JobId, Vec<u8>), (StatementOf<C>, InferenceSignature));

/// A group member's result ready for its group statement: the task it finishes, the
/// group's first job and the result.
type GroupedReady<C> = ((JobId, Vec<u8>), JobId, GroupResultOf<C>);

/// Which of its owed statements a node sends for an account, by the node's roles.
#[derive(Clone, Copy)]
pub(crate) struct Owed {
	/// Those of the jobs assigned to it as an executor (the executor role).
	pub assignments: bool,
	/// Those of the jobs it spot-checks (the verifier role, for a bonded verifier).
	pub spot_checks: bool,
}

/// Produces the statements `who` owes that `owed` covers, each once per attempt of its job
/// (a job re-assigned to the same executor is run, committed and revealed again) and round
/// of [`crate::RESEND_AFTER_BLOCKS`] blocks, running up to [`ENGINE_BATCH`] jobs through
/// the engine at a time, and submits them in batches of up to
/// [`Chain::max_statements_per_tx`]. A
/// statement the pool did not take is produced again in a later block; one it took that is
/// still owed in the next round, lost on its way to a block, is sent again (a fresh
/// signature: other bytes than the lost one's, which peers may have banned). A commitment
/// is sent again as it was first made, since the first may still reach a block and the
/// reveal must match it. A reveal waits for the block after the one that opened its phase:
/// sent at once (it needs no run), it reaches peers still a block behind, which find it
/// invalid and ban it. The results of a group's members go in one group statement, sent
/// once every member still in the group has its result (a member whose run failed is
/// reported alone, and the others wait for the next block, when it has left the group).
pub(crate) fn submit_owed_statements<C: Chain>(key: &InferenceKey, who: &C::AccountId, owed: Owed) {
	let mut ready: Vec<Ready<C>> = Vec::new();
	let mut grouped: Vec<GroupedReady<C>> = Vec::new();
	let (now, round) = (C::Blocks::current_block_number(), resend_round::<C>());
	let work: Vec<WorkItem> = C::pending_work(who)
		.into_iter()
		.filter(|item| !matches!(item.due, Due::OutputPages | Due::Proof))
		.filter(|item| if item.spot_check { owed.spot_checks } else { owed.assignments })
		.filter(|item| {
			item.due != Due::Reveal || C::reveals_opened(item.job).is_some_and(|at| at < now)
		})
		.collect();
	for items in work.chunks(ENGINE_BATCH) {
		let tasks: Vec<(JobId, Vec<u8>)> = items
			.iter()
			.map(|item| {
				(item.job, (b"haca/ocw", item.job, item.attempt, who, item.due, round).encode())
			})
			.collect();
		run_tasks_once::<C>(&tasks, |open| {
			let open_items: Vec<&WorkItem> = open.iter().map(|&index| &items[index]).collect();
			let claims = claims_by_running::<C>(who, &open_items);
			open.iter()
				.zip(claims)
				.map(|(&index, claim)| {
					if let (Some(first), Some((Claim::Output(hash), outputs))) =
						(items[index].group, &claim)
					{
						grouped.push((tasks[index].clone(), first, (*hash, outputs.clone())));
						return true;
					}
					let signed = claim.and_then(|(claim, outputs)| {
						signed_statement::<C>(key, who, &items[index], claim, outputs)
					});
					let Some(signed) = signed else { return false };
					ready.push((tasks[index].clone(), signed));
					true
				})
				.collect()
		});
	}
	send_in_batches::<C>(ready);
	send_group_statements::<C>(key, who, &work, grouped);
}

/// Signs and submits a group statement for each group all of whose members in `work` are
/// in `grouped`; the tasks of the others, and of a statement the pool refused, are left to
/// be done again.
fn send_group_statements<C: Chain>(
	key: &InferenceKey,
	who: &C::AccountId,
	work: &[WorkItem],
	grouped: Vec<GroupedReady<C>>,
) {
	let mut firsts: Vec<JobId> = grouped.iter().map(|(_, first, _)| *first).collect();
	firsts.sort_unstable();
	firsts.dedup();
	for first in firsts {
		let mut members: Vec<JobId> =
			work.iter().filter(|item| item.group == Some(first)).map(|item| item.job).collect();
		members.sort_unstable();
		let mine: Vec<&GroupedReady<C>> =
			grouped.iter().filter(|(_, group, _)| *group == first).collect();
		let results: Option<Vec<GroupResultOf<C>>> = members
			.iter()
			.map(|job| {
				let (_, _, result) = mine.iter().find(|((task_job, _), ..)| task_job == job)?;
				Some(result.clone())
			})
			.collect();
		let sent = results.is_some_and(|results| {
			let signature = C::group_payload(first, who, &results)
				.and_then(|payload| key.sign(&payload.signing_bytes()));
			signature.is_some_and(|signature| {
				C::submit_group_results(first, who.clone(), results, signature)
			})
		});
		if sent {
			log::info!(target: LOG_TARGET, "group statement sent for jobs {members:?}");
		} else {
			log::debug!(target: LOG_TARGET, "group of job {first}: statement not sent yet");
			for ((job, id), ..) in mine {
				set_done(*job, id, false);
			}
		}
	}
}

/// Submits `ready` statements in batches of up to [`Chain::max_statements_per_tx`]; a batch
/// the pool refused goes item by item, and an item it refused leaves its task to be done
/// again.
pub(crate) fn send_in_batches<C: Chain>(ready: Vec<Ready<C>>) {
	let mut ready = ready.into_iter().peekable();
	while ready.peek().is_some() {
		let (tasks, batch): (Vec<_>, Vec<_>) =
			ready.by_ref().take(C::max_statements_per_tx() as usize).unzip();
		if batch.len() > 1 && send::<C>(batch.clone()) {
			continue;
		}
		// The pool refuses a batch for any bad item: the items go alone.
		for ((job, id), signed) in tasks.iter().zip(batch) {
			if !send::<C>(alloc::vec![signed]) {
				set_done(*job, id, false);
			}
		}
	}
}

/// Submits `batch`, logging what was sent; whether the pool took it.
fn send<C: Chain>(batch: Vec<(StatementOf<C>, InferenceSignature)>) -> bool {
	let jobs: Vec<JobId> = batch.iter().map(|(statement, _)| statement.job).collect();
	let taken = C::submit_statements(batch);
	if taken {
		log::info!(target: LOG_TARGET, "statements sent for jobs {jobs:?}");
	} else {
		log::debug!(target: LOG_TARGET, "statements for jobs {jobs:?} refused by the pool");
	}
	taken
}

/// `who`'s statement of `claim` (carrying `outputs`) for a work item, signed with its
/// session key; `None` to try again later.
pub(crate) fn signed_statement<C: Chain>(
	key: &InferenceKey,
	who: &C::AccountId,
	item: &WorkItem,
	claim: Claim,
	outputs: Option<C::Outputs>,
) -> Option<(StatementOf<C>, InferenceSignature)> {
	let statement = Statement { job: item.job, executor: who.clone(), claim, outputs };
	let payload = C::statement_payload(&statement)?;
	let signature = key.sign(&payload.signing_bytes())?;
	Some((statement, signature))
}

/// The claims (and outputs to carry) for work items, in order; `None` to try again later.
/// The items' jobs run through the engine in one batch per model.
fn claims_by_running<C: Chain>(
	who: &C::AccountId,
	items: &[&WorkItem],
) -> Vec<Option<ClaimWithOutputs<C>>> {
	let mut executions: Vec<Option<Result<Executed, InferenceError>>> =
		items.iter().map(|_| None).collect();
	// A reveal, and a commitment sent before, need no run: what they claim is kept.
	let kept: Vec<Option<Committed>> = items
		.iter()
		.map(|item| match item.due {
			Due::Commitment | Due::Reveal => {
				kept_reveal(Commitment::QuorumOutput, item.job, who, item.attempt)
			}
			_ => None,
		})
		.collect();
	// The indices of the items to run, by model, in the order the models first appear.
	let mut batches: Vec<(&ModelHash, Vec<usize>)> = Vec::new();
	let to_run =
		|&(index, item): &(usize, &&WorkItem)| item.due != Due::Reveal && kept[index].is_none();
	for (index, item) in items.iter().enumerate().filter(to_run) {
		match batches.iter_mut().find(|(model, _)| *model == &item.model) {
			Some((_, indices)) => indices.push(index),
			None => batches.push((&item.model, alloc::vec![index])),
		}
	}
	for (model, indices) in batches {
		let jobs: Vec<JobId> = indices.iter().map(|&index| items[index].job).collect();
		for (index, executed) in indices.into_iter().zip(execute_batch::<C>(model, &jobs)) {
			executions[index] = Some(executed);
		}
	}
	items
		.iter()
		.zip(executions)
		.zip(kept)
		.map(|((item, executed), kept)| match executed {
			Some(executed) => claim_for_execution::<C>(who, item, executed),
			None => kept_claim::<C>(who, item, kept),
		})
		.collect()
}

/// `who`'s commitment or reveal for a work item, from what its first commitment kept.
fn kept_claim<C: Chain>(
	who: &C::AccountId,
	item: &WorkItem,
	kept: Option<Committed>,
) -> Option<ClaimWithOutputs<C>> {
	let Some(committed) = kept else {
		log::debug!(target: LOG_TARGET, "job {}: no kept commitment to reveal", item.job);
		return None;
	};
	if item.due == Due::Commitment {
		let (output_hash, salt) = (&committed.output_hash, &committed.salt);
		let commitment = Claim::commitment(item.job, item.attempt, who, output_hash, salt);
		return Some((Claim::Commitment(commitment), None));
	}
	let claim = Claim::Reveal { output_hash: committed.output_hash, salt: committed.salt };
	Some((claim, outputs_for_chain::<C>(committed.outputs)))
}

/// The claim for a work item its job's run gave `executed`; a commitment's reveal is kept in
/// local storage.
fn claim_for_execution<C: Chain>(
	who: &C::AccountId,
	item: &WorkItem,
	executed: Result<Executed, InferenceError>,
) -> Option<ClaimWithOutputs<C>> {
	let Executed { outputs, output_hash } = match executed {
		Ok(executed) => executed,
		// Local, passing conditions: try again in a later block.
		Err(InferenceError::NoInferenceRole | InferenceError::Busy) => {
			log::debug!(target: LOG_TARGET, "job {}: engine busy, retried later", item.job);
			return None;
		}
		Err(error) => return Some(failure_claim::<C>(&item.model, error)),
	};
	let output_hash = H256(output_hash);
	if item.due == Due::Output {
		return Some((Claim::Output(output_hash), outputs_for_chain::<C>(outputs)));
	}
	let salt = sp_io::offchain::random_seed();
	let commitment = Claim::commitment(item.job, item.attempt, who, &output_hash, &salt);
	let committed = Committed { attempt: item.attempt, output_hash, salt, outputs };
	keep_reveal(Commitment::QuorumOutput, item.job, who, &committed);
	Some((Claim::Commitment(commitment), None))
}

/// The claim that a run of `model` failed with `error`, with the engine's explanation when
/// the model did not load (which operator or type stopped it, for instance), signed by its
/// hash and carried by the statement.
pub(crate) fn failure_claim<C: Chain>(
	model: &ModelHash,
	error: InferenceError,
) -> ClaimWithOutputs<C> {
	let explained = matches!(error, InferenceError::InvalidModel | InferenceError::GraphMismatch);
	let words = explained.then(|| inference::load_failure(model.as_ref())).flatten();
	let (detail, carried) = words
		.and_then(|words| {
			let hash = H256(sp_io::hashing::blake2_256(&words));
			C::Outputs::try_from(words).ok().map(|carried| (hash, carried))
		})
		.unzip();
	(Claim::Failed { reason: error.into(), detail }, carried)
}

/// The outputs to put on chain: all of them when they fit, none otherwise.
fn outputs_for_chain<C: Chain>(outputs: Vec<u8>) -> Option<C::Outputs> {
	C::Outputs::try_from(outputs).ok()
}
