//! Unit tests of the executors pallet.

use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
};
use haca_primitives::traits::{ExecutorAccountability, ExecutorDirectory, ExecutorRegistry};
use sp_runtime::Perbill;

use crate::{
	mock::*, Error, Event, Executors, HoldReason, KeyOwners, ModelServers, ModelVerifiers, Roles,
	Verifiers,
};

const EXECUTOR: Roles = Roles { executor: true, verifier: false };
const VERIFIER: Roles = Roles { executor: false, verifier: true };
const BOTH: Roles = Roles { executor: true, verifier: true };

fn models(ns: &[u8]) -> crate::ServedModels<Test> {
	ns.iter().map(|n| model(*n)).collect::<Vec<_>>().try_into().unwrap()
}

fn register(
	who: AccountId,
	roles: Roles,
	bond: Balance,
	capacity: u32,
	served: &[u8],
) -> sp_runtime::DispatchResult {
	Registry::register(
		RuntimeOrigin::signed(who),
		roles,
		key(who as u8),
		proof(who, who as u8),
		bond,
		capacity,
		models(served),
	)
}

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::Registry(HoldReason::Bond), &who)
}

fn run(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		crate::Pallet::<Test>::do_try_state().expect("invariants hold");
	});
}

#[test]
fn executors_register_with_a_held_bond_and_are_indexed() {
	run(|| {
		assert_ok!(register(ALICE, EXECUTOR, 2_000, 2, &[1, 2]));
		assert_eq!(held(ALICE), 2_000);
		assert_eq!(ModelServers::<Test>::get(model(1)).into_inner(), vec![ALICE]);
		assert_eq!(ModelServers::<Test>::get(model(2)).into_inner(), vec![ALICE]);
		assert_eq!(KeyOwners::<Test>::get(key(1)), Some(ALICE));
		assert!(Verifiers::<Test>::get().is_empty());
		assert_eq!(Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE), vec![ALICE]);
		assert!(Registry::is_executor(&ALICE));
		assert!(!Registry::is_executor(&BOB));
		System::assert_last_event(
			Event::Registered { who: ALICE, roles: EXECUTOR, key: key(1), bond: 2_000 }.into(),
		);
	});
}

#[test]
fn verifiers_choose_the_models_they_audit() {
	run(|| {
		assert_ok!(register(BOB, VERIFIER, VERIFIER_BOND, 0, &[]));
		assert_eq!(Registry::verifiers(), vec![BOB]);
		assert_eq!(Executors::<Test>::get(BOB).unwrap().capacity, 0);
		assert!(Registry::verifiers_of(&model(1)).is_empty());
		assert_ok!(register(CHARLIE, VERIFIER, VERIFIER_BOND, 0, &[1, 2]));
		assert_ok!(Registry::set_models(RuntimeOrigin::signed(BOB), models(&[1])));
		assert_eq!(Registry::verifiers_of(&model(1)), vec![CHARLIE, BOB]);
		assert_eq!(Registry::verifiers_of(&model(2)), vec![CHARLIE]);
		assert_eq!(Registry::verifier_count(&model(1)), 2);
		// A verifier serves nothing: its models are audited, not drawn for jobs.
		assert!(Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE).is_empty());
		assert_noop!(
			Registry::set_capacity(RuntimeOrigin::signed(BOB), 1),
			Error::<Test>::NotAnExecutor
		);
		// Out of the verifier set, out of every model's auditors.
		assert_ok!(Registry::unbond(RuntimeOrigin::signed(CHARLIE)));
		assert_eq!(Registry::verifiers_of(&model(1)), vec![BOB]);
		assert!(!ModelVerifiers::<Test>::contains_key(model(2)));
	});
}

#[test]
fn registration_rejects_bad_input_without_holding_funds() {
	run(|| {
		assert_noop!(register(ALICE, Roles::default(), 5_000, 1, &[]), Error::<Test>::NoRole);
		assert_noop!(
			register(ALICE, EXECUTOR, EXECUTOR_BOND - 1, 1, &[1]),
			Error::<Test>::BondTooLow
		);
		assert_noop!(register(ALICE, BOTH, VERIFIER_BOND, 1, &[1]), Error::<Test>::BondTooLow);
		assert_noop!(
			register(ALICE, EXECUTOR, EXECUTOR_BOND, 0, &[1]),
			Error::<Test>::InvalidCapacity
		);
		assert_noop!(
			register(ALICE, EXECUTOR, EXECUTOR_BOND, 9, &[1]),
			Error::<Test>::InvalidCapacity
		);
		assert_noop!(
			register(ALICE, EXECUTOR, EXECUTOR_BOND, 1, &[7]),
			Error::<Test>::ModelNotActive
		);
		assert_noop!(
			register(ALICE, EXECUTOR, EXECUTOR_BOND, 1, &[1, 1]),
			Error::<Test>::DuplicateModel
		);
		assert_noop!(
			register(POOR, EXECUTOR, EXECUTOR_BOND, 1, &[1]),
			Error::<Test>::InsufficientBalance
		);
		assert_eq!(held(ALICE) + held(POOR), 0);
	});
}

#[test]
fn double_registration_and_shared_keys_are_rejected() {
	run(|| {
		assert_ok!(register(ALICE, EXECUTOR, EXECUTOR_BOND, 1, &[1]));
		assert_noop!(
			register(ALICE, VERIFIER, VERIFIER_BOND, 0, &[]),
			Error::<Test>::AlreadyRegistered
		);
		assert_noop!(
			Registry::register(
				RuntimeOrigin::signed(BOB),
				EXECUTOR,
				key(1),
				proof(BOB, 1),
				EXECUTOR_BOND,
				1,
				models(&[1])
			),
			Error::<Test>::KeyInUse
		);
	});
}

#[test]
fn server_and_verifier_lists_are_bounded() {
	run(|| {
		assert_ok!(register(ALICE, BOTH, EXECUTOR_BOND, 1, &[1]));
		assert_ok!(register(BOB, BOTH, EXECUTOR_BOND, 1, &[1]));
		assert_noop!(
			register(CHARLIE, EXECUTOR, EXECUTOR_BOND, 1, &[1]),
			Error::<Test>::TooManyExecutors
		);
		assert_noop!(
			register(CHARLIE, VERIFIER, VERIFIER_BOND, 0, &[]),
			Error::<Test>::TooManyVerifiers
		);
		assert_eq!(held(CHARLIE), 0);
	});
}

#[test]
fn the_verifier_set_keeps_the_largest_bonds_and_no_verifier_below_the_minimum() {
	run(|| {
		assert_ok!(register(ALICE, VERIFIER, VERIFIER_BOND, 0, &[]));
		assert_ok!(register(BOB, VERIFIER, VERIFIER_BOND, 0, &[]));
		assert_noop!(
			register(CHARLIE, VERIFIER, VERIFIER_BOND, 0, &[]),
			Error::<Test>::TooManyVerifiers
		);

		// A larger bond takes the place of the smallest, the later registered of equals.
		assert_ok!(register(CHARLIE, VERIFIER, VERIFIER_BOND + 1, 0, &[]));
		System::assert_has_event(Event::LeftVerifierSet { who: BOB }.into());
		assert_eq!(sorted(Registry::verifiers()), vec![ALICE, CHARLIE]);
		assert!(Executors::<Test>::get(BOB).unwrap().roles.verifier, "still registered");

		// A verifier slashed below the minimum leaves the set, and its room is taken by the
		// next top-up.
		Registry::slash(&ALICE, 1, &[]);
		System::assert_has_event(Event::LeftVerifierSet { who: ALICE }.into());
		assert_eq!(Registry::verifiers(), vec![CHARLIE]);
		assert_ok!(Registry::bond_extra(RuntimeOrigin::signed(BOB), 1));
		System::assert_has_event(Event::JoinedVerifierSet { who: BOB }.into());
		assert_eq!(sorted(Registry::verifiers()), vec![BOB, CHARLIE]);

		// Back at the minimum, ALICE's bond is too small to take a place.
		assert_ok!(Registry::bond_extra(RuntimeOrigin::signed(ALICE), 1));
		assert_eq!(sorted(Registry::verifiers()), vec![BOB, CHARLIE]);
		assert_ok!(Registry::bond_extra(RuntimeOrigin::signed(ALICE), 2));
		System::assert_has_event(Event::LeftVerifierSet { who: BOB }.into());
		assert_eq!(sorted(Registry::verifiers()), vec![ALICE, CHARLIE]);
	});
}

fn sorted(mut accounts: Vec<AccountId>) -> Vec<AccountId> {
	accounts.sort();
	accounts
}

#[test]
fn served_models_capacity_and_keys_can_change() {
	run(|| {
		assert_ok!(register(ALICE, EXECUTOR, EXECUTOR_BOND, 1, &[1, 2]));
		assert_ok!(Registry::set_models(RuntimeOrigin::signed(ALICE), models(&[2, 3])));
		assert!(!ModelServers::<Test>::contains_key(model(1)));
		assert_eq!(ModelServers::<Test>::get(model(3)).into_inner(), vec![ALICE]);
		assert_noop!(
			Registry::set_models(RuntimeOrigin::signed(ALICE), models(&[5])),
			Error::<Test>::ModelNotActive
		);

		// A busy executor may stop serving a model: it gets no new jobs of it.
		Registry::note_assigned(&ALICE, 1, MIN_JOB_STAKE);
		assert_ok!(Registry::set_models(RuntimeOrigin::signed(ALICE), models(&[3])));
		assert!(!ModelServers::<Test>::contains_key(model(2)));
		assert_eq!(Executors::<Test>::get(ALICE).unwrap().active_jobs, 1);
		Registry::note_released(&ALICE, 1);
		assert_ok!(Registry::set_models(RuntimeOrigin::signed(ALICE), models(&[2, 3])));

		assert_ok!(Registry::set_capacity(RuntimeOrigin::signed(ALICE), 3));
		assert_eq!(Executors::<Test>::get(ALICE).unwrap().capacity, 3);
		assert_noop!(
			Registry::set_capacity(RuntimeOrigin::signed(ALICE), 0),
			Error::<Test>::InvalidCapacity
		);
		assert_noop!(
			Registry::set_capacity(RuntimeOrigin::signed(BOB), 1),
			Error::<Test>::NotRegistered
		);

		assert_ok!(register(BOB, VERIFIER, VERIFIER_BOND, 0, &[]));
		assert_noop!(
			Registry::set_key(RuntimeOrigin::signed(ALICE), key(2), proof(ALICE, 2)),
			Error::<Test>::KeyInUse
		);
		assert_ok!(Registry::set_key(RuntimeOrigin::signed(ALICE), key(42), proof(ALICE, 42)));
		assert_eq!(Registry::key_owner(&key(42)), Some(ALICE));
		assert_eq!(Registry::session_key(&ALICE), Some(key(42)));
		assert_eq!(Registry::key_owner(&key(1)), None);
	});
}

#[test]
fn eligibility_respects_capacity_and_reputation() {
	run(|| {
		assert_ok!(register(ALICE, EXECUTOR, EXECUTOR_BOND, 1, &[1]));
		assert_ok!(register(BOB, EXECUTOR, EXECUTOR_BOND, 2, &[1]));
		assert_eq!(Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE), vec![ALICE, BOB]);

		Registry::note_assigned(&ALICE, 1, MIN_JOB_STAKE);
		assert_eq!(
			Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE),
			vec![BOB],
			"Alice full"
		);
		Registry::note_assigned(&BOB, 1, MIN_JOB_STAKE);
		assert_eq!(Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE), vec![BOB], "1 of 2");
		Registry::note_released(&ALICE, 1);
		Registry::note_released(&BOB, 1);
		assert_eq!(Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE), vec![ALICE, BOB]);

		for _ in 0..3 {
			Registry::note_missed_deadline(&BOB);
		}
		assert_eq!(Executors::<Test>::get(BOB).unwrap().reputation, 0);
		assert_eq!(Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE), vec![ALICE]);
		System::assert_last_event(Event::ReputationLowered { who: BOB, reputation: 0 }.into());

		Registry::note_settled(&BOB);
		assert_eq!(Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE), vec![ALICE, BOB]);
		for _ in 0..500 {
			Registry::note_settled(&ALICE);
		}
		assert_eq!(Executors::<Test>::get(ALICE).unwrap().reputation, 100);
	});
}

#[test]
fn unbonding_waits_for_the_delay_jobs_and_disputes() {
	run(|| {
		assert_ok!(register(ALICE, BOTH, EXECUTOR_BOND, 2, &[1]));
		assert_noop!(Registry::withdraw(RuntimeOrigin::signed(ALICE)), Error::<Test>::NotUnbonding);
		Registry::note_assigned(&ALICE, 1, MIN_JOB_STAKE);
		Registry::begin_dispute(&ALICE);

		assert_ok!(Registry::unbond(RuntimeOrigin::signed(ALICE)));
		System::assert_last_event(
			Event::UnbondingStarted { who: ALICE, until: 1 + UNBONDING_DELAY }.into(),
		);
		assert!(Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE).is_empty());
		assert!(Registry::verifiers().is_empty());
		// It still owes the result of its job.
		assert!(Registry::is_executor(&ALICE));
		assert_noop!(
			Registry::unbond(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::AlreadyUnbonding
		);
		assert_noop!(
			Registry::set_models(RuntimeOrigin::signed(ALICE), models(&[2])),
			Error::<Test>::AlreadyUnbonding
		);

		assert_noop!(
			Registry::withdraw(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::UnbondingNotOver
		);
		System::set_block_number(1 + UNBONDING_DELAY);
		assert_noop!(
			Registry::withdraw(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::JobsInProgress
		);
		Registry::note_released(&ALICE, 1);
		assert_noop!(Registry::withdraw(RuntimeOrigin::signed(ALICE)), Error::<Test>::UnderDispute);
		Registry::end_dispute(&ALICE);
		// Delivered, not settled yet: its stake still binds the bond.
		assert_noop!(Registry::withdraw(RuntimeOrigin::signed(ALICE)), Error::<Test>::StakeBound);
		Registry::release_stake(&ALICE, MIN_JOB_STAKE);

		assert_ok!(Registry::withdraw(RuntimeOrigin::signed(ALICE)));
		assert_eq!(held(ALICE), 0);
		assert_eq!(Balances::balance(&ALICE), INITIAL_BALANCE);
		assert!(Executors::<Test>::get(ALICE).is_none());
		assert_eq!(Registry::key_owner(&key(1)), None);
		System::assert_last_event(Event::Withdrawn { who: ALICE, bond: EXECUTOR_BOND }.into());
	});
}

#[test]
fn slashing_rewards_the_beneficiary_and_burns_the_rest() {
	run(|| {
		assert_ok!(register(ALICE, EXECUTOR, 2_000, 1, &[1]));
		let issuance = Balances::total_issuance();

		let taken = Registry::slash(&ALICE, 1_000, &[(&BOB, Perbill::from_percent(30))]);
		assert_eq!(taken, 1_000);
		assert_eq!(held(ALICE), 1_000);
		assert_eq!(Executors::<Test>::get(ALICE).unwrap().bond, 1_000);
		assert_eq!(Balances::balance(&BOB), INITIAL_BALANCE + 300);
		assert_eq!(Balances::total_issuance(), issuance - 700);
		System::assert_last_event(
			Event::Slashed { who: ALICE, amount: 1_000, rewarded: 300 }.into(),
		);

		// A slash never takes more than the bond.
		assert_eq!(Registry::slash(&ALICE, 5_000, &[(&BOB, Perbill::from_percent(30))]), 1_000);
		assert_eq!(held(ALICE), 0);
	});
}

#[test]
fn an_executor_slashed_below_the_minimum_bond_gets_no_jobs_until_it_tops_up() {
	run(|| {
		assert_ok!(register(ALICE, EXECUTOR, 2 * EXECUTOR_BOND, 2, &[1]));
		Registry::slash(&ALICE, EXECUTOR_BOND, &[]);
		assert_eq!(
			Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE),
			vec![ALICE],
			"at the minimum"
		);
		Registry::slash(&ALICE, 1, &[]);
		assert!(
			Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE).is_empty(),
			"below the minimum"
		);

		assert_noop!(
			Registry::bond_extra(RuntimeOrigin::signed(POOR), 1),
			Error::<Test>::NotRegistered
		);
		assert_noop!(
			Registry::bond_extra(RuntimeOrigin::signed(ALICE), INITIAL_BALANCE),
			Error::<Test>::InsufficientBalance
		);
		assert_ok!(Registry::bond_extra(RuntimeOrigin::signed(ALICE), 1));
		System::assert_last_event(
			Event::BondIncreased { who: ALICE, amount: 1, bond: EXECUTOR_BOND }.into(),
		);
		assert_eq!(held(ALICE), EXECUTOR_BOND);
		assert_eq!(
			Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE),
			vec![ALICE],
			"topped up"
		);

		assert_ok!(Registry::unbond(RuntimeOrigin::signed(ALICE)));
		assert_noop!(
			Registry::bond_extra(RuntimeOrigin::signed(ALICE), 1),
			Error::<Test>::AlreadyUnbonding
		);
	});
}

#[test]
fn a_job_stakes_a_multiple_of_its_fee_and_at_least_the_minimum() {
	run(|| {
		assert_eq!(Registry::job_stake(0), MIN_JOB_STAKE, "fee-less jobs stake the minimum");
		assert_eq!(Registry::job_stake(MIN_JOB_STAKE / 10), MIN_JOB_STAKE);
		assert_eq!(Registry::job_stake(100), 1_000, "ten times the fee above the minimum");
		assert_eq!(Registry::job_stake(Balance::MAX), Balance::MAX, "saturates");
	});
}

#[test]
fn an_executor_holds_no_more_jobs_than_its_bond_backs() {
	run(|| {
		// Capacity 8, but a bond covering three stakes of `MIN_JOB_STAKE` (1_000 / 300).
		assert_ok!(register(ALICE, EXECUTOR, EXECUTOR_BOND, 8, &[1]));
		for held in 1..=3 {
			Registry::note_assigned(&ALICE, 1, MIN_JOB_STAKE);
			let eligible = !Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE).is_empty();
			assert_eq!(eligible, held < 3, "a fourth stake is not covered");
		}

		// Delivering frees capacity, not the stake: the result may still be found a lie.
		(0..3).for_each(|_| Registry::note_released(&ALICE, 1));
		assert!(Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE).is_empty());
		assert_eq!(Executors::<Test>::get(ALICE).unwrap().at_stake, 3 * MIN_JOB_STAKE);

		Registry::release_stake(&ALICE, MIN_JOB_STAKE);
		assert_eq!(Registry::eligible_executors(&model(1), 1, MIN_JOB_STAKE), vec![ALICE]);
		let larger = EXECUTOR_BOND - 2 * MIN_JOB_STAKE + 1;
		assert!(
			Registry::eligible_executors(&model(1), 1, larger).is_empty(),
			"a larger stake is not covered"
		);
		assert_ok!(Registry::bond_extra(RuntimeOrigin::signed(ALICE), 1));
		assert_eq!(Registry::eligible_executors(&model(1), 1, larger), vec![ALICE]);
	});
}

/// A key is registered (or set) only with its holder's proof of possession for the caller
/// on this chain: nobody can take another's key (squatting it, so that its holder's own
/// registration fails with `KeyInUse`, or having statements signed with it counted as its).
#[test]
fn a_key_needs_its_holders_proof_for_the_caller_on_this_chain() {
	run(|| {
		let register_with = |who, key_n, proof| {
			Registry::register(
				RuntimeOrigin::signed(who),
				VERIFIER,
				key(key_n),
				proof,
				VERIFIER_BOND,
				0,
				models(&[]),
			)
		};
		// Bob front-runs Alice's registration with her key and the proof she made for her.
		assert_noop!(register_with(BOB, 1, proof(ALICE, 1)), Error::<Test>::BadKeyProof);
		// Or with a proof by another key.
		assert_noop!(register_with(BOB, 1, proof(BOB, 2)), Error::<Test>::BadKeyProof);
		// Alice's own proof, but made for another chain.
		let genesis = frame_system::BlockHash::<Test>::get(0);
		frame_system::BlockHash::<Test>::insert(0, sp_core::H256::repeat_byte(7));
		let elsewhere = proof(ALICE, 1);
		frame_system::BlockHash::<Test>::insert(0, genesis);
		assert_noop!(register_with(ALICE, 1, elsewhere), Error::<Test>::BadKeyProof);
		assert_eq!(held(BOB) + held(ALICE), 0);

		assert_ok!(register_with(ALICE, 1, proof(ALICE, 1)));
		assert_eq!(Registry::key_owner(&key(1)), Some(ALICE));
		assert_noop!(
			Registry::set_key(RuntimeOrigin::signed(ALICE), key(5), proof(BOB, 5)),
			Error::<Test>::BadKeyProof
		);
		assert_ok!(Registry::set_key(RuntimeOrigin::signed(ALICE), key(5), proof(ALICE, 5)));
	});
}

#[test]
fn several_jobs_at_once_need_room_and_bond_for_all_of_them() {
	run(|| {
		// Capacity 8, a bond covering three stakes of `MIN_JOB_STAKE`.
		assert_ok!(register(ALICE, EXECUTOR, EXECUTOR_BOND, 8, &[1]));
		assert_eq!(Registry::eligible_executors(&model(1), 3, MIN_JOB_STAKE), vec![ALICE]);
		assert!(Registry::eligible_executors(&model(1), 4, MIN_JOB_STAKE).is_empty(), "bond");
		Registry::note_assigned(&ALICE, 3, MIN_JOB_STAKE);
		let info = Executors::<Test>::get(ALICE).unwrap();
		assert_eq!((info.active_jobs, info.at_stake), (3, 3 * MIN_JOB_STAKE));
		Registry::note_released(&ALICE, 2);
		Registry::release_stake(&ALICE, 3 * MIN_JOB_STAKE);
		assert_eq!(Executors::<Test>::get(ALICE).unwrap().active_jobs, 1);
		assert_eq!(Registry::eligible_executors(&model(1), 7, 0), vec![ALICE]);
		assert!(Registry::eligible_executors(&model(1), 8, 0).is_empty(), "capacity");
	});
}
