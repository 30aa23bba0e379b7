//! Transaction-pool authorization of the calls that need no fee payer: executors'
//! statement batches, verifiers' verdicts, and parties' moves in disputes the chain
//! decides.

use codec::Encode;
use frame_support::{
	ensure,
	pallet_prelude::*,
	storage::{with_transaction, TransactionOutcome},
};
use haca_primitives::{
	statement::{Claim, GameMovePayload, VerdictClaim, VerdictPayload},
	traits::{ExecutorDirectory, JobLedger},
	InferenceSignature, JobId,
};
use sp_core::H256;
use sp_runtime::{
	transaction_validity::{
		InvalidTransaction, TransactionSource, TransactionValidityWithRefund, ValidTransaction,
	},
	RuntimeAppPublic,
};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Transaction-pool validity of an unsigned batch: every statement must check out. A
	/// batch provides one tag per statement: its job, attempt, executor and kind of claim
	/// (with the page, for a page of outputs).
	pub(crate) fn authorize_statements(
		_source: TransactionSource,
		statements: &StatementBatch<T>,
	) -> TransactionValidityWithRefund {
		ensure!(!statements.is_empty(), InvalidTransaction::Call);
		let mut validity = ValidTransaction::with_tag_prefix("HacaStatements")
			.priority(TransactionPriority::MAX / 2)
			.longevity(64)
			.propagate(true);
		for (statement, signature) in statements {
			ensure!(!matches!(statement.claim, Claim::Proven { .. }), InvalidTransaction::Call);
			let job =
				Self::check(statement, signature, SignatureCheck::Verify).map_err(|error| {
					match error {
						Error::<T>::BadSignature => InvalidTransaction::BadProof,
						Error::<T>::DeadlinePassed => InvalidTransaction::Stale,
						_ => InvalidTransaction::Call,
					}
				})?;
			let kind = match statement.claim {
				Claim::Output(_) => (0u8, 0),
				Claim::Commitment(_) => (1, 0),
				Claim::Reveal { .. } => (2, 0),
				Claim::Failed { .. } => (3, 0),
				Claim::OutputPage { page, .. } => (4, page),
				Claim::Proven { .. } => (5, 0),
			};
			validity =
				validity.and_provides((statement.job, job.attempt, &statement.executor, kind));
		}
		Ok((validity.into(), Weight::zero()))
	}

	/// Transaction-pool validity of a proven result: the statement checks out and the
	/// runtime verifies its proof. It provides the tag a statement of its job, attempt and
	/// executor does.
	pub(crate) fn authorize_proof(
		_source: TransactionSource,
		statement: &Statement<T>,
		signature: &InferenceSignature,
		proof: &ProofBytes<T>,
	) -> TransactionValidityWithRefund {
		let checked = Self::check_proof(statement, signature, proof, SignatureCheck::Verify)
			.map_err(|error| match error {
				Error::<T>::BadSignature => InvalidTransaction::BadProof,
				Error::<T>::DeadlinePassed => InvalidTransaction::Stale,
				_ => InvalidTransaction::Call,
			})?;
		let validity = ValidTransaction::with_tag_prefix("HacaStatements")
			.priority(TransactionPriority::MAX / 2)
			.longevity(64)
			.and_provides((statement.job, checked.job.attempt, &statement.executor, (5u8, 0u32)))
			.propagate(true)
			.build()?;
		Ok((validity, Weight::zero()))
	}

	/// What the verifier's session key must sign for `verdict`, if its job is open.
	pub fn verdict_payload(verdict: &Verdict<T>) -> Option<VerdictPayload<T::AccountId>> {
		let job = T::Jobs::job(verdict.job)?;
		Some(VerdictPayload {
			genesis_hash: Self::genesis_hash(),
			job: verdict.job,
			attempt: job.attempt,
			model: job.model,
			input_hash: job.input_hash,
			verifier: verdict.verifier.clone(),
			claim: verdict.claim,
		})
	}

	/// Carries out a verdict as the verifier's `request_outputs`, `challenge`, `commit_vote`
	/// or `reveal_vote`.
	pub(crate) fn apply_verdict(verdict: Verdict<T>) -> DispatchResult {
		let Verdict::<T> { job, verifier, claim } = verdict;
		match claim {
			VerdictClaim::RequestOutputs => Self::do_request_outputs(verifier, job),
			VerdictClaim::Challenge(output_hash) => Self::do_challenge(verifier, job, output_hash),
			VerdictClaim::VoteCommitment(commitment) => {
				Self::do_commit_vote(verifier, job, commitment)
			}
			VerdictClaim::VoteReveal { output_hash, salt } => {
				Self::do_reveal_vote(verifier, job, output_hash, salt)
			}
		}
	}

	/// Transaction-pool validity of a verdict: signed by the verifier's session key, and
	/// succeeding when tried on state that is thrown away. A verdict provides one tag: its
	/// job, attempt, verifier and kind of claim.
	pub(crate) fn authorize_verdict(
		_source: TransactionSource,
		verdict: &Verdict<T>,
		signature: &InferenceSignature,
	) -> TransactionValidityWithRefund {
		let payload = Self::verdict_payload(verdict).ok_or(InvalidTransaction::Stale)?;
		let kind = match verdict.claim {
			VerdictClaim::Challenge(_) => 0u8,
			VerdictClaim::VoteCommitment(_) => 1,
			VerdictClaim::VoteReveal { .. } => 2,
			VerdictClaim::RequestOutputs => 3,
		};
		let key =
			T::Executors::session_key(&verdict.verifier).ok_or(InvalidTransaction::BadSigner)?;
		ensure!(key.verify(&payload.signing_bytes(), signature), InvalidTransaction::BadProof);
		with_transaction(|| TransactionOutcome::Rollback(Self::apply_verdict(verdict.clone())))
			.map_err(|_| InvalidTransaction::Call)?;
		let validity = ValidTransaction::with_tag_prefix("HacaVerdicts")
			.priority(TransactionPriority::MAX / 2)
			.longevity(64)
			.and_provides((verdict.job, payload.attempt, &verdict.verifier, kind))
			.propagate(true)
			.build()?;
		Ok((validity, Weight::zero()))
	}

	/// What `party`'s session key must sign for `game_move` in the dispute over `job`, if
	/// the job is open.
	pub fn game_move_payload(
		job: JobId,
		party: &T::AccountId,
		game_move: &GameMove<T>,
	) -> Option<GameMovePayload<T::AccountId>> {
		let view = T::Jobs::job(job)?;
		Some(GameMovePayload {
			genesis_hash: Self::genesis_hash(),
			job,
			attempt: view.attempt,
			model: view.model,
			input_hash: view.input_hash,
			party: party.clone(),
			move_hash: H256(sp_io::hashing::blake2_256(&game_move.encode())),
		})
	}

	/// Carries out `party`'s move in the dispute over `job`, as its `submit_trace` or
	/// `prove_step`.
	pub(crate) fn apply_game_move(
		job: JobId,
		party: T::AccountId,
		game_move: GameMove<T>,
	) -> DispatchResult {
		match game_move {
			GameMove::Trace(trace) => Self::do_submit_trace(party, job, trace),
			GameMove::Step(proof) => Self::do_prove_step(party, job, proof),
		}
	}

	/// Transaction-pool validity of a move: signed by the party's session key, and
	/// succeeding when tried on state that is thrown away. A move provides one tag: its job,
	/// attempt, party and kind.
	pub(crate) fn authorize_game_move(
		_source: TransactionSource,
		job: &JobId,
		party: &T::AccountId,
		game_move: &GameMove<T>,
		signature: &InferenceSignature,
	) -> TransactionValidityWithRefund {
		let payload =
			Self::game_move_payload(*job, party, game_move).ok_or(InvalidTransaction::Stale)?;
		let key = T::Executors::session_key(party).ok_or(InvalidTransaction::BadSigner)?;
		ensure!(key.verify(&payload.signing_bytes(), signature), InvalidTransaction::BadProof);
		with_transaction(|| {
			TransactionOutcome::Rollback(Self::apply_game_move(
				*job,
				party.clone(),
				game_move.clone(),
			))
		})
		.map_err(|_| InvalidTransaction::Call)?;
		let kind = match game_move {
			GameMove::Trace(_) => 0u8,
			GameMove::Step(_) => 1,
		};
		let validity = ValidTransaction::with_tag_prefix("HacaGameMoves")
			.priority(TransactionPriority::MAX / 2)
			.longevity(64)
			.and_provides((job, payload.attempt, party, kind))
			.propagate(true)
			.build()?;
		Ok((validity, Weight::zero()))
	}
}
