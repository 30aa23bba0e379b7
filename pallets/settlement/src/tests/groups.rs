//! Group statements: a group's results signed once over their Merkle root, stored as one
//! record and settled together.

use haca_primitives::{
	runtime_api::JobEnd,
	statement::{AttestationError, Inclusion},
};

use super::*;
use crate::{GroupResults, ModelGroupResults};

/// The settled outcome's attestations of `job`, checked as a receipt checks them.
fn check_outcome(job: u64) -> Result<(), AttestationError> {
	let outcome = pallet_jobs::Pallet::<Test>::outcome(job).expect("ended");
	let JobEnd::Settled { attestations, .. } = outcome.end else { panic!("job {job} settled") };
	let genesis = crate::Pallet::<Test>::genesis_hash();
	attestations.iter().try_for_each(|attestation| {
		assert!(attestation.inclusion.is_some(), "made in a group statement");
		attestation.verify(genesis, job, outcome.model, outcome.input_hash)
	})
}

#[test]
fn a_group_statement_is_one_record_and_its_results_settle_together() {
	ExtBuilder::default().build_and_execute(|| {
		let (first, executor) = submit_group(4);
		let ids: Vec<u64> = (first..first + 4).collect();
		let statement = group_statement(first, executor, &vec![good_output(); 4]);
		let signature = sign_group(executor, &statement);
		assert_ok!(send_group(statement, signature));

		let record = GroupResults::<Test>::get(first).expect("one record");
		assert_eq!(record.members.len(), 4);
		assert!(ModelGroupResults::<Test>::contains_key(model(), first));
		for &job in &ids {
			assert!(Results::<Test>::get(job).is_none(), "no record of its own");
			assert_eq!(Jobs::job(job).unwrap().delivered, vec![executor]);
			let report = crate::Pallet::<Test>::report(job).unwrap();
			assert_eq!(report.output_hash, Some(hash_of(&good_output())));
			System::assert_has_event(
				Event::ResultSubmitted {
					job,
					executor,
					output_hash: hash_of(&good_output()),
					outputs: Some(good_output().try_into().unwrap()),
					challenge_until: System::block_number() + CHALLENGE_WINDOW,
				}
				.into(),
			);
		}
		assert!(Jobs::undelivered_jobs(&executor).is_empty());

		let (executor_before, owner_before) =
			(Balances::balance(&executor), Balances::balance(&OWNER));
		run_to_block(System::block_number() + CHALLENGE_WINDOW + 1);
		assert!(GroupResults::<Test>::get(first).is_none());
		assert!(!ModelGroupResults::<Test>::contains_key(model(), first));
		assert!(pallet_jobs::Groups::<Test>::iter().next().is_none(), "the group ended");
		assert_eq!(Balances::balance(&executor), executor_before + 4 * 90);
		assert_eq!(Balances::balance(&OWNER), owner_before + 4 * 10);
		for &job in &ids {
			assert!(Jobs::job(job).is_none(), "settled");
			assert!(pallet_jobs::JobInputs::<Test>::get(job).is_none());
			assert!(pallet_jobs::Outcomes::<Test>::get(job).is_none(), "no record of its own");
			assert_eq!(check_outcome(job), Ok(()));
		}
		let outcome = pallet_jobs::GroupOutcomes::<Test>::get(first / pallet_jobs::GROUP_SPAN)
			.expect("one outcome for the group");
		assert_eq!(outcome.members.len(), 4);
		assert_eq!(outcome.attestation.root(), record.root, "the root the executor signed");
		// Everything held for the group went back or was paid: nothing is held for CLIENT.
		assert_eq!(
			Balances::balance_on_hold(
				&RuntimeHoldReason::Jobs(pallet_jobs::HoldReason::JobEscrow),
				&CLIENT
			),
			0
		);
		assert_eq!(bond_of(executor), BOND);
		let record = pallet_executors::Executors::<Test>::get(executor).unwrap();
		assert_eq!((record.at_stake, record.active_jobs), (0, 0));
	});
}

#[test]
fn a_group_statement_with_one_bad_result_is_refused_whole_and_changes_nothing() {
	ExtBuilder::default().build_and_execute(|| {
		let (first, executor) = submit_group(4);
		let good = vec![good_output(); 4];
		let refused = |statement: crate::GroupStatement<Test>, signer, error: Error<Test>| {
			let signature = sign_group(signer, &statement);
			assert_eq!(send_group(statement, signature), Err(error.into()));
			assert!(GroupResults::<Test>::get(first).is_none());
			assert_eq!(Jobs::undelivered_jobs(&executor).len(), 4, "still owed");
		};

		// One output whose bytes do not hash to its hash.
		let mut statement = group_statement(first, executor, &good);
		statement.results[2].output_hash = hash_of(&output([7.0, 7.0]));
		statement.results[2].outputs = Some(good_output().try_into().unwrap());
		refused(statement, executor, Error::<Test>::OutputHashMismatch);
		// One output that is not the model's shape.
		let mut bad = good.clone();
		bad[3] = f32_tensors(&[1, 3], &[1.0, 2.0, 3.0]);
		refused(
			group_statement(first, executor, &bad),
			executor,
			Error::<Test>::OutputSpecMismatch,
		);
		// One output left out though it fits.
		let mut statement = group_statement(first, executor, &good);
		statement.results[0].outputs = None;
		refused(statement, executor, Error::<Test>::OutputsRequired);
		// A member left out, or one too many.
		let statement = group_statement(first, executor, &good[..3]);
		assert!(crate::Pallet::<Test>::group_signing_payload(&statement).is_none());
		let signature = sign_group(executor, &group_statement(first, executor, &good));
		assert_eq!(send_group(statement, signature), Err(Error::<Test>::WrongGroupSize.into()));
		// Signed by another key, or by the executor over other results.
		refused(group_statement(first, executor, &good), EXECUTORS[2], Error::<Test>::BadSignature);
		let other = group_statement(first, executor, &vec![output([1.0, 1.0]); 4]);
		let signature = sign_group(executor, &other);
		let statement = group_statement(first, executor, &good);
		assert_eq!(send_group(statement, signature), Err(Error::<Test>::BadSignature.into()));
		// By an executor the group is not assigned to.
		let stranger = *EXECUTORS.iter().find(|who| **who != executor).unwrap();
		refused(group_statement(first, stranger, &good), stranger, Error::<Test>::NotAssigned);

		// The honest statement goes in once; again, it is a duplicate.
		let statement = group_statement(first, executor, &good);
		let signature = sign_group(executor, &statement);
		assert_ok!(send_group(statement.clone(), signature.clone()));
		assert_eq!(send_group(statement, signature), Err(Error::<Test>::Duplicate.into()));
	});
}

#[test]
fn a_group_statement_after_the_deadline_is_refused_and_the_group_redrawn() {
	ExtBuilder::default().build_and_execute(|| {
		let (first, executor) = submit_group(3);
		let statement = group_statement(first, executor, &vec![good_output(); 3]);
		let signature = sign_group(executor, &statement);
		let deadline = Jobs::job(first).unwrap().deadline.unwrap();
		run_to_block(deadline);
		// The block after the deadline, before the jobs pallet takes the group back.
		System::set_block_number(deadline + 1);
		let late = send_group(statement.clone(), signature.clone());
		assert_eq!(late, Err(Error::<Test>::DeadlinePassed.into()));
		assert!(GroupResults::<Test>::get(first).is_none());
		// Taken back and drawn again: the statement is of no assignment now.
		<Jobs as frame_support::traits::Hooks<u64>>::on_initialize(deadline + 1);
		drawn();
		let again = Jobs::job(first).unwrap();
		assert_eq!(again.attempt, 2);
		assert_ne!(again.executors, vec![executor], "drawn avoiding the late executor");
		assert_eq!(send_group(statement, signature), Err(Error::<Test>::NotAssigned.into()));
	});
}

#[test]
fn a_member_that_leaves_a_group_statement_is_judged_alone_and_the_others_settle() {
	ExtBuilder::default().build_and_execute(|| {
		let (first, executor) = group_results(4);
		let challenger = VERIFIERS[1];
		let lie = hash_of(&output([9.0, 9.0]));
		// A failing challenge leaves nothing behind.
		assert_noop!(
			Settlement::challenge(
				RuntimeOrigin::signed(challenger),
				first + 1,
				hash_of(&good_output())
			),
			Error::<Test>::SameOutput
		);
		assert!(Results::<Test>::get(first + 1).is_none());
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), first + 1, lie));

		let left = Results::<Test>::get(first + 1).expect("a result of its own");
		assert_eq!(left.status, ResultStatus::Disputed);
		let inclusion = left.inclusion.clone().expect("with its inclusion proof");
		let record = GroupResults::<Test>::get(first).unwrap();
		assert_eq!(inclusion, Inclusion::of(&record.leaves(), 1).unwrap());
		assert_eq!(inclusion.root, record.root);
		assert!(record.members[1].left && !record.members[0].left);

		let executor_before = Balances::balance(&executor);
		run_to_block(System::block_number() + CHALLENGE_WINDOW + 1);
		for job in [first, first + 2, first + 3] {
			assert!(Jobs::job(job).is_none(), "settled with the group");
			assert_eq!(check_outcome(job), Ok(()));
		}
		assert!(Jobs::job(first + 1).is_some(), "judged alone");
		assert!(GroupResults::<Test>::get(first).is_none());
		assert!(Balances::balance(&executor) >= executor_before + 3 * 90);
	});
}

#[test]
fn an_inclusion_proof_holds_for_its_own_job_and_result_only() {
	ExtBuilder::default().build_and_execute(|| {
		let (first, _) = group_results(4);
		run_to_block(System::block_number() + CHALLENGE_WINDOW + 1);
		let outcome = pallet_jobs::Pallet::<Test>::outcome(first + 2).unwrap();
		let JobEnd::Settled { attestations, .. } = outcome.end else { panic!("settled") };
		let attestation = attestations[0].clone();
		let genesis = crate::Pallet::<Test>::genesis_hash();
		let check = |attestation: &haca_primitives::statement::Attestation<AccountId>, job| {
			attestation.verify(genesis, job, outcome.model, outcome.input_hash)
		};
		assert_eq!(check(&attestation, first + 2), Ok(()));
		// Another member's id, another output, another place in the tree.
		assert_eq!(check(&attestation, first + 1), Err(AttestationError::BadInclusionProof));
		let mut other = attestation.clone();
		other.claim = Claim::Output(hash_of(&output([9.0, 9.0])));
		assert_eq!(check(&other, first + 2), Err(AttestationError::BadInclusionProof));
		let mut moved = attestation.clone();
		moved.inclusion.as_mut().unwrap().index = 3;
		assert_eq!(check(&moved, first + 2), Err(AttestationError::BadInclusionProof));
		// A root the leaf is under that the executor did not sign.
		let mut forged = attestation.clone();
		let leaf = haca_primitives::statement::GroupLeaf {
			job: first + 2,
			attempt: attestation.attempt,
			input_hash: outcome.input_hash,
			output_hash: hash_of(&good_output()),
		};
		forged.inclusion = Inclusion::of(&[leaf], 0);
		assert_eq!(check(&forged, first + 2), Err(AttestationError::BadSignature));
	});
}

#[test]
fn the_outcomes_of_the_latest_groups_are_kept_and_older_ones_replaced() {
	ExtBuilder::default().build_and_execute(|| {
		let groups: Vec<u64> = (0..3)
			.map(|_| {
				let (first, _) = group_results(2);
				run_to_block(System::block_number() + CHALLENGE_WINDOW + 1);
				first
			})
			.collect();
		// The mock keeps two groups' outcomes: the oldest group's went.
		assert!(pallet_jobs::Pallet::<Test>::outcome(groups[0]).is_none());
		assert!(
			pallet_jobs::GroupOutcomes::<Test>::get(groups[0] / pallet_jobs::GROUP_SPAN).is_none()
		);
		for &first in &groups[1..] {
			assert_eq!(check_outcome(first), Ok(()));
			assert_eq!(check_outcome(first + 1), Ok(()));
		}
		assert_eq!(pallet_jobs::GroupOutcomes::<Test>::iter().count(), 2);
	});
}
