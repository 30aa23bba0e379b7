//! What the runtime API reports: job phases, results, open disputes.

use super::*;
use haca_primitives::runtime_api::{Due, JobPhase};

#[test]
fn reports_and_pending_work_follow_the_job() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
		let report = crate::Pallet::<Test>::report(job).unwrap();
		assert_eq!(report.phase, JobPhase::Running { deadline: DRAWN_AT + RESULT_TIMEOUT });
		let work = crate::Pallet::<Test>::pending_work(&executors[0]);
		assert_eq!(work.len(), 1);
		assert_eq!((work[0].job, work[0].due), (job, Due::Commitment));

		let bytes = good_output();
		let salt = [1u8; 32];
		for who in &executors {
			let commitment = Claim::commitment(job, 1, who, &hash_of(&bytes), &salt);
			submit(vec![signed(job, *who, Claim::Commitment(commitment), None)]);
		}
		assert_eq!(
			crate::Pallet::<Test>::report(job).unwrap().phase,
			JobPhase::Revealing { until: DRAWN_AT + REVEAL_WINDOW }
		);
		assert_eq!(crate::Pallet::<Test>::pending_work(&executors[1])[0].due, Due::Reveal);

		let (attested, attested_executors) = submit_job(VerificationMode::Attested, 500);
		submit(vec![signed(
			attested,
			attested_executors[0],
			Claim::Output(hash_of(&bytes)),
			Some(bytes.clone()),
		)]);
		let report = crate::Pallet::<Test>::report(attested).unwrap();
		assert_eq!(report.output_hash, Some(hash_of(&bytes)));
		assert_eq!(report.outputs, Some(bytes));
		assert!(crate::Pallet::<Test>::open_disputes().is_empty());
		assert_ok!(Settlement::challenge(
			RuntimeOrigin::signed(VERIFIERS[0]),
			attested,
			H256::repeat_byte(3)
		));
		assert_eq!(crate::Pallet::<Test>::report(attested).unwrap().phase, JobPhase::Disputed);
		assert_eq!(crate::Pallet::<Test>::open_disputes()[0].0, attested);
	});
}

/// Size of the storage proof of what `read` reads from `ext`'s state: it grows with every
/// entry the read touches.
fn proof_size<R>(ext: &mut sp_io::TestExternalities, read: impl FnOnce() -> R) -> usize {
	use codec::Encode;
	ext.commit_all().unwrap();
	ext.execute_and_prove(read).1.encoded_size()
}

/// What a node owes (statements, reveals, votes) and may audit is read from indexes by its
/// account (and its models), not by walking every job, result, round and dispute on chain
/// on every block and every runtime API call: the reads for a verifier with nothing to do
/// grow by much less, as the chain's open work grows, than one walk over the jobs does.
#[test]
fn a_nodes_own_work_is_read_without_walking_everyone_elses() {
	type Worker = crate::Pallet<Test>;
	let idle = VERIFIERS[4];
	let reads = |count: u64| {
		let mut ext = ExtBuilder::default().build();
		ext.execute_with(|| {
			for who in EXECUTORS {
				assert_ok!(pallet_executors::Pallet::<Test>::bond_extra(
					RuntimeOrigin::signed(who),
					10 * BOND
				));
			}
			assert_ok!(pallet_executors::Pallet::<Test>::set_models(
				RuntimeOrigin::signed(idle),
				Default::default()
			));
			let bytes = good_output();
			for (job, executors) in submit_jobs(VerificationMode::Attested, 500, count) {
				let claim = Claim::Output(hash_of(&bytes));
				submit(vec![signed(job, executors[0], claim, Some(bytes.clone()))]);
				assert_ok!(Settlement::challenge(
					RuntimeOrigin::signed(VERIFIERS[0]),
					job,
					H256::repeat_byte(1)
				));
			}
			drawn();
			for (job, executors) in submit_jobs(QUORUM_2_OF_3, 1_000, count) {
				for who in &executors {
					let commitment = Claim::commitment(job, 1, who, &hash_of(&bytes), &[1; 32]);
					submit(vec![signed(job, *who, Claim::Commitment(commitment), None)]);
				}
				assert!(Quorums::<Test>::get(job).unwrap().reveal_until.is_some());
			}
			assert_eq!(
				Disputes::<Test>::iter().filter(|(_, d)| d.committee.len() == 3).count(),
				count as usize
			);
		});
		[
			proof_size(&mut ext, || pallet_jobs::Jobs::<Test>::iter().count()),
			proof_size(&mut ext, || Worker::pending_work(&idle)),
			proof_size(&mut ext, || <Worker as haca_worker::Chain>::votes_due(&idle)),
			proof_size(&mut ext, || <Worker as haca_worker::Chain>::challengeable_results(&idle)),
		]
	};
	let (few, many) = (reads(1), reads(4));
	let walk = many[0] - few[0];
	for (what, index) in ["pending work", "votes due", "challengeable results"].iter().zip(1..) {
		let growth = many[index].saturating_sub(few[index]);
		println!("{what}: {growth} bytes more to read, a walk over the jobs {walk}");
		assert!(growth * 3 < walk, "{what}: {growth} bytes more to read, a walk {walk}");
	}
}
