//! Quorum mode: commitments, reveals, the tally and slashing of dissenters.

use super::*;

fn salt(who: AccountId) -> [u8; 32] {
	[who as u8; 32]
}

/// `who`'s commitment to `bytes` for `job`'s current attempt.
fn commitment_of(job: u64, who: AccountId, bytes: &[u8]) -> Claim {
	let attempt = Jobs::job(job).unwrap().attempt;
	Claim::Commitment(Claim::commitment(job, attempt, &who, &hash_of(bytes), &salt(who)))
}

fn commit(job: u64, who: AccountId, bytes: &[u8]) {
	submit(vec![signed(job, who, commitment_of(job, who, bytes), None)]);
}

fn reveal(job: u64, who: AccountId, bytes: &[u8]) {
	let claim = Claim::Reveal { output_hash: hash_of(bytes), salt: salt(who) };
	submit(vec![signed(job, who, claim, Some(bytes.to_vec()))]);
}

#[test]
fn agreeing_executors_settle_and_are_each_paid() {
	ExtBuilder::default().build_and_execute(|| {
		let client_before = Balances::balance(&CLIENT);
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let bytes = good_output();
		for who in &executors {
			commit(job, *who, &bytes);
		}
		System::assert_has_event(
			Event::RevealOpened { job, until: DRAWN_AT + REVEAL_WINDOW }.into(),
		);
		let before: Vec<_> = executors.iter().map(Balances::balance).collect();
		for who in &executors {
			reveal(job, *who, &bytes);
		}
		assert!(Quorums::<Test>::get(job).is_none());
		for (who, before) in executors.iter().zip(before) {
			assert_eq!(Balances::balance(who), before + 90);
		}
		assert_eq!(Balances::balance(&CLIENT), client_before - 3 * MODEL_FEE);
	});
}

/// Commitments, and reveals that leave the round open, are charged their own benchmarks;
/// only the reveal that tallies the round is charged the costliest statement.
#[test]
fn quorum_statements_are_charged_for_what_they_did() {
	use crate::WeightInfo;
	use frame_support::dispatch::GetDispatchInfo;
	type Weights = <Test as crate::Config>::WeightInfo;
	ExtBuilder::default().build_and_execute(|| {
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let bytes = good_output();
		let used = |who: AccountId, claim: Claim, outputs: Option<Vec<u8>>| {
			Settlement::submit_statements(
				RuntimeOrigin::signed(CLIENT),
				vec![signed(job, who, claim, outputs)].try_into().unwrap(),
			)
			.unwrap()
			.actual_weight
		};
		for who in &executors {
			let claim = commitment_of(job, *who, &bytes);
			let call = crate::Call::<Test>::submit_statements {
				statements: vec![signed(job, *who, claim, None)].try_into().unwrap(),
			};
			let commitment = Weights::commitment_statement();
			assert_eq!(call.get_dispatch_info().call_weight, commitment, "charged up front");
			assert_eq!(used(*who, claim, None), Some(commitment));
		}
		let (last, first) = executors.split_last().unwrap();
		for who in first {
			let claim = Claim::Reveal { output_hash: hash_of(&bytes), salt: salt(*who) };
			let charged = used(*who, claim, Some(bytes.clone()));
			assert_eq!(charged, Some(Weights::reveal_statement()), "the round goes on");
		}
		let claim = Claim::Reveal { output_hash: hash_of(&bytes), salt: salt(*last) };
		let charged = used(*last, claim, Some(bytes.clone()));
		assert_eq!(charged, Some(Weights::statement()), "the tally and settlement");
		assert!(Jobs::job(job).is_none());
	});
}

#[test]
fn floats_agree_within_the_tolerance_and_dissenters_are_slashed() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let exact = good_output();
		let nudged = output([f32::from_bits(0.25f32.to_bits() + 3), -1.5]);
		let wrong = output([0.5, -1.5]);
		let outputs = [exact.clone(), nudged, wrong];
		for (who, bytes) in executors.iter().zip(&outputs) {
			commit(job, *who, bytes);
		}
		for (who, bytes) in executors.iter().zip(&outputs) {
			reveal(job, *who, bytes);
		}
		System::assert_has_event(
			Event::Settled {
				job,
				output_hash: hash_of(&exact),
				outputs: Some(exact.clone().try_into().unwrap()),
				executors: executors[..2].to_vec().try_into().unwrap(),
				paid: 2 * MODEL_FEE,
				refunded: 1_000 - 2 * MODEL_FEE + job_deposit(),
			}
			.into(),
		);
		assert_eq!(bond_of(executors[2]), BOND - JOB_STAKE);
		assert_eq!(bond_of(executors[0]), BOND);
	});
}

#[test]
fn silent_executors_are_slashed_when_the_reveal_phase_ends() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let bytes = good_output();
		for who in &executors {
			commit(job, *who, &bytes);
		}
		reveal(job, executors[0], &bytes);
		reveal(job, executors[1], &bytes);
		run_to_block(DRAWN_AT + 1 + REVEAL_WINDOW);
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
		assert_eq!(bond_of(executors[2]), BOND - JOB_STAKE);
	});
}

#[test]
fn the_reveal_phase_opens_at_the_deadline_with_enough_commits() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let bytes = good_output();
		commit(job, executors[0], &bytes);
		commit(job, executors[1], &bytes);
		run_to_block(DRAWN_AT + 1 + RESULT_TIMEOUT);
		assert!(Quorums::<Test>::get(job).unwrap().reveal_until.is_some());
		reveal(job, executors[0], &bytes);
		reveal(job, executors[1], &bytes);
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
		let late = pallet_executors::Executors::<Test>::get(executors[2]).unwrap();
		assert_eq!(late.reputation, 90);
	});
}

#[test]
fn disagreement_reruns_the_job_and_bad_reveals_are_rejected() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let outputs = [output([1.0, 1.0]), output([2.0, 2.0]), output([3.0, 3.0])];
		for (who, bytes) in executors.iter().zip(&outputs) {
			commit(job, *who, bytes);
		}
		// A reveal that does not open the commitment.
		reveal(job, executors[0], &outputs[1]);
		System::assert_last_event(rejected(job, executors[0], Error::CommitmentMismatch));
		for (who, bytes) in executors.iter().zip(&outputs) {
			reveal(job, *who, bytes);
		}
		System::assert_has_event(Event::QuorumFailed { job }.into());
		drawn();
		assert_eq!(pallet_jobs::Jobs::<Test>::get(job).unwrap().attempts, 2);
	});
}

#[test]
fn a_copied_commitment_cannot_be_revealed_and_its_copier_is_slashed() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let [honest, copier, other] = [executors[0], executors[1], executors[2]];
		let bytes = good_output();
		commit(job, honest, &bytes);
		// The copier sends the honest executor's commitment, seen in the pool, as its own.
		submit(vec![signed(job, copier, commitment_of(job, honest, &bytes), None)]);
		commit(job, other, &bytes);
		reveal(job, honest, &bytes);
		// And then the honest executor's reveal, seen in the pool, as its own.
		let copied = Claim::Reveal { output_hash: hash_of(&bytes), salt: salt(honest) };
		submit(vec![signed(job, copier, copied, Some(bytes.clone()))]);
		System::assert_last_event(rejected(job, copier, Error::CommitmentMismatch));
		reveal(job, other, &bytes);
		run_to_block(DRAWN_AT + 1 + REVEAL_WINDOW);

		System::assert_has_event(
			Event::Settled {
				job,
				output_hash: hash_of(&bytes),
				outputs: Some(bytes.clone().try_into().unwrap()),
				executors: vec![honest, other].try_into().unwrap(),
				paid: 2 * MODEL_FEE,
				refunded: 1_000 - 2 * MODEL_FEE + job_deposit(),
			}
			.into(),
		);
		assert_eq!(bond_of(copier), BOND - JOB_STAKE, "the copier pays");
		assert_eq!(bond_of(honest), BOND);
	});
}

#[test]
fn statements_signed_for_an_earlier_attempt_are_rejected() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, mut executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let bytes = good_output();
		let first_round: Vec<_> = executors
			.iter()
			.map(|who| signed(job, *who, commitment_of(job, *who, &bytes), None))
			.collect();
		let failed = Claim::Failed {
			reason: haca_primitives::statement::ExecutionFailure::Execution,
			detail: None,
		};
		let failure = signed(job, executors[2], failed, None);
		// Only one commitment by the deadline: the round cannot agree.
		submit(first_round[..1].to_vec());
		run_to_block(DRAWN_AT + 1 + RESULT_TIMEOUT);
		drawn();
		// Attempt 2 goes to the same three executors, the only ones serving the model.
		let mut again = Jobs::job(job).unwrap().executors;
		again.sort();
		executors.sort();
		assert_eq!(again, executors);
		assert_eq!(pallet_jobs::Jobs::<Test>::get(job).unwrap().attempts, 2);

		for replayed in first_round.into_iter().chain([failure]) {
			let who = replayed.0.executor;
			submit(vec![replayed]);
			System::assert_last_event(rejected(job, who, Error::BadSignature));
		}
		assert!(Quorums::<Test>::get(job).is_none(), "nothing of round 1 counts in round 2");
	});
}

fn reputation(who: AccountId) -> u32 {
	pallet_executors::Executors::<Test>::get(who).unwrap().reputation
}

fn failure() -> Claim {
	Claim::Failed { reason: haca_primitives::statement::ExecutionFailure::Execution, detail: None }
}

#[test]
fn a_failure_costs_reputation_and_leaves_the_others_commitments() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let bytes = good_output();
		commit(job, executors[0], &bytes);
		commit(job, executors[1], &bytes);
		let before = reputation(executors[2]);
		submit(vec![signed(job, executors[2], failure(), None)]);
		assert!(reputation(executors[2]) < before, "a failure counts as a missed delivery");
		let round = Quorums::<Test>::get(job).expect("the round goes on");
		assert_eq!(round.commits.len(), 2, "with the others' commitments");
		assert!(round.reveal_until.is_some(), "every executor answered: the reveals are due");

		reveal(job, executors[0], &bytes);
		reveal(job, executors[1], &bytes);
		System::assert_has_event(
			Event::Settled {
				job,
				output_hash: hash_of(&bytes),
				outputs: Some(bytes.clone().try_into().unwrap()),
				executors: executors[..2].to_vec().try_into().unwrap(),
				paid: 2 * MODEL_FEE,
				refunded: 1_000 - 2 * MODEL_FEE + job_deposit(),
			}
			.into(),
		);
		assert_eq!(bond_of(executors[2]), BOND, "a failure is no lie");
	});
}

#[test]
fn failures_that_leave_too_few_executors_to_agree_rerun_the_job_at_once() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		commit(job, executors[0], &good_output());
		submit(vec![signed(job, executors[1], failure(), None)]);
		assert_eq!(pallet_jobs::Jobs::<Test>::get(job).unwrap().attempts, 1, "two may still agree");
		submit(vec![signed(job, executors[2], failure(), None)]);
		System::assert_has_event(Event::QuorumFailed { job }.into());
		drawn();
		assert_eq!(pallet_jobs::Jobs::<Test>::get(job).unwrap().attempts, 2);
		assert!(Quorums::<Test>::get(job).is_none());
	});
}

#[test]
fn the_tally_does_not_depend_on_the_order_of_the_reveals() {
	let nudged = |ulps: u32| output([f32::from_bits(0.25f32.to_bits() + ulps), -1.5]);
	// Within the tolerance of 4 ULPs each output agrees with the next, not with the one after.
	let outputs = [nudged(0), nudged(3), nudged(6)];
	let settled_in = |order: [usize; 3]| {
		let mut settled = None;
		ExtBuilder::default().build_and_execute(|| {
			let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
			for (who, bytes) in executors.iter().zip(&outputs) {
				commit(job, *who, bytes);
			}
			for index in order {
				reveal(job, executors[index], &outputs[index]);
			}
			settled = System::events().into_iter().find_map(|record| match record.event {
				RuntimeEvent::Settlement(Event::Settled { output_hash, executors, .. }) => {
					Some((output_hash, executors.len()))
				}
				_ => None,
			});
		});
		settled.expect("settled")
	};
	assert_eq!(settled_in([0, 2, 1]), settled_in([1, 0, 2]));
	assert_eq!(
		settled_in([2, 0, 1]),
		(hash_of(&outputs[1]), 3),
		"the middle output agrees with both"
	);
}

/// Test challenges of verifiers (security review H2): a verifier that never runs the
/// models it audits loses part of its bond whenever a quorum job draws it as spot checker.
#[test]
fn a_verifier_that_never_runs_its_spot_check_loses_part_of_its_bond() {
	ExtBuilder::default().build_and_execute(|| {
		SpotCheckChance::set(sp_runtime::Perbill::one());
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let bytes = good_output();
		for who in &executors {
			commit(job, *who, &bytes);
		}
		// The spot checker stays silent; the reveal phase opens at the deadline.
		run_to_block(DRAWN_AT + 1 + RESULT_TIMEOUT);
		for who in &executors {
			reveal(job, *who, &bytes);
		}
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
		let slashed: Vec<_> = VERIFIERS.iter().filter(|who| bond_of(**who) < BOND).collect();
		assert_eq!(slashed.len(), 1, "the spot checker, and nobody else");
		assert_eq!(bond_of(*slashed[0]), BOND - VOTER_SLASH);
	});
}

/// Submits a 2-of-3 quorum job with a spot checker and runs to its draw; returns the job,
/// its executors and its checker.
fn spot_checked_job() -> (u64, Vec<AccountId>, AccountId) {
	SpotCheckChance::set(sp_runtime::Perbill::one());
	let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
	let checker = Jobs::job(job).unwrap().spot_checker.expect("drawn at a chance of one");
	System::assert_has_event(pallet_jobs::Event::SpotCheckDrawn { job, checker }.into());
	(job, executors, checker)
}

/// The disputes and spot checks `who` is party to (its bond cannot leave meanwhile).
fn open_duties(who: AccountId) -> u32 {
	pallet_executors::Executors::<Test>::get(who).unwrap().disputes
}

#[test]
fn a_spot_checker_is_a_verifier_of_the_model_never_a_party_and_only_of_quorum_jobs() {
	ExtBuilder::default().build_and_execute(|| {
		SpotCheckChance::set(sp_runtime::Perbill::one());
		let mut checks = std::collections::BTreeMap::<AccountId, Vec<u64>>::new();
		for (job, executors) in submit_jobs(QUORUM_2_OF_3, 1_000, 4) {
			let checker = Jobs::job(job).unwrap().spot_checker.unwrap();
			assert!(VERIFIERS.contains(&checker) && !executors.contains(&checker));
			checks.entry(checker).or_default().push(job);
		}
		for (checker, mut jobs) in checks {
			assert_eq!(open_duties(checker), jobs.len() as u32, "its bond stays while it checks");
			let mut owed = Jobs::undelivered_jobs(&checker);
			owed.sort();
			jobs.sort();
			assert_eq!(owed, jobs, "its node owes each a commitment");
		}
		let (attested, _) = submit_job(VerificationMode::Attested, 500);
		assert_eq!(Jobs::job(attested).unwrap().spot_checker, None);
	});
}

#[test]
fn the_reveal_phase_waits_for_the_spot_checker_that_then_passes_and_shares_a_dissenters_slash() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executors, checker) = spot_checked_job();
		let bytes = good_output();
		// Another machine's run: within the tolerance, not bit for bit.
		let nudged = output([f32::from_bits(0.25f32.to_bits() + 2), -1.5]);
		let wrong = output([0.5, -1.5]);
		let outputs = [bytes.clone(), bytes.clone(), wrong];
		for (who, output) in executors.iter().zip(&outputs) {
			commit(job, *who, output);
		}
		assert_eq!(Quorums::<Test>::get(job).unwrap().reveal_until, None, "the checker owes");
		let checker_before = Balances::balance(&checker);
		commit(job, checker, &nudged);
		System::assert_has_event(Event::SpotCheckCommitted { job, checker }.into());
		System::assert_has_event(
			Event::RevealOpened { job, until: DRAWN_AT + REVEAL_WINDOW }.into(),
		);
		for (who, output) in executors.iter().zip(&outputs) {
			reveal(job, *who, output);
		}
		assert!(Quorums::<Test>::get(job).is_some(), "the checker's reveal is still owed");
		reveal(job, checker, &nudged);

		System::assert_has_event(Event::SpotCheckPassed { job, checker }.into());
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
		assert_eq!(bond_of(executors[2]), BOND - JOB_STAKE);
		assert_eq!(bond_of(checker), BOND);
		assert_eq!(Balances::balance(&checker), checker_before + JOB_STAKE / 5, "a fifth");
		assert_eq!(open_duties(checker), 0, "its bond is free again");
	});
}

#[test]
fn a_spot_checker_outside_the_agreement_loses_part_of_its_bond_and_the_quorum_still_settles() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executors, checker) = spot_checked_job();
		let bytes = good_output();
		let guessed = output([0.0, 0.0]);
		for who in &executors {
			commit(job, *who, &bytes);
		}
		commit(job, checker, &guessed);
		for who in &executors {
			reveal(job, *who, &bytes);
		}
		reveal(job, checker, &guessed);
		System::assert_has_event(
			Event::SpotCheckFailed { job, checker, slashed: VOTER_SLASH }.into(),
		);
		System::assert_has_event(
			Event::Settled {
				job,
				output_hash: hash_of(&bytes),
				outputs: Some(bytes.clone().try_into().unwrap()),
				executors: executors.clone().try_into().unwrap(),
				paid: 3 * MODEL_FEE,
				refunded: 1_000 - 3 * MODEL_FEE + job_deposit(),
			}
			.into(),
		);
		assert_eq!(bond_of(checker), BOND - VOTER_SLASH);
		assert!(executors.iter().all(|who| bond_of(*who) == BOND));
	});
}

#[test]
fn a_spot_checker_can_neither_copy_a_commitment_nor_answer_twice_nor_claim_a_result() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executors, checker) = spot_checked_job();
		let bytes = good_output();
		let attested = Claim::Output(hash_of(&bytes));
		submit(vec![signed(job, checker, attested, Some(bytes.clone()))]);
		System::assert_last_event(rejected(job, checker, Error::WrongClaim));
		// The checker sends an executor's commitment, seen in the pool, as its own.
		commit(job, executors[0], &bytes);
		submit(vec![signed(job, checker, commitment_of(job, executors[0], &bytes), None)]);
		commit(job, checker, &bytes);
		System::assert_last_event(rejected(job, checker, Error::Duplicate));
		commit(job, executors[1], &bytes);
		commit(job, executors[2], &bytes);
		for who in &executors {
			reveal(job, *who, &bytes);
		}
		// It opens for nobody but the executor that made it.
		let copied = Claim::Reveal { output_hash: hash_of(&bytes), salt: salt(executors[0]) };
		submit(vec![signed(job, checker, copied, Some(bytes.clone()))]);
		System::assert_last_event(rejected(job, checker, Error::CommitmentMismatch));
		run_to_block(DRAWN_AT + 1 + REVEAL_WINDOW);
		System::assert_has_event(
			Event::SpotCheckFailed { job, checker, slashed: VOTER_SLASH }.into(),
		);
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
	});
}

#[test]
fn without_agreement_a_spot_checker_is_not_judged_and_the_next_attempt_draws_anew() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executors, checker) = spot_checked_job();
		let outputs = [output([1.0, 1.0]), output([2.0, 2.0]), output([3.0, 3.0])];
		for (who, bytes) in executors.iter().zip(&outputs) {
			commit(job, *who, bytes);
		}
		commit(job, checker, &outputs[0]);
		for (who, bytes) in executors.iter().zip(&outputs) {
			reveal(job, *who, bytes);
		}
		reveal(job, checker, &outputs[0]);
		System::assert_has_event(Event::QuorumFailed { job }.into());
		assert_eq!(bond_of(checker), BOND);
		assert_eq!(open_duties(checker), 0);
		assert!(Jobs::undelivered_jobs(&checker).is_empty());
		drawn();
		let next = Jobs::job(job).unwrap();
		assert_eq!(next.attempt, 2);
		let drawn = next.spot_checker.expect("drawn anew");
		assert!(!next.executors.contains(&drawn));
	});
}

/// Every settled job keeps, in its outcome, the signed claims of the executors paid: each
/// verifies against its session key over the payload rebuilt from the outcome alone, the
/// settled outputs hash to the output hash, and one claim names that hash.
#[test]
fn a_settled_outcome_carries_attestations_anyone_can_check() {
	use haca_primitives::{runtime_api::JobEnd, statement::StatementPayload};
	use sp_runtime::RuntimeAppPublic;
	ExtBuilder::default().build_and_execute(|| {
		let bytes = good_output();
		let (attested, attested_executors) = submit_job(VerificationMode::Attested, 500);
		let claim = Claim::Output(hash_of(&bytes));
		submit(vec![signed(attested, attested_executors[0], claim, Some(bytes.clone()))]);
		let (quorum, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		executors.iter().for_each(|who| commit(quorum, *who, &bytes));
		executors.iter().for_each(|who| reveal(quorum, *who, &bytes));
		run_to_block(System::block_number() + CHALLENGE_WINDOW + 1);

		for (job, paid) in [(attested, 1), (quorum, 3)] {
			let outcome = Jobs::outcome(job).expect("settled jobs keep their outcome");
			let JobEnd::Settled { output_hash, outputs, attestations, .. } = outcome.end else {
				panic!("job {job} settled");
			};
			assert_eq!(outputs.as_deref().map(hash_of), Some(output_hash));
			assert_eq!(attestations.len(), paid);
			for attestation in &attestations {
				let payload = StatementPayload {
					genesis_hash: Settlement::genesis_hash(),
					job,
					attempt: attestation.attempt,
					model: outcome.model,
					input_hash: outcome.input_hash,
					executor: attestation.executor,
					claim: attestation.claim,
				};
				let bytes = payload.signing_bytes();
				assert!(attestation.key.verify(&bytes, &attestation.signature));
				let mut forged = payload.clone();
				forged.input_hash = H256::repeat_byte(9);
				assert!(!attestation.key.verify(&forged.signing_bytes(), &attestation.signature));
			}
			assert!(attestations.iter().any(|attestation| match attestation.claim {
				Claim::Output(hash) | Claim::Reveal { output_hash: hash, .. } =>
					hash == output_hash,
				_ => false,
			}));
		}
	});
}
