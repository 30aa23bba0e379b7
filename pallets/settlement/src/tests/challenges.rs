//! Challenges of attested results, committees' votes and their outcomes.

use super::*;

fn lie_hash() -> H256 {
	hash_of(&output([9.0, 9.0]))
}

#[test]
fn a_lying_executor_is_slashed_and_the_job_rerun_at_no_cost_to_the_client() {
	ExtBuilder::default().build_and_execute(|| {
		let client_before = Balances::balance(&CLIENT);
		let (job, liar) = provisional_result();
		let challenger = VERIFIERS[0];
		let true_hash = lie_hash();
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, true_hash));
		assert_eq!(challenge_hold(challenger), CHALLENGE_BOND);
		assert!(Disputes::<Test>::get(job).unwrap().committee.is_empty(), "drawn later");
		drawn();
		let dispute = Disputes::<Test>::get(job).unwrap();
		assert_eq!(dispute.committee.len(), 2, "the two other verifiers");
		assert!(!dispute.committee.contains(&challenger));

		let challenger_before = Balances::balance(&challenger);
		for voter in dispute.committee.clone() {
			assert_ok!(Settlement::vote(RuntimeOrigin::signed(voter), job, true_hash));
		}
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: false }.into());
		assert_eq!(bond_of(liar), BOND - JOB_STAKE);
		assert_eq!(challenge_hold(challenger), 0);
		assert_eq!(
			Balances::balance(&challenger),
			challenger_before + CHALLENGE_BOND + JOB_STAKE / 2
		);
		drawn();
		let rerun = Jobs::job(job).unwrap();
		assert!(!rerun.executors.contains(&liar));
		assert!(rerun.delivered.is_empty());
		assert_eq!(
			Balances::balance(&CLIENT)
				+ Balances::balance_on_hold(
					&RuntimeHoldReason::Jobs(pallet_jobs::HoldReason::JobEscrow),
					&CLIENT
				),
			client_before
		);
	});
}

#[test]
fn a_wrong_challenger_loses_its_bond_and_the_result_settles() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executor) = provisional_result();
		let challenger = VERIFIERS[1];
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, lie_hash()));
		drawn();
		let executor_before = Balances::balance(&executor);
		let challenger_total = Balances::total_balance(&challenger);
		let honest = hash_of(&good_output());
		for voter in Disputes::<Test>::get(job).unwrap().committee {
			assert_ok!(Settlement::vote(RuntimeOrigin::signed(voter), job, honest));
		}
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: true }.into());
		assert_eq!(Balances::total_balance(&challenger), challenger_total - CHALLENGE_BOND);
		assert_eq!(Balances::balance(&executor), executor_before + CHALLENGE_BOND / 2 + 90);
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
		assert_eq!(bond_of(executor), BOND);
	});
}

#[test]
fn a_split_committee_times_out_safely() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executor) = provisional_result();
		let challenger = VERIFIERS[2];
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, lie_hash()));
		drawn();
		let committee = Disputes::<Test>::get(job).unwrap().committee;
		assert_ok!(Settlement::vote(RuntimeOrigin::signed(committee[0]), job, lie_hash()));
		assert_ok!(Settlement::vote(
			RuntimeOrigin::signed(committee[1]),
			job,
			hash_of(&good_output())
		));
		assert_noop!(
			Settlement::vote(RuntimeOrigin::signed(committee[1]), job, lie_hash()),
			Error::<Test>::AlreadyVoted
		);
		run_to_block(DRAWN_AT + 1 + DISPUTE_WINDOW);
		System::assert_has_event(Event::DisputeTimedOut { job }.into());
		assert_eq!(challenge_hold(challenger), 0);
		assert_eq!(bond_of(executor), BOND);
		drawn();
		assert!(!Jobs::job(job).unwrap().executors.contains(&executor));
		let info = pallet_executors::Executors::<Test>::get(executor).unwrap();
		assert_eq!(info.disputes, 0);
	});
}

#[test]
fn challenges_and_votes_need_the_right_parties_and_timing() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executor) = provisional_result();
		let honest = hash_of(&good_output());
		assert_noop!(
			Settlement::challenge(RuntimeOrigin::signed(CLIENT), job, lie_hash()),
			Error::<Test>::NotVerifier
		);
		assert_noop!(
			Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, honest),
			Error::<Test>::SameOutput
		);
		assert_noop!(
			Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), 42, lie_hash()),
			Error::<Test>::NotChallengeable
		);
		assert_noop!(
			Settlement::vote(RuntimeOrigin::signed(VERIFIERS[0]), job, honest),
			Error::<Test>::NoDispute
		);
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, lie_hash()));
		assert_noop!(
			Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[1]), job, lie_hash()),
			Error::<Test>::NotChallengeable
		);
		assert_noop!(
			Settlement::vote(RuntimeOrigin::signed(executor), job, honest),
			Error::<Test>::NotOnCommittee
		);
	});
}

#[test]
fn the_window_closes() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, _) = provisional_result();
		System::set_block_number(DRAWN_AT + 1 + CHALLENGE_WINDOW);
		assert_noop!(
			Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, lie_hash()),
			Error::<Test>::NotChallengeable
		);
	});
}

#[test]
fn a_rerun_result_gets_its_own_full_challenge_window() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, _) = provisional_result();
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, lie_hash()));
		drawn();
		for voter in Disputes::<Test>::get(job).unwrap().committee {
			assert_ok!(Settlement::vote(RuntimeOrigin::signed(voter), job, lie_hash()));
		}
		drawn();
		// The re-run's executor delivers in the last block of the first result's window,
		// whose timer is still scheduled.
		let second = Jobs::job(job).unwrap().executors[0];
		run_to_block(DRAWN_AT + CHALLENGE_WINDOW);
		let bytes = good_output();
		submit(vec![signed(job, second, Claim::Output(hash_of(&bytes)), Some(bytes))]);
		let challenge_until = DRAWN_AT + 2 * CHALLENGE_WINDOW;

		run_to_block(challenge_until);
		assert_eq!(
			Results::<Test>::get(job).map(|result| result.status),
			Some(ResultStatus::Provisional { challenge_until }),
			"open to challenges until its own window ends"
		);
		run_to_block(challenge_until + 1);
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
	});
}

/// `who`'s verdict on `job`, signed with its session key.
fn signed_verdict(
	job: u64,
	who: AccountId,
	kind: haca_primitives::statement::VerdictKind,
	output_hash: H256,
) -> (crate::Verdict<Test>, haca_primitives::InferenceSignature) {
	use sp_core::Pair;
	let verdict = crate::Verdict::<Test> { job, verifier: who, kind, output_hash };
	let payload = crate::Pallet::<Test>::verdict_payload(&verdict).expect("open job");
	(verdict, pair(who).sign(&payload.signing_bytes()).into())
}

#[test]
fn a_vote_signed_in_an_earlier_dispute_of_the_job_is_rejected() {
	use haca_primitives::statement::VerdictKind;
	use sp_runtime::transaction_validity::InvalidTransaction;
	ExtBuilder::default().build_and_execute(|| {
		let (job, _) = provisional_result();
		let challenger = VERIFIERS[0];
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, lie_hash()));
		drawn();
		let votes: Vec<_> = Disputes::<Test>::get(job)
			.unwrap()
			.committee
			.iter()
			.map(|voter| signed_verdict(job, *voter, VerdictKind::Vote, lie_hash()))
			.collect();
		for (verdict, signature) in votes.clone() {
			let source = TransactionSource::External;
			assert!(crate::Pallet::<Test>::authorize_verdict(source, &verdict, &signature).is_ok());
			let authorized = frame_system::RawOrigin::Authorized.into();
			assert_ok!(Settlement::submit_verdict(authorized, verdict, signature));
		}
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: false }.into());

		// The re-run's result is challenged again, before the same committee.
		drawn();
		let second = Jobs::job(job).unwrap().executors[0];
		let bytes = good_output();
		submit(vec![signed(job, second, Claim::Output(hash_of(&bytes)), Some(bytes))]);
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, lie_hash()));
		drawn();
		for (verdict, signature) in votes {
			let source = TransactionSource::External;
			assert_eq!(
				crate::Pallet::<Test>::authorize_verdict(source, &verdict, &signature).err(),
				Some(InvalidTransaction::BadProof.into()),
				"{verdict:?}"
			);
		}
		assert!(Disputes::<Test>::get(job).unwrap().votes.is_empty());
	});
}

#[test]
fn a_challenge_needs_a_committee_besides_the_parties() {
	ExtBuilder::default().verifiers(1).build_and_execute(|| {
		let (job, _) = provisional_result();
		assert_noop!(
			Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, lie_hash()),
			Error::<Test>::NoCommittee
		);
		assert_eq!(challenge_hold(VERIFIERS[0]), 0);
	});
}

/// A challenger knows everything public when it challenges, the randomness of its block
/// included; it still cannot know or choose its committee: the committee is drawn in a later
/// block, from randomness revealed after the challenge, and differs from future to future.
#[test]
fn nobody_who_challenges_can_know_or_choose_its_committee() {
	use frame_support::traits::fungible::Mutate;
	use pallet_jobs::testing::RandomnessSeed;
	let committee_in_a_future = |revealed: [u8; 32]| {
		let mut committee = Vec::new();
		ExtBuilder::default().build_and_execute(|| {
			// Four more verifiers: a committee of three out of five besides the parties.
			for who in [30, 31, 32, 33] {
				assert_ok!(Balances::mint_into(&who, INITIAL_BALANCE));
				assert_ok!(pallet_executors::Pallet::<Test>::register(
					RuntimeOrigin::signed(who),
					pallet_executors::Roles { executor: false, verifier: true },
					pallet_executors::testing::key_of(&pair(who)),
					pallet_executors::testing::key_proof::<Test>(&who, &pair(who)),
					BOND,
					0,
					Default::default(),
				));
			}
			let (job, _) = provisional_result();
			assert_ok!(Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, lie_hash()));
			run_to_block(System::block_number() + 1);
			assert!(
				Disputes::<Test>::get(job).unwrap().committee.is_empty(),
				"not from known values"
			);
			RandomnessSeed::set(&revealed);
			run_to_block(System::block_number() + 1);
			committee = Disputes::<Test>::get(job).unwrap().committee.into_inner();
			System::assert_has_event(
				Event::CommitteeDrawn {
					job,
					committee: committee.clone().try_into().unwrap(),
					until: DRAWN_AT + DISPUTE_WINDOW,
				}
				.into(),
			);
		});
		committee
	};
	let futures: std::collections::BTreeSet<Vec<AccountId>> =
		(0..8u8).map(|revealed| committee_in_a_future([revealed; 32])).collect();
	assert!(futures.len() > 1, "the committee follows what is revealed after the challenge");
	assert!(futures
		.iter()
		.all(|committee| committee.len() == 3 && !committee.contains(&VERIFIERS[0])));
}
