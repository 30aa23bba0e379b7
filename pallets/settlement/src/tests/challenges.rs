//! Challenges of attested results, committees' votes and their outcomes.

use haca_primitives::{statement::VerdictClaim, ModelHash};
use sp_runtime::DispatchResult;

use super::*;

fn lie_hash() -> H256 {
	hash_of(&output([9.0, 9.0]))
}

/// The salt `who` hides its votes with.
fn salt(who: AccountId) -> [u8; 32] {
	[who as u8; 32]
}

/// `who`'s commitment to a vote for `hash` in the dispute over `job`.
fn commitment(job: u64, who: AccountId, hash: H256) -> H256 {
	let attempt = Jobs::job(job).unwrap().attempt;
	VerdictClaim::vote_commitment(job, attempt, &who, &hash, &salt(who))
}

fn commit(job: u64, who: AccountId, hash: H256) -> DispatchResult {
	Settlement::commit_vote(RuntimeOrigin::signed(who), job, commitment(job, who, hash))
}

fn reveal(job: u64, who: AccountId, hash: H256) -> DispatchResult {
	Settlement::reveal_vote(RuntimeOrigin::signed(who), job, hash, salt(who))
}

/// Funds and registers `accounts` as verifiers of the model.
fn register_verifiers(accounts: &[AccountId]) {
	use frame_support::traits::fungible::Mutate;
	for &who in accounts {
		assert_ok!(Balances::mint_into(&who, INITIAL_BALANCE));
		assert_ok!(pallet_executors::Pallet::<Test>::register(
			RuntimeOrigin::signed(who),
			pallet_executors::Roles { executor: false, verifier: true },
			pallet_executors::testing::key_of(&pair(who)),
			pallet_executors::testing::key_proof::<Test>(&who, &pair(who)),
			BOND,
			0,
			vec![model()].try_into().unwrap(),
		));
	}
}

/// The committee of the dispute over `job`.
fn committee(job: u64) -> Vec<AccountId> {
	Disputes::<Test>::get(job).unwrap().committee.into_inner()
}

/// Commits to `votes`, runs to the reveal phase unless every member committed, and reveals
/// them.
fn vote(job: u64, votes: &[(AccountId, H256)]) {
	for (who, hash) in votes {
		assert_ok!(commit(job, *who, *hash));
	}
	let dispute = Disputes::<Test>::get(job).unwrap();
	if dispute.reveal_until.is_none() {
		run_to_block(dispute.commit_until + 1);
	}
	for (who, hash) in votes {
		assert_ok!(reveal(job, *who, *hash));
	}
}

/// Every member of the committee of `job` votes for `hash`.
fn unanimous(job: u64, hash: H256) {
	let votes: Vec<_> = committee(job).into_iter().map(|who| (who, hash)).collect();
	vote(job, &votes);
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
		assert_eq!(dispute.committee.len(), 3, "three of the four other verifiers");
		assert!(!dispute.committee.contains(&challenger));

		let challenger_before = Balances::balance(&challenger);
		unanimous(job, true_hash);
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
		unanimous(job, hash_of(&good_output()));
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: true }.into());
		assert_eq!(Balances::total_balance(&challenger), challenger_total - CHALLENGE_BOND);
		assert_eq!(Balances::balance(&executor), executor_before + CHALLENGE_BOND / 2 + 90);
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
		assert_eq!(bond_of(executor), BOND);
	});
}

#[test]
fn a_split_committee_times_out_and_nobody_pays() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executor) = provisional_result();
		let challenger = VERIFIERS[2];
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, lie_hash()));
		drawn();
		let [for_challenger, for_executor, silent] = committee(job).try_into().unwrap();
		let honest = hash_of(&good_output());
		assert_ok!(commit(job, for_challenger, lie_hash()));
		assert_ok!(commit(job, for_executor, honest));
		assert_noop!(commit(job, for_executor, lie_hash()), Error::<Test>::AlreadyVoted);
		run_to_block(Disputes::<Test>::get(job).unwrap().commit_until + 1);
		assert_noop!(commit(job, silent, honest), Error::<Test>::DeadlinePassed);
		assert_ok!(reveal(job, for_challenger, lie_hash()));
		assert_noop!(reveal(job, silent, honest), Error::<Test>::NotCommitted);
		// The last of those who committed reveals: nothing more can change the outcome.
		assert_ok!(reveal(job, for_executor, honest));
		System::assert_has_event(Event::DisputeTimedOut { job }.into());
		assert_eq!(challenge_hold(challenger), 0);
		assert_eq!(bond_of(executor), BOND);
		assert_eq!(bond_of(for_challenger), BOND);
		assert_eq!(bond_of(for_executor), BOND);
		// Without an outcome, nothing shows what the silent member should have voted.
		assert_eq!(bond_of(silent), BOND);
		drawn();
		assert!(!Jobs::job(job).unwrap().executors.contains(&executor));
		for who in [executor, challenger, for_challenger, for_executor, silent] {
			assert_eq!(pallet_executors::Executors::<Test>::get(who).unwrap().disputes, 0);
		}
	});
}

/// A model nobody can run (not in any member's engine, or refused by it) leaves the whole
/// committee silent: a grief that would cost honest members their bonds if silence without
/// an outcome were slashed.
#[test]
fn a_dispute_nobody_can_vote_on_costs_its_committee_nothing() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executor) = provisional_result();
		let challenger = VERIFIERS[2];
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, lie_hash()));
		drawn();
		let members = committee(job);
		let dispute = Disputes::<Test>::get(job).unwrap();
		run_to_block(dispute.commit_until + RevealWindow::get() + 2);
		System::assert_has_event(Event::DisputeTimedOut { job }.into());
		for who in members.iter().chain([&executor, &challenger]) {
			assert_eq!(bond_of(*who), BOND);
		}
		assert_eq!(challenge_hold(challenger), 0);
	});
}

#[test]
fn a_committee_is_paid_by_the_outcome_and_its_members_against_it_pay() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executor) = provisional_result();
		let challenger = VERIFIERS[0];
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, lie_hash()));
		drawn();
		let [first, second, blind] = committee(job).try_into().unwrap();
		let before = |who: AccountId| Balances::balance(&who);
		let (first_before, second_before) = (before(first), before(second));
		let honest = hash_of(&good_output());
		// A member who backs the challenger without running the model, against the truth.
		vote(job, &[(first, honest), (blind, lie_hash()), (second, honest)]);
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: true }.into());

		assert_eq!(bond_of(blind), BOND - VOTER_SLASH);
		// Each of the two members for the outcome: half of the blind vote's slash and half of
		// the committee's fifth of the forfeited challenge bond.
		let reward = VOTER_SLASH / 2 + CHALLENGE_BOND / 5 / 2;
		assert_eq!(before(first), first_before + reward);
		assert_eq!(before(second), second_before + reward);
		assert_eq!(bond_of(first), BOND);
		assert_eq!(bond_of(executor), BOND);
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
	});
}

/// A member that copies another's commitment cannot open it: the commitment binds its
/// maker, even once the maker's reveal (hash and salt) is public. The copier counts as not
/// having voted and pays for it.
#[test]
fn a_copied_vote_commitment_opens_for_nobody_but_its_maker() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, _) = provisional_result();
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, lie_hash()));
		drawn();
		let [maker, copier, third] = committee(job).try_into().unwrap();
		let truth = lie_hash();
		assert_noop!(reveal(job, maker, truth), Error::<Test>::RevealNotOpen);
		assert_ok!(commit(job, maker, truth));
		let copied = commitment(job, maker, truth);
		assert_ok!(Settlement::commit_vote(RuntimeOrigin::signed(copier), job, copied));
		assert_ok!(commit(job, third, truth));
		assert_ok!(reveal(job, maker, truth));
		assert_noop!(
			Settlement::reveal_vote(RuntimeOrigin::signed(copier), job, truth, salt(maker)),
			Error::<Test>::CommitmentMismatch
		);
		assert_ok!(reveal(job, third, truth));
		let reveal_until = Disputes::<Test>::get(job).unwrap().reveal_until.unwrap();
		run_to_block(reveal_until + 1);
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: false }.into());
		assert_eq!(bond_of(copier), BOND - VOTER_SLASH);
		assert_eq!(bond_of(maker), BOND);
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
		assert_noop!(commit(job, VERIFIERS[0], honest), Error::<Test>::NoDispute);
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, lie_hash()));
		assert_noop!(
			Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, lie_hash()),
			Error::<Test>::AlreadyChallenged
		);
		assert_noop!(commit(job, executor, honest), Error::<Test>::NotOnCommittee);
		drawn();
		let member = committee(job)[0];
		assert_noop!(
			Settlement::challenge(RuntimeOrigin::signed(member), job, lie_hash()),
			Error::<Test>::OnCommittee
		);
	});
}

/// Verifiers join a dispute within the result's window, while a member would remain for
/// the committee, up to `MaxChallengers`; each puts up its bond.
#[test]
fn a_dispute_takes_challengers_within_its_window_and_its_bounds() {
	let challenge = |who: AccountId, job: u64, hash: H256| {
		Settlement::challenge(RuntimeOrigin::signed(who), job, hash)
	};
	ExtBuilder::default().build_and_execute(|| {
		register_verifiers(&[30, 31, 32]);
		let (job, _) = provisional_result();
		for (index, who) in VERIFIERS[..3].iter().enumerate() {
			assert_ok!(challenge(*who, job, H256::repeat_byte(index as u8)));
			assert_eq!(challenge_hold(*who), CHALLENGE_BOND);
		}
		assert_noop!(challenge(VERIFIERS[3], job, lie_hash()), Error::<Test>::TooManyChallengers);
		assert_eq!(Disputes::<Test>::get(job).unwrap().challengers.len(), 3);
		drawn();
		assert!(committee(job).iter().all(|member| !VERIFIERS[..3].contains(member)));
	});
	ExtBuilder::default().verifiers(4).build_and_execute(|| {
		let (job, _) = provisional_result();
		assert_ok!(challenge(VERIFIERS[0], job, lie_hash()));
		// Three verifiers left: the committee's three seats.
		assert_noop!(challenge(VERIFIERS[1], job, lie_hash()), Error::<Test>::CommitteeNotDrawn);
		drawn();
		assert_eq!(committee(job).len(), 3);
		assert_noop!(challenge(VERIFIERS[1], job, lie_hash()), Error::<Test>::OnCommittee);
	});
	ExtBuilder::default().build_and_execute(|| {
		let (job, _) = provisional_result();
		assert_ok!(challenge(VERIFIERS[0], job, lie_hash()));
		let dispute = Disputes::<Test>::get(job).unwrap();
		assert_eq!(dispute.challenge_until, DRAWN_AT + CHALLENGE_WINDOW);
		System::set_block_number(dispute.challenge_until + 1);
		assert_noop!(challenge(VERIFIERS[1], job, lie_hash()), Error::<Test>::NotChallengeable);
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
		unanimous(job, lie_hash());
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
	claim: VerdictClaim,
) -> (crate::Verdict<Test>, haca_primitives::InferenceSignature) {
	use sp_core::Pair;
	let verdict = crate::Verdict::<Test> { job, verifier: who, claim };
	let payload = crate::Pallet::<Test>::verdict_payload(&verdict).expect("open job");
	(verdict, pair(who).sign(&payload.signing_bytes()).into())
}

#[test]
fn a_vote_signed_in_an_earlier_dispute_of_the_job_is_rejected() {
	use sp_runtime::transaction_validity::InvalidTransaction;
	ExtBuilder::default().build_and_execute(|| {
		let (job, _) = provisional_result();
		let challenger = VERIFIERS[0];
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, lie_hash()));
		drawn();
		let verdicts = |claim: fn(u64, AccountId) -> VerdictClaim| {
			committee(job)
				.into_iter()
				.map(|voter| signed_verdict(job, voter, claim(job, voter)))
				.collect::<Vec<_>>()
		};
		let commitments =
			verdicts(|job, voter| VerdictClaim::VoteCommitment(commitment(job, voter, lie_hash())));
		let reveals = verdicts(|_, voter| VerdictClaim::VoteReveal {
			output_hash: lie_hash(),
			salt: salt(voter),
		});
		for (verdict, signature) in commitments.iter().chain(&reveals).cloned() {
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
		for (verdict, signature) in commitments {
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

/// Verifiers choose the models they audit; only those of the job's model sit on its
/// committees, so a verifier is never drawn to judge a model its node does not run.
#[test]
fn committees_are_drawn_from_the_verifiers_of_the_model() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, _) = provisional_result();
		let audit = |who: AccountId, models: Vec<ModelHash>| {
			assert_ok!(pallet_executors::Pallet::<Test>::set_models(
				RuntimeOrigin::signed(who),
				models.try_into().unwrap()
			));
		};
		for who in &VERIFIERS[1..] {
			audit(*who, vec![]);
		}
		assert_noop!(
			Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, lie_hash()),
			Error::<Test>::NoCommittee
		);
		audit(VERIFIERS[2], vec![model()]);
		audit(VERIFIERS[4], vec![model()]);
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, lie_hash()));
		drawn();
		let mut members = committee(job);
		members.sort();
		assert_eq!(members, vec![VERIFIERS[2], VERIFIERS[4]]);
	});
}

/// A challenger knows everything public when it challenges, the randomness of its block
/// included; it still cannot know or choose its committee: the committee is drawn in a later
/// block, from randomness revealed after the challenge, and differs from future to future.
#[test]
fn nobody_who_challenges_can_know_or_choose_its_committee() {
	use pallet_jobs::testing::RandomnessSeed;
	let committee_in_a_future = |revealed: [u8; 32]| {
		let mut committee = Vec::new();
		ExtBuilder::default().build_and_execute(|| {
			// A committee of three out of seven besides the challenger.
			register_verifiers(&[30, 31, 32]);
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
					commit_until: DRAWN_AT + DISPUTE_WINDOW,
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

/// A liar that sees an honest challenge coming has its own verifier challenge first, with a
/// hash nobody will reproduce: were the first challenge the only one, no member could back
/// either claim and the liar would go unslashed. Every auditor may join an open dispute
/// within the result's window; the claim the committee reproduces wins, and a challenger of
/// any other hash loses its bond.
#[test]
fn a_liars_own_junk_challenge_cannot_shield_it_from_an_honest_one() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, liar) = provisional_result();
		let (accomplice, honest) = (VERIFIERS[0], VERIFIERS[1]);
		let (junk, truth) = (H256::repeat_byte(7), lie_hash());
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(accomplice), job, junk));
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(honest), job, truth));
		assert_eq!(challenge_hold(honest), CHALLENGE_BOND);
		drawn();
		let members = committee(job);
		assert_eq!(members.len(), 3, "the three verifiers that did not challenge");
		assert!(!members.contains(&accomplice) && !members.contains(&honest));

		let accomplice_total = Balances::total_balance(&accomplice);
		let honest_before = Balances::balance(&honest);
		unanimous(job, truth);
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: false }.into());
		assert_eq!(bond_of(liar), BOND - JOB_STAKE);
		assert_eq!(challenge_hold(honest), 0);
		// The half of the stake for the wronged party, and the same half of the junk bond.
		assert_eq!(
			Balances::balance(&honest),
			honest_before + CHALLENGE_BOND + JOB_STAKE / 2 + CHALLENGE_BOND / 2
		);
		assert_eq!(challenge_hold(accomplice), 0);
		assert_eq!(Balances::total_balance(&accomplice), accomplice_total - CHALLENGE_BOND);
		for who in [liar, accomplice, honest] {
			assert_eq!(pallet_executors::Executors::<Test>::get(who).unwrap().disputes, 0);
		}
	});
}

/// A liar whose own verifiers take every challenger place with hashes nobody reproduces
/// (security review L6) is still slashed: its outputs are on chain, so the members' votes for
/// the hash of their own run show the result outside the model's tolerance, though no
/// challenger claimed that hash. Nothing shows which challenger computed what: every bond
/// returns.
#[test]
fn a_liar_whose_own_challengers_fill_every_place_is_slashed_on_the_committees_hash() {
	ExtBuilder::default().build_and_execute(|| {
		register_verifiers(&[30, 31, 32]);
		let (job, executors) = submit_job(VerificationMode::Attested, 500);
		let liar = executors[0];
		let lie = output([9.0, 9.0]);
		submit(vec![signed(job, liar, Claim::Output(hash_of(&lie)), Some(lie))]);
		let accomplices = [VERIFIERS[0], VERIFIERS[1], VERIFIERS[2]];
		for (index, who) in accomplices.iter().enumerate() {
			let junk = H256::repeat_byte(index as u8 + 1);
			assert_ok!(Settlement::challenge(RuntimeOrigin::signed(*who), job, junk));
		}
		let truth = hash_of(&good_output());
		assert_noop!(
			Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[3]), job, truth),
			Error::<Test>::TooManyChallengers
		);
		drawn();
		let client_before = Balances::balance(&CLIENT);
		unanimous(job, truth);

		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: false }.into());
		assert_eq!(bond_of(liar), BOND - JOB_STAKE);
		assert_eq!(Balances::balance(&CLIENT), client_before + JOB_STAKE / 2, "the wronged client");
		for who in accomplices {
			assert_eq!(challenge_hold(who), 0);
			assert_eq!(Balances::total_balance(&who), INITIAL_BALANCE);
		}
		drawn();
		assert!(!Jobs::job(job).unwrap().executors.contains(&liar), "re-run by another");
	});
}
