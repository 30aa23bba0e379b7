//! Groups: an attested batch stored, drawn and timed as one record.

use haca_primitives::traits::JobLedger;

use super::*;
use crate::{Groups, PendingPerClient, Undelivered, UndeliveredGroups, GROUP_SPAN};

/// Distinct valid inputs: the members' records must not be mixed up.
fn inputs(count: usize) -> Vec<Vec<u8>> {
	(0..count)
		.map(|n| vec![Tensor::from_f32(&[1, 4], &[n as f32, 2.0, 3.0, 4.0]).unwrap()].encode())
		.collect()
}

/// Submits `count` distinct attested inputs in one batch; returns the first id.
fn submit_group(count: usize) -> u64 {
	let before = System::events().len();
	assert_ok!(submit_batch_as(CLIENT, model(1), inputs(count), ATTESTED, 150));
	let first = System::events()[before..]
		.iter()
		.find_map(|record| match record.event {
			RuntimeEvent::Jobs(Event::Submitted { job, .. }) => Some(job),
			_ => None,
		})
		.unwrap();
	first
}

fn group_size(first: u64) -> Option<u32> {
	Groups::<Test>::get(first / GROUP_SPAN).map(|group| group.size())
}

#[test]
fn an_attested_batch_is_one_group_drawn_to_one_executor() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executors(&[EXEC_A, EXEC_B], 4, &[1])
		.build_and_execute(|| {
			let first = submit_group(4);
			let ids: Vec<u64> = (first..first + 4).collect();
			assert_eq!(first % GROUP_SPAN, 0, "a group starts its span");
			assert!(ids.iter().all(|id| !JobsMap::<Test>::contains_key(id)), "no job records");
			assert_eq!(group_size(first), Some(4));
			assert_eq!(PendingJobs::<Test>::get().into_inner(), vec![Work::Group(first / 64)]);
			assert_eq!(escrow(CLIENT), 4 * (150 + deposit()));
			assert_eq!(pallet_models::Models::<Test>::get(model(1)).unwrap().job_references, 4);

			drawn();
			let deadline = 1 + DRAW_DELAY + RESULT_TIMEOUT;
			let views: Vec<_> = ids.iter().map(|id| Jobs::job(*id).unwrap()).collect();
			let executor = views[0].executors[0];
			assert!(views.iter().all(|view| view.executors == vec![executor]));
			assert!(views.iter().all(|view| view.deadline == Some(deadline)));
			for (id, input) in ids.iter().zip(inputs(4)) {
				assert_eq!(Jobs::input(*id), Some(input.clone()));
				assert_eq!(
					Jobs::job(*id).unwrap().input_hash.0,
					sp_io::hashing::blake2_256(&input)
				);
				System::assert_has_event(
					Event::Assigned {
						job: *id,
						executors: vec![executor].try_into().unwrap(),
						deadline,
						attempt: 1,
					}
					.into(),
				);
			}
			assert_eq!((active_jobs(executor), at_stake(executor)), (4, 4 * MinJobStake::get()));
			assert_eq!(Jobs::undelivered_jobs(&executor), ids);
			let other = if executor == EXEC_A { EXEC_B } else { EXEC_A };
			assert!(Jobs::undelivered_jobs(&other).is_empty());
			assert!(PendingJobs::<Test>::get().is_empty());
			assert_eq!(PendingPerClient::<Test>::get(CLIENT), 0);
		});
}

#[test]
fn members_leave_their_group_one_by_one_and_settle_as_jobs() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executors(&[EXEC_A], 4, &[1])
		.build_and_execute(|| {
			let first = submit_group(3);
			drawn();
			let group = first / GROUP_SPAN;
			let input = inputs(3)[1].clone();

			// A stranger's delivery moves nothing.
			Jobs::note_delivered(first + 1, &EXEC_B);
			assert_eq!(group_size(first), Some(3));

			Jobs::note_delivered(first + 1, &EXEC_A);
			let job = JobsMap::<Test>::get(first + 1).unwrap();
			assert_eq!(job.status, JobStatus::Delivered);
			assert_eq!(job.delivered.into_inner(), vec![EXEC_A]);
			assert_eq!(JobInputs::<Test>::get(first + 1).unwrap().into_inner(), input);
			assert_eq!(group_size(first), Some(2));
			assert_eq!(Jobs::undelivered_jobs(&EXEC_A), vec![first, first + 2]);
			assert_eq!((active_jobs(EXEC_A), at_stake(EXEC_A)), (2, 3 * MinJobStake::get()));

			let balance = Balances::balance(&EXEC_A);
			assert_ok!(Jobs::settle(first + 1, &[(EXEC_A, 100)], settled_result(EXEC_A)));
			assert_eq!(Balances::balance(&EXEC_A), balance + 100);
			assert_eq!(escrow(CLIENT), 2 * (150 + deposit()));

			for id in [first, first + 2] {
				Jobs::note_delivered(id, &EXEC_A);
			}
			assert!(Groups::<Test>::get(group).is_none(), "the last member ended the group");
			assert!(!UndeliveredGroups::<Test>::contains_key(EXEC_A, group));
			for id in [first, first + 2] {
				assert_ok!(Jobs::settle(id, &[(EXEC_A, 100)], settled_result(EXEC_A)));
			}
			assert_eq!(escrow(CLIENT), 0);
			assert_eq!((active_jobs(EXEC_A), at_stake(EXEC_A)), (0, 0));
			assert_eq!(pallet_models::Models::<Test>::get(model(1)).unwrap().job_references, 0);
			// Its stale deadline is skipped when reached.
			run_to_block(1 + DRAW_DELAY + RESULT_TIMEOUT + 1);
			assert_eq!(pallet_executors::Executors::<Test>::get(EXEC_A).unwrap().reputation, 100);
		});
}

#[test]
fn a_group_no_executor_can_take_whole_dissolves_into_jobs_of_their_own() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executors(&[EXEC_A, EXEC_B, EXEC_C], 1, &[1])
		.build_and_execute(|| {
			let first = submit_group(4);
			let ids: Vec<u64> = (first..first + 4).collect();
			drawn();
			System::assert_has_event(Event::GroupDissolved { first }.into());
			assert!(Groups::<Test>::get(first / GROUP_SPAN).is_none());
			assert_eq!(
				PendingJobs::<Test>::get().into_inner(),
				ids.iter().copied().map(Work::Job).collect::<Vec<_>>(),
				"the members wait in the group's place, same ids"
			);
			for (id, input) in ids.iter().zip(inputs(4)) {
				assert_eq!(JobInputs::<Test>::get(id).unwrap().into_inner(), input);
			}
			assert_eq!(PendingPerClient::<Test>::get(CLIENT), 4);
			run_to_block(System::block_number() + 1);
			let assigned: Vec<_> = ids
				.iter()
				.filter(|id| {
					matches!(JobsMap::<Test>::get(id).unwrap().status, JobStatus::Assigned { .. })
				})
				.collect();
			assert_eq!(assigned.len(), 3, "one each, as capacity allows");
			assert_eq!([EXEC_A, EXEC_B, EXEC_C].map(active_jobs), [1, 1, 1]);
		});
}

#[test]
fn a_group_waits_while_no_executor_can_take_even_one_of_its_jobs() {
	ExtBuilder::default().model(1, ModeSet::ATTESTED_OR_QUORUM).build_and_execute(|| {
		let first = submit_group(2);
		drawn();
		assert_eq!(group_size(first), Some(2), "not dissolved: nobody could take a member");
		register_executor(EXEC_A, 2, &[model(1)]);
		run_to_block(System::block_number() + 1);
		assert_eq!(Jobs::undelivered_jobs(&EXEC_A), vec![first, first + 1]);
	});
}

#[test]
fn a_group_that_misses_its_deadline_costs_its_executor_every_members_lateness() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executors(&[EXEC_A, EXEC_B], 4, &[1])
		.build_and_execute(|| {
			let first = submit_group(3);
			drawn();
			let late = Jobs::job(first).unwrap().executors[0];
			let other = if late == EXEC_A { EXEC_B } else { EXEC_A };
			// One member delivered in time: it is no longer the group's.
			Jobs::note_delivered(first, &late);

			let deadline = 1 + DRAW_DELAY + RESULT_TIMEOUT;
			run_to_block(deadline + 1);
			let lateness = LatenessSlash::get() * MinJobStake::get();
			assert_eq!(bond_of(late), MinBond::get() - 2 * lateness, "two members were late");
			assert_eq!(Balances::balance(&CLIENT), INITIAL_BALANCE - escrow(CLIENT) + 2 * lateness);
			for id in [first + 1, first + 2] {
				System::assert_has_event(
					Event::DeadlineMissed { job: id, executors: vec![late].try_into().unwrap() }
						.into(),
				);
			}
			assert_eq!(pallet_executors::Executors::<Test>::get(late).unwrap().reputation, 90);
			assert_eq!(
				(active_jobs(late), at_stake(late)),
				(0, MinJobStake::get()),
				"the delivered member's stake stays until it settles"
			);
			assert_eq!(Jobs::job(first + 1).unwrap().deadline, None, "waiting again");

			drawn();
			assert_eq!(Jobs::undelivered_jobs(&other), vec![first + 1, first + 2], "the other");
			assert_eq!(Jobs::job(first + 1).unwrap().attempt, 2);

			// The second executor is late too: after `MaxAttempts` the members fail, refunded.
			run_to_block(deadline + 1 + DRAW_DELAY + RESULT_TIMEOUT + 1);
			assert!(Groups::<Test>::get(first / GROUP_SPAN).is_none());
			for id in [first + 1, first + 2] {
				System::assert_has_event(
					Event::Failed { job: id, refunded: 150 + deposit() }.into(),
				);
				assert!(Jobs::job(id).is_none());
			}
			assert_eq!(escrow(CLIENT), 150 + deposit(), "the delivered member's");
			assert_eq!((active_jobs(other), at_stake(other)), (0, 0));
		});
}

#[test]
fn clients_cancel_waiting_members_one_by_one() {
	ExtBuilder::default().model(1, ModeSet::ATTESTED_OR_QUORUM).build_and_execute(|| {
		let first = submit_group(2);
		assert_noop!(Jobs::cancel(RuntimeOrigin::signed(OWNER), first), Error::<Test>::NotClient);
		assert_ok!(Jobs::cancel(RuntimeOrigin::signed(CLIENT), first + 1));
		System::assert_has_event(
			Event::Cancelled { job: first + 1, refunded: 150 + deposit() }.into(),
		);
		assert_eq!(group_size(first), Some(1));
		assert_eq!(escrow(CLIENT), 150 + deposit());
		assert_eq!(PendingPerClient::<Test>::get(CLIENT), 1);
		assert_noop!(
			Jobs::cancel(RuntimeOrigin::signed(CLIENT), first + 1),
			Error::<Test>::UnknownJob
		);
		assert_ok!(Jobs::cancel(RuntimeOrigin::signed(CLIENT), first));
		assert!(Groups::<Test>::get(first / GROUP_SPAN).is_none());
		assert!(PendingJobs::<Test>::get().is_empty());
		assert_eq!(escrow(CLIENT), 0);
		assert!(!Undelivered::<Test>::iter().any(|_| true));
	});
}

#[test]
fn a_member_re_run_or_failed_alone_leaves_its_group() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executors(&[EXEC_A, EXEC_B], 4, &[1])
		.build_and_execute(|| {
			let first = submit_group(3);
			drawn();
			let executor = Jobs::job(first).unwrap().executors[0];
			Jobs::rerun(first, &[executor]);
			let job = JobsMap::<Test>::get(first).unwrap();
			assert_eq!((job.status, job.avoid.into_inner()), (JobStatus::Pending, vec![executor]));
			assert_eq!(PendingJobs::<Test>::get().into_inner(), vec![Work::Job(first)]);
			Jobs::fail(first + 1);
			System::assert_has_event(
				Event::Failed { job: first + 1, refunded: 150 + deposit() }.into(),
			);
			assert_eq!(group_size(first), Some(1));
			assert_eq!((active_jobs(executor), at_stake(executor)), (1, MinJobStake::get()));
			assert_eq!(escrow(CLIENT), 2 * (150 + deposit()));
		});
}

#[test]
fn the_hook_charges_a_group_for_what_its_draw_did() {
	use crate::WeightInfo;
	use frame_support::traits::Hooks;
	type Weights = <Test as crate::Config>::WeightInfo;
	ExtBuilder::default().model(1, ModeSet::ATTESTED_OR_QUORUM).build_and_execute(|| {
		let first = submit_group(2);
		let draw = |now: u64| {
			System::set_block_number(now);
			<Jobs as Hooks<u64>>::on_initialize(now)
		};
		// Nobody can take it: it waits, charged a draw.
		run_to_block(DRAW_DELAY);
		assert_eq!(draw(1 + DRAW_DELAY), Jobs::hook_base_weight() + Weights::draw_group(2));
		// Until it fails, charged its failure.
		run_to_block(PENDING_TIMEOUT);
		assert_eq!(draw(1 + PENDING_TIMEOUT), Jobs::hook_base_weight() + Weights::fail_group(2));
		assert_eq!(group_size(first), None);
	});
}
