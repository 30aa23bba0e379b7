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
