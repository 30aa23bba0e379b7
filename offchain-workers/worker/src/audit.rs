//! The verifier side: re-runs a random sample of other executors' provisional results and
//! every challenged one (joining its challenge when it finds the result wrong too),
//! challenges the wrong ones, and votes in disputes (a commitment, then its reveal), each
//! once; a challenge or vote the pool took but that is not on chain a round later (lost on
//! its way to a block) is sent again.
//!
//! Results are compared as settlement compares quorum reveals: equal output hashes, or
//! float outputs within the model's ULP tolerance. Outputs too large for a statement are
//! asked for first (`RequestOutputs`) and compared once published; a result is challenged
//! only when its outputs are on chain and outside the tolerance of the verifier's own. The
//! sample is drawn from the node's local randomness, so an executor cannot tell which of its
//! results will be audited.

use codec::Encode;
use haca_inference::InferenceError;
use haca_primitives::{
	statement::{Verdict, VerdictClaim},
	tensor::{decode_tensors, tensors_agree},
	InferenceKey, JobId, ModelHash,
};
use sp_core::H256;
use sp_runtime::RuntimeAppPublic;

use crate::{
	execute::execute,
	records::{
		keep_reveal, keep_verdict, kept_reveal, kept_verdict, Commitment, Committed, SentVerdict,
	},
	resend_round, run_once_per_task, AttestedOutput, BlockNumberOf, Chain, Challengeable, VoteDue,
	VotePhase, LOG_TARGET,
};

/// What an audit concluded.
enum Finding {
	/// The verifier's outputs agree with the executor's result.
	Agrees,
	/// They do not; the verifier's outputs hash to this.
	Differs(H256),
	/// The verifier cannot judge now (engine busy): try again later.
	Retry,
	/// The verifier cannot judge (its own run failed, or the job ended).
	CannotJudge,
}

/// Votes in the disputes whose committee holds `who`, and audits, on the models `who`
/// audits, a share of `audit_ppm` parts per million of other executors' provisional results
/// and every result another verifier challenged or had its outputs published.
pub(crate) fn audit_and_vote<C: Chain>(key: &InferenceKey, who: &C::AccountId, audit_ppm: u32) {
	// The ids name the dispute (by its attempt) or result (by its window), so a job's later
	// dispute or re-run result is judged afresh. A vote's names its round of
	// `RESEND_AFTER_BLOCKS` blocks too: one the pool took but that never reached a block (a
	// pool on a fork where it was invalid dropped it, and its peers banned its hash) is still
	// owed in the next round, and sent again, freshly signed.
	let round = resend_round::<C>();
	for due in C::votes_due(who) {
		let id = (b"haca/vote", due.phase, due.job, who, due.attempt, round).encode();
		run_once_per_task::<C>(due.job, &id, || match due.phase {
			VotePhase::Commit => commit_vote::<C>(key, who, &due),
			VotePhase::Reveal => reveal_vote::<C>(key, who, &due),
		});
	}
	for open in C::challengeable_results(who) {
		// A challenged result is audited by every verifier of its model: the first
		// challenger may be the liar's own, with a hash nobody reproduces. So is a result
		// whose outputs were published: a verifier found its run's hash different.
		let contested = open.disputed || open.published;
		let kind: &[u8] = if open.disputed { b"haca/audit-disputed" } else { b"haca/audit" };
		let id = (kind, open.job, who, open.challenge_until).encode();
		run_once_per_task::<C>(open.job, &id, || {
			if !contested && !sampled(audit_ppm) {
				log::debug!(target: LOG_TARGET, "job {}: not in this verifier's sample", open.job);
				return true;
			}
			audit::<C>(key, who, &open, round)
		});
		send_lost_verdict_again::<C>(key, who, &open, round);
	}
}

/// Sends again the verdict `who` sent about `open` in an earlier round of the same
/// challenge window: the result is still open to `who`, so the verdict never reached a
/// block.
fn send_lost_verdict_again<C: Chain>(
	key: &InferenceKey,
	who: &C::AccountId,
	open: &Challengeable<C::AccountId, BlockNumberOf<C>>,
	round: BlockNumberOf<C>,
) {
	let Some(sent) = kept_verdict::<_, BlockNumberOf<C>>(open.job, who) else { return };
	if sent.challenge_until != open.challenge_until || sent.round >= round {
		return;
	}
	let id = (b"haca/verdict-again", open.job, who, open.challenge_until, round).encode();
	run_once_per_task::<C>(open.job, &id, || {
		log::info!(target: LOG_TARGET, "job {}: {:?} not on chain, sending it again", open.job, sent.claim);
		// Refused by the pool, it is invalid now: tried again next round, not next block.
		send_and_keep::<C>(key, who, open, sent.claim, round);
		true
	});
}

/// Re-runs `open`'s job and challenges its result if it is wrong, or asks for its outputs
/// when they are not on chain and its run hashes differently; whether this is finished.
fn audit<C: Chain>(
	key: &InferenceKey,
	who: &C::AccountId,
	open: &Challengeable<C::AccountId, BlockNumberOf<C>>,
	round: BlockNumberOf<C>,
) -> bool {
	let (job, result) = (open.job, &open.result);
	match judge::<C>(job, result) {
		Finding::Differs(_) if result.outputs.is_none() => {
			log::info!(target: LOG_TARGET, "job {job}: audit hashed differently, asking for the outputs");
			send_and_keep::<C>(key, who, open, VerdictClaim::RequestOutputs, round)
		}
		Finding::Differs(output_hash) => {
			log::info!(target: LOG_TARGET, "job {job}: audit found a different result, challenging");
			send_and_keep::<C>(key, who, open, VerdictClaim::Challenge(output_hash), round)
		}
		Finding::Retry => false,
		Finding::Agrees => {
			log::info!(target: LOG_TARGET, "job {job}: audit agrees with {:?}", result.executor);
			true
		}
		Finding::CannotJudge => true,
	}
}

/// Re-runs a disputed job and commits to a vote: for the executor's output hash if the
/// verifier's outputs agree with it, else for the hash of its own outputs (the challenger's,
/// when they hash to it). A disputed result's outputs are on chain, so a majority for a hash
/// no party claimed decides against the executor too. The reveal is kept locally; a
/// commitment sent before is sent again as it was made (the first may still reach a block,
/// and the reveal must match it). Whether this is finished.
fn commit_vote<C: Chain>(key: &InferenceKey, who: &C::AccountId, due: &VoteDue) -> bool {
	let job = due.job;
	if let Some(kept) = kept_reveal(Commitment::Vote, job, who, due.attempt) {
		let (output_hash, salt) = (&kept.output_hash, &kept.salt);
		let commitment = VerdictClaim::vote_commitment(job, due.attempt, who, output_hash, salt);
		log::info!(target: LOG_TARGET, "job {job}: committing again to a vote for {output_hash:?}");
		return send_verdict::<C>(key, who, job, VerdictClaim::VoteCommitment(commitment));
	}
	let Some(result) = C::attested_result(job) else { return true };
	let output_hash = match judge::<C>(job, &result) {
		Finding::Agrees => result.output_hash,
		Finding::Differs(ours) => {
			if !due.challenger_hashes.contains(&ours) {
				log::info!(target: LOG_TARGET, "job {job}: neither claim matches this run");
			}
			ours
		}
		Finding::Retry => return false,
		Finding::CannotJudge => return true,
	};
	log::info!(target: LOG_TARGET, "job {job}: committing to a vote for {output_hash:?}");
	let salt = sp_io::offchain::random_seed();
	let commitment = VerdictClaim::vote_commitment(job, due.attempt, who, &output_hash, &salt);
	let committed =
		Committed { attempt: due.attempt, output_hash, salt, outputs: alloc::vec::Vec::new() };
	keep_reveal(Commitment::Vote, job, who, &committed);
	send_verdict::<C>(key, who, job, VerdictClaim::VoteCommitment(commitment))
}

/// Reveals the vote this node committed to in a dispute; whether this is finished.
fn reveal_vote<C: Chain>(key: &InferenceKey, who: &C::AccountId, due: &VoteDue) -> bool {
	let Some(Committed { output_hash, salt, .. }) =
		kept_reveal(Commitment::Vote, due.job, who, due.attempt)
	else {
		log::warn!(target: LOG_TARGET, "job {}: no kept vote to reveal", due.job);
		return true;
	};
	log::info!(target: LOG_TARGET, "job {}: revealing a vote for {output_hash:?}", due.job);
	send_verdict::<C>(key, who, due.job, VerdictClaim::VoteReveal { output_hash, salt })
}

/// Runs `job` on this node and compares the outputs with the executor's `result`.
fn judge<C: Chain>(job: JobId, result: &AttestedOutput<C::AccountId>) -> Finding {
	let Some(model) = C::job_model(job) else { return Finding::CannotJudge };
	let (outputs, output_hash) = match execute::<C>(job, &model) {
		Ok(executed) => (executed.outputs, H256(executed.output_hash)),
		Err(InferenceError::Busy) => return Finding::Retry,
		Err(error) => {
			log::info!(target: LOG_TARGET, "job {job}: cannot judge, own run failed: {error:?}");
			return Finding::CannotJudge;
		}
	};
	if output_hash == result.output_hash
		|| within_tolerance::<C>(&model, &outputs, result.outputs.as_deref())
	{
		Finding::Agrees
	} else {
		Finding::Differs(output_hash)
	}
}

/// Whether `ours` agree with the executor's on-chain outputs within the model's tolerance
/// (never when the executor's outputs are not on chain: they are asked for first).
fn within_tolerance<C: Chain>(model: &ModelHash, ours: &[u8], theirs: Option<&[u8]>) -> bool {
	let (Some(theirs), Some(model)) = (theirs, C::served_model(model)) else {
		return false;
	};
	match (decode_tensors(ours), decode_tensors(theirs)) {
		(Ok(ours), Ok(theirs)) => tensors_agree(&ours, &theirs, model.tolerance_ulps),
		_ => false,
	}
}

/// Signs and submits `who`'s verdict `claim` about `open`'s result, and keeps it, sent in
/// `round`, to be sent again if it is lost; whether this is finished.
fn send_and_keep<C: Chain>(
	key: &InferenceKey,
	who: &C::AccountId,
	open: &Challengeable<C::AccountId, BlockNumberOf<C>>,
	claim: VerdictClaim,
	round: BlockNumberOf<C>,
) -> bool {
	let sent = send_verdict::<C>(key, who, open.job, claim);
	if sent {
		let challenge_until = open.challenge_until;
		keep_verdict(open.job, who, &SentVerdict { challenge_until, claim, round });
	}
	sent
}

/// Signs and submits a verdict; whether this is finished (the pool took it, or its job
/// ended).
fn send_verdict<C: Chain>(
	key: &InferenceKey,
	who: &C::AccountId,
	job: JobId,
	claim: VerdictClaim,
) -> bool {
	let verdict = Verdict { job, verifier: who.clone(), claim };
	let Some(payload) = C::verdict_payload(&verdict) else { return true };
	let Some(signature) = key.sign(&payload.signing_bytes()) else { return false };
	let taken = C::submit_verdict(verdict, signature);
	if !taken {
		log::debug!(target: LOG_TARGET, "job {job}: {claim:?} refused by the pool");
	}
	taken
}

/// Draws whether to audit a result, `audit_ppm` in a million, from local randomness.
fn sampled(audit_ppm: u32) -> bool {
	let seed = sp_io::offchain::random_seed();
	u32::from_le_bytes([seed[0], seed[1], seed[2], seed[3]]) % 1_000_000 < audit_ppm
}
