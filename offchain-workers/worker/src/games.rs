//! Disputes the chain decides: the disputed executor's node traces the job's run through the
//! model's dispute graph (the `haca_inference` host functions run the kernels natively, as
//! the runtime would) and submits the trace; a verifier's node traces the run too and, at the
//! first node whose output it hashes differently, submits the proof that re-executes that
//! one operator in the runtime. Each once per job and attempt.

use codec::Encode;
use haca_inference::{inference, InferenceError};
use haca_primitives::InferenceKey;
use sp_runtime::RuntimeAppPublic;

use crate::{models::model_bytes, run_once_per_task, Chain, OpenGame, LOG_TARGET};

/// Submits the trace of each disputed result of `who`'s the chain decides.
pub(crate) fn submit_owed_traces<C: Chain>(key: &InferenceKey, who: &C::AccountId) {
	for game in C::traces_due(who) {
		let id = (b"haca/trace", game.job, who, game.attempt).encode();
		run_once_per_task::<C>(game.job, &id, || submit_trace::<C>(key, who, &game));
	}
}

/// Checks the trace of each dispute the chain decides over a result on the models `who`
/// audits, and proves its first wrong step.
pub(crate) fn check_traces<C: Chain>(key: &InferenceKey, who: &C::AccountId) {
	for game in C::traces_to_check(who) {
		let id = (b"haca/check-trace", game.job, who, game.attempt).encode();
		run_once_per_task::<C>(game.job, &id, || check_trace::<C>(key, who, &game));
	}
}

/// Traces `game`'s job and submits the trace; whether this is finished.
fn submit_trace<C: Chain>(key: &InferenceKey, who: &C::AccountId, game: &OpenGame) -> bool {
	let job = game.job;
	let Some(input) = C::input(job) else { return true };
	let run = match model_bytes::<C>(&game.model)
		.and_then(|bytes| inference::trace(game.model.as_ref(), bytes, &input))
	{
		Ok(run) => run,
		Err(InferenceError::Busy) => return false,
		Err(error) => {
			log::info!(target: LOG_TARGET, "job {job}: cannot trace the disputed run: {error:?}");
			return true;
		}
	};
	let Some(game_move) = C::trace_move(run) else {
		log::info!(target: LOG_TARGET, "job {job}: the trace is larger than the chain takes");
		return true;
	};
	log::info!(target: LOG_TARGET, "job {job}: submitting the trace of the disputed run");
	send_move::<C>(key, who, job, game_move)
}

/// Traces `game`'s job and proves the first step of the executor's trace that differs;
/// whether this is finished.
fn check_trace<C: Chain>(key: &InferenceKey, who: &C::AccountId, game: &OpenGame) -> bool {
	let job = game.job;
	let (Some(input), Some(claimed)) = (C::input(job), game.trace.clone()) else { return true };
	let step = match model_bytes::<C>(&game.model)
		.and_then(|bytes| inference::wrong_step(game.model.as_ref(), bytes, &input, claimed))
	{
		Ok(Some(step)) => step,
		Ok(None) => {
			log::info!(target: LOG_TARGET, "job {job}: every step of the executor's trace holds");
			return true;
		}
		Err(InferenceError::Busy) => return false,
		Err(error) => {
			log::info!(target: LOG_TARGET, "job {job}: cannot check the trace: {error:?}");
			return true;
		}
	};
	let node = step.index;
	let Some(game_move) = C::step_move(step) else {
		log::info!(target: LOG_TARGET, "job {job}: the proof of node {node} is larger than the chain takes");
		return true;
	};
	log::info!(target: LOG_TARGET, "job {job}: the executor's trace is wrong at node {node}, proving it");
	send_move::<C>(key, who, job, game_move)
}

/// Signs `game_move` with `key` and submits it as `who`'s; whether the pool took it.
fn send_move<C: Chain>(
	key: &InferenceKey,
	who: &C::AccountId,
	job: haca_primitives::JobId,
	game_move: C::Move,
) -> bool {
	let Some(payload) = C::game_move_payload(job, who, &game_move) else { return true };
	let Some(signature) = key.sign(&payload.signing_bytes()) else { return false };
	let sent = C::submit_game_move(job, who.clone(), game_move, signature);
	if !sent {
		log::info!(target: LOG_TARGET, "job {job}: the pool refused the move");
	}
	sent
}
