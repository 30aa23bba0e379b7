//! Unit tests of the settlement pallet.

use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
};
use haca_primitives::{statement::Claim, traits::JobLedger, VerificationMode};
use sp_core::H256;
use sp_runtime::{transaction_validity::TransactionSource, DispatchError};

use crate::{mock::*, Disputes, Error, Event, Quorums, ResultStatus, Results};

const QUORUM_2_OF_3: VerificationMode = VerificationMode::Quorum { agree: 2, of: 3 };

/// Blocks from a job's submission or re-run (or a challenge) to its draw: the draw uses
/// randomness known only after that block, and the mock's is known since the parent block.
const DRAW_DELAY: u64 = 2;

/// The block in which a job submitted in the first block is drawn.
const DRAWN_AT: u64 = 1 + DRAW_DELAY;

/// Runs the blocks until what was submitted, re-run or challenged in this block is drawn.
fn drawn() {
	run_to_block(System::block_number() + DRAW_DELAY);
}

/// Submits `count` jobs as CLIENT (within its waiting quota) and runs to their draw;
/// returns their ids and executors.
fn submit_jobs(mode: VerificationMode, max_fee: Balance, count: u64) -> Vec<(u64, Vec<AccountId>)> {
	let first = pallet_jobs::NextJobId::<Test>::get();
	for _ in 0..count {
		assert_ok!(Jobs::submit(
			RuntimeOrigin::signed(CLIENT),
			model(),
			f32_tensors(&[1, 4], &[1.0, 2.0, 3.0, 4.0]),
			mode,
			max_fee,
		));
	}
	drawn();
	(first..first + count).map(|id| (id, Jobs::job(id).unwrap().executors)).collect()
}

/// Submits a job as CLIENT and runs to its draw; returns its id and executors.
fn submit_job(mode: VerificationMode, max_fee: Balance) -> (u64, Vec<AccountId>) {
	submit_jobs(mode, max_fee, 1).remove(0)
}

/// The storage deposit of a job `submit_job` submits.
fn job_deposit() -> Balance {
	pallet_jobs::Pallet::<Test>::deposit_for(f32_tensors(&[1, 4], &[0.0; 4]).len() as u32)
}

fn good_output() -> Vec<u8> {
	output([0.25, -1.5])
}

fn rejected(job: u64, executor: AccountId, error: Error<Test>) -> RuntimeEvent {
	Event::StatementRejected { job, executor, error: DispatchError::from(error) }.into()
}

fn bond_of(who: AccountId) -> Balance {
	pallet_executors::Executors::<Test>::get(who).unwrap().bond
}

fn challenge_hold(who: AccountId) -> Balance {
	Balances::balance_on_hold(
		&RuntimeHoldReason::Settlement(crate::HoldReason::ChallengeBond),
		&who,
	)
}

/// Submits an attested job and its honest result; returns (job, executor).
fn provisional_result() -> (u64, AccountId) {
	let (job, executors) = submit_job(VerificationMode::Attested, 500);
	let executor = executors[0];
	let bytes = good_output();
	submit(vec![signed(job, executor, Claim::Output(hash_of(&bytes)), Some(bytes))]);
	(job, executor)
}

mod api;
mod attested;
mod challenges;
mod games;
mod offchain;
mod proven;
mod publication;
mod quorum;
mod timers;
