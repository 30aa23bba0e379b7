//! The off-chain worker with the real engine (tract) behind the host functions.

use super::*;
use codec::{Decode, Encode};
use frame_support::traits::Hooks;
use haca_inference::{InferenceExt, NodeInference, NodeRoles};
use haca_primitives::{
	tensor::{decode_tensors, tensors_agree, Tensor},
	ModelHash, INFERENCE_KEY_TYPE,
};
use parking_lot::RwLock;
use sp_core::offchain::{
	testing::{OffchainState, PoolState, TestOffchainExt, TestTransactionPoolExt},
	OffchainDbExt, OffchainWorkerExt, TransactionPoolExt,
};
use sp_core::Pair;
use sp_keystore::{testing::MemoryKeystore, Keystore, KeystoreExt};
use std::sync::Arc;

fn models_dir() -> std::path::PathBuf {
	std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../offchain-workers/models")
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
	let (ext, pool, _) = node_ext_with_offchain_state(roles);
	(ext, pool)
}

/// [`node_ext`], with the node's off-chain state (its random seed, for one).
fn node_ext_with_offchain_state(
	roles: NodeRoles,
) -> (sp_io::TestExternalities, Arc<RwLock<PoolState>>, Arc<RwLock<OffchainState>>) {
	let mut ext = ExtBuilder::default().build();
	let (offchain, offchain_state) = TestOffchainExt::new();
	let (pool, pool_state) = TestTransactionPoolExt::new();
	let keystore = MemoryKeystore::new();
	for who in EXECUTORS.into_iter().chain(VERIFIERS) {
		keystore.sr25519_generate_new(INFERENCE_KEY_TYPE, Some(&format!("//haca-{who}"))).unwrap();
	}
	ext.register_extension(OffchainWorkerExt::new(offchain.clone()));
	ext.register_extension(OffchainDbExt::new(offchain));
	ext.register_extension(TransactionPoolExt::new(pool));
	ext.register_extension(KeystoreExt::new(keystore));
	if roles != NO_ROLE {
		let engine = Arc::new(haca_engine::Engine::new(Default::default(), None));
		ext.register_extension(InferenceExt(NodeInference { engine, roles, fetcher: None }));
	}
	(ext, pool_state, offchain_state)
}

/// Uploads the generated MLP on chain; every executor serves it, every verifier audits it.
fn mlp_on_chain(bytes: &[u8]) -> ModelHash {
	mlp_on_chain_for(bytes, haca_primitives::ModeSet::ATTESTED_OR_QUORUM)
}

/// Uploads the generated MLP on chain for `modes`; every executor serves it, every verifier
/// audits it.
fn mlp_on_chain_for(bytes: &[u8], modes: haca_primitives::ModeSet) -> ModelHash {
	let hash = ModelHash::from(sp_io::hashing::blake2_256(bytes));
	assert_ok!(Models::register(
		RuntimeOrigin::signed(OWNER),
		hash,
		bytes.len() as u32,
		pallet_models::ModelSource::OnChain,
		pallet_models::ModelTerms { modes, ..terms(&[1, 3]) },
		None,
	));
	for (index, chunk) in bytes.chunks(256).enumerate() {
		assert_ok!(Models::upload_chunk(
			RuntimeOrigin::signed(OWNER),
			hash,
			index as u32,
			chunk.to_vec().try_into().unwrap()
		));
	}
	for who in EXECUTORS.into_iter().chain(VERIFIERS) {
		assert_ok!(Executors::set_models(
			RuntimeOrigin::signed(who),
			vec![model(), hash].try_into().unwrap()
		));
	}
	hash
}

/// Uploads the generated MLP and submits a 2-of-3 quorum job on it; returns the job.
fn quorum_job_on_mlp() -> u64 {
	let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
	submit_on(mlp_on_chain(&bytes), QUORUM_2_OF_3, 1_000)
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

/// Submits a job on `model` with the MLP input and runs to its draw.
fn submit_on(model: ModelHash, mode: VerificationMode, max_fee: Balance) -> u64 {
	let id = queue_input(model, mlp_input(None), mode, max_fee);
	drawn();
	id
}

/// Submits a job with `input`; it waits for its draw.
fn queue_input(model: ModelHash, input: Vec<u8>, mode: VerificationMode, max_fee: Balance) -> u64 {
	let id = pallet_jobs::NextJobId::<Test>::get();
	assert_ok!(Jobs::submit(RuntimeOrigin::signed(CLIENT), model, input, mode, max_fee));
	id
}

/// Runs the off-chain worker on the current block.
fn run_worker() {
	Settlement::offchain_worker(System::block_number());
}

/// Goes on to the next block.
fn next_block() {
	run_to_block(System::block_number() + 1);
}

/// Dispatches the transactions the workers put in the pool, as the block author would:
/// each one still authorized on the state the ones before it left. Returns how many were
/// included.
fn include_pool(pool: &Arc<RwLock<PoolState>>) -> usize {
	let transactions = std::mem::take(&mut pool.write().transactions);
	let mut included = 0;
	for transaction in &transactions {
		let xt =
			frame_system::mocking::MockUncheckedExtrinsic::<Test>::decode(&mut &transaction[..])
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
			RuntimeCall::Settlement(crate::Call::submit_proof { statement, signature, proof }) => {
				let source = TransactionSource::Local;
				if crate::Pallet::<Test>::authorize_proof(source, &statement, &signature, &proof)
					.is_err()
				{
					continue;
				}
				assert_ok!(Settlement::submit_proof(authorized, statement, signature, proof));
			}
			RuntimeCall::Settlement(crate::Call::submit_group_results { statement, signature }) => {
				let source = TransactionSource::Local;
				assert!(crate::Pallet::<Test>::authorize_group_results(
					source, &statement, &signature
				)
				.is_ok());
				assert_ok!(Settlement::submit_group_results(authorized, statement, signature));
			}
			RuntimeCall::Settlement(crate::Call::submit_verdict { verdict, signature }) => {
				let source = TransactionSource::Local;
				if crate::Pallet::<Test>::authorize_verdict(source, &verdict, &signature).is_err() {
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

/// Runs the worker again after what it sent was lost: nothing is sent again within the
/// round it was sent in, and something is in the next round (blocks go on until it is).
fn run_worker_until_sent_again(pool: &Arc<RwLock<PoolState>>) {
	run_worker();
	assert!(pool.read().transactions.is_empty(), "not sent again within a round");
	let mut waited = 0;
	while pool.read().transactions.is_empty() {
		assert!(waited < haca_worker::RESEND_AFTER_BLOCKS, "sent again in the next round");
		next_block();
		waited += 1;
		run_worker();
	}
}

/// The three commitments the worker just sent are lost on their way to a block: a round
/// later the worker sends them again, freshly signed (other bytes than the lost ones, which
/// peers may have banned) though the node's randomness changed, and then the lost ones reach
/// a block after all (the reveals must match them).
fn three_commitments_lost_sent_again_and_landing(
	pool: &Arc<RwLock<PoolState>>,
	offchain: &Arc<RwLock<OffchainState>>,
) {
	let lost = std::mem::take(&mut pool.write().transactions);
	assert_eq!(lost.len(), 3, "three commitments, lost");
	// Salts come from the node's randomness: a new commitment would hide a new one.
	offchain.write().seed = [7; 32];
	run_worker_until_sent_again(pool);
	let again = pool.read().transactions.clone();
	assert_eq!(again.len(), 3, "the three commitments sent again");
	assert!(again.iter().all(|sent| !lost.contains(sent)), "in other bytes than the lost");
	pool.write().transactions = lost;
	assert_eq!(include_pool(pool), 3);
}

/// The int8 MLP export (64 f32 in, 10 f32 out, a batch of one), uploaded on chain with the
/// circuit its dispute graph compiles to; every executor serves it.
fn int8_mlp_on_chain() -> (ModelHash, Vec<u8>) {
	let bytes = std::fs::read(models_dir().join("exports/int8_mlp/model.onnx")).unwrap();
	let graph = haca_engine::lowering::lower(&bytes).unwrap().graph;
	let circuit = haca_proof::compile::compile(&graph, &[64]).unwrap();
	let hash = ModelHash::from(sp_io::hashing::blake2_256(&bytes));
	let specs = |dims: &[u32]| vec![spec(dims)].try_into().unwrap();
	let terms = pallet_models::ModelTerms {
		inputs: specs(&[1, 64]),
		outputs: specs(&[1, 10]),
		modes: haca_primitives::ModeSet::ALL,
		tolerance_ulps: 0,
		..terms(&[1, 10])
	};
	assert_ok!(Models::register(
		RuntimeOrigin::signed(OWNER),
		hash,
		bytes.len() as u32,
		pallet_models::ModelSource::OnChain,
		terms,
		Some(circuit.encode().try_into().unwrap()),
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
	(hash, bytes)
}

/// The first sample of the int8 MLP's stored input, encoded.
fn int8_mlp_input() -> Vec<u8> {
	let dir = models_dir().join("exports/int8_mlp/test_data_set_0");
	let stored = haca_engine::proto::read(&std::fs::read(dir.join("input_0.pb")).unwrap()).unwrap();
	let first = Tensor {
		element_type: stored.element_type,
		shape: vec![1, 64].try_into().unwrap(),
		data: stored.data[..64 * 4].to_vec(),
	};
	vec![first].encode()
}

#[test]
fn an_executor_node_proves_its_proven_job_and_the_proof_settles_it_at_once() {
	let (mut ext, pool) = node_ext(EXECUTOR);
	ext.execute_with(|| {
		let (model, bytes) = int8_mlp_on_chain();
		let input = int8_mlp_input();
		let job = queue_input(model, input.clone(), VerificationMode::Proven, 500);
		drawn();
		run_worker();
		run_worker();
		assert_eq!(include_pool(&pool), 1, "one proof, however often the worker runs");
		assert!(Jobs::job(job).is_none(), "settled in the block that included the proof");
		let settled = System::events().into_iter().find_map(|record| match record.event {
			RuntimeEvent::Settlement(Event::Settled { job: settled, outputs, .. })
				if settled == job =>
			{
				outputs
			}
			_ => None,
		});
		// The proven outputs are tract's, bit for bit.
		let plan =
			haca_engine::Plan::compile(&bytes, &[spec(&[1, 64])], &[spec(&[1, 10])]).unwrap();
		assert_eq!(settled.unwrap().into_inner(), plan.run(&input).unwrap());
	});
}

/// A proof the pool took but that never reached a block is still owed a round later: it is
/// proven and sent again, and settles the job, rather than the executor missing its deadline.
#[test]
fn a_proof_lost_on_its_way_to_a_block_is_sent_again_in_the_next_round() {
	let (mut ext, pool) = node_ext(EXECUTOR);
	ext.execute_with(|| {
		let (model, _) = int8_mlp_on_chain();
		let job = queue_input(model, int8_mlp_input(), VerificationMode::Proven, 500);
		drawn();
		run_worker();
		let lost = std::mem::take(&mut pool.write().transactions);
		assert_eq!(lost.len(), 1, "the proof, lost");
		run_worker_until_sent_again(&pool);
		assert_eq!(include_pool(&pool), 1);
		assert!(Jobs::job(job).is_none(), "settled by the proof sent again");
	});
}

/// A lying engine's proof: its first output quantum one higher.
#[expect(clippy::ptr_arg, reason = "the signature `MappedOutputs` maps with")]
fn first_quantum_up(quanta: &mut Vec<u8>) {
	quanta[0] = quanta[0].wrapping_add(1);
}

#[test]
fn a_proof_of_other_outputs_never_reaches_a_block_and_the_job_waits_for_a_true_one() {
	let (mut ext, pool) = node_ext(EXECUTOR);
	let engine: Arc<dyn haca_inference::InferenceHost> =
		Arc::new(haca_engine::Engine::new(Default::default(), None));
	let liar = Arc::new(haca_inference::MappedOutputs { engine, map: first_quantum_up });
	ext.register_extension(InferenceExt(NodeInference {
		engine: liar,
		roles: EXECUTOR,
		fetcher: None,
	}));
	ext.execute_with(|| {
		let (model, _) = int8_mlp_on_chain();
		let job = queue_input(model, int8_mlp_input(), VerificationMode::Proven, 500);
		drawn();
		let balances: Vec<_> = [CLIENT, OWNER].iter().map(Balances::balance).collect();
		run_worker();
		assert_eq!(include_pool(&pool), 0, "the pool refuses the lying proof");
		assert!(Jobs::job(job).is_some(), "still assigned");
		let after: Vec<_> = [CLIENT, OWNER].iter().map(Balances::balance).collect();
		assert_eq!(after, balances);
	});
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

		run_worker();
		run_worker();
		assert_eq!(include_pool(&pool), 1, "one statement, however often the worker runs");

		let result = Results::<Test>::get(job).expect("provisional result");
		let outputs = decode_tensors(&result.outputs.unwrap()).unwrap();
		assert!(tensors_agree(&outputs, &reference_output(), 8), "{outputs:?}");
		run_to_block(DRAWN_AT + 1 + CHALLENGE_WINDOW);
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
	});
}

#[test]
fn jobs_of_one_model_run_in_one_batch_each_with_its_own_outputs_and_hash() {
	let (mut ext, pool) = node_ext(EXECUTOR);
	ext.execute_with(|| {
		let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
		let model = mlp_on_chain(&bytes);
		let plan = haca_engine::Plan::compile(&bytes, &[spec(&[1, 4])], &[spec(&[1, 3])]).unwrap();
		let inputs: Vec<Vec<u8>> = (0..9).map(|step| mlp_input(Some(step as f32))).collect();
		// In the client's waiting quota at a time.
		let mut jobs = Vec::new();
		for chunk in inputs.chunks(4) {
			for input in chunk {
				jobs.push(queue_input(model, input.clone(), VerificationMode::Attested, 500));
			}
			drawn();
		}

		run_worker();
		let executors: std::collections::BTreeSet<_> =
			jobs.iter().map(|job| Jobs::job(*job).unwrap().executors[0]).collect();
		assert_eq!(include_pool(&pool), executors.len(), "one batch of statements each");
		for (job, input) in jobs.into_iter().zip(&inputs) {
			let result = Results::<Test>::get(job).expect("provisional result");
			let outputs = result.outputs.unwrap().into_inner();
			assert_eq!(outputs, plan.run(input).unwrap(), "job {job}");
			assert_eq!(result.output_hash.0, sp_io::hashing::blake2_256(&outputs));
		}
	});
}

/// In the block after the one that opened `job`'s reveal phase: the worker reveals the three
/// executors' commitments, and the job settles paying all three.
fn the_three_reveal_and_settle(pool: &Arc<RwLock<PoolState>>, job: u64) {
	run_worker();
	assert_eq!(include_pool(pool), 3, "three reveals");
	assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
	assert!(System::events().iter().any(|record| matches!(
		&record.event,
		RuntimeEvent::Settlement(Event::Settled { job: settled, executors, .. })
			if *settled == job && executors.len() == 3
	)));
}

#[test]
fn quorum_executors_commit_then_reveal_and_settle() {
	let (mut ext, pool) = node_ext(EXECUTOR);
	ext.execute_with(|| {
		let job = quorum_job_on_mlp();

		run_worker();
		assert_eq!(include_pool(&pool), 3, "three commitments");
		assert!(Quorums::<Test>::get(job).unwrap().reveal_until.is_some());
		// Peers still a block behind would refuse (and ban) a reveal sent at once.
		run_worker();
		assert_eq!(include_pool(&pool), 0, "no reveal in the block that opened the phase");
		next_block();
		the_three_reveal_and_settle(&pool, job);
	});
}

/// A pool that meets statements on a fork where they are invalid drops them (and its peers
/// ban their hashes), though the node's own pool took them: still owed a round later, they
/// are sent again, each commitment as it was first made.
#[test]
fn statements_lost_on_their_way_to_a_block_are_sent_again_with_the_same_commitments() {
	let (mut ext, pool, offchain) = node_ext_with_offchain_state(EXECUTOR);
	ext.execute_with(|| {
		let job = quorum_job_on_mlp();
		run_worker();
		three_commitments_lost_sent_again_and_landing(&pool, &offchain);
		next_block();
		the_three_reveal_and_settle(&pool, job);
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
		let quorum = queue_input(model, mlp_input(None), QUORUM_2_OF_3, 1_000);
		let attested = queue_input(model, mlp_input(None), VerificationMode::Attested, 500);
		drawn();
		let reveal_keys = EXECUTORS.map(|who| {
			haca_worker::records::reveal_key(
				haca_worker::records::Commitment::QuorumOutput,
				quorum,
				&who,
			)
		});

		run_worker();
		assert_eq!(include_pool(&pool), 3, "one batch of statements per executor");
		assert!(recorded(&haca_worker::records::done_key(quorum)));
		assert!(recorded(&haca_worker::records::done_key(attested)));
		assert!(reveal_keys.iter().all(|key| recorded(key)), "kept for the reveals");
		next_block();
		run_worker();
		assert_eq!(include_pool(&pool), 3, "three reveals");
		assert!(pallet_jobs::Jobs::<Test>::get(quorum).is_none(), "settled");

		// The quorum job ended: its records go; the attested one is still open.
		run_worker();
		assert!(!recorded(&haca_worker::records::done_key(quorum)));
		assert!(reveal_keys.iter().all(|key| !recorded(key)));
		assert!(recorded(&haca_worker::records::done_key(attested)));
		assert_eq!(include_pool(&pool), 0, "nothing done twice");
		// A worker on an older block's state, where the job was still open, finishes a
		// task of it: the record does not stay.
		haca_worker::run_once_per_task::<Settlement>(quorum, b"a late task", || true);
		assert!(!recorded(&haca_worker::records::done_key(quorum)));

		run_to_block(DRAWN_AT + 1 + CHALLENGE_WINDOW);
		assert!(pallet_jobs::Jobs::<Test>::get(attested).is_none(), "settled");
		run_worker();
		assert!(!recorded(&haca_worker::records::done_key(attested)));
	});
}

#[test]
fn a_node_without_an_inference_role_submits_nothing() {
	let (mut ext, pool) = node_ext(NO_ROLE);
	ext.execute_with(|| {
		let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
		let model = mlp_on_chain(&bytes);
		submit_on(model, VerificationMode::Attested, 500);
		run_worker();
		assert_eq!(include_pool(&pool), 0);
	});
}

/// Asserts that `executor` reported `job` failed for `reason`, explained in words that
/// contain `explained` (or in none).
fn assert_failed(
	job: u64,
	executor: AccountId,
	reason: haca_primitives::statement::ExecutionFailure,
	explained: Option<&str>,
) {
	let detail = System::events().into_iter().find_map(|record| match record.event {
		RuntimeEvent::Settlement(Event::ExecutionFailed {
			job: j,
			executor: e,
			reason: r,
			detail,
		}) if (j, e, r) == (job, executor, reason) => Some(detail),
		_ => None,
	});
	let detail = detail.unwrap_or_else(|| panic!("no failure of job {job} for {reason:?}"));
	let words = detail.map(|words| String::from_utf8(words.into_inner()).unwrap());
	match (explained, &words) {
		(Some(expected), Some(words)) => assert!(words.contains(expected), "{words}"),
		(None, None) => {}
		_ => panic!("explained as {words:?}, expected {explained:?}"),
	}
}

#[test]
fn a_model_that_does_not_load_is_reported_not_retried() {
	let (mut ext, pool) = node_ext(EXECUTOR);
	ext.execute_with(|| {
		// A well-formed ONNX protobuf (it uploads) with an operator no engine knows.
		use haca_primitives::onnx::write;
		let model = mlp_on_chain(&write::model(&[write::node("NoSuchOperator", &[], &[])], None));
		let job = submit_on(model, VerificationMode::Attested, 500);
		let first = Jobs::job(job).unwrap().executors[0];

		run_worker();
		assert_eq!(include_pool(&pool), 1);
		assert_failed(
			job,
			first,
			haca_primitives::statement::ExecutionFailure::InvalidModel,
			Some("NoSuchOperator"),
		);
		drawn();
		let rerun = Jobs::job(job).unwrap();
		assert!(!rerun.executors.contains(&first), "re-assigned to another executor");
	});
}

/// A request for a model: its hash, size and locators.
type ModelRequest = ([u8; 32], u64, Vec<Vec<u8>>);

/// A model fetcher standing for the node's: it answers what the test sets and records what
/// it is asked.
#[derive(Default)]
struct TestFetcher {
	answer: parking_lot::Mutex<Option<haca_inference::ModelAvailability>>,
	requests: parking_lot::Mutex<Vec<ModelRequest>>,
	kept: parking_lot::Mutex<Vec<[u8; 32]>>,
}

impl haca_inference::ModelFetcher for TestFetcher {
	fn request(
		&self,
		model: &[u8; 32],
		size: u64,
		locators: Vec<Vec<u8>>,
	) -> haca_inference::ModelAvailability {
		self.requests.lock().push((*model, size, locators));
		self.answer.lock().expect("an answer set")
	}

	fn keep(&self, models: Vec<[u8; 32]>) {
		*self.kept.lock() = models;
	}
}

/// Registers the MLP off chain at `locators`; every executor serves it.
fn mlp_off_chain(bytes: &[u8], locators: &[&[u8]]) -> ModelHash {
	let hash = ModelHash::from(sp_io::hashing::blake2_256(bytes));
	let locators: Vec<_> = locators.iter().map(|uri| uri.to_vec().try_into().unwrap()).collect();
	assert_ok!(Models::register(
		RuntimeOrigin::signed(OWNER),
		hash,
		bytes.len() as u32,
		pallet_models::ModelSource::OffChain(locators.try_into().unwrap()),
		terms(&[1, 3]),
		None,
	));
	for who in EXECUTORS {
		assert_ok!(Executors::set_models(
			RuntimeOrigin::signed(who),
			vec![model(), hash].try_into().unwrap()
		));
	}
	hash
}

#[test]
fn an_executor_fetches_an_off_chain_model_and_runs_its_job_once_stored() {
	use haca_inference::ModelAvailability::{Fetching, Stored};
	let (mut ext, pool) = node_ext(NO_ROLE);
	let store = std::env::temp_dir().join(format!("haca-offchain-store-{}", std::process::id()));
	let config = haca_engine::EngineConfig { model_dir: Some(store.clone()), ..Default::default() };
	let engine = Arc::new(haca_engine::Engine::new(config, None));
	let fetcher = Arc::new(TestFetcher::default());
	ext.register_extension(InferenceExt(NodeInference {
		engine,
		roles: EXECUTOR,
		fetcher: Some(fetcher.clone()),
	}));
	ext.execute_with(|| {
		let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
		let uris: [&[u8]; 2] = [b"https://models.example/mlp.onnx", b"http://mirror.example/m"];
		let model = mlp_off_chain(&bytes, &uris);
		*fetcher.answer.lock() = Some(Fetching);

		// Served models are kept, and fetched ahead of any job.
		run_worker();
		assert!(fetcher.kept.lock().contains(&model.0));
		let expected = (model.0, bytes.len() as u64, uris.map(<[u8]>::to_vec).to_vec());
		assert_eq!(fetcher.requests.lock().last(), Some(&expected));

		// While the model is fetched, its job waits: no statement, no failure.
		let job = submit_on(model, VerificationMode::Attested, 500);
		run_worker();
		run_worker();
		assert_eq!(include_pool(&pool), 0, "nothing sent while the model is fetched");
		assert!(Results::<Test>::get(job).is_none());

		// Once in the store the engine loads it from there and the job runs.
		haca_engine::ModelStore::new(&store, u64::MAX).insert(&model.0, &bytes, &[]).unwrap();
		*fetcher.answer.lock() = Some(Stored);
		run_worker();
		assert_eq!(include_pool(&pool), 1);
		let result = Results::<Test>::get(job).expect("provisional result");
		let outputs = decode_tensors(&result.outputs.unwrap()).unwrap();
		assert!(tensors_agree(&outputs, &reference_output(), 8), "{outputs:?}");
	});
	let _ = std::fs::remove_dir_all(store);
}

#[test]
fn a_model_no_source_serves_fails_its_job_with_a_named_reason_and_is_drawn_again() {
	let (mut ext, pool) = node_ext(NO_ROLE);
	let engine = Arc::new(haca_engine::Engine::new(Default::default(), None));
	let fetcher = Arc::new(TestFetcher::default());
	*fetcher.answer.lock() = Some(haca_inference::ModelAvailability::Unavailable);
	ext.register_extension(InferenceExt(NodeInference {
		engine,
		roles: EXECUTOR,
		fetcher: Some(fetcher),
	}));
	ext.execute_with(|| {
		let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
		let model = mlp_off_chain(&bytes, &[b"https://models.example/gone.onnx"]);
		let job = submit_on(model, VerificationMode::Attested, 500);
		let first = Jobs::job(job).unwrap().executors[0];

		run_worker();
		assert_eq!(include_pool(&pool), 1);
		assert_failed(
			job,
			first,
			haca_primitives::statement::ExecutionFailure::ModelUnavailable,
			None,
		);
		drawn();
		assert!(!Jobs::job(job).unwrap().executors.contains(&first), "drawn again");
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

		run_worker();
		assert_eq!(
			include_pool(&pool),
			2,
			"the first challenge and one joining it; the rest would take the committee's seats"
		);
		let dispute = Disputes::<Test>::get(job).expect("challenged");
		for (challenger, _) in &dispute.challengers {
			assert!(VERIFIERS.contains(challenger));
			assert_eq!(challenge_hold(*challenger), CHALLENGE_BOND);
		}
		drawn();
		assert_eq!(Disputes::<Test>::get(job).unwrap().committee.len(), 3);

		run_worker();
		assert_eq!(include_pool(&pool), 3, "every committee member commits to its vote");
		assert!(Disputes::<Test>::get(job).unwrap().reveal_until.is_some());
		run_worker();
		assert_eq!(include_pool(&pool), 0, "no reveal in the block that opened the phase");
		next_block();
		run_worker();
		assert_eq!(include_pool(&pool), 3, "and reveals it");
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: false }.into());
		drawn();
		assert!(!Jobs::job(job).unwrap().executors.contains(&liar), "re-run elsewhere");
		run_worker();
		assert_eq!(include_pool(&pool), 0, "each verdict once");
	});
}

/// A committee member's vote commitment lost on its way to a block (a pool on a fork where
/// it was invalid dropped it) is still owed a round later: it is sent again, as it was first
/// made, so that the member is not slashed for a vote it made and its reveal matches
/// whichever copy lands.
#[test]
fn votes_lost_on_their_way_to_a_block_are_sent_again_with_the_same_commitments() {
	let (mut ext, pool, offchain) = node_ext_with_offchain_state(verifier(100));
	ext.execute_with(|| {
		let (job, _) = result_on_mlp(Some(lie()));
		run_worker();
		assert_eq!(include_pool(&pool), 2, "two challenges");
		drawn();
		run_worker();
		three_commitments_lost_sent_again_and_landing(&pool, &offchain);
		assert!(Disputes::<Test>::get(job).unwrap().reveal_until.is_some());
		next_block();
		run_worker();
		assert_eq!(include_pool(&pool), 3, "three reveals");
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: false }.into());
		let revealed = System::events()
			.iter()
			.filter(|record| {
				matches!(record.event, RuntimeEvent::Settlement(Event::VoteRevealed { job: voted, .. }) if voted == job)
			})
			.count();
		assert_eq!(revealed, 3, "every member voted: none loses its bond for silence");
	});
}

/// Challenges of a lie lost on their way to a block (a pool on a fork where they were
/// invalid dropped them) are sent again a round later, while the result is still open to
/// them: a fork does not let the lie settle.
#[test]
fn challenges_lost_on_their_way_to_a_block_are_sent_again() {
	let (mut ext, pool) = node_ext(verifier(100));
	ext.execute_with(|| {
		let (job, _) = result_on_mlp(Some(lie()));
		run_worker();
		let lost = std::mem::take(&mut pool.write().transactions);
		assert!(!lost.is_empty(), "challenges, lost");
		run_worker_until_sent_again(&pool);
		let again = pool.read().transactions.len();
		assert_eq!(again, lost.len(), "each lost challenge sent again");
		assert_eq!(include_pool(&pool), 2, "the first challenge and one joining it");
		let challengers: Vec<AccountId> =
			Disputes::<Test>::get(job).unwrap().challengers.iter().map(|(who, _)| *who).collect();
		// A round later, no challenge on chain is sent again (this test's pool takes every
		// transaction, so the refused ones are: a node's own pool refuses them).
		for _ in 0..haca_worker::RESEND_AFTER_BLOCKS {
			next_block();
			run_worker();
		}
		let verifiers: Vec<AccountId> = pool
			.read()
			.transactions
			.iter()
			.map(|transaction| {
				let xt = frame_system::mocking::MockUncheckedExtrinsic::<Test>::decode(
					&mut &transaction[..],
				)
				.unwrap();
				let RuntimeCall::Settlement(crate::Call::submit_verdict { verdict, .. }) =
					xt.function
				else {
					panic!("verdicts only");
				};
				verdict.verifier
			})
			.collect();
		assert!(verifiers.iter().all(|who| !challengers.contains(who)), "{verifiers:?}");
	});
}

/// A liar's own verifier challenges its lie first with a hash nobody reproduces. Verifier
/// nodes re-run every challenged result, sampled or not, and join the challenge: the
/// committee backs the honest challenger's hash, and the junk challenger loses its bond.
#[test]
fn verifiers_join_a_challenge_of_a_result_they_did_not_sample() {
	let (mut ext, pool) = node_ext(verifier(0));
	ext.execute_with(|| {
		let (job, liar) = result_on_mlp(Some(lie()));
		let accomplice = VERIFIERS[0];
		assert_ok!(Settlement::challenge(
			RuntimeOrigin::signed(accomplice),
			job,
			H256::repeat_byte(7)
		));
		run_worker();
		assert_eq!(include_pool(&pool), 1, "one joins; the rest would take committee seats");
		let challengers = Disputes::<Test>::get(job).unwrap().challengers;
		assert_ne!(challengers[1].1, H256::repeat_byte(7));
		drawn();
		run_worker();
		assert_eq!(include_pool(&pool), 3, "every committee member commits to its vote");
		next_block();
		run_worker();
		assert_eq!(include_pool(&pool), 3, "and reveals it");
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: false }.into());
		assert_eq!(bond_of(liar), BOND - JOB_STAKE);
		assert_eq!(challenge_hold(accomplice), 0);
		assert_eq!(challenge_hold(challengers[1].0), 0);
	});
}

#[test]
fn an_honest_result_is_audited_and_left_alone() {
	let (mut ext, pool) = node_ext(verifier(100));
	ext.execute_with(|| {
		let (job, _) = result_on_mlp(None);
		run_worker();
		assert_eq!(include_pool(&pool), 0);
		run_to_block(DRAWN_AT + 1 + CHALLENGE_WINDOW);
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
	});
}

#[test]
fn verifiers_audit_only_the_models_they_declared() {
	let (mut ext, pool) = node_ext(verifier(100));
	ext.execute_with(|| {
		let (job, _) = result_on_mlp(Some(lie()));
		let audit = |models: Vec<ModelHash>| {
			for who in VERIFIERS {
				assert_ok!(Executors::set_models(
					RuntimeOrigin::signed(who),
					models.clone().try_into().unwrap()
				));
			}
		};
		let mlp = Jobs::job(job).unwrap().model;
		audit(vec![model()]);
		run_worker();
		assert_eq!(include_pool(&pool), 0, "no verifier audits the MLP");
		audit(vec![model(), mlp]);
		run_worker();
		assert!(include_pool(&pool) > 0, "now they do");
		assert!(Disputes::<Test>::get(job).is_some());
	});
}

#[test]
fn verifiers_audit_only_their_sample_and_only_with_the_role() {
	for roles in [verifier(0), EXECUTOR, NO_ROLE] {
		let (mut ext, pool) = node_ext(roles);
		ext.execute_with(|| {
			let (job, _) = result_on_mlp(Some(lie()));
			run_worker();
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
			claim: haca_primitives::statement::VerdictClaim::Challenge(hash_of(
				&reference_output().encode(),
			)),
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

#[test]
fn a_verifier_node_answers_its_spot_checks_with_tract_and_passes() {
	let (mut ext, pool) = node_ext(verifier(0));
	ext.execute_with(|| {
		SpotCheckChance::set(sp_runtime::Perbill::one());
		let job = quorum_job_on_mlp();
		let checker = Jobs::job(job).unwrap().spot_checker.unwrap();
		// The executors run elsewhere; they answer with the reference output.
		let bytes = reference_output().encode();
		let attempt = Jobs::job(job).unwrap().attempt;
		let executors = Jobs::job(job).unwrap().executors;
		for who in &executors {
			let commitment = Claim::commitment(job, attempt, who, &hash_of(&bytes), &[7; 32]);
			submit(vec![signed(job, *who, Claim::Commitment(commitment), None)]);
		}
		run_worker();
		assert_eq!(include_pool(&pool), 1, "the checker's commitment");
		System::assert_has_event(Event::SpotCheckCommitted { job, checker }.into());
		for who in &executors {
			let claim = Claim::Reveal { output_hash: hash_of(&bytes), salt: [7; 32] };
			submit(vec![signed(job, *who, claim, Some(bytes.clone()))]);
		}
		next_block();
		run_worker();
		assert_eq!(include_pool(&pool), 1, "the checker's reveal");
		System::assert_has_event(Event::SpotCheckPassed { job, checker }.into());
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
		assert_eq!(bond_of(checker), BOND);
	});
}

#[test]
fn spot_checks_are_answered_only_by_nodes_with_the_verifier_role() {
	let (mut ext, pool) = node_ext(EXECUTOR);
	ext.execute_with(|| {
		SpotCheckChance::set(sp_runtime::Perbill::one());
		let job = quorum_job_on_mlp();
		run_worker();
		assert_eq!(include_pool(&pool), 3, "the executors' commitments only");
		assert_eq!(Quorums::<Test>::get(job).unwrap().reveal_until, None, "the check is owed");
	});
}

#[test]
fn a_rerun_quorum_round_is_committed_and_revealed_again() {
	let (mut ext, pool) = node_ext(EXECUTOR);
	ext.execute_with(|| {
		let job = quorum_job_on_mlp();
		run_worker();
		assert_eq!(include_pool(&pool), 3, "attempt 1: three commitments");
		next_block();
		run_worker();
		// Two of attempt 1's three reveals are lost: the round cannot agree.
		pool.write().transactions.truncate(1);
		assert_eq!(include_pool(&pool), 1);
		run_to_block(DRAWN_AT + 1 + REVEAL_WINDOW);
		System::assert_has_event(Event::QuorumFailed { job }.into());
		drawn();
		assert_eq!(pallet_jobs::Jobs::<Test>::get(job).unwrap().attempts, 2);

		run_worker();
		assert_eq!(include_pool(&pool), 3, "attempt 2: three commitments");
		next_block();
		run_worker();
		assert_eq!(include_pool(&pool), 3, "attempt 2: three reveals");
		assert!(pallet_jobs::Jobs::<Test>::get(job).is_none(), "settled");
	});
}

#[test]
fn a_committee_never_pays_a_challenge_it_cannot_reproduce() {
	let (mut ext, pool) = node_ext(verifier(0));
	ext.execute_with(|| {
		// A wrong result, challenged with a claim that is no run of the model either; one
		// verifier fewer audits the model, so none is left to join the challenge.
		let (job, liar) = result_on_mlp(Some(lie()));
		assert_ok!(Executors::set_models(
			RuntimeOrigin::signed(VERIFIERS[4]),
			vec![model()].try_into().unwrap()
		));
		let bogus = H256::repeat_byte(0xb0);
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, bogus));
		drawn();

		run_worker();
		assert_eq!(include_pool(&pool), 3, "committed");
		next_block();
		run_worker();
		assert_eq!(include_pool(&pool), 3, "revealed: each member's own run, neither claim");
		// The lie is on chain and outside the tolerance of every member's run: it loses on
		// the committee's own hash, and the claim nobody reproduced earns nothing.
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: false }.into());
		assert_eq!(bond_of(liar), BOND - JOB_STAKE);
		assert_eq!(challenge_hold(VERIFIERS[0]), 0);
		assert_eq!(Balances::total_balance(&VERIFIERS[0]), INITIAL_BALANCE);
		for member in VERIFIERS.into_iter().skip(1) {
			assert_eq!(bond_of(member), BOND, "nobody is slashed for voting what it computed");
		}
		drawn();
		assert!(!Jobs::job(job).unwrap().executors.contains(&liar), "re-run elsewhere");
	});
}

/// How a verifier's engine on other hardware differs, for tests: every f32 output one unit
/// of least precision above the real engine's (within the test model's tolerance), so its
/// output hashes differ from an honest executor's while its outputs agree.
fn last_bits_up(outputs: &mut Vec<u8>) {
	let mut tensors = decode_tensors(outputs).unwrap();
	for tensor in &mut tensors {
		for value in tensor.data.chunks_exact_mut(4) {
			let bits = u32::from_le_bytes(value.try_into().unwrap()) + 1;
			value.copy_from_slice(&bits.to_le_bytes());
		}
	}
	*outputs = tensors.encode();
}

/// `blocks` blocks in which an executor node with the real engine and a node of verifiers
/// with `verifier_roles` and an engine on other hardware ([`last_bits_up`]) take turns on
/// `ext`, the transactions of each included before the other runs.
fn honest_executors_and_verifiers_on_other_hardware(
	ext: &mut sp_io::TestExternalities,
	pool: &Arc<RwLock<PoolState>>,
	verifier_roles: NodeRoles,
	blocks: u64,
) {
	let engine: Arc<dyn haca_inference::InferenceHost> =
		Arc::new(haca_engine::Engine::new(Default::default(), None));
	let other_hardware =
		Arc::new(haca_inference::MappedOutputs { engine: engine.clone(), map: last_bits_up });
	let nodes = [(engine, EXECUTOR), (other_hardware as Arc<_>, verifier_roles)];
	for _ in 0..blocks {
		for (engine, roles) in &nodes {
			ext.register_extension(InferenceExt(NodeInference {
				engine: engine.clone(),
				roles: *roles,
				fetcher: None,
			}));
			ext.execute_with(|| {
				run_worker();
				include_pool(pool);
			});
		}
		ext.execute_with(next_block);
	}
}

/// Pages of outputs a verifier asked for, lost on their way to a block, are still owed a
/// round later: those not on chain by then are sent again (and only those), so that the
/// honest executor does not lose its stake for withholding them.
#[test]
fn output_pages_lost_on_their_way_to_a_block_are_sent_again_if_still_missing() {
	let (mut ext, pool) = node_ext(EXECUTOR);
	MaxOutputLen::set(16);
	ext.execute_with(|| {
		let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
		let model = mlp_on_chain_for(&bytes, haca_primitives::ModeSet::ATTESTED);
		let job = submit_on(model, VerificationMode::Attested, 500);
		run_worker();
		assert_eq!(include_pool(&pool), 1, "the result, its outputs too large to carry");
		assert_ok!(Settlement::request_outputs(RuntimeOrigin::signed(VERIFIERS[0]), job));
		run_worker();
		let lost = std::mem::take(&mut pool.write().transactions);
		assert_eq!(lost.len(), 1, "the pages in one batch, lost");
		// The first page reaches a block on its own after all.
		let xt = frame_system::mocking::MockUncheckedExtrinsic::<Test>::decode(&mut &lost[0][..])
			.unwrap();
		let RuntimeCall::Settlement(crate::Call::submit_statements_unsigned { statements }) =
			xt.function
		else {
			panic!("a batch of statements");
		};
		assert!(statements.len() > 1, "outputs of more than a page");
		let first = frame_support::BoundedVec::truncate_from(statements[..1].to_vec());
		assert_ok!(Settlement::submit_statements_unsigned(
			frame_system::RawOrigin::Authorized.into(),
			first
		));
		run_worker_until_sent_again(&pool);
		// Each statement of the batch authorized: the first page is not among them.
		assert_eq!(include_pool(&pool), 1);
		assert!(System::events().iter().any(|record| matches!(
			record.event,
			RuntimeEvent::Settlement(Event::OutputsPublished { job: published, .. }) if published == job
		)));
	});
}

/// An honest executor node and a node of verifiers whose engine differs from it in the last
/// bits of every float, `blocks` blocks long, for a result of the MLP whose outputs are
/// carried in statements of at most `max_output_len` bytes: the executor is never slashed,
/// and is paid. With outputs too large for its statement, the verifiers ask for them and
/// compare them once published.
fn an_honest_result_outlives_verifiers_on_other_hardware(max_output_len: u32) {
	let (mut ext, pool) = node_ext(EXECUTOR);
	MaxOutputLen::set(max_output_len);
	let (job, executor) = ext.execute_with(|| {
		let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
		// Float outputs too large for a reveal are not offered quorum mode.
		let model = mlp_on_chain_for(&bytes, haca_primitives::ModeSet::ATTESTED);
		let job = submit_on(model, VerificationMode::Attested, 500);
		(job, Jobs::job(job).unwrap().executors[0])
	});
	let blocks = CHALLENGE_WINDOW + PUBLISH_WINDOW + DISPUTE_WINDOW + REVEAL_WINDOW + 10;
	honest_executors_and_verifiers_on_other_hardware(&mut ext, &pool, verifier(100), blocks);
	ext.execute_with(|| {
		assert!(Jobs::job(job).is_none(), "ended");
		assert_eq!(bond_of(executor), BOND, "never slashed");
		let too_large = haca_primitives::tensor::encoded_len(&[spec(&[1, 3])]).unwrap()
			> max_output_len as usize;
		let published = System::events().iter().any(|record| {
			matches!(record.event, RuntimeEvent::Settlement(Event::OutputsPublished { .. }))
		});
		assert_eq!(published, too_large, "outputs published if and only if too large");
		assert!(System::events().iter().any(|record| matches!(
			&record.event,
			RuntimeEvent::Settlement(Event::Settled { job: settled, executors, .. })
				if *settled == job && executors[..] == [executor]
		)));
	});
}

#[test]
fn verifiers_on_other_hardware_never_get_an_honest_executor_slashed_for_outputs_on_chain() {
	an_honest_result_outlives_verifiers_on_other_hardware(256);
}

#[test]
fn verifiers_on_other_hardware_never_get_an_honest_executor_slashed_for_outputs_too_large_for_a_statement(
) {
	an_honest_result_outlives_verifiers_on_other_hardware(16);
}

/// A quorum job spot-checked by a verifier whose engine differs from the executors' in the
/// last bits of every float: its outputs, carried by its reveal, agree within the
/// tolerance; it passes and nobody is slashed.
#[test]
fn a_spot_checker_on_other_hardware_passes_and_nobody_is_slashed() {
	SpotCheckChance::set(sp_runtime::Perbill::one());
	let (mut ext, pool) = node_ext(EXECUTOR);
	let (job, checker) = ext.execute_with(|| {
		let job = quorum_job_on_mlp();
		(job, Jobs::job(job).unwrap().spot_checker.expect("drawn"))
	});
	honest_executors_and_verifiers_on_other_hardware(
		&mut ext,
		&pool,
		verifier(0),
		REVEAL_WINDOW + 2,
	);
	ext.execute_with(|| {
		assert!(Jobs::job(job).is_none(), "settled");
		System::assert_has_event(Event::SpotCheckPassed { job, checker }.into());
		for who in EXECUTORS.into_iter().chain([checker]) {
			assert_eq!(bond_of(who), BOND, "{who} never slashed");
		}
	});
}

/// Submits an attested batch of `inputs` on `model` as CLIENT (one group) and runs to its
/// draw; returns the group's first job id.
fn group_on(model: ModelHash, inputs: Vec<Vec<u8>>) -> u64 {
	let first = pallet_jobs::NextJobId::<Test>::get().next_multiple_of(pallet_jobs::GROUP_SPAN);
	assert_ok!(Jobs::submit_batch(
		RuntimeOrigin::signed(CLIENT),
		model,
		inputs,
		VerificationMode::Attested,
		500
	));
	drawn();
	first
}

#[test]
fn an_executor_node_answers_a_group_in_one_group_statement_with_each_members_outputs() {
	let (mut ext, pool) = node_ext(EXECUTOR);
	ext.execute_with(|| {
		let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
		let model = mlp_on_chain(&bytes);
		let plan = haca_engine::Plan::compile(&bytes, &[spec(&[1, 4])], &[spec(&[1, 3])]).unwrap();
		let inputs: Vec<Vec<u8>> = (0..4).map(|step| mlp_input(Some(step as f32))).collect();
		let first = group_on(model, inputs.clone());

		run_worker();
		run_worker();
		assert_eq!(include_pool(&pool), 1, "one group statement, however often the worker runs");
		let record = crate::GroupResults::<Test>::get(first).expect("the group's results");
		for (member, input) in record.members.iter().zip(&inputs) {
			let outputs = member.outputs.clone().unwrap().into_inner();
			assert_eq!(outputs, plan.run(input).unwrap(), "job {}", member.job);
			assert_eq!(member.output_hash, hash_of(&outputs));
		}
		run_worker();
		assert_eq!(include_pool(&pool), 0, "nothing more is owed");
		run_to_block(System::block_number() + CHALLENGE_WINDOW + 1);
		assert!((first..first + 4).all(|job| Jobs::job(job).is_none()), "settled");
	});
}

#[test]
fn verifiers_audit_each_result_of_a_group_statement_and_challenge_the_wrong_one_alone() {
	let (mut ext, pool) = node_ext(verifier(100));
	ext.execute_with(|| {
		let bytes = std::fs::read(models_dir().join("mlp.onnx")).unwrap();
		let model = mlp_on_chain(&bytes);
		let plan = haca_engine::Plan::compile(&bytes, &[spec(&[1, 4])], &[spec(&[1, 3])]).unwrap();
		let inputs: Vec<Vec<u8>> = (0..3).map(|step| mlp_input(Some(step as f32))).collect();
		let first = group_on(model, inputs.clone());
		let executor = Jobs::job(first).unwrap().executors[0];
		let mut outputs: Vec<Vec<u8>> = inputs.iter().map(|i| plan.run(i).unwrap()).collect();
		outputs[1] = lie();
		let statement = group_statement(first, executor, &outputs);
		let signature = sign_group(executor, &statement);
		assert_ok!(send_group(statement, signature));

		run_worker();
		assert_eq!(include_pool(&pool), 2, "the first challenge and one joining it");
		let dispute = Disputes::<Test>::get(first + 1).expect("the wrong result challenged");
		let truth = hash_of(&plan.run(&inputs[1]).unwrap());
		assert!(dispute.challengers.iter().all(|(_, hash)| *hash == truth), "with the true hash");
		assert!(
			Disputes::<Test>::get(first).is_none() && Disputes::<Test>::get(first + 2).is_none()
		);
		run_to_block(System::block_number() + CHALLENGE_WINDOW + 1);
		assert!(
			Jobs::job(first).is_none() && Jobs::job(first + 2).is_none(),
			"the right ones settled"
		);
		assert!(Jobs::job(first + 1).is_some(), "the wrong one is judged alone");
	});
}
