//! Quorum mode: commitments, reveals, the tally and slashing of dissenters.

use super::*;

fn salt(who: AccountId) -> [u8; 32] {
	[who as u8; 32]
}

fn commit(job: u64, who: AccountId, bytes: &[u8]) {
	let commitment = Claim::commitment(&hash_of(bytes), &salt(who));
	submit(vec![signed(job, who, Claim::Commitment(commitment), None)]);
}

fn reveal(job: u64, who: AccountId, bytes: &[u8]) {
	let claim = Claim::Reveal { output_hash: hash_of(bytes), salt: salt(who) };
	submit(vec![signed(job, who, claim, Some(bytes.to_vec()))]);
}

#[test]
fn agreeing_executors_settle_and_are_each_paid() {
	run(|| {
		let client_before = Balances::balance(&CLIENT);
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let bytes = good_output();
		for who in &executors {
			commit(job, *who, &bytes);
		}
		System::assert_has_event(Event::RevealOpened { job, until: 1 + REVEAL_WINDOW }.into());
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

#[test]
fn floats_agree_within_the_tolerance_and_dissenters_are_slashed() {
	run(|| {
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
				executors: executors[..2].to_vec().try_into().unwrap(),
				paid: 2 * MODEL_FEE,
				refunded: 1_000 - 2 * MODEL_FEE + job_deposit(),
			}
			.into(),
		);
		assert_eq!(bond_of(executors[2]), BOND - EXECUTOR_SLASH);
		assert_eq!(bond_of(executors[0]), BOND);
	});
}

#[test]
fn silent_executors_are_slashed_when_the_reveal_phase_ends() {
	run(|| {
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let bytes = good_output();
		for who in &executors {
			commit(job, *who, &bytes);
		}
		reveal(job, executors[0], &bytes);
		reveal(job, executors[1], &bytes);
		run_to_block(2 + REVEAL_WINDOW);
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
		assert_eq!(bond_of(executors[2]), BOND - EXECUTOR_SLASH);
	});
}

#[test]
fn the_reveal_phase_opens_at_the_deadline_with_enough_commits() {
	run(|| {
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let bytes = good_output();
		commit(job, executors[0], &bytes);
		commit(job, executors[1], &bytes);
		run_to_block(2 + RESULT_TIMEOUT);
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
	run(|| {
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
		assert_eq!(pallet_jobs::Jobs::<Test>::get(job).unwrap().attempts, 2);
	});
}
