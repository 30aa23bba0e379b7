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

fn run(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		crate::Pallet::<Test>::do_try_state().expect("settlement invariants hold");
		pallet_jobs::Pallet::<Test>::do_try_state().expect("jobs invariants hold");
		pallet_executors::Pallet::<Test>::do_try_state().expect("executors invariants hold");
		pallet_models::Pallet::<Test>::do_try_state().expect("models invariants hold");
	});
}

/// Submits a job as CLIENT; returns its id and executors.
fn submit_job(mode: VerificationMode, max_fee: Balance) -> (u64, Vec<AccountId>) {
	let id = pallet_jobs::NextJobId::<Test>::get();
	assert_ok!(Jobs::submit(
		RuntimeOrigin::signed(CLIENT),
		model(),
		f32_tensors(&[1, 4], &[1.0, 2.0, 3.0, 4.0]).try_into().unwrap(),
		mode,
		max_fee,
	));
	(id, Jobs::job(id).unwrap().executors)
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

mod attested {
	use super::*;

	#[test]
	fn a_result_is_provisional_then_settles_and_pays_exactly_the_fee() {
		run(|| {
			let client_before = Balances::balance(&CLIENT);
			let (job, executor) = provisional_result();
			let bytes = good_output();
			System::assert_has_event(
				Event::ResultSubmitted {
					job,
					executor,
					output_hash: hash_of(&bytes),
					outputs: Some(bytes.clone().try_into().unwrap()),
					challenge_until: 1 + CHALLENGE_WINDOW,
				}
				.into(),
			);
			assert!(matches!(
				Results::<Test>::get(job).unwrap().status,
				ResultStatus::Provisional { .. }
			));
			assert_eq!(
				pallet_jobs::Jobs::<Test>::get(job).unwrap().status,
				pallet_jobs::JobStatus::Delivered
			);

			run_to_block(1 + CHALLENGE_WINDOW);
			assert!(Results::<Test>::get(job).is_some(), "window still open");
			let executor_before = Balances::balance(&executor);
			let owner_before = Balances::balance(&OWNER);
			run_to_block(2 + CHALLENGE_WINDOW);
			assert!(Results::<Test>::get(job).is_none());
			assert!(pallet_jobs::Jobs::<Test>::get(job).is_none());
			assert_eq!(Balances::balance(&executor), executor_before + 90);
			assert_eq!(Balances::balance(&OWNER), owner_before + 10);
			assert_eq!(Balances::balance(&CLIENT), client_before - MODEL_FEE);
			System::assert_has_event(
				Event::Settled {
					job,
					output_hash: hash_of(&bytes),
					executors: vec![executor].try_into().unwrap(),
				}
				.into(),
			);
		});
	}

	#[test]
	fn wrong_signers_keys_and_jobs_are_rejected() {
		run(|| {
			let (job, executors) = submit_job(VerificationMode::Attested, 500);
			let executor = executors[0];
			let stranger = *EXECUTORS.iter().find(|e| **e != executor).unwrap();
			let bytes = good_output();
			let claim = Claim::Output(hash_of(&bytes));

			// Signed by another executor's key.
			submit(vec![signed_by(stranger, job, executor, claim, Some(bytes.clone()))]);
			System::assert_last_event(rejected(job, executor, Error::BadSignature));
			// An executor not assigned to the job.
			submit(vec![signed(job, stranger, claim, Some(bytes.clone()))]);
			System::assert_last_event(rejected(job, stranger, Error::NotAssigned));
			// A corrupted signature.
			let (statement, _) = signed(job, executor, claim, Some(bytes.clone()));
			let bad_signature = sp_core::sr25519::Signature::from_raw([7; 64]).into();
			submit(vec![(statement, bad_signature)]);
			System::assert_last_event(rejected(job, executor, Error::BadSignature));
			// An unknown job.
			submit(vec![(
				crate::Statement::<Test> { job: 99, executor, claim, outputs: None },
				bad_signature_of(),
			)]);
			System::assert_last_event(rejected(99, executor, Error::UnknownJob));
			assert!(Results::<Test>::get(job).is_none());
		});
	}

	fn bad_signature_of() -> haca_primitives::InferenceSignature {
		sp_core::sr25519::Signature::from_raw([0; 64]).into()
	}

	#[test]
	fn a_signature_replayed_on_another_job_of_the_same_executor_fails() {
		run(|| {
			let (first, executors) = submit_job(VerificationMode::Attested, 500);
			let executor = executors[0];
			// Submit until a second job goes to the same executor.
			let mut second = submit_job(VerificationMode::Attested, 500).0;
			while Jobs::job(second).unwrap().executors != vec![executor] {
				second = submit_job(VerificationMode::Attested, 500).0;
			}
			let bytes = good_output();
			let claim = Claim::Output(hash_of(&bytes));
			let (_, signature) = signed(first, executor, claim, Some(bytes.clone()));
			let (mut replayed, _) = signed(second, executor, claim, Some(bytes));
			replayed.job = second;
			submit(vec![(replayed, signature)]);
			System::assert_last_event(rejected(second, executor, Error::BadSignature));
		});
	}

	#[test]
	fn duplicates_late_results_and_bad_outputs_are_rejected() {
		run(|| {
			let (job, executors) = submit_job(VerificationMode::Attested, 500);
			let executor = executors[0];
			let bytes = good_output();
			let claim = Claim::Output(hash_of(&bytes));

			submit(vec![signed(job, executor, claim, Some(output([1.25, -0.5])))]);
			System::assert_last_event(rejected(job, executor, Error::OutputHashMismatch));
			let wrong_shape = f32_tensors(&[2, 1], &[0.25, -1.5]);
			submit(vec![signed(
				job,
				executor,
				Claim::Output(hash_of(&wrong_shape)),
				Some(wrong_shape),
			)]);
			System::assert_last_event(rejected(job, executor, Error::OutputSpecMismatch));
			submit(vec![signed(job, executor, claim, None)]);
			System::assert_last_event(rejected(job, executor, Error::OutputsRequired));
			submit(vec![signed(job, executor, Claim::Commitment(H256::zero()), None)]);
			System::assert_last_event(rejected(job, executor, Error::WrongClaim));

			// Past the deadline (before the jobs pallet re-assigns the job).
			System::set_block_number(2 + RESULT_TIMEOUT);
			submit(vec![signed(job, executor, claim, Some(bytes.clone()))]);
			System::assert_last_event(rejected(job, executor, Error::DeadlinePassed));
			System::set_block_number(1);

			submit(vec![signed(job, executor, claim, Some(bytes.clone()))]);
			assert!(Results::<Test>::get(job).is_some());
			submit(vec![signed(job, executor, claim, Some(bytes))]);
			System::assert_last_event(rejected(job, executor, Error::Duplicate));
		});
	}

	#[test]
	fn a_batch_processes_good_items_and_rejects_bad_ones() {
		run(|| {
			let (first, first_executors) = submit_job(VerificationMode::Attested, 500);
			let (second, second_executors) = submit_job(VerificationMode::Attested, 500);
			let bytes = good_output();
			let claim = Claim::Output(hash_of(&bytes));
			submit(vec![
				signed(first, first_executors[0], claim, Some(bytes.clone())),
				signed(second, second_executors[0], claim, None),
			]);
			assert!(Results::<Test>::get(first).is_some());
			assert!(Results::<Test>::get(second).is_none());
			System::assert_last_event(rejected(
				second,
				second_executors[0],
				Error::OutputsRequired,
			));
		});
	}

	#[test]
	fn unsigned_batches_are_authorized_only_if_every_item_checks_out() {
		run(|| {
			let (job, executors) = submit_job(VerificationMode::Attested, 500);
			let bytes = good_output();
			let claim = Claim::Output(hash_of(&bytes));
			let good = signed(job, executors[0], claim, Some(bytes.clone()));
			let bad = signed_by(VERIFIERS[0], job, executors[0], claim, Some(bytes));
			let authorize = |items: Vec<_>| {
				crate::Pallet::<Test>::authorize_statements(
					TransactionSource::External,
					&items.try_into().unwrap(),
				)
			};
			assert!(authorize(vec![good.clone()]).is_ok());
			assert!(authorize(vec![good.clone(), bad]).is_err());
			assert!(authorize(vec![]).is_err());
			let used = Settlement::submit_statements_unsigned(
				frame_system::RawOrigin::Authorized.into(),
				vec![good].try_into().unwrap(),
			)
			.unwrap()
			.actual_weight;
			assert!(Results::<Test>::get(job).is_some());
			// The authorization verified the signature: not verified, nor charged, again.
			use crate::WeightInfo;
			type Weights = <Test as crate::Config>::WeightInfo;
			let carried = good_output().len() as u32;
			assert_eq!(
				used,
				Some(Weights::attested_statement(carried, 0) - Weights::verify_signature())
			);
		});
	}

	#[test]
	fn a_batch_is_charged_for_what_its_items_did() {
		use crate::WeightInfo;
		use frame_support::dispatch::GetDispatchInfo;
		type Weights = <Test as crate::Config>::WeightInfo;
		run(|| {
			let (first, executors) = submit_job(VerificationMode::Attested, 500);
			let (second, others) = submit_job(VerificationMode::Attested, 500);
			let bytes = good_output();
			let claim = Claim::Output(hash_of(&bytes));
			let good = signed(first, executors[0], claim, Some(bytes.clone()));
			let forged = signed_by(VERIFIERS[0], second, others[0], claim, Some(bytes));
			let statements: crate::StatementBatch<Test> = vec![good, forged].try_into().unwrap();
			let call = crate::Call::<Test>::submit_statements { statements: statements.clone() };
			assert_eq!(call.get_dispatch_info().call_weight, Weights::statement() * 2);
			let used = Settlement::submit_statements(RuntimeOrigin::signed(CLIENT), statements)
				.expect("a batch is always accepted")
				.actual_weight;
			let carried = good_output().len() as u32;
			// No timer slip.
			assert_eq!(
				used,
				Some(Weights::attested_statement(carried, 0) + Weights::check_statement(carried))
			);
			assert!(Results::<Test>::get(first).is_some());
			assert!(Results::<Test>::get(second).is_none());
		});
	}

	#[test]
	fn results_of_one_executor_in_a_batch_pay_its_load_and_timer_writes_once() {
		use crate::WeightInfo;
		use frame_support::weights::constants::ParityDbWeight;
		type Weights = <Test as crate::Config>::WeightInfo;
		run(|| {
			// Jobs until three went to the same executor.
			let mut by_executor = std::collections::BTreeMap::<AccountId, Vec<u64>>::new();
			let (executor, jobs) = loop {
				let (job, executors) = submit_job(VerificationMode::Attested, 500);
				let jobs = by_executor.entry(executors[0]).or_default();
				jobs.push(job);
				if jobs.len() == 3 {
					break (executors[0], jobs.clone());
				}
			};
			let bytes = good_output();
			let claim = Claim::Output(hash_of(&bytes));
			let statements: crate::StatementBatch<Test> = jobs
				.iter()
				.map(|job| signed(*job, executor, claim, Some(bytes.clone())))
				.collect::<Vec<_>>()
				.try_into()
				.unwrap();
			let used = Settlement::submit_statements(RuntimeOrigin::signed(CLIENT), statements)
				.expect("a batch is always accepted")
				.actual_weight;
			let each = Weights::attested_statement(bytes.len() as u32, 0);
			let written_again = ParityDbWeight::get().writes(2 * 2);
			assert_eq!(used, Some(each * 3 - written_again));
			assert!(jobs.iter().all(|job| Results::<Test>::get(job).is_some()));
		});
	}
}

mod challenges {
	use super::*;

	fn lie_hash() -> H256 {
		hash_of(&output([9.0, 9.0]))
	}

	#[test]
	fn a_lying_executor_is_slashed_and_the_job_rerun_at_no_cost_to_the_client() {
		run(|| {
			let client_before = Balances::balance(&CLIENT);
			let (job, liar) = provisional_result();
			let challenger = VERIFIERS[0];
			let true_hash = lie_hash();
			assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, true_hash));
			assert_eq!(challenge_hold(challenger), CHALLENGE_BOND);
			let dispute = Disputes::<Test>::get(job).unwrap();
			assert_eq!(dispute.committee.len(), 2, "the two other verifiers");
			assert!(!dispute.committee.contains(&challenger));

			let challenger_before = Balances::balance(&challenger);
			for voter in dispute.committee.clone() {
				assert_ok!(Settlement::vote(RuntimeOrigin::signed(voter), job, true_hash));
			}
			System::assert_has_event(
				Event::DisputeResolved { job, executor_was_right: false }.into(),
			);
			assert_eq!(bond_of(liar), BOND - EXECUTOR_SLASH);
			assert_eq!(challenge_hold(challenger), 0);
			assert_eq!(
				Balances::balance(&challenger),
				challenger_before + CHALLENGE_BOND + EXECUTOR_SLASH / 2
			);
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
		run(|| {
			let (job, executor) = provisional_result();
			let challenger = VERIFIERS[1];
			assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, lie_hash()));
			let executor_before = Balances::balance(&executor);
			let challenger_total = Balances::total_balance(&challenger);
			let honest = hash_of(&good_output());
			for voter in Disputes::<Test>::get(job).unwrap().committee {
				assert_ok!(Settlement::vote(RuntimeOrigin::signed(voter), job, honest));
			}
			System::assert_has_event(
				Event::DisputeResolved { job, executor_was_right: true }.into(),
			);
			assert_eq!(Balances::total_balance(&challenger), challenger_total - CHALLENGE_BOND);
			assert_eq!(Balances::balance(&executor), executor_before + CHALLENGE_BOND / 2 + 90);
			assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
			assert_eq!(bond_of(executor), BOND);
		});
	}

	#[test]
	fn a_split_committee_times_out_safely() {
		run(|| {
			let (job, executor) = provisional_result();
			let challenger = VERIFIERS[2];
			assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, lie_hash()));
			let committee = Disputes::<Test>::get(job).unwrap().committee;
			assert_ok!(Settlement::vote(RuntimeOrigin::signed(committee[0]), job, lie_hash()));
			assert_ok!(Settlement::vote(
				RuntimeOrigin::signed(committee[1]),
				job,
				hash_of(&good_output())
			));
			assert_noop!(
				Settlement::vote(RuntimeOrigin::signed(committee[1]), job, lie_hash()),
				Error::<Test>::AlreadyVoted
			);
			run_to_block(2 + DISPUTE_WINDOW);
			System::assert_has_event(Event::DisputeTimedOut { job }.into());
			assert_eq!(challenge_hold(challenger), 0);
			assert_eq!(bond_of(executor), BOND);
			assert!(!Jobs::job(job).unwrap().executors.contains(&executor));
			let info = pallet_executors::Executors::<Test>::get(executor).unwrap();
			assert_eq!(info.disputes, 0);
		});
	}

	#[test]
	fn challenges_and_votes_need_the_right_parties_and_timing() {
		run(|| {
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
			assert_noop!(
				Settlement::vote(RuntimeOrigin::signed(VERIFIERS[0]), job, honest),
				Error::<Test>::NoDispute
			);
			assert_ok!(Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, lie_hash()));
			assert_noop!(
				Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[1]), job, lie_hash()),
				Error::<Test>::NotChallengeable
			);
			assert_noop!(
				Settlement::vote(RuntimeOrigin::signed(executor), job, honest),
				Error::<Test>::NotOnCommittee
			);
		});
	}

	#[test]
	fn the_window_closes() {
		run(|| {
			let (job, _) = provisional_result();
			System::set_block_number(2 + CHALLENGE_WINDOW);
			assert_noop!(
				Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, lie_hash()),
				Error::<Test>::NotChallengeable
			);
		});
	}
}

mod quorum {
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
}

mod api {
	use super::*;
	use haca_primitives::runtime_api::{Due, JobPhase};

	#[test]
	fn reports_and_pending_work_follow_the_job() {
		run(|| {
			let (job, executors) = submit_job(QUORUM_2_OF_3, 1_000);
			let report = crate::Pallet::<Test>::report(job).unwrap();
			assert_eq!(report.phase, JobPhase::Running { deadline: 1 + RESULT_TIMEOUT });
			let work = crate::Pallet::<Test>::pending_work(&executors[0]);
			assert_eq!(work.len(), 1);
			assert_eq!((work[0].job, work[0].due), (job, Due::Commitment));

			let bytes = good_output();
			let salt = [1u8; 32];
			for who in &executors {
				let commitment = Claim::commitment(&hash_of(&bytes), &salt);
				submit(vec![signed(job, *who, Claim::Commitment(commitment), None)]);
			}
			assert_eq!(
				crate::Pallet::<Test>::report(job).unwrap().phase,
				JobPhase::Revealing { until: 1 + REVEAL_WINDOW }
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
}

/// The off-chain worker with the real engine (tract) behind the host functions.
mod offchain {
	use super::*;
	use codec::{Decode, Encode};
	use frame_support::traits::Hooks;
	use haca_inference::{InferenceExt, NodeInference, NodeRoles};
	use haca_primitives::{
		tensor::{decode_tensors, tensors_agree, ElementType, TensorSpec},
		ModeSet, ModelHash, INFERENCE_KEY_TYPE,
	};
	use parking_lot::RwLock;
	use sp_core::offchain::{
		testing::{PoolState, TestOffchainExt, TestTransactionPoolExt},
		OffchainDbExt, OffchainWorkerExt, TransactionPoolExt,
	};
	use sp_core::Pair;
	use sp_keystore::{testing::MemoryKeystore, Keystore, KeystoreExt};
	use std::sync::Arc;

	fn models_dir() -> std::path::PathBuf {
		std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../offchain-workers/models")
	}

	fn spec(dims: &[u32]) -> TensorSpec {
		TensorSpec {
			name: b"t".to_vec().try_into().unwrap(),
			element_type: ElementType::F32,
			shape: dims.to_vec().try_into().unwrap(),
		}
	}

	const EXECUTOR: NodeRoles = NodeRoles { executor: true, verifier: false, audit_ppm: 0 };
	const NO_ROLE: NodeRoles = NodeRoles { executor: false, verifier: false, audit_ppm: 0 };

	/// The roles of a verifier node auditing `percent` of the results.
	fn verifier(percent: u32) -> NodeRoles {
		NodeRoles { executor: false, verifier: true, audit_ppm: percent * 10_000 }
	}

	/// Test externalities of a node with `roles` (the engine is there for any role), whose
	/// keystore holds the session keys of `EXECUTORS` and `VERIFIERS`.
	fn node_ext(roles: NodeRoles) -> (sp_io::TestExternalities, Arc<RwLock<PoolState>>) {
		let mut ext = new_test_ext();
		let (offchain, _) = TestOffchainExt::new();
		let (pool, pool_state) = TestTransactionPoolExt::new();
		let keystore = MemoryKeystore::new();
		for who in EXECUTORS.into_iter().chain(VERIFIERS) {
			keystore
				.sr25519_generate_new(INFERENCE_KEY_TYPE, Some(&format!("//haca-{who}")))
				.unwrap();
		}
		ext.register_extension(OffchainWorkerExt::new(offchain.clone()));
		ext.register_extension(OffchainDbExt::new(offchain));
		ext.register_extension(TransactionPoolExt::new(pool));
		ext.register_extension(KeystoreExt::new(keystore));
		if roles != NO_ROLE {
			let engine = Arc::new(haca_engine::Engine::new(Default::default(), None));
			ext.register_extension(InferenceExt(NodeInference { engine, roles }));
		}
		(ext, pool_state)
	}

	/// Uploads the generated MLP on chain and lets every executor serve it.
	fn mlp_on_chain(bytes: &[u8]) -> ModelHash {
		let hash = ModelHash::from(sp_io::hashing::blake2_256(bytes));
		assert_ok!(Models::register(
			RuntimeOrigin::signed(OWNER),
			hash,
			bytes.len() as u32,
			pallet_models::ModelSource::OnChain,
			vec![spec(&[1, 4])].try_into().unwrap(),
			vec![spec(&[1, 3])].try_into().unwrap(),
			ModeSet::ALL,
			MODEL_FEE,
			TOLERANCE_ULPS,
		));
		for (index, chunk) in bytes.chunks(256).enumerate() {
			assert_ok!(Models::upload_chunk(
				RuntimeOrigin::signed(OWNER),
				hash,
				index as u32,
				chunk.to_vec().try_into().unwrap()
			));
		}
		for who in EXECUTORS {
			assert_ok!(Executors::set_models(
				RuntimeOrigin::signed(who),
				vec![model(), hash].try_into().unwrap()
			));
		}
		hash
	}

	/// The generated MLP input, its first element set to `first` if given.
	fn mlp_input(first: Option<f32>) -> Vec<u8> {
		let input = std::fs::read(models_dir().join("mlp.input.npy")).unwrap();
		let mut tensor = haca_engine::npy::read(&input).unwrap();
		if let Some(first) = first {
			tensor.data[..4].copy_from_slice(&first.to_le_bytes());
		}
		vec![tensor].encode()
	}

	fn submit_on(model: ModelHash, mode: VerificationMode, max_fee: Balance) -> u64 {
		submit_input(model, mlp_input(None), mode, max_fee)
	}

	fn submit_input(
		model: ModelHash,
		input: Vec<u8>,
		mode: VerificationMode,
		max_fee: Balance,
	) -> u64 {
		let id = pallet_jobs::NextJobId::<Test>::get();
		assert_ok!(Jobs::submit(
			RuntimeOrigin::signed(CLIENT),
			model,
			input.try_into().unwrap(),
			mode,
			max_fee
		));
		id
	}

	/// Dispatches the transactions the workers put in the pool, as the block author would:
	/// each one still authorized on the state the ones before it left. Returns how many were
	/// included.
	fn include_pool(pool: &Arc<RwLock<PoolState>>) -> usize {
		let transactions = std::mem::take(&mut pool.write().transactions);
		let mut included = 0;
		for transaction in &transactions {
			let xt = frame_system::mocking::MockUncheckedExtrinsic::<Test>::decode(
				&mut &transaction[..],
			)
			.unwrap();
			let authorized = frame_system::RawOrigin::Authorized.into();
			match xt.function {
				RuntimeCall::Settlement(crate::Call::submit_statements_unsigned { statements }) => {
					assert!(crate::Pallet::<Test>::authorize_statements(
						TransactionSource::Local,
						&statements
					)
					.is_ok());
					assert_ok!(Settlement::submit_statements_unsigned(authorized, statements));
				}
				RuntimeCall::Settlement(crate::Call::submit_verdict { verdict, signature }) => {
					let source = TransactionSource::Local;
					if crate::Pallet::<Test>::authorize_verdict(source, &verdict, &signature)
						.is_err()
					{
						continue;
					}
					assert_ok!(Settlement::submit_verdict(authorized, verdict, signature));
				}
				_ => panic!("unexpected call in the pool"),
			}
			included += 1;
		}
		included
	}

	fn reference_output() -> Vec<haca_primitives::tensor::Tensor> {
		let bytes = std::fs::read(models_dir().join("mlp.output.npy")).unwrap();
		vec![haca_engine::npy::read(&bytes).unwrap()]
	}

	#[test]
	fn an_executor_node_runs_its_job_with_tract_and_submits_once() {
		let (mut ext, pool) = node_ext(EXECUTOR);
		ext.execute_with(|| {
			let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
			let model = mlp_on_chain(&bytes);
			let job = submit_on(model, VerificationMode::Attested, 500);

			Settlement::offchain_worker(1);
			Settlement::offchain_worker(1);
			assert_eq!(include_pool(&pool), 1, "one statement, however often the worker runs");

			let result = Results::<Test>::get(job).expect("provisional result");
			let outputs = decode_tensors(&result.outputs.unwrap()).unwrap();
			assert!(tensors_agree(&outputs, &reference_output(), 8), "{outputs:?}");
			run_to_block(2 + CHALLENGE_WINDOW);
			assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
		});
	}

	#[test]
	fn jobs_of_one_model_run_in_one_batch_each_with_its_own_outputs_and_hash() {
		let (mut ext, pool) = node_ext(EXECUTOR);
		ext.execute_with(|| {
			let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
			let model = mlp_on_chain(&bytes);
			let plan =
				haca_engine::Plan::compile(&bytes, &[spec(&[1, 4])], &[spec(&[1, 3])]).unwrap();
			let inputs: Vec<Vec<u8>> = (0..9).map(|step| mlp_input(Some(step as f32))).collect();
			let jobs: Vec<u64> = inputs
				.iter()
				.map(|input| submit_input(model, input.clone(), VerificationMode::Attested, 500))
				.collect();

			Settlement::offchain_worker(1);
			assert_eq!(include_pool(&pool), EXECUTORS.len(), "one batch of statements each");
			for (job, input) in jobs.into_iter().zip(&inputs) {
				let result = Results::<Test>::get(job).expect("provisional result");
				let outputs = result.outputs.unwrap().into_inner();
				assert_eq!(outputs, plan.run(input).unwrap(), "job {job}");
				assert_eq!(result.output_hash.0, sp_io::hashing::blake2_256(&outputs));
			}
		});
	}

	#[test]
	fn quorum_executors_commit_then_reveal_and_settle() {
		let (mut ext, pool) = node_ext(EXECUTOR);
		ext.execute_with(|| {
			let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
			let model = mlp_on_chain(&bytes);
			let job = submit_on(model, QUORUM_2_OF_3, 1_000);

			Settlement::offchain_worker(1);
			assert_eq!(include_pool(&pool), 3, "three commitments");
			assert!(Quorums::<Test>::get(job).unwrap().reveal_until.is_some());
			Settlement::offchain_worker(1);
			assert_eq!(include_pool(&pool), 3, "three reveals");
			assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
			assert!(System::events().iter().any(|record| matches!(
				&record.event,
				RuntimeEvent::Settlement(Event::Settled { job: settled, executors, .. })
					if *settled == job && executors.len() == 3
			)));
		});
	}

	#[test]
	fn the_records_of_ended_jobs_are_forgotten() {
		let (mut ext, pool) = node_ext(EXECUTOR);
		ext.execute_with(|| {
			let recorded = |key: &[u8]| {
				sp_io::offchain::local_storage_get(sp_core::offchain::StorageKind::PERSISTENT, key)
					.is_some()
			};
			let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
			let model = mlp_on_chain(&bytes);
			let quorum = submit_on(model, QUORUM_2_OF_3, 1_000);
			let attested = submit_on(model, VerificationMode::Attested, 500);
			let reveal_keys = EXECUTORS.map(|who| crate::ocw::reveal_key(quorum, &who));

			Settlement::offchain_worker(1);
			assert_eq!(include_pool(&pool), 3, "one batch of statements per executor");
			assert!(recorded(&crate::ocw::done_key(quorum)));
			assert!(recorded(&crate::ocw::done_key(attested)));
			assert!(reveal_keys.iter().all(|key| recorded(key)), "kept for the reveals");
			Settlement::offchain_worker(1);
			assert_eq!(include_pool(&pool), 3, "three reveals");
			assert!(pallet_jobs::Jobs::<Test>::get(quorum).is_none(), "settled");

			// The quorum job ended: its records go; the attested one is still open.
			Settlement::offchain_worker(2);
			assert!(!recorded(&crate::ocw::done_key(quorum)));
			assert!(reveal_keys.iter().all(|key| !recorded(key)));
			assert!(recorded(&crate::ocw::done_key(attested)));
			assert_eq!(include_pool(&pool), 0, "nothing done twice");
			// A worker on an older block's state, where the job was still open, finishes a
			// task of it: the record does not stay.
			Settlement::once(quorum, b"a late task", || true);
			assert!(!recorded(&crate::ocw::done_key(quorum)));

			run_to_block(2 + CHALLENGE_WINDOW);
			assert!(pallet_jobs::Jobs::<Test>::get(attested).is_none(), "settled");
			Settlement::offchain_worker(2 + CHALLENGE_WINDOW);
			assert!(!recorded(&crate::ocw::done_key(attested)));
		});
	}

	#[test]
	fn a_node_without_an_inference_role_submits_nothing() {
		let (mut ext, pool) = node_ext(NO_ROLE);
		ext.execute_with(|| {
			let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
			let model = mlp_on_chain(&bytes);
			submit_on(model, VerificationMode::Attested, 500);
			Settlement::offchain_worker(1);
			assert_eq!(include_pool(&pool), 0);
		});
	}

	#[test]
	fn a_model_that_does_not_load_is_reported_not_retried() {
		let (mut ext, pool) = node_ext(EXECUTOR);
		ext.execute_with(|| {
			// Bytes that hash right but are no ONNX model.
			let model = mlp_on_chain(b"definitely not an onnx protobuf");
			let job = submit_on(model, VerificationMode::Attested, 500);
			let first = Jobs::job(job).unwrap().executors[0];

			Settlement::offchain_worker(1);
			assert_eq!(include_pool(&pool), 1);
			System::assert_has_event(
				Event::ExecutionFailed {
					job,
					executor: first,
					reason: haca_primitives::statement::ExecutionFailure::InvalidModel,
				}
				.into(),
			);
			let rerun = Jobs::job(job).unwrap();
			assert!(!rerun.executors.contains(&first), "re-assigned to another executor");
		});
	}

	/// Uploads the MLP, submits an attested job on it and lets its executor report
	/// `outputs` (the reference outputs when `None`); returns the job and its executor.
	fn result_on_mlp(outputs: Option<Vec<u8>>) -> (u64, AccountId) {
		let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
		let model = mlp_on_chain(&bytes);
		let job = submit_on(model, VerificationMode::Attested, 500);
		let executor = Jobs::job(job).unwrap().executors[0];
		let outputs = outputs.unwrap_or_else(|| reference_output().encode());
		let claim = Claim::Output(hash_of(&outputs));
		submit(vec![signed(job, executor, claim, Some(outputs))]);
		assert!(Results::<Test>::get(job).is_some());
		(job, executor)
	}

	fn lie() -> Vec<u8> {
		f32_tensors(&[1, 3], &[9.0, 9.0, 9.0])
	}

	#[test]
	fn verifiers_challenge_a_wrong_result_and_the_committee_votes_it_down() {
		let (mut ext, pool) = node_ext(verifier(100));
		ext.execute_with(|| {
			let (job, liar) = result_on_mlp(Some(lie()));

			Settlement::offchain_worker(1);
			assert_eq!(include_pool(&pool), 1, "the first challenge; the others come too late");
			let dispute = Disputes::<Test>::get(job).expect("challenged");
			assert!(VERIFIERS.contains(&dispute.challenger));
			assert_eq!(challenge_hold(dispute.challenger), CHALLENGE_BOND);
			assert_eq!(dispute.committee.len(), 2);

			Settlement::offchain_worker(2);
			assert_eq!(include_pool(&pool), 2, "both committee members vote");
			System::assert_has_event(
				Event::DisputeResolved { job, executor_was_right: false }.into(),
			);
			assert!(!Jobs::job(job).unwrap().executors.contains(&liar), "re-run elsewhere");
			Settlement::offchain_worker(3);
			assert_eq!(include_pool(&pool), 0, "each verdict once");
		});
	}

	#[test]
	fn an_honest_result_is_audited_and_left_alone() {
		let (mut ext, pool) = node_ext(verifier(100));
		ext.execute_with(|| {
			let (job, _) = result_on_mlp(None);
			Settlement::offchain_worker(1);
			assert_eq!(include_pool(&pool), 0);
			run_to_block(2 + CHALLENGE_WINDOW);
			assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
		});
	}

	#[test]
	fn verifiers_audit_only_their_sample_and_only_with_the_role() {
		for roles in [verifier(0), EXECUTOR, NO_ROLE] {
			let (mut ext, pool) = node_ext(roles);
			ext.execute_with(|| {
				let (job, _) = result_on_mlp(Some(lie()));
				Settlement::offchain_worker(1);
				assert_eq!(include_pool(&pool), 0, "{roles:?}");
				assert!(Disputes::<Test>::get(job).is_none());
			});
		}
	}

	#[test]
	fn verdicts_need_the_verifiers_own_signature() {
		let (mut ext, _) = node_ext(NO_ROLE);
		ext.execute_with(|| {
			let (job, _) = result_on_mlp(Some(lie()));
			let verdict = crate::Verdict::<Test> {
				job,
				verifier: VERIFIERS[0],
				kind: haca_primitives::statement::VerdictKind::Challenge,
				output_hash: hash_of(&reference_output().encode()),
			};
			let payload = crate::Pallet::<Test>::verdict_payload(&verdict).unwrap();
			let source = TransactionSource::External;
			let by_other = pair(VERIFIERS[1]).sign(&payload.signing_bytes()).into();
			assert!(crate::Pallet::<Test>::authorize_verdict(source, &verdict, &by_other).is_err());
			let own = pair(VERIFIERS[0]).sign(&payload.signing_bytes()).into();
			assert!(crate::Pallet::<Test>::authorize_verdict(source, &verdict, &own).is_ok());
			assert!(Disputes::<Test>::get(job).is_none(), "authorizing changes nothing");
			assert_eq!(challenge_hold(VERIFIERS[0]), 0);
		});
	}
}
