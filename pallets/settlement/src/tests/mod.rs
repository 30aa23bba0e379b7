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

/// Submits an attested batch of `count` inputs as CLIENT (one group) and runs to its draw;
/// returns the group's first job id and its executor.
fn submit_group(count: usize) -> (u64, AccountId) {
	submit_group_on(model(), count)
}

/// Submits an attested batch of `count` inputs on `model` as CLIENT (one group) and runs
/// to its draw; returns the group's first job id and its executor.
fn submit_group_on(model: haca_primitives::ModelHash, count: usize) -> (u64, AccountId) {
	let first = pallet_jobs::NextJobId::<Test>::get().next_multiple_of(pallet_jobs::GROUP_SPAN);
	let input = f32_tensors(&[1, 4], &[1.0, 2.0, 3.0, 4.0]);
	assert_ok!(Jobs::submit_batch(
		RuntimeOrigin::signed(CLIENT),
		model,
		vec![input; count],
		VerificationMode::Attested,
		500,
	));
	drawn();
	(first, Jobs::job(first).unwrap().executors[0])
}

/// `executor`'s group statement of `outputs` (one per member, in order) about the group
/// whose first job is `first`.
fn group_statement(
	first: u64,
	executor: AccountId,
	outputs: &[Vec<u8>],
) -> crate::GroupStatement<Test> {
	let results = outputs
		.iter()
		.map(|bytes| crate::GroupOutput::<Test> {
			output_hash: hash_of(bytes),
			outputs: Some(bytes.clone().try_into().unwrap()),
		})
		.collect::<Vec<_>>();
	crate::GroupStatement { first, executor, results: results.try_into().unwrap() }
}

/// `signer`'s session-key signature of `statement`'s payload.
fn sign_group(
	signer: AccountId,
	statement: &crate::GroupStatement<Test>,
) -> haca_primitives::InferenceSignature {
	let payload = crate::Pallet::<Test>::group_signing_payload(statement).expect("open group");
	sp_core::Pair::sign(&pair(signer), &payload.signing_bytes()).into()
}

/// Submits a group statement as its node does: authorized in the pool, then dispatched.
fn send_group(
	statement: crate::GroupStatement<Test>,
	signature: haca_primitives::InferenceSignature,
) -> Result<(), DispatchError> {
	crate::Pallet::<Test>::check_group(
		&statement,
		&signature,
		crate::statements::SignatureCheck::Verify,
	)
	.map_err(DispatchError::from)?;
	assert!(crate::Pallet::<Test>::authorize_group_results(
		TransactionSource::Local,
		&statement,
		&signature
	)
	.is_ok());
	let authorized = frame_system::RawOrigin::Authorized.into();
	assert_ok!(Settlement::submit_group_results(authorized, statement, signature));
	Ok(())
}

/// Submits a group of `count` attested jobs and its executor's honest group statement;
/// returns the group's first job id and its executor.
fn group_results(count: usize) -> (u64, AccountId) {
	let (first, executor) = submit_group(count);
	let statement = group_statement(first, executor, &vec![good_output(); count]);
	let signature = sign_group(executor, &statement);
	assert_ok!(send_group(statement, signature));
	(first, executor)
}

mod api;
mod attested;
mod challenges;
mod games;
mod groups;
mod offchain;
mod proven;
mod publication;
mod quorum;
mod timers;
