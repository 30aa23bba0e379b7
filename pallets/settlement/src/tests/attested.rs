//! Attested mode: results, their checks, batches and their weight, settlement after the challenge window.

use super::*;

#[test]
fn a_result_is_provisional_then_settles_and_pays_exactly_the_fee() {
	ExtBuilder::default().build_and_execute(|| {
		let client_before = Balances::balance(&CLIENT);
		let (job, executor) = provisional_result();
		let bytes = good_output();
		System::assert_has_event(
			Event::ResultSubmitted {
				job,
				executor,
				output_hash: hash_of(&bytes),
				outputs: Some(bytes.clone().try_into().unwrap()),
				challenge_until: DRAWN_AT + CHALLENGE_WINDOW,
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

		run_to_block(DRAWN_AT + CHALLENGE_WINDOW);
		assert!(Results::<Test>::get(job).is_some(), "window still open");
		let executor_before = Balances::balance(&executor);
		let owner_before = Balances::balance(&OWNER);
		run_to_block(DRAWN_AT + 1 + CHALLENGE_WINDOW);
		assert!(Results::<Test>::get(job).is_none());
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none());
		assert_eq!(Balances::balance(&executor), executor_before + 90);
		assert_eq!(Balances::balance(&OWNER), owner_before + 10);
		assert_eq!(Balances::balance(&CLIENT), client_before - MODEL_FEE);
		System::assert_has_event(
			Event::Settled {
				job,
				output_hash: hash_of(&bytes),
				outputs: Some(bytes.clone().try_into().unwrap()),
				executors: vec![executor].try_into().unwrap(),
				paid: MODEL_FEE,
				refunded: 500 - MODEL_FEE + job_deposit(),
			}
			.into(),
		);
	});
}

#[test]
fn a_variable_batch_pays_its_share_and_its_outputs_are_held_to_their_largest_shape() {
	ExtBuilder::default().build_and_execute(|| {
		// Batches of up to 4 rows in, as many rows of 2 out: a full batch pays `MODEL_FEE`.
		let batch = haca_primitives::ModelHash::repeat_byte(2);
		let rows = |dims: &[u32]| spec(dims).with_variable_axes(&[0]);
		let mut batch_terms = terms(&[4, 2]);
		batch_terms.inputs = vec![rows(&[4, 4])].try_into().unwrap();
		batch_terms.outputs = vec![rows(&[4, 2])].try_into().unwrap();
		assert_ok!(Models::register(
			RuntimeOrigin::signed(OWNER),
			batch,
			1_000_000,
			pallet_models::ModelSource::OffChain(
				vec![b"https://m.example/b".to_vec().try_into().unwrap()].try_into().unwrap()
			),
			batch_terms,
			None,
		));
		for who in EXECUTORS {
			assert_ok!(Executors::set_models(
				RuntimeOrigin::signed(who),
				vec![model(), batch].try_into().unwrap()
			));
		}
		let input = f32_tensors(&[1, 4], &[1.0, 2.0, 3.0, 4.0]);
		let id = pallet_jobs::NextJobId::<Test>::get();
		assert_ok!(Jobs::submit(
			RuntimeOrigin::signed(CLIENT),
			batch,
			input.clone(),
			VerificationMode::Attested,
			500,
		));
		drawn();
		let executor = Jobs::job(id).unwrap().executors[0];

		// Five rows out of a batch of at most four: refused, the job still owed.
		let over = f32_tensors(&[5, 2], &[0.5; 10]);
		submit(vec![signed(id, executor, Claim::Output(hash_of(&over)), Some(over))]);
		System::assert_last_event(rejected(id, executor, Error::OutputSpecMismatch));
		assert!(Results::<Test>::get(id).is_none());

		let client_before = Balances::balance(&CLIENT);
		let bytes = f32_tensors(&[1, 2], &[0.25, -1.5]);
		submit(vec![signed(id, executor, Claim::Output(hash_of(&bytes)), Some(bytes.clone()))]);
		run_to_block(System::block_number() + CHALLENGE_WINDOW + 1);
		let deposit = pallet_jobs::Pallet::<Test>::deposit_for(input.len() as u32);
		let fee = MODEL_FEE / 4;
		System::assert_has_event(
			Event::Settled {
				job: id,
				output_hash: hash_of(&bytes),
				outputs: Some(bytes.clone().try_into().unwrap()),
				executors: vec![executor].try_into().unwrap(),
				paid: fee,
				refunded: 500 - fee + deposit,
			}
			.into(),
		);
		assert_eq!(Balances::balance(&CLIENT), client_before + 500 - fee + deposit);
	});
}

#[test]
fn wrong_signers_keys_and_jobs_are_rejected() {
	ExtBuilder::default().build_and_execute(|| {
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
	ExtBuilder::default().build_and_execute(|| {
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
	ExtBuilder::default().build_and_execute(|| {
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
		System::set_block_number(DRAWN_AT + 1 + RESULT_TIMEOUT);
		submit(vec![signed(job, executor, claim, Some(bytes.clone()))]);
		System::assert_last_event(rejected(job, executor, Error::DeadlinePassed));
		System::set_block_number(DRAWN_AT);

		submit(vec![signed(job, executor, claim, Some(bytes.clone()))]);
		assert!(Results::<Test>::get(job).is_some());
		submit(vec![signed(job, executor, claim, Some(bytes))]);
		System::assert_last_event(rejected(job, executor, Error::Duplicate));
	});
}

#[test]
fn a_failure_carries_its_signed_explanation_into_its_event_and_a_bad_one_is_refused() {
	use haca_primitives::statement::{ExecutionFailure::InvalidModel, MAX_FAILURE_DETAIL};
	ExtBuilder::default().build_and_execute(|| {
		// Room for an explanation one byte too long.
		crate::mock::MaxOutputLen::set(2 * MAX_FAILURE_DETAIL);
		let (job, executors) = submit_job(VerificationMode::Attested, 500);
		let executor = executors[0];
		let words = b"unsupported model: operator NoSuchOperator (node n0)".to_vec();
		let failed =
			|words: &[u8]| Claim::Failed { reason: InvalidModel, detail: Some(hash_of(words)) };
		let too_long = vec![b'a'; MAX_FAILURE_DETAIL as usize + 1];
		let not_utf8 = vec![0xff, 0xfe];
		for (claim, carried) in [
			// Words the claim does not sign, words missing, words without a claim to them.
			(failed(&words), Some(b"another explanation".to_vec())),
			(failed(&words), None),
			(Claim::Failed { reason: InvalidModel, detail: None }, Some(words.clone())),
			(failed(&too_long), Some(too_long.clone())),
			(failed(&not_utf8), Some(not_utf8.clone())),
		] {
			submit(vec![signed(job, executor, claim, carried)]);
			System::assert_last_event(rejected(job, executor, Error::BadFailureDetail));
		}
		assert!(Jobs::job(job).unwrap().executors.contains(&executor), "nothing changed");

		submit(vec![signed(job, executor, failed(&words), Some(words.clone()))]);
		System::assert_has_event(
			Event::ExecutionFailed {
				job,
				executor,
				reason: InvalidModel,
				detail: Some(words.try_into().unwrap()),
			}
			.into(),
		);
	});
}

#[test]
fn a_batch_processes_good_items_and_rejects_bad_ones() {
	ExtBuilder::default().build_and_execute(|| {
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
		System::assert_last_event(rejected(second, second_executors[0], Error::OutputsRequired));
	});
}

#[test]
fn unsigned_batches_are_authorized_only_if_every_item_checks_out() {
	ExtBuilder::default().build_and_execute(|| {
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
		assert_eq!(used, Some(Weights::attested_statement(carried) - Weights::verify_signature()));
	});
}

#[test]
fn a_batch_is_charged_for_what_its_items_did() {
	use crate::WeightInfo;
	use frame_support::dispatch::GetDispatchInfo;
	type Weights = <Test as crate::Config>::WeightInfo;
	ExtBuilder::default().build_and_execute(|| {
		let (first, executors) = submit_job(VerificationMode::Attested, 500);
		let (second, others) = submit_job(VerificationMode::Attested, 500);
		let bytes = good_output();
		let claim = Claim::Output(hash_of(&bytes));
		let good = signed(first, executors[0], claim, Some(bytes.clone()));
		let forged = signed_by(VERIFIERS[0], second, others[0], claim, Some(bytes));
		let statements: crate::StatementBatch<Test> = vec![good, forged].try_into().unwrap();
		let call = crate::Call::<Test>::submit_statements { statements: statements.clone() };
		let carried = good_output().len() as u32;
		assert_eq!(
			call.get_dispatch_info().call_weight,
			Weights::attested_statement(carried) * 2,
			"charged up front as the outputs they carry"
		);
		let used = Settlement::submit_statements(RuntimeOrigin::signed(CLIENT), statements)
			.expect("a batch is always accepted")
			.actual_weight;
		// No timer slip.
		assert_eq!(
			used,
			Some(Weights::attested_statement(carried) + Weights::check_statement(carried))
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
	ExtBuilder::default().build_and_execute(|| {
		// Eight jobs on three executors: one of them has three.
		let mut by_executor = std::collections::BTreeMap::<AccountId, Vec<u64>>::new();
		for _ in 0..2 {
			for (job, executors) in submit_jobs(VerificationMode::Attested, 500, 4) {
				by_executor.entry(executors[0]).or_default().push(job);
			}
		}
		let (executor, mut jobs) =
			by_executor.into_iter().find(|(_, jobs)| jobs.len() >= 3).expect("pigeonhole");
		jobs.truncate(3);
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
		let each = Weights::attested_statement(bytes.len() as u32);
		let written_again = ParityDbWeight::get().writes(2 * 2);
		assert_eq!(used, Some(each * 3 - written_again));
		assert!(jobs.iter().all(|job| Results::<Test>::get(job).is_some()));
	});
}

#[test]
fn an_attested_batch_is_drawn_as_one_group_and_its_results_settle_job_by_job() {
	use haca_primitives::statement::ExecutionFailure::Execution;
	ExtBuilder::default().build_and_execute(|| {
		let (first, executor) = submit_group(3);
		let ids = [first, first + 1, first + 2];
		assert!(ids.iter().all(|id| Jobs::job(*id).unwrap().executors == vec![executor]));
		assert_eq!(Jobs::undelivered_jobs(&executor), ids.to_vec(), "one executor for all");

		// One member fails alone: re-run apart from the group; the others' results stand.
		let bytes = good_output();
		let failed = Claim::Failed { reason: Execution, detail: None };
		submit(vec![
			signed(first, executor, Claim::Output(hash_of(&bytes)), Some(bytes.clone())),
			signed(first + 1, executor, Claim::Output(hash_of(&bytes)), Some(bytes.clone())),
			signed(first + 2, executor, failed, None),
		]);
		assert!(pallet_jobs::Groups::<Test>::iter().next().is_none(), "every member left");
		assert_eq!(Jobs::job(first + 2).unwrap().attempt, 1);
		assert!(Jobs::job(first + 2).unwrap().executors.is_empty(), "waiting for a re-run");

		let executor_before = Balances::balance(&executor);
		run_to_block(System::block_number() + CHALLENGE_WINDOW + 1);
		for job in [first, first + 1] {
			assert!(Results::<Test>::get(job).is_none());
			assert!(Jobs::job(job).is_none(), "settled");
		}
		assert_eq!(Balances::balance(&executor), executor_before + 2 * 90);
		assert_eq!(Jobs::job(first + 2).unwrap().attempt, 2, "re-drawn alone");
	});
}
