//! Phase ends: room for every one, and blocks that spend no more than their weight on them.

use frame_support::traits::Get;
use haca_primitives::statement::Claim;

use super::*;
use crate::{weights::WeightInfo, Timer, TimerPages, TimersDue};

/// An attacker fills every block's timers around a challenge (here directly, as many
/// results' windows would): the challenge still opens, and its phases still end.
#[test]
fn a_full_timer_wheel_cannot_stop_a_challenge() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, _) = provisional_result();
		let now = System::block_number();
		for block in now + 1..now + 64 {
			for _ in 0..<Test as crate::Config>::MaxTimersPerPage::get() {
				Settlement::schedule(block, u64::MAX, Timer::Dispute);
			}
		}
		assert_ok!(Settlement::challenge(
			RuntimeOrigin::signed(VERIFIERS[0]),
			job,
			hash_of(&output([9.0, 9.0]))
		));
		assert_eq!(TimerPages::<Test>::get(now + 1), 2, "the committee draw opened a page");
		drawn();
		assert_eq!(Disputes::<Test>::get(job).unwrap().committee.len(), 3);
	});
}

/// Five results' windows end in one block that can spend the weight of only two: they
/// settle over three blocks, in order, none lost.
#[test]
fn phase_ends_beyond_a_blocks_weight_are_carried_over() {
	ExtBuilder::default().build_and_execute(|| {
		// Within the queue's room for new jobs: four, then one.
		let mut jobs = submit_jobs(VerificationMode::Attested, 500, 4);
		jobs.extend(submit_jobs(VerificationMode::Attested, 500, 1));
		let bytes = good_output();
		let results: Vec<_> = jobs
			.iter()
			.map(|(job, executors)| {
				signed(*job, executors[0], Claim::Output(hash_of(&bytes)), Some(bytes.clone()))
			})
			.collect();
		for batch in results.chunks(2) {
			submit(batch.to_vec());
		}
		let due = System::block_number() + CHALLENGE_WINDOW + 1;
		assert_eq!(TimerPages::<Test>::get(due), 2, "five timers in pages of four");
		let weights = <Test as crate::Config>::WeightInfo::timer_challenge_window;
		let two = <Test as frame_system::Config>::DbWeight::get().reads_writes(1, 1)
			+ <() as WeightInfo>::timer_block()
			+ <() as WeightInfo>::timer_page() * 2
			+ weights() * 2;
		MaxTimerWeight::set(two);

		let settled = || jobs.iter().filter(|(job, _)| Jobs::job(*job).is_none()).count();
		run_to_block(due);
		assert_eq!(settled(), 2);
		assert_eq!(TimersDue::<Test>::get(), (due, 0), "the first page is left half done");
		run_to_block(due + 1);
		assert_eq!(settled(), 4);
		run_to_block(due + 2);
		assert_eq!(settled(), 5);
		assert!(TimersDue::<Test>::get().0 > due);
		assert_eq!(TimerPages::<Test>::get(due), 0, "the block's pages are gone");
	});
}
