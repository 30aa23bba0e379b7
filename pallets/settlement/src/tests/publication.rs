//! Outputs too large for a statement: asked for, published page by page, withheld.

use haca_primitives::ModelHash;

use sp_runtime::DispatchResult;

use super::*;
use crate::{OutputPages, OwedPages};

/// Elements of the large model's f32 output: 413 encoded bytes, two pages of the mock's
/// 256.
const LARGE: u32 = 100;

/// A model whose `[1, LARGE]` f32 outputs are too large for a statement; every executor
/// serves it and every verifier audits it.
fn large_model() -> ModelHash {
	let hash = ModelHash::repeat_byte(2);
	if pallet_models::Models::<Test>::contains_key(hash) {
		return hash;
	}
	assert_ok!(Models::register(
		RuntimeOrigin::signed(OWNER),
		hash,
		1_000_000,
		pallet_models::ModelSource::OffChain(
			vec![b"https://models.example/large".to_vec().try_into().unwrap()].try_into().unwrap()
		),
		pallet_models::ModelTerms {
			modes: haca_primitives::ModeSet::ATTESTED,
			..terms(&[1, LARGE])
		},
		None,
	));
	for who in EXECUTORS.into_iter().chain(VERIFIERS) {
		assert_ok!(Executors::set_models(
			RuntimeOrigin::signed(who),
			vec![model(), hash].try_into().unwrap()
		));
	}
	hash
}

/// Outputs of the large model, every element `value`.
fn large_output(value: f32) -> Vec<u8> {
	f32_tensors(&[1, LARGE], &[value; LARGE as usize])
}

/// An attested job on the large model with the executor's result for `outputs` (by hash
/// only); returns (job, executor).
fn large_result(outputs: &[u8]) -> (u64, AccountId) {
	let model = large_model();
	assert_ok!(Jobs::submit(
		RuntimeOrigin::signed(CLIENT),
		model,
		f32_tensors(&[1, 4], &[1.0, 2.0, 3.0, 4.0]),
		VerificationMode::Attested,
		500,
	));
	let job = pallet_jobs::NextJobId::<Test>::get() - 1;
	drawn();
	let executor = Jobs::job(job).unwrap().executors[0];
	submit(vec![signed(job, executor, Claim::Output(hash_of(outputs)), None)]);
	assert!(Results::<Test>::get(job).is_some_and(|result| result.outputs.is_none()));
	(job, executor)
}

/// `executor`'s statements of the pages of `outputs` for `job`.
fn pages(
	job: u64,
	executor: AccountId,
	outputs: &[u8],
) -> Vec<(crate::Statement<Test>, haca_primitives::InferenceSignature)> {
	outputs
		.chunks(256)
		.enumerate()
		.map(|(page, bytes)| {
			let claim = Claim::OutputPage { page: page as u32, hash: hash_of(bytes) };
			signed(job, executor, claim, Some(bytes.to_vec()))
		})
		.collect()
}

fn request(who: AccountId, job: u64) -> DispatchResult {
	Settlement::request_outputs(RuntimeOrigin::signed(who), job)
}

fn challenge(who: AccountId, job: u64, hash: H256) -> DispatchResult {
	Settlement::challenge(RuntimeOrigin::signed(who), job, hash)
}

#[test]
fn a_result_too_large_for_its_statement_is_challenged_only_once_its_outputs_are_published() {
	ExtBuilder::default().build_and_execute(|| {
		let outputs = large_output(0.5);
		let (job, executor) = large_result(&outputs);
		// The verifier's run differs in the last bits only: by hash alone it cannot tell a
		// lie from other hardware.
		let ours = hash_of(&large_output(f32::from_bits(0.5f32.to_bits() + 1)));
		assert_noop!(challenge(VERIFIERS[0], job, ours), Error::<Test>::OutputsNotPublished);

		assert_ok!(request(VERIFIERS[0], job));
		let until = System::block_number() + PUBLISH_WINDOW;
		System::assert_last_event(
			Event::OutputsRequested { job, verifier: VERIFIERS[0], until }.into(),
		);
		assert!(OwedPages::<Test>::contains_key(executor, job));
		assert_noop!(challenge(VERIFIERS[1], job, ours), Error::<Test>::OutputsNotPublished);

		let statements = pages(job, executor, &outputs);
		assert_eq!(statements.len(), 2);
		submit(statements);
		let challenge_until = System::block_number() + CHALLENGE_WINDOW;
		System::assert_last_event(Event::OutputsPublished { job, challenge_until }.into());
		assert!(!OwedPages::<Test>::contains_key(executor, job));
		let result = Results::<Test>::get(job).unwrap();
		assert!(result.published);
		assert_eq!(result.status, ResultStatus::Provisional { challenge_until });
		assert_eq!(Settlement::published_outputs(job), Some(outputs));
		assert_eq!(Settlement::report(job).unwrap().outputs, Settlement::published_outputs(job));

		assert_ok!(challenge(VERIFIERS[0], job, ours));
	});
}

#[test]
fn published_outputs_settle_after_their_new_window_and_leave_nothing_behind() {
	ExtBuilder::default().build_and_execute(|| {
		let outputs = large_output(0.5);
		let (job, executor) = large_result(&outputs);
		let first_window = match Results::<Test>::get(job).unwrap().status {
			ResultStatus::Provisional { challenge_until } => challenge_until,
			status => panic!("provisional, not {status:?}"),
		};
		run_to_block(first_window - 1);
		assert_ok!(request(VERIFIERS[0], job));
		submit(pages(job, executor, &outputs));
		run_to_block(first_window + 1);
		assert!(Jobs::job(job).is_some(), "the new window is open");
		run_to_block(System::block_number() + CHALLENGE_WINDOW);
		assert!(Jobs::job(job).is_none(), "settled");
		assert_eq!(OutputPages::<Test>::iter_prefix(job).count(), 0);
		assert_eq!(bond_of(executor), BOND);
	});
}

#[test]
fn an_executor_that_withholds_its_outputs_loses_its_stake_and_the_job_is_rerun() {
	ExtBuilder::default().build_and_execute(|| {
		let outputs = large_output(0.5);
		let (job, executor) = large_result(&outputs);
		let client_before = Balances::balance(&CLIENT);
		assert_ok!(request(VERIFIERS[0], job));
		// One page of two, then silence.
		submit(pages(job, executor, &outputs)[..1].to_vec());
		run_to_block(System::block_number() + PUBLISH_WINDOW + 1);
		System::assert_has_event(
			Event::OutputsWithheld { job, executor, slashed: JOB_STAKE }.into(),
		);
		assert_eq!(bond_of(executor), BOND - JOB_STAKE);
		assert_eq!(Balances::balance(&CLIENT), client_before + JOB_STAKE / 2);
		assert!(Results::<Test>::get(job).is_none());
		assert_eq!(OutputPages::<Test>::iter_prefix(job).count(), 0);
		assert!(!OwedPages::<Test>::contains_key(executor, job));
		drawn();
		let rerun = Jobs::job(job).unwrap();
		assert_eq!(rerun.attempt, 2);
		assert!(!rerun.executors.contains(&executor));
	});
}

#[test]
fn pages_that_do_not_hash_to_the_result_count_as_withheld() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executor) = large_result(&large_output(0.5));
		assert_ok!(request(VERIFIERS[0], job));
		submit(pages(job, executor, &large_output(0.75)));
		System::assert_last_event(
			Event::OutputsWithheld { job, executor, slashed: JOB_STAKE }.into(),
		);
		assert!(Results::<Test>::get(job).is_none());
	});
}

#[test]
fn pages_must_be_asked_for_in_range_of_their_length_and_hash_and_come_once_in_time() {
	ExtBuilder::default().build_and_execute(|| {
		let outputs = large_output(0.5);
		let (job, executor) = large_result(&outputs);
		let [first, second]: [_; 2] = pages(job, executor, &outputs).try_into().unwrap();
		submit(vec![first.clone()]);
		System::assert_last_event(rejected(job, executor, Error::NotRequested));
		assert_ok!(request(VERIFIERS[0], job));

		let beyond = Claim::OutputPage { page: 2, hash: hash_of(&outputs[..1]) };
		submit(vec![signed(job, executor, beyond, Some(outputs[..1].to_vec()))]);
		System::assert_last_event(rejected(job, executor, Error::WrongPage));
		let short = Claim::OutputPage { page: 0, hash: hash_of(&outputs[..255]) };
		submit(vec![signed(job, executor, short, Some(outputs[..255].to_vec()))]);
		System::assert_last_event(rejected(job, executor, Error::WrongPage));
		// The signature covers the page's hash, which binds its bytes.
		let (mut swapped, _) = first.clone();
		swapped.outputs = second.0.outputs.clone();
		submit(vec![(swapped, first.1.clone())]);
		System::assert_last_event(rejected(job, executor, Error::WrongPage));
		let other = EXECUTORS.into_iter().find(|who| *who != executor).unwrap();
		let claim = first.0.claim;
		submit(vec![signed(job, other, claim, Some(outputs[..256].to_vec()))]);
		System::assert_last_event(rejected(job, other, Error::NotAssigned));

		submit(vec![first.clone()]);
		submit(vec![first]);
		System::assert_last_event(rejected(job, executor, Error::Duplicate));
		run_to_block(System::block_number() + PUBLISH_WINDOW);
		System::set_block_number(System::block_number() + 1);
		submit(vec![second]);
		System::assert_last_event(rejected(job, executor, Error::DeadlinePassed));
	});
}

#[test]
fn outputs_are_asked_for_by_a_verifier_no_party_within_the_window_and_only_once() {
	ExtBuilder::default().build_and_execute(|| {
		let (small, small_executor) = provisional_result();
		assert_noop!(request(VERIFIERS[0], small), Error::<Test>::OutputsOnChain);
		assert_noop!(request(small_executor, small), Error::<Test>::NotVerifier);
		assert_noop!(request(CLIENT, small), Error::<Test>::NotVerifier);

		let outputs = large_output(0.5);
		let (job, executor) = large_result(&outputs);
		assert_noop!(request(CLIENT, job), Error::<Test>::NotVerifier);
		assert_ok!(request(VERIFIERS[0], job));
		assert_noop!(request(VERIFIERS[1], job), Error::<Test>::NotChallengeable);
		submit(pages(job, executor, &outputs));
		assert_noop!(request(VERIFIERS[1], job), Error::<Test>::OutputsOnChain);

		let (late, _) = large_result(&outputs);
		run_to_block(System::block_number() + CHALLENGE_WINDOW + 1);
		assert!(Jobs::job(late).is_none(), "settled");
		assert_noop!(request(VERIFIERS[0], late), Error::<Test>::NotChallengeable);
	});
}

#[test]
fn a_batch_of_pages_is_charged_one_completion_per_publication() {
	use crate::WeightInfo;
	use frame_support::dispatch::GetDispatchInfo;
	type Weights = <Test as crate::Config>::WeightInfo;
	ExtBuilder::default().build_and_execute(|| {
		let outputs = large_output(0.5);
		let (job, executor) = large_result(&outputs);
		assert_ok!(request(VERIFIERS[0], job));
		let [first, second]: [_; 2] = pages(job, executor, &outputs).try_into().unwrap();
		let largest =
			<<Test as crate::Config>::MaxOutputPages as frame_support::traits::Get<u32>>::get();
		let batch = |items: Vec<_>| -> crate::StatementBatch<Test> { items.try_into().unwrap() };
		let call = crate::Call::<Test>::submit_statements {
			statements: batch(vec![first.clone(), second.clone()]),
		};
		assert_eq!(
			call.get_dispatch_info().call_weight,
			Weights::output_page(2) + Weights::output_page(largest)
		);

		let submitted = |items| {
			Settlement::submit_statements(RuntimeOrigin::signed(CLIENT), batch(items))
				.unwrap()
				.actual_weight
		};
		assert_eq!(submitted(vec![first]), Some(Weights::output_page(2)));
		assert_eq!(submitted(vec![second]), Some(Weights::output_page(largest)));
		System::assert_last_event(
			Event::OutputsPublished {
				job,
				challenge_until: System::block_number() + CHALLENGE_WINDOW,
			}
			.into(),
		);
	});
}

#[test]
fn a_group_members_outputs_too_large_for_its_statement_are_asked_for_alone_and_settle_alone() {
	ExtBuilder::default().build_and_execute(|| {
		let (first, executor) = submit_group_on(large_model(), 2);
		// The group statement commits to the outputs by their hashes only.
		let outputs = large_output(0.5);
		let result = crate::GroupOutput::<Test> { output_hash: hash_of(&outputs), outputs: None };
		let results = vec![result; 2].try_into().unwrap();
		let statement = crate::GroupStatement::<Test> { first, executor, results };
		let signature = sign_group(executor, &statement);
		assert_ok!(send_group(statement, signature));

		assert_ok!(request(VERIFIERS[0], first + 1));
		let left = Results::<Test>::get(first + 1).expect("a result of its own");
		assert!(matches!(left.status, ResultStatus::Publishing { .. }));
		assert!(left.inclusion.is_some());
		submit(pages(first + 1, executor, &outputs));
		assert!(Results::<Test>::get(first + 1).unwrap().published);

		run_to_block(System::block_number() + CHALLENGE_WINDOW + 1);
		assert!(Jobs::job(first).is_none() && Jobs::job(first + 1).is_none(), "both settled");
		let genesis = crate::Pallet::<Test>::genesis_hash();
		for job in [first, first + 1] {
			let outcome = pallet_jobs::Pallet::<Test>::outcome(job).unwrap();
			let haca_primitives::runtime_api::JobEnd::Settled { attestations, output_hash, .. } =
				outcome.end
			else {
				panic!("settled")
			};
			assert_eq!(output_hash, hash_of(&outputs));
			let attestation = &attestations[0];
			assert!(attestation.inclusion.is_some(), "job {job}: its place under the root");
			assert_eq!(attestation.verify(genesis, job, outcome.model, outcome.input_hash), Ok(()));
		}
		// The one asked for ended alone, with an outcome of its own; the other with its group.
		assert!(pallet_jobs::Outcomes::<Test>::get(first + 1).is_some());
		assert!(pallet_jobs::Outcomes::<Test>::get(first).is_none());
	});
}
