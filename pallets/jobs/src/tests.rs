//! Unit tests of the jobs pallet (with the real models and executors pallets).

use codec::Encode;
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
	weights::Weight,
};
use haca_primitives::{
	runtime_api::JobEnd,
	statement::{Attestation, Claim},
	tensor::{ElementType, Tensor, TensorSpec},
	traits::{SettledFunds, SettledResult},
	InferenceSignature, ModeSet, ModelHash, VerificationMode,
};
use sp_core::H256;

mod groups;

use crate::{
	config_preludes::LatenessSlash, mock::*, DeadlineQueueBounds, Error, Event, HoldReason,
	JobInputs, JobStatus, Jobs as JobsMap, PendingJobs, Work,
};

const ATTESTED: VerificationMode = VerificationMode::Attested;
const QUORUM_2_OF_3: VerificationMode = VerificationMode::Quorum { agree: 2, of: 3 };

fn submit_as(
	who: AccountId,
	model: ModelHash,
	bytes: Vec<u8>,
	mode: VerificationMode,
	max_fee: Balance,
) -> sp_runtime::DispatchResult {
	Jobs::submit(RuntimeOrigin::signed(who), model, bytes, mode, max_fee)
}

/// A result of `executor`'s, as the settlement pallet settles a job with.
fn settled_result(executor: AccountId) -> SettledResult<AccountId> {
	let outputs = valid_input();
	let output_hash = H256(sp_io::hashing::blake2_256(&outputs));
	let key = sp_core::sr25519::Public::from_raw([executor as u8; 32]).into();
	let signature = InferenceSignature::from(sp_core::sr25519::Signature::from_raw([3; 64]));
	let claim = Claim::Output(output_hash);
	let attestation = Attestation { executor, key, attempt: 1, claim, signature, inclusion: None };
	SettledResult { output_hash, outputs: Some(outputs), attestations: vec![attestation] }
}

/// Blocks from a job's submission (or re-run) to the draw of its executors: the draw uses
/// randomness known only after the job's block, and the mock's, like BABE's, is known since
/// the parent block.
const DRAW_DELAY: u64 = 2;

/// Runs the blocks until the jobs waiting since the current block are drawn.
fn drawn() {
	run_to_block(System::block_number() + DRAW_DELAY);
}

fn submit(model: ModelHash, mode: VerificationMode, max_fee: Balance) -> u64 {
	let id = crate::NextJobId::<Test>::get();
	assert_ok!(submit_as(CLIENT, model, valid_input(), mode, max_fee));
	id
}

fn escrow(who: AccountId) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::Jobs(HoldReason::JobEscrow), &who)
}

fn deposit() -> Balance {
	10 + valid_input().len() as Balance
}

fn active_jobs(who: AccountId) -> u32 {
	pallet_executors::Executors::<Test>::get(who).unwrap().active_jobs
}

fn at_stake(who: AccountId) -> Balance {
	pallet_executors::Executors::<Test>::get(who).unwrap().at_stake
}

fn bond_of(who: AccountId) -> Balance {
	pallet_executors::Executors::<Test>::get(who).unwrap().bond
}

fn executors_of(job: u64) -> Vec<AccountId> {
	JobsMap::<Test>::get(job).unwrap().executors.into_inner()
}

fn tensor_input(element_type: ElementType, shape: Vec<u32>, data_len: usize) -> Vec<u8> {
	vec![Tensor { element_type, shape: shape.try_into().unwrap(), data: vec![0; data_len] }]
		.encode()
}

#[test]
fn a_submitted_job_is_escrowed_and_assigned() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executor(EXEC_A, 2, &[1])
		.build_and_execute(|| {
			let model = model(1);
			let job = submit(model, ATTESTED, 150);
			assert_eq!(escrow(CLIENT), 150 + deposit());
			assert_eq!(JobsMap::<Test>::get(job).unwrap().status, JobStatus::Pending);
			assert_eq!(PendingJobs::<Test>::get().into_inner(), vec![Work::Job(job)]);

			drawn();
			let deadline = 1 + DRAW_DELAY + RESULT_TIMEOUT;
			let info = JobsMap::<Test>::get(job).unwrap();
			assert_eq!(info.status, JobStatus::Assigned { deadline });
			assert!(PendingJobs::<Test>::get().is_empty());
			assert_eq!(info.executors.clone().into_inner(), vec![EXEC_A]);
			assert_eq!(info.input_hash.0, sp_io::hashing::blake2_256(&valid_input()));
			assert_eq!(JobInputs::<Test>::get(job).unwrap().into_inner(), valid_input());
			assert_eq!(active_jobs(EXEC_A), 1);
			assert_eq!(pallet_models::Models::<Test>::get(model).unwrap().job_references, 1);
			System::assert_has_event(
				Event::Submitted { job, client: CLIENT, model, mode: ATTESTED, max_fee: 150 }
					.into(),
			);
			System::assert_last_event(
				Event::Assigned { job, executors: info.executors, deadline, attempt: 1 }.into(),
			);
		});
}

#[test]
fn a_submission_is_charged_by_its_input_length() {
	use crate::WeightInfo;
	use frame_support::dispatch::GetDispatchInfo;
	type Weights = <Test as crate::Config>::WeightInfo;
	let bytes = valid_input();
	let len = bytes.len() as u32;
	let call =
		crate::Call::<Test>::submit { model: model(1), input: bytes, mode: ATTESTED, max_fee: 150 };
	assert_eq!(call.get_dispatch_info().call_weight, Weights::submit(len));
	assert!(Weights::submit(len).ref_time() < Weights::submit(len + 1000).ref_time());
}

fn submit_batch_as(
	who: AccountId,
	model: ModelHash,
	inputs: Vec<Vec<u8>>,
	mode: VerificationMode,
	max_fee: Balance,
) -> sp_runtime::DispatchResult {
	Jobs::submit_batch(RuntimeOrigin::signed(who), model, inputs, mode, max_fee)
}

/// What the jobs pallet holds after a submission, for comparing two ways of submitting.
#[derive(Debug, PartialEq)]
struct PalletState {
	/// The stored jobs, by id.
	jobs: Vec<(u64, crate::Job<Test>)>,
	/// The waiting queue.
	pending: Vec<Work>,
	/// The loads of EXEC_A, EXEC_B and EXEC_C.
	loads: Vec<u32>,
	/// The client's escrow.
	held: Balance,
	/// The jobs pallet's events.
	events: Vec<Event<Test>>,
}

/// A batch submission that must fail: client, inputs, max fee and the error.
type BatchCase = (AccountId, Vec<Vec<u8>>, Balance, Error<Test>);

/// A submission that must fail: model, input, mode, max fee and the error.
type SubmitCase = (ModelHash, Vec<u8>, VerificationMode, Balance, Error<Test>);

/// Three executors of capacity 1 and `jobs` jobs of a 2-of-3 quorum on their model,
/// submitted by `submit_all`; returns the state the jobs pallet leaves.
fn after_submitting(jobs: usize, submit_all: impl Fn(ModelHash, Vec<Vec<u8>>)) -> PalletState {
	let mut state = None;
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executor(EXEC_A, 1, &[1])
		.executor(EXEC_B, 1, &[1])
		.executor(EXEC_C, 1, &[1])
		.build_and_execute(|| {
			let model = model(1);
			System::reset_events();
			submit_all(model, vec![valid_input(); jobs]);
			drawn();
			let mut stored: Vec<_> = JobsMap::<Test>::iter().collect();
			stored.sort_by_key(|(id, _)| *id);
			let events = System::events()
				.into_iter()
				.filter_map(|record| match record.event {
					RuntimeEvent::Jobs(event) => Some(event),
					_ => None,
				})
				.collect();
			state = Some(PalletState {
				jobs: stored,
				pending: PendingJobs::<Test>::get().into_inner(),
				loads: [EXEC_A, EXEC_B, EXEC_C].map(active_jobs).to_vec(),
				held: escrow(CLIENT),
				events,
			});
		});
	state.unwrap()
}

#[test]
fn a_quorum_batch_does_what_its_jobs_submitted_one_by_one_would() {
	let quorum = VerificationMode::Quorum { agree: 2, of: 3 };
	let batched = after_submitting(4, |model, inputs| {
		assert_ok!(submit_batch_as(CLIENT, model, inputs, quorum, 450));
	});
	let single = after_submitting(4, |model, inputs| {
		for bytes in inputs {
			assert_ok!(submit_as(CLIENT, model, bytes, quorum, 450));
		}
	});
	assert_eq!(batched, single);
	let PalletState { jobs, pending, loads, held, .. } = batched;
	assert_eq!(jobs.iter().map(|(id, _)| *id).collect::<Vec<_>>(), (0..4).collect::<Vec<_>>());
	assert_eq!(loads, vec![1, 1, 1], "every executor filled to capacity, none beyond");
	assert_eq!(pending, [1, 2, 3].map(Work::Job).to_vec(), "the rest waits");
	assert_eq!(held, 4 * (450 + deposit()));
}

#[test]
fn one_bad_input_fails_the_whole_batch() {
	ExtBuilder::default().model(1, ModeSet::ATTESTED).executor(EXEC_A, 1, &[1]).build_and_execute(
		|| {
			let model = model(1);
			let bad_shape = tensor_input(ElementType::F32, vec![4, 1], 16);
			// (client, inputs, max fee, expected error)
			let cases: Vec<BatchCase> = vec![
				(CLIENT, vec![], 150, Error::EmptyBatch),
				(CLIENT, vec![valid_input(), bad_shape], 150, Error::WrongInputShape),
				(CLIENT, vec![valid_input(), vec![1, 2, 3]], 150, Error::MalformedInput),
				(CLIENT, vec![valid_input(); 2], MODEL_FEE - 1, Error::FeeTooLow),
				(POOR, vec![valid_input(); 2], 150, Error::InsufficientBalance),
			];
			for (who, inputs, max_fee, error) in cases {
				assert_noop!(submit_batch_as(who, model, inputs, ATTESTED, max_fee), error);
			}
			assert_eq!(escrow(CLIENT) + escrow(POOR), 0);
			assert_eq!(active_jobs(EXEC_A), 0);
			// Four waiting places for a client's new jobs: with one taken, a batch of four
			// finds the queue full.
			let first = submit(model, ATTESTED, 150);
			let held = escrow(CLIENT);
			assert_noop!(
				submit_batch_as(CLIENT, model, vec![valid_input(); 4], ATTESTED, 150),
				Error::<Test>::QueueFull
			);
			assert_eq!(escrow(CLIENT), held);
			assert_ok!(Jobs::cancel(RuntimeOrigin::signed(CLIENT), first));
			assert_ok!(submit_batch_as(CLIENT, model, vec![valid_input(); 4], ATTESTED, 150));
			assert_eq!(PendingJobs::<Test>::get().into_inner(), vec![Work::Group(1)], "one group");
			assert_eq!(crate::PendingPerClient::<Test>::get(CLIENT), 4, "of four jobs");
		},
	);
}

#[test]
fn a_batch_is_charged_less_per_job_than_its_jobs_one_by_one() {
	use crate::WeightInfo;
	use frame_support::dispatch::GetDispatchInfo;
	type Weights = <Test as crate::Config>::WeightInfo;
	let len = valid_input().len() as u32;
	let call = crate::Call::<Test>::submit_batch {
		model: model(1),
		inputs: vec![valid_input(); 4],
		mode: ATTESTED,
		max_fee: 150,
	};
	let charged = call.get_dispatch_info().call_weight;
	assert_eq!(charged, Jobs::submit_batch_weight(ATTESTED, [len; 4].into_iter()));
	assert!(charged.ref_time() < 4 * Weights::submit(len).ref_time());
	// Longer inputs cost what they cost single jobs.
	let one = |len| Jobs::submit_batch_weight(ATTESTED, [len].into_iter());
	assert_eq!(one(len + 100) - one(len), Weights::submit(len + 100) - Weights::submit(len));
}

#[test]
fn quorum_jobs_go_to_distinct_executors() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executors(&[EXEC_A, EXEC_B, EXEC_C], 1, &[1])
		.build_and_execute(|| {
			let model = model(1);
			let job = submit(model, QUORUM_2_OF_3, 300);
			drawn();
			let mut executors = executors_of(job);
			executors.sort();
			assert_eq!(executors, vec![EXEC_A, EXEC_B, EXEC_C]);
		});
}

/// Registers `model`, off chain and attested, taking and giving a tensor of `spec`, for
/// `MODEL_FEE` a run.
fn register_attested(model: ModelHash, spec: TensorSpec) {
	let specs = || vec![spec.clone()].try_into().unwrap();
	assert_ok!(Models::register(
		RuntimeOrigin::signed(OWNER),
		model,
		1_000_000,
		pallet_models::ModelSource::OffChain(
			vec![b"https://m.example/m.onnx".to_vec().try_into().unwrap()].try_into().unwrap()
		),
		pallet_models::ModelTerms {
			inputs: specs(),
			outputs: specs(),
			modes: ModeSet::ATTESTED,
			fee: MODEL_FEE,
			tolerance_ulps: 0,
			graph: None,
		},
		None,
	));
}

#[test]
fn a_variable_batch_pays_in_proportion_to_its_size() {
	ExtBuilder::default().build_and_execute(|| {
		// Batches of up to 4 rows of 3: a full batch pays the model's fee of 100.
		let model = ModelHash::repeat_byte(7);
		let spec =
			TensorSpec::new("x", ElementType::F32, &[4, 3]).unwrap().with_variable_axes(&[0]);
		register_attested(model, spec);
		register_executor(EXEC_A, 8, &[model]);
		let rows = |count: u32| {
			vec![Tensor::from_f32(&[count, 3], &vec![0.5; count as usize * 3]).unwrap()].encode()
		};
		for (count, fee) in [(4, 100), (3, 75), (1, 25), (0, 9)] {
			let id = crate::NextJobId::<Test>::get();
			assert_noop!(
				submit_as(CLIENT, model, rows(count), ATTESTED, fee - 1),
				Error::<Test>::FeeTooLow
			);
			assert_ok!(submit_as(CLIENT, model, rows(count), ATTESTED, fee));
			assert_eq!(JobsMap::<Test>::get(id).unwrap().fee, fee, "{count} rows");
		}
		let before = Balances::free_balance(CLIENT);
		assert_noop!(
			submit_as(CLIENT, model, rows(5), ATTESTED, 1_000),
			Error::<Test>::WrongInputShape
		);
		assert_eq!(Balances::free_balance(CLIENT), before);
	});
}

#[test]
fn boolean_inputs_other_than_zero_or_one_are_refused() {
	ExtBuilder::default().build_and_execute(|| {
		let model = ModelHash::repeat_byte(7);
		register_attested(model, TensorSpec::new("mask", ElementType::Bool, &[3]).unwrap());
		register_executor(EXEC_A, 4, &[model]);
		let bools = |data: Vec<u8>| {
			vec![Tensor {
				element_type: ElementType::Bool,
				shape: vec![3].try_into().unwrap(),
				data,
			}]
			.encode()
		};
		let before = Balances::free_balance(CLIENT);
		assert_noop!(
			submit_as(CLIENT, model, bools(vec![1, 2, 0]), ATTESTED, 500),
			Error::<Test>::InvalidBoolean
		);
		assert_eq!(Balances::free_balance(CLIENT), before);
		assert_ok!(submit_as(CLIENT, model, bools(vec![1, 0, 1]), ATTESTED, 500));
	});
}

#[test]
fn string_inputs_must_be_canonical_utf8_within_their_bound() {
	ExtBuilder::default().build_and_execute(|| {
		let model = ModelHash::repeat_byte(7);
		register_attested(model, TensorSpec::new("text", ElementType::String, &[2]).unwrap());
		register_executor(EXEC_A, 4, &[model]);
		let strings = |data: Vec<u8>| {
			vec![Tensor {
				element_type: ElementType::String,
				shape: vec![2].try_into().unwrap(),
				data,
			}]
			.encode()
		};
		let before = Balances::free_balance(CLIENT);
		let too_long = [vec![0x01, 0x04], vec![b'a'; 256], vec![0]].concat();
		for data in [vec![4, 0xff, 0], vec![4, b'a'], too_long, vec![4, b'a', 4, b'b', 0]] {
			assert_noop!(
				submit_as(CLIENT, model, strings(data), ATTESTED, 500),
				Error::<Test>::InvalidString
			);
		}
		assert_eq!(Balances::free_balance(CLIENT), before);
		let labels = Tensor::from_strings(&[2], ["ok", "été"]).unwrap();
		assert_ok!(submit_as(CLIENT, model, vec![labels].encode(), ATTESTED, 500));
	});
}

#[test]
fn bad_submissions_get_named_errors_and_hold_nothing() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED)
		.model(2, ModeSet::ATTESTED_OR_QUORUM)
		.build_and_execute(|| {
			let broken = model(2);
			let model = model(1);
			assert_ok!(Models::mark_broken(RuntimeOrigin::root(), broken));
			register_executor(EXEC_A, 4, &[model]);
			let ok = valid_input;
			// (model, input, mode, max fee, expected error)
			let cases: Vec<SubmitCase> = vec![
				(ModelHash::repeat_byte(9), ok(), ATTESTED, 500, Error::UnknownModel),
				(broken, ok(), ATTESTED, 500, Error::ModelNotActive),
				(model, ok(), QUORUM_2_OF_3, 500, Error::ModeNotAccepted),
				(model, vec![1, 2, 3], ATTESTED, 500, Error::MalformedInput),
				(model, [ok(), vec![0]].concat(), ATTESTED, 500, Error::MalformedInput),
				(model, Vec::<Tensor>::new().encode(), ATTESTED, 500, Error::WrongInputCount),
				(
					model,
					tensor_input(ElementType::I32, vec![1, 4], 16),
					ATTESTED,
					500,
					Error::WrongInputType,
				),
				(
					model,
					tensor_input(ElementType::F32, vec![4, 1], 16),
					ATTESTED,
					500,
					Error::WrongInputShape,
				),
				(
					model,
					tensor_input(ElementType::F32, vec![1, 4], 15),
					ATTESTED,
					500,
					Error::WrongInputLength,
				),
				(model, ok(), ATTESTED, MODEL_FEE - 1, Error::FeeTooLow),
			];
			for (model, bytes, mode, max_fee, error) in cases {
				assert_noop!(submit_as(CLIENT, model, bytes, mode, max_fee), error);
			}
			assert_noop!(
				submit_as(POOR, model, ok(), ATTESTED, 150),
				Error::<Test>::InsufficientBalance
			);
			assert_eq!(escrow(CLIENT) + escrow(POOR), 0);
		});
}

#[test]
fn quorums_must_be_majorities_of_two_or_more_within_the_bound() {
	ExtBuilder::default().model(1, ModeSet::ATTESTED_OR_QUORUM).build_and_execute(|| {
		let model = model(1);
		// A quorum of one executor is an attested job without verifiers.
		for (agree, of) in [(0, 1), (1, 1), (1, 3), (2, 4), (3, 2)] {
			assert_noop!(
				submit_as(
					CLIENT,
					model,
					valid_input(),
					VerificationMode::Quorum { agree, of },
					10_000
				),
				Error::<Test>::InvalidQuorum
			);
		}
		// A quorum of three costs three runs.
		assert_noop!(
			submit_as(CLIENT, model, valid_input(), QUORUM_2_OF_3, 3 * MODEL_FEE - 1),
			Error::<Test>::FeeTooLow
		);
	});
}

#[test]
fn attested_jobs_need_enough_verifiers_to_challenge_a_lie() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executors(&[EXEC_A, EXEC_B], 2, &[1])
		.build_and_execute(|| {
			MinAttestedVerifiers::set(&2);
			let held = escrow(CLIENT);
			assert_noop!(
				submit_as(CLIENT, model(1), valid_input(), ATTESTED, 150),
				Error::<Test>::TooFewVerifiers
			);
			assert_eq!(escrow(CLIENT), held);
			let quorum = VerificationMode::Quorum { agree: 2, of: 2 };
			assert_ok!(submit_as(CLIENT, model(1), valid_input(), quorum, 300));

			for verifier in [OWNER, CLIENT] {
				let roles = pallet_executors::Roles { executor: false, verifier: true };
				register_with_key(verifier, roles, 0, &[]);
			}
			// Verifiers that do not audit the model cannot judge its results.
			assert_noop!(
				submit_as(CLIENT, model(1), valid_input(), ATTESTED, 150),
				Error::<Test>::TooFewVerifiers
			);
			for verifier in [OWNER, CLIENT] {
				assert_ok!(pallet_executors::Pallet::<Test>::set_models(
					RuntimeOrigin::signed(verifier),
					vec![model(1)].try_into().unwrap()
				));
			}
			assert_ok!(submit_as(CLIENT, model(1), valid_input(), ATTESTED, 150));
		});
}

#[test]
fn jobs_wait_for_executors_instead_of_being_lost() {
	ExtBuilder::default().model(1, ModeSet::ATTESTED_OR_QUORUM).build_and_execute(|| {
		let model = model(1);
		let job = submit(model, ATTESTED, 150);
		assert_eq!(JobsMap::<Test>::get(job).unwrap().status, JobStatus::Pending);
		assert_eq!(PendingJobs::<Test>::get().into_inner(), vec![Work::Job(job)]);
		drawn();
		assert_eq!(JobsMap::<Test>::get(job).unwrap().status, JobStatus::Pending);
		assert_eq!(
			PendingJobs::<Test>::get().into_inner(),
			vec![Work::Job(job)],
			"no executor yet"
		);

		register_executor(EXEC_A, 1, &[model]);
		run_to_block(System::block_number() + 1);
		assert_eq!(executors_of(job), vec![EXEC_A]);
		assert!(PendingJobs::<Test>::get().is_empty());
	});
}

#[test]
fn capacity_limits_assignments_and_the_waiting_queue_is_bounded() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executor(EXEC_A, 1, &[1])
		.build_and_execute(|| {
			let model = model(1);
			let first = submit(model, ATTESTED, 150);
			drawn();
			assert_eq!(executors_of(first), vec![EXEC_A]);
			for _ in 0..4 {
				submit(model, ATTESTED, 150);
			}
			assert_eq!(PendingJobs::<Test>::get().len(), 4);
			let held = escrow(CLIENT);
			assert_noop!(
				submit_as(CLIENT, model, valid_input(), ATTESTED, 150),
				Error::<Test>::QueueFull
			);
			assert_eq!(escrow(CLIENT), held);
		});
}

#[test]
fn junk_in_the_waiting_queue_is_bounded_per_client_leaves_room_for_reruns_and_expires() {
	use frame_support::traits::Get;
	use haca_primitives::traits::JobLedger;
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.model(2, ModeSet::ATTESTED_OR_QUORUM)
		.executor(EXEC_A, 1, &[2])
		.build_and_execute(|| {
			// An honest job runs on model 2.
			let honest = crate::NextJobId::<Test>::get();
			assert_ok!(submit_as(OWNER, model(2), valid_input(), ATTESTED, 150));
			drawn();
			assert_eq!(executors_of(honest), vec![EXEC_A]);

			// Nobody serves model 1: its jobs only wait. A client queues its share of them.
			let since = System::block_number();
			let quota = <Test as crate::Config>::MaxPendingPerClient::get();
			let junk: Vec<_> = (0..quota).map(|_| submit(model(1), ATTESTED, 150)).collect();
			let held = escrow(CLIENT);
			assert_noop!(
				submit_as(CLIENT, model(1), valid_input(), ATTESTED, 150),
				Error::<Test>::QueueFull
			);
			assert_eq!(escrow(CLIENT), held, "a refused submission holds nothing");

			// New submissions have filled their half of the queue; the honest job, which ran
			// and must run again, still finds a place.
			assert_noop!(
				submit_as(OWNER, model(2), valid_input(), ATTESTED, 150),
				Error::<Test>::QueueFull
			);
			assert_ok!(Executors::unbond(RuntimeOrigin::signed(EXEC_A)));
			Jobs::rerun(honest, &[EXEC_A]);
			assert_eq!(JobsMap::<Test>::get(honest).unwrap().status, JobStatus::Pending);
			assert!(PendingJobs::<Test>::get().contains(&Work::Job(honest)));

			// After `PendingTimeout` blocks the junk fails, refunded in full, and frees the
			// client's share.
			run_to_block(since + PENDING_TIMEOUT + 1);
			for job in junk {
				assert!(JobsMap::<Test>::get(job).is_none());
				System::assert_has_event(Event::Failed { job, refunded: 150 + deposit() }.into());
			}
			assert_eq!(escrow(CLIENT), 0);
			assert_eq!(crate::PendingPerClient::<Test>::get(CLIENT), 0);
			assert_ok!(submit_as(CLIENT, model(1), valid_input(), ATTESTED, 150));
		});
}

#[test]
fn missed_deadlines_cost_the_late_a_share_of_the_stake_then_fail_with_a_full_refund() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executors(&[EXEC_A, EXEC_B], 1, &[1])
		.build_and_execute(|| {
			let model = model(1);
			let job = submit(model, ATTESTED, 150);
			drawn();
			let first = executors_of(job)[0];
			let second = if first == EXEC_A { EXEC_B } else { EXEC_A };

			// The deadline is the last block a result counts; the job expires after it.
			let deadline = 1 + DRAW_DELAY + RESULT_TIMEOUT;
			run_to_block(deadline);
			assert_eq!(executors_of(job), vec![first]);
			run_to_block(deadline + 1);
			System::assert_has_event(
				Event::DeadlineMissed { job, executors: vec![first].try_into().unwrap() }.into(),
			);
			assert_eq!(JobsMap::<Test>::get(job).unwrap().status, JobStatus::Pending);
			assert_eq!(pallet_executors::Executors::<Test>::get(first).unwrap().reputation, 90);
			assert_eq!((active_jobs(first), at_stake(first)), (0, 0), "replaced: stake freed");
			// Lateness costs bond, to the client who waited.
			let lateness = LatenessSlash::get() * MinJobStake::get();
			assert!(lateness > 0);
			assert_eq!(bond_of(first), MinBond::get() - lateness);
			drawn();
			assert_eq!(executors_of(job), vec![second], "re-assigned to the other executor");
			assert_eq!(JobsMap::<Test>::get(job).unwrap().attempts, 2);

			run_to_block(deadline + 1 + DRAW_DELAY + RESULT_TIMEOUT + 1);
			assert!(JobsMap::<Test>::get(job).is_none());
			assert!(JobInputs::<Test>::get(job).is_none());
			System::assert_has_event(Event::Failed { job, refunded: 150 + deposit() }.into());
			assert_eq!(escrow(CLIENT), 0);
			assert_eq!(Balances::balance(&CLIENT), INITIAL_BALANCE + 2 * lateness);
			assert_eq!(bond_of(second), MinBond::get() - lateness);
			assert_eq!((active_jobs(second), at_stake(second)), (0, 0));
			assert_eq!(pallet_models::Models::<Test>::get(model).unwrap().job_references, 0);
		});
}

#[test]
fn a_busy_executor_can_stop_serving_a_model_and_still_owes_its_jobs() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.model(2, ModeSet::ATTESTED_OR_QUORUM)
		.executors(&[EXEC_A], 4, &[1, 2])
		.build_and_execute(|| {
			let job = submit(model(1), ATTESTED, 150);
			drawn();
			assert_eq!(executors_of(job), vec![EXEC_A]);
			// A job of model 1 in progress does not keep it serving model 1.
			assert_ok!(pallet_executors::Pallet::<Test>::set_models(
				RuntimeOrigin::signed(EXEC_A),
				vec![model(2)].try_into().unwrap()
			));
			let later = submit(model(1), ATTESTED, 150);
			drawn();
			assert_eq!(JobsMap::<Test>::get(later).unwrap().status, JobStatus::Pending);
			assert_eq!(executors_of(job), vec![EXEC_A], "the first job is still its");
			assert_eq!(active_jobs(EXEC_A), 1);
		});
}

#[test]
fn an_assignment_binds_its_executors_stakes_until_it_ends() {
	use haca_primitives::traits::JobLedger;
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executors(&[EXEC_A, EXEC_B, EXEC_C], 4, &[1])
		.build_and_execute(|| {
			let stake = MinJobStake::get();
			let job = submit(model(1), ATTESTED, 150);
			drawn();
			assert_eq!(JobsMap::<Test>::get(job).unwrap().stake, stake);
			let first = executors_of(job)[0];
			assert_eq!(at_stake(first), stake);

			// Delivered: capacity is free, the stake is not (the result is not settled).
			Jobs::note_delivered(job, &first);
			assert_eq!((active_jobs(first), at_stake(first)), (0, stake));

			// Re-run (its result was ruled wrong): the stake moves to the new executor.
			Jobs::rerun(job, &[first]);
			assert_eq!(at_stake(first), 0);
			drawn();
			let second = executors_of(job)[0];
			assert_ne!(second, first);
			assert_eq!((at_stake(first), at_stake(second)), (0, stake));

			// Settled: nobody's bond is bound any more.
			Jobs::note_delivered(job, &second);
			assert_ok!(Jobs::settle(job, &[(second, 100)], settled_result(second)));
			assert!([EXEC_A, EXEC_B, EXEC_C].iter().all(|who| at_stake(*who) == 0));
		});
}

/// The weight of `on_initialize` with `expiries` missed deadlines, `met` met ones and no
/// draw.
fn hook_weight(expiries: u64, met: u64) -> Weight {
	crate::Pallet::<Test>::hook_base_weight()
		+ crate::Pallet::<Test>::expiry_weight() * expiries
		+ crate::Pallet::<Test>::met_deadline_weight() * met
}

#[test]
fn deadline_work_stops_at_the_blocks_weight_and_goes_on_in_the_next() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executor(EXEC_A, 8, &[1])
		.build_and_execute(|| {
			let model = model(1);
			let jobs: Vec<_> = (0..3).map(|_| submit(model, ATTESTED, 150)).collect();
			drawn();
			MaxHookWeight::set(hook_weight(2, 0));
			let deadline = 1 + DRAW_DELAY + RESULT_TIMEOUT;
			run_to_block(deadline + 1);
			// Two of the three missed deadlines fit in this block's weight.
			assert_eq!(DeadlineQueueBounds::<Test>::get().0, 2);
			let status = |job| JobsMap::<Test>::get(job).unwrap().status;
			assert_eq!(status(jobs[2]), JobStatus::Assigned { deadline });
			run_to_block(deadline + 2);
			assert_eq!(status(jobs[2]), JobStatus::Pending);
		});
}

/// A block with weight to spare handles every missed deadline, however many: no fixed count
/// lets a backlog build up while blocks are idle.
#[test]
fn every_missed_deadline_is_handled_while_the_block_has_weight() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executor(EXEC_A, 8, &[1])
		.build_and_execute(|| {
			let model = model(1);
			let jobs: Vec<_> = (0..4).map(|_| submit(model, ATTESTED, 150)).collect();
			drawn();
			run_to_block(1 + DRAW_DELAY + RESULT_TIMEOUT + 1);
			assert!(jobs
				.iter()
				.all(|job| JobsMap::<Test>::get(job).unwrap().status == JobStatus::Pending));
		});
}

#[test]
fn met_deadlines_do_not_hold_up_missed_ones() {
	use haca_primitives::traits::JobLedger;
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executor(EXEC_A, 8, &[1])
		.build_and_execute(|| {
			let model = model(1);
			let jobs: Vec<_> = (0..4).map(|_| submit(model, ATTESTED, 150)).collect();
			drawn();
			// The first three delivered in time; the last did not.
			for &job in &jobs[..3] {
				Jobs::note_delivered(job, &EXEC_A);
			}
			MaxHookWeight::set(hook_weight(1, 3));
			run_to_block(2 + DRAW_DELAY + RESULT_TIMEOUT);
			// Three met deadlines cost less than missed ones: all four fit.
			assert_eq!(DeadlineQueueBounds::<Test>::get().0, 4);
			assert_eq!(JobsMap::<Test>::get(jobs[3]).unwrap().status, JobStatus::Pending);
			assert!(jobs[..3]
				.iter()
				.all(|&job| JobsMap::<Test>::get(job).unwrap().status == JobStatus::Delivered));
		});
}

#[test]
fn clients_cancel_waiting_jobs_only() {
	ExtBuilder::default().model(1, ModeSet::ATTESTED_OR_QUORUM).build_and_execute(|| {
		let model = model(1);
		let waiting = submit(model, ATTESTED, 150);
		assert_noop!(Jobs::cancel(RuntimeOrigin::signed(OWNER), waiting), Error::<Test>::NotClient);
		assert_noop!(Jobs::cancel(RuntimeOrigin::signed(CLIENT), 77), Error::<Test>::UnknownJob);
		assert_ok!(Jobs::cancel(RuntimeOrigin::signed(CLIENT), waiting));
		System::assert_last_event(
			Event::Cancelled { job: waiting, refunded: 150 + deposit() }.into(),
		);
		assert_eq!(Balances::balance(&CLIENT), INITIAL_BALANCE);
		assert!(PendingJobs::<Test>::get().is_empty());

		register_executor(EXEC_A, 1, &[model]);
		let assigned = submit(model, ATTESTED, 150);
		drawn();
		assert_noop!(
			Jobs::cancel(RuntimeOrigin::signed(CLIENT), assigned),
			Error::<Test>::NotCancellable
		);
	});
}

#[test]
fn assignment_is_deterministic_and_spreads_load() {
	use haca_primitives::traits::JobLedger;
	let assign_all = || {
		let mut assigned = Vec::new();
		ExtBuilder::default()
			.model(1, ModeSet::ATTESTED_OR_QUORUM)
			.executors(&[EXEC_A, EXEC_B, EXEC_C], 64, &[1])
			.build_and_execute(|| {
				let model = model(1);
				for _ in 0..30 {
					let job = submit(model, ATTESTED, 150);
					drawn();
					let executor = executors_of(job)[0];
					Jobs::note_delivered(job, &executor);
					assigned.push(executor);
				}
			});
		assigned
	};
	let first = assign_all();
	assert_eq!(first, assign_all(), "same chain data, same assignment");
	for who in [EXEC_A, EXEC_B, EXEC_C] {
		let share = first.iter().filter(|e| **e == who).count();
		assert!(share >= 3, "executor {who} got {share} of 30 jobs");
	}
}

/// A client knows everything public when it submits, the randomness of its job's block
/// included; it still cannot know or choose its executors: they are drawn only from
/// randomness revealed after that block, which plays out differently in different futures.
#[test]
fn nobody_who_submits_can_know_or_choose_its_executors() {
	use crate::testing::RandomnessSeed;
	let executors_in_a_future = |revealed: [u8; 32]| {
		let mut drawn = Vec::new();
		ExtBuilder::default()
			.model(1, ModeSet::ATTESTED_OR_QUORUM)
			.executors(&[EXEC_A, EXEC_B, EXEC_C], 8, &[1])
			.build_and_execute(|| {
				let jobs: Vec<_> = (0..4).map(|_| submit(model(1), ATTESTED, 150)).collect();
				run_to_block(2);
				for job in &jobs {
					let waiting = JobsMap::<Test>::get(job).unwrap();
					assert_eq!(waiting.status, JobStatus::Pending, "not drawn from known values");
				}
				RandomnessSeed::set(&revealed);
				run_to_block(3);
				drawn = jobs.iter().map(|job| executors_of(*job)[0]).collect();
			});
		drawn
	};
	let futures: std::collections::BTreeSet<Vec<AccountId>> =
		(0..8u8).map(|revealed| executors_in_a_future([revealed; 32])).collect();
	assert!(futures.len() > 1, "the executors follow what is revealed after submission");
	assert_eq!(executors_in_a_future([1; 32]), executors_in_a_future([1; 32]));
}

#[test]
fn a_retired_model_keeps_its_deposit_until_its_jobs_end() {
	ExtBuilder::default().model(1, ModeSet::ATTESTED_OR_QUORUM).build_and_execute(|| {
		let model = model(1);
		let job = submit(model, ATTESTED, 150);
		assert_ok!(Models::retire(RuntimeOrigin::signed(OWNER), model));
		assert!(pallet_models::Models::<Test>::get(model).is_some());
		assert_noop!(
			submit_as(CLIENT, model, valid_input(), ATTESTED, 150),
			Error::<Test>::ModelNotActive
		);
		assert_ok!(Jobs::cancel(RuntimeOrigin::signed(CLIENT), job));
		assert!(pallet_models::Models::<Test>::get(model).is_none());
		assert_eq!(Balances::balance(&OWNER), INITIAL_BALANCE);
	});
}

mod ledger {
	use super::*;
	use haca_primitives::traits::JobLedger;

	#[test]
	fn deliveries_free_capacity_and_stop_the_deadline() {
		ExtBuilder::default()
			.model(1, ModeSet::ATTESTED_OR_QUORUM)
			.executors(&[EXEC_A, EXEC_B, EXEC_C], 1, &[1])
			.build_and_execute(|| {
				let model = model(1);
				let job = submit(model, QUORUM_2_OF_3, 300);
				drawn();
				let view = Jobs::job(job).unwrap();
				assert_eq!(view.deadline, Some(1 + DRAW_DELAY + RESULT_TIMEOUT));
				for who in &view.executors {
					Jobs::note_delivered(job, who);
					Jobs::note_delivered(job, who);
					assert_eq!(active_jobs(*who), 0);
				}
				Jobs::note_delivered(job, &OWNER);
				let info = JobsMap::<Test>::get(job).unwrap();
				assert_eq!(info.status, JobStatus::Delivered);
				assert_eq!(info.delivered.len(), 3);
				System::assert_last_event(Event::Delivered { job }.into());
				run_to_block(10 + RESULT_TIMEOUT);
				assert_eq!(JobsMap::<Test>::get(job).unwrap().status, JobStatus::Delivered);
			});
	}

	#[test]
	fn a_settlement_pays_everyone_or_no_one() {
		ExtBuilder::default()
			.model(1, ModeSet::ATTESTED_OR_QUORUM)
			.executor(EXEC_A, 1, &[1])
			.build_and_execute(|| {
				let job = submit(model(1), ATTESTED, 250);
				drawn();
				let nobody: AccountId = 999;
				let (executor_before, held_before) = (Balances::balance(&EXEC_A), escrow(CLIENT));
				// The second payout cannot be made: below the existential deposit of an
				// account that does not exist.
				let payouts = [(EXEC_A, 90), (nobody, EXISTENTIAL_DEPOSIT - 1)];
				assert!(Jobs::settle(job, &payouts, settled_result(EXEC_A)).is_err());
				assert_eq!(Balances::balance(&EXEC_A), executor_before, "the first is undone");
				assert_eq!(escrow(CLIENT), held_before);
				assert!(JobsMap::<Test>::get(job).is_some(), "the job is still there");

				// What the settlement pallet does then: the client gets everything back.
				Jobs::fail(job);
				System::assert_last_event(Event::Failed { job, refunded: 250 + deposit() }.into());
				assert_eq!((escrow(CLIENT), at_stake(EXEC_A)), (0, 0));
				assert!(JobsMap::<Test>::get(job).is_none());
			});
	}

	#[test]
	fn settlement_pays_from_the_escrow_and_returns_the_rest() {
		ExtBuilder::default()
			.model(1, ModeSet::ATTESTED_OR_QUORUM)
			.executor(EXEC_A, 1, &[1])
			.build_and_execute(|| {
				let model = model(1);
				let job = submit(model, ATTESTED, 250);
				let other = submit(model, ATTESTED, 150);
				drawn();
				let executor_before = Balances::balance(&EXEC_A);
				assert_noop!(
					Jobs::settle(job, &[(EXEC_A, 200), (OWNER, 51)], settled_result(EXEC_A)),
					Error::<Test>::PayoutsExceedFee
				);
				let settled =
					Jobs::settle(job, &[(EXEC_A, 90), (OWNER, 10)], settled_result(EXEC_A));
				assert_eq!(settled, Ok(SettledFunds { paid: 100, refunded: 150 + deposit() }));
				assert_eq!(Balances::balance(&EXEC_A), executor_before + 90);
				assert_eq!(Balances::balance(&OWNER), INITIAL_BALANCE - 100 - 29 + 10);
				// The other job's escrow is untouched.
				assert_eq!(escrow(CLIENT), 150 + deposit());
				assert!(JobsMap::<Test>::get(other).is_some());
				assert_eq!(Balances::balance(&CLIENT) + escrow(CLIENT), INITIAL_BALANCE - 100);
			});
	}

	#[test]
	fn partial_delivery_without_a_taker_reruns_without_penalising_deliverers() {
		ExtBuilder::default()
			.model(1, ModeSet::ATTESTED_OR_QUORUM)
			.executors(&[EXEC_A, EXEC_B, EXEC_C, 3, 4], 1, &[1])
			.build_and_execute(|| {
				let model = model(1);
				let job = submit(model, QUORUM_2_OF_3, 300);
				drawn();
				let first = executors_of(job);
				Jobs::note_delivered(job, &first[0]);
				run_to_block(2 + DRAW_DELAY + RESULT_TIMEOUT);
				let reputation =
					|who| pallet_executors::Executors::<Test>::get(who).unwrap().reputation;
				assert_eq!(reputation(first[0]), 100);
				assert_eq!(reputation(first[1]), 90);
				assert_eq!(JobsMap::<Test>::get(job).unwrap().status, JobStatus::Pending);
				drawn();
				assert_eq!(JobsMap::<Test>::get(job).unwrap().attempts, 2);
			});
	}

	#[test]
	fn rerun_assigns_others_and_fails_after_the_last_attempt() {
		ExtBuilder::default()
			.model(1, ModeSet::ATTESTED_OR_QUORUM)
			.executors(&[EXEC_A, EXEC_B], 1, &[1])
			.build_and_execute(|| {
				let model = model(1);
				let job = submit(model, ATTESTED, 150);
				drawn();
				let first = executors_of(job);
				Jobs::note_delivered(job, &first[0]);
				Jobs::rerun(job, &first);
				drawn();
				let second = executors_of(job);
				assert_ne!(first, second);
				Jobs::rerun(job, &second);
				assert!(JobsMap::<Test>::get(job).is_none());
				assert_eq!(Balances::balance(&CLIENT), INITIAL_BALANCE);
				assert_eq!(active_jobs(EXEC_A) + active_jobs(EXEC_B), 0);
			});
	}
}

#[test]
fn ended_jobs_keep_their_outcome_among_the_most_recent() {
	use haca_primitives::traits::JobLedger;
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executor(EXEC_A, 1, &[1])
		.build_and_execute(|| {
			let model = model(1);
			let settled = submit(model, ATTESTED, 250);
			let cancelled = submit(model, ATTESTED, 150);
			assert_eq!(Jobs::outcome(settled), None, "a job that has not ended has none");
			assert_ok!(Jobs::cancel(RuntimeOrigin::signed(CLIENT), cancelled));
			drawn();
			let result = settled_result(EXEC_A);
			assert_ok!(Jobs::settle(settled, &[(EXEC_A, 90), (OWNER, 10)], result.clone()));

			let outcome = Jobs::outcome(settled).expect("a settled job's outcome");
			assert_eq!((outcome.client, outcome.model, outcome.mode), (CLIENT, model, ATTESTED));
			assert_eq!(outcome.input_hash.0, sp_io::hashing::blake2_256(&valid_input()));
			assert_eq!((outcome.submitted_at, outcome.ended_at), (1, System::block_number()));
			assert_eq!(
				outcome.end,
				JobEnd::Settled {
					output_hash: result.output_hash,
					outputs: result.outputs,
					attestations: result.attestations,
					paid: 100,
					refunded: 150 + deposit(),
				}
			);
			let cancelled_end = Jobs::outcome(cancelled).map(|outcome| outcome.end);
			assert_eq!(cancelled_end, Some(JobEnd::Cancelled { refunded: 150 + deposit() }));
			assert_eq!(Jobs::outcome(99), None, "nor does a job that never existed");

			// Outputs longer than `MaxOutputLen` leave only their hash.
			let long = submit(model, ATTESTED, 150);
			drawn();
			let mut result = settled_result(EXEC_A);
			result.outputs = Some(vec![0; 257]);
			assert_ok!(Jobs::settle(long, &[(EXEC_A, 100)], result.clone()));
			let JobEnd::Settled { outputs, output_hash, .. } = Jobs::outcome(long).unwrap().end
			else {
				panic!("settled")
			};
			assert_eq!((outputs, output_hash), (None, result.output_hash));

			// The ring keeps `MaxOutcomes` (4): each new outcome replaces the oldest.
			let failed: Vec<_> = (0..2)
				.map(|_| {
					let job = submit(model, ATTESTED, 150);
					drawn();
					Jobs::fail(job);
					job
				})
				.collect();
			assert_eq!(crate::Outcomes::<Test>::iter().count(), 4);
			assert_eq!(Jobs::outcome(cancelled), None, "the oldest outcome made way");
			let failed_end = Jobs::outcome(failed[1]).map(|outcome| outcome.end);
			assert_eq!(failed_end, Some(JobEnd::Failed { refunded: 150 + deposit() }));
			let kept = [settled, long, failed[0], failed[1]];
			assert!(kept.iter().all(|job| Jobs::outcome(*job).is_some()));
		});
}

#[test]
fn an_input_longer_than_max_input_len_or_too_many_inputs_fail_by_name() {
	ExtBuilder::default()
		.model(1, ModeSet::ATTESTED_OR_QUORUM)
		.executor(EXEC_A, 1, &[1])
		.build_and_execute(|| {
			let model = model(1);
			// Over the mock's 1,024 bytes: the call decodes (the pool can tell why it fails).
			assert_noop!(
				submit_as(CLIENT, model, vec![0; 1025], ATTESTED, 150),
				Error::<Test>::InputTooLong
			);
			assert_noop!(
				submit_batch_as(CLIENT, model, vec![valid_input(), vec![0; 1025]], ATTESTED, 150),
				Error::<Test>::InputTooLong
			);
			// Over the mock's `MaxJobsPerSubmit` of 4.
			assert_noop!(
				submit_batch_as(CLIENT, model, vec![valid_input(); 5], ATTESTED, 150),
				Error::<Test>::TooManyInputs
			);
			assert_eq!(escrow(CLIENT), 0);
		});
}
