//! The verifier side of the off-chain worker: re-runs a random sample of other executors'
//! provisional results, challenges the wrong ones, and votes in disputes, each once.
//!
//! Results are compared as settlement compares quorum reveals: equal output hashes, or
//! float outputs within the model's ULP tolerance (when the outputs are on chain). The
//! sample is drawn from the node's local randomness, so an executor cannot tell which of
//! its results will be audited.

use codec::Encode;
use haca_inference::InferenceError;
use haca_primitives::{
	statement::VerdictKind,
	tensor::{decode_tensors, tensors_agree},
	traits::{JobLedger, ModelRegistry},
	InferenceKey, JobId, ModelHash,
};
use sp_core::H256;
use sp_runtime::RuntimeAppPublic;

use crate::*;

/// What an audit concluded.
enum Finding {
	/// The verifier's outputs agree with the executor's result.
	Agrees,
	/// They do not; the verifier's outputs hash to this.
	Differs(H256),
	/// The verifier could not judge now (engine busy); try again later.
	Later,
	/// The verifier cannot judge (its own run failed, or the job ended).
	Unknown,
}

impl<T: Config> Pallet<T> {
	/// Votes in the disputes whose committee holds `who`, and audits a share of
	/// `audit_ppm` parts per million of other executors' provisional results.
	pub(crate) fn audit_work(key: &InferenceKey, who: &T::AccountId, audit_ppm: u32) {
		// The ids name the dispute or result (by its window), so a job's later dispute or
		// re-run result is judged afresh.
		for (job, dispute) in Disputes::<T>::iter() {
			if dispute.committee.contains(who) && !dispute.votes.iter().any(|(v, _)| v == who) {
				let id = (b"haca/vote", job, who, dispute.until).encode();
				Self::once(job, &id, || Self::vote_on(key, who, job, dispute.challenger_hash));
			}
		}
		for (job, result) in Results::<T>::iter() {
			let ResultStatus::Provisional { challenge_until } = result.status else { continue };
			if &result.executor == who {
				continue;
			}
			let id = (b"haca/audit", job, who, challenge_until).encode();
			Self::once(job, &id, || !sampled(audit_ppm) || Self::audit(key, who, job, &result));
		}
	}

	/// Re-runs `job` and challenges its result if it is wrong; whether this is finished.
	fn audit(
		key: &InferenceKey,
		who: &T::AccountId,
		job: JobId,
		result: &AttestedResult<T>,
	) -> bool {
		match Self::judge(job, result) {
			Finding::Differs(output_hash) => {
				Self::send_verdict(key, who, job, VerdictKind::Challenge, output_hash)
			}
			Finding::Later => false,
			Finding::Agrees | Finding::Unknown => true,
		}
	}

	/// Re-runs a disputed job and votes: for the executor's output hash if the verifier's
	/// outputs agree with it, otherwise for the challenger's. Whether this is finished.
	fn vote_on(key: &InferenceKey, who: &T::AccountId, job: JobId, challenger_hash: H256) -> bool {
		let Some(result) = Results::<T>::get(job) else { return true };
		let output_hash = match Self::judge(job, &result) {
			Finding::Agrees => result.output_hash,
			Finding::Differs(_) => challenger_hash,
			Finding::Later => return false,
			Finding::Unknown => return true,
		};
		Self::send_verdict(key, who, job, VerdictKind::Vote, output_hash)
	}

	/// Runs `job` on this node and compares the outputs with the executor's `result`.
	fn judge(job: JobId, result: &AttestedResult<T>) -> Finding {
		let Some(view) = T::Jobs::job(job) else { return Finding::Unknown };
		let (outputs, output_hash) = match Self::execute(job, &view.model) {
			Ok(executed) => (executed.outputs, H256(executed.output_hash)),
			Err(InferenceError::Busy) => return Finding::Later,
			Err(_) => return Finding::Unknown,
		};
		if output_hash == result.output_hash
			|| Self::within_tolerance(
				&view.model,
				&outputs,
				result.outputs.as_ref().map(|bytes| &bytes[..]),
			) {
			Finding::Agrees
		} else {
			Finding::Differs(output_hash)
		}
	}

	/// Whether `ours` agree with the executor's on-chain outputs within the model's
	/// tolerance (never when the executor's outputs are not on chain).
	fn within_tolerance(model: &ModelHash, ours: &[u8], theirs: Option<&[u8]>) -> bool {
		let (Some(theirs), Some(terms)) = (theirs, T::Models::settlement_terms(model)) else {
			return false;
		};
		match (decode_tensors(ours), decode_tensors(theirs)) {
			(Ok(ours), Ok(theirs)) => tensors_agree(&ours, &theirs, terms.tolerance_ulps),
			_ => false,
		}
	}

	/// Signs and submits a verdict; whether the transaction pool took it.
	fn send_verdict(
		key: &InferenceKey,
		who: &T::AccountId,
		job: JobId,
		kind: VerdictKind,
		output_hash: H256,
	) -> bool {
		let verdict = Verdict::<T> { job, verifier: who.clone(), kind, output_hash };
		let Some(payload) = Self::verdict_payload(&verdict) else { return true };
		let Some(signature) = key.sign(&payload.signing_bytes()) else { return false };
		Self::submit_authorized(Call::<T>::submit_verdict { verdict, signature })
	}
}

/// Draws whether to audit a result, `audit_ppm` in a million, from local randomness.
fn sampled(audit_ppm: u32) -> bool {
	let seed = sp_io::offchain::random_seed();
	u32::from_le_bytes([seed[0], seed[1], seed[2], seed[3]]) % 1_000_000 < audit_ppm
}
