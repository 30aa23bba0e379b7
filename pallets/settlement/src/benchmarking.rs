//! Benchmarks of the settlement pallet (frame-benchmarking v2), run against the runtime's
//! real jobs, models and executors pallets. Session keys live in the benchmark keystore.

use alloc::{vec, vec::Vec};
use codec::Encode;
use frame_benchmarking::v2::*;
use frame_support::{
	pallet_prelude::{BoundedVec, Get},
	weights::WeightMeter,
};
use frame_system::pallet_prelude::BlockNumberFor;
use frame_system::RawOrigin;
use haca_kernels::{
	graph::{Graph, Header, Node, LOWERING_VERSION},
	Op,
};
use haca_primitives::{
	dispute::GraphCommitment,
	merkle,
	statement::{Claim, VerdictClaim},
	tensor::{ElementType, Tensor, TensorSpec},
	traits::{ExecutorDirectory, ExecutorRegistry, JobLedger, ModelRegistry, RevealRandomness},
	InferenceKey, InferenceSignature, JobId, ModelHash, VerificationMode,
};
use sp_core::H256;
use sp_runtime::RuntimeAppPublic;

use crate::*;

/// Encoded bytes of a tensor list besides the data of its single tensor (at most).
const ENCODING_OVERHEAD: u32 = 16;

/// Float outputs of about `bytes` encoded bytes (at least one element).
fn spec_of(bytes: u32) -> TensorSpec {
	let elements = (bytes.saturating_sub(ENCODING_OVERHEAD) / 4).max(1);
	TensorSpec {
		name: b"t".to_vec().try_into().unwrap(),
		element_type: ElementType::F32,
		shape: vec![elements].try_into().unwrap(),
		variable_axes: 0,
	}
}

/// Float outputs filling `MaxOutputLen`: the costliest to check and compare.
fn largest_spec<T: Config>() -> TensorSpec {
	spec_of(T::MaxOutputLen::get())
}

/// Encoded outputs for `spec` (one float tensor), all elements `value`.
fn encoded_outputs(spec: TensorSpec, value: f32) -> Vec<u8> {
	let data = (0..spec.shape[0]).flat_map(|_| value.to_le_bytes()).collect();
	let tensors = vec![Tensor { element_type: spec.element_type, shape: spec.shape, data }];
	codec::Encode::encode(&tensors)
}

/// Outputs for `spec` (one float tensor), all elements `value`.
fn outputs_for<T: Config>(spec: TensorSpec, value: f32) -> OutputBytes<T> {
	encoded_outputs(spec, value).try_into().expect("fits MaxOutputLen")
}

/// Outputs for the largest spec, all elements `value`.
fn outputs<T: Config>(value: f32) -> OutputBytes<T> {
	outputs_for::<T>(largest_spec::<T>(), value)
}

/// A model with inputs and outputs of `spec` (inputs of one element when `spec` is larger
/// than a job's input may be), `executors` executors and `verifiers` verifiers.
fn network_with<T: Config>(spec: TensorSpec, executors: u32, verifiers: u32) -> ModelHash {
	let model = ModelHash::repeat_byte(9);
	let input = if spec.shape[0] > spec_of(T::MaxOutputLen::get()).shape[0] {
		spec_of(ENCODING_OVERHEAD + 4)
	} else {
		spec.clone()
	};
	let specs = |spec| vec![spec].try_into().unwrap();
	T::Models::activate_for_benchmark(&model, specs(input), specs(spec), 10u32.into());
	for i in 0..executors {
		let key = InferenceKey::generate_pair(None);
		T::Executors::register_for_benchmark(&account("executor", i, 0), &model, false, key);
	}
	for i in 0..verifiers {
		let key = InferenceKey::generate_pair(None);
		T::Executors::register_for_benchmark(&account("verifier", i, 0), &model, true, key);
	}
	model
}

/// Verifiers enough for a challenge and its committee: attested jobs on a model are taken
/// only with a few verifiers of it.
fn challenge_ready<T: Config>() -> u32 {
	T::CommitteeSize::get() + 1
}

/// A model with the largest outputs, `executors` executors and `verifiers` verifiers.
fn network<T: Config>(executors: u32, verifiers: u32) -> ModelHash {
	network_with::<T>(largest_spec::<T>(), executors, verifiers)
}

/// `executor`'s statement about `job`, signed with its session key from the keystore.
fn sign<T: Config>(
	job: JobId,
	executor: &T::AccountId,
	claim: Claim,
	outputs: Option<OutputBytes<T>>,
) -> (Statement<T>, InferenceSignature) {
	use haca_primitives::traits::ExecutorDirectory;
	let statement = Statement::<T> { job, executor: executor.clone(), claim, outputs };
	let payload = Pallet::<T>::signing_payload(&statement).expect("open job");
	let key = T::Executors::session_key(executor).expect("registered");
	let signature = key.sign(&payload.signing_bytes()).expect("key in the keystore");
	(statement, signature)
}

fn batch<T: Config>(items: Vec<(Statement<T>, InferenceSignature)>) -> StatementBatch<T> {
	items.try_into().expect("within MaxStatementsPerTx")
}

/// A job on `model` in `mode`, its executors drawn.
fn drawn_job<T: Config>(model: &ModelHash, mode: VerificationMode) -> JobId {
	let job = T::Jobs::submit_for_benchmark(&account("client", 0, 0), model, mode);
	T::Jobs::draw_for_benchmark();
	job
}

/// An attested job with a provisional result of the largest outputs.
fn provisional<T: Config>(model: &ModelHash) -> (JobId, T::AccountId) {
	let job = drawn_job::<T>(model, VerificationMode::Attested);
	(job, provide_result::<T>(job))
}

/// Submits the executor's result of the largest outputs to drawn attested `job`; returns the
/// executor.
fn provide_result<T: Config>(job: JobId) -> T::AccountId {
	let executor = T::Jobs::job(job).unwrap().executors[0].clone();
	let bytes = outputs::<T>(0.5);
	let hash = H256(sp_io::hashing::blake2_256(&bytes));
	let statement = sign::<T>(job, &executor, Claim::Output(hash), Some(bytes));
	Pallet::<T>::process_batch(batch::<T>(vec![statement]), SignatureCheck::Verify);
	assert!(Results::<T>::contains_key(job));
	executor
}

/// An attested job on a model with one executor and outputs of about `bytes` bytes, with
/// the executor's signed output statement (not submitted); returns the client too.
fn attested_output<T: Config>(
	bytes: u32,
) -> (T::AccountId, JobId, (Statement<T>, InferenceSignature)) {
	let spec = spec_of(bytes);
	let model = network_with::<T>(spec.clone(), 1, challenge_ready::<T>());
	let client: T::AccountId = account("client", 0, 0);
	let job = drawn_job::<T>(&model, VerificationMode::Attested);
	let executor = T::Jobs::job(job).unwrap().executors[0].clone();
	let outputs = outputs_for::<T>(spec, 0.5);
	let hash = H256(sp_io::hashing::blake2_256(&outputs));
	let signed = sign::<T>(job, &executor, Claim::Output(hash), Some(outputs));
	(client, job, signed)
}

/// An attested job on a model with one executor and outputs of `pages` pages, with the
/// executor's result (its hash only); returns the job, the executor and the outputs.
fn large_result<T: Config>(pages: u32) -> (JobId, T::AccountId, Vec<u8>) {
	let spec = spec_of(T::MaxOutputLen::get() * pages);
	let model = network_with::<T>(spec.clone(), 1, challenge_ready::<T>());
	let job = drawn_job::<T>(&model, VerificationMode::Attested);
	let executor = T::Jobs::job(job).unwrap().executors[0].clone();
	let outputs = encoded_outputs(spec, 0.5);
	assert_eq!(Pallet::<T>::page_count(outputs.len()), pages);
	let hash = H256(sp_io::hashing::blake2_256(&outputs));
	let result = sign::<T>(job, &executor, Claim::Output(hash), None);
	Pallet::<T>::process_batch(batch::<T>(vec![result]), SignatureCheck::Verify);
	assert!(Results::<T>::contains_key(job));
	(job, executor, outputs)
}

/// `executor`'s signed statements of the pages of `outputs` for `job`.
fn page_statements<T: Config>(
	job: JobId,
	executor: &T::AccountId,
	outputs: &[u8],
) -> Vec<(Statement<T>, InferenceSignature)> {
	outputs
		.chunks(T::MaxOutputLen::get() as usize)
		.enumerate()
		.map(|(page, bytes)| {
			let hash = H256(sp_io::hashing::blake2_256(bytes));
			let claim = Claim::OutputPage { page: page as u32, hash };
			sign::<T>(job, executor, claim, Some(bytes.to_vec().try_into().expect("a page")))
		})
		.collect()
}

/// A result of `pages` pages of outputs asked for and published but for its last page;
/// returns the job and the last page's statement.
fn published_but_one<T: Config>(pages: u32) -> (JobId, (Statement<T>, InferenceSignature)) {
	let (job, executor, outputs) = large_result::<T>(pages);
	Pallet::<T>::do_request_outputs(account("verifier", 0, 0), job).expect("asks");
	let mut statements = page_statements::<T>(job, &executor, &outputs);
	let last = statements.pop().expect("pages");
	for page in statements {
		Pallet::<T>::process_batch(batch::<T>(vec![page]), SignatureCheck::Verify);
	}
	(job, last)
}

/// Verifier `index`, funded for challenge bonds.
fn challenger<T: Config>(index: u32) -> T::AccountId {
	let challenger: T::AccountId = account("verifier", index, 0);
	<T::Currency as frame_support::traits::fungible::Mutate<_>>::mint_into(
		&challenger,
		T::ChallengeBond::get() * 100u32.into(),
	)
	.expect("mints");
	challenger
}

/// A drawn job of the largest quorum with the largest float outputs and a spot checker;
/// returns the job, its executors, the checker, and the outputs every one of them commits to
/// and reveals.
fn checked_quorum_job<T: Config>() -> (JobId, Vec<T::AccountId>, T::AccountId, OutputBytes<T>) {
	let quorum = T::MaxQuorum::get();
	let model = network::<T>(quorum, 1);
	let mode = VerificationMode::Quorum { agree: (quorum / 2 + 1) as u8, of: quorum as u8 };
	let job = drawn_job::<T>(&model, mode);
	T::Jobs::spot_check_for_benchmark(job, &account("verifier", 0, 0));
	let view = T::Jobs::job(job).unwrap();
	let checker = view.spot_checker.expect("a spot checker");
	(job, view.executors, checker, outputs::<T>(0.5))
}

/// `who`'s commitment to `bytes` in `job`.
fn commitment<T: Config>(job: JobId, who: &T::AccountId, bytes: &OutputBytes<T>) -> Claim {
	let hash = H256(sp_io::hashing::blake2_256(bytes));
	Claim::Commitment(Claim::commitment(job, 1, who, &hash, &SALT))
}

/// The reveal of a commitment to `bytes`.
fn reveal<T: Config>(bytes: &OutputBytes<T>) -> Claim {
	Claim::Reveal { output_hash: H256(sp_io::hashing::blake2_256(bytes)), salt: SALT }
}

/// Processes `who`'s statement of `claim` about `job`, carrying `bytes`.
fn process<T: Config>(job: JobId, who: &T::AccountId, claim: Claim, bytes: Option<OutputBytes<T>>) {
	Pallet::<T>::process_batch(
		batch::<T>(vec![sign::<T>(job, who, claim, bytes)]),
		SignatureCheck::Verify,
	);
}

/// [`checked_quorum_job`], committed by every executor and the checker and revealed by the
/// checker and all executors but the last `left`; returns the job, the executors left to
/// reveal, their reveal and its outputs.
fn quorum_revealed_but<T: Config>(
	left: usize,
) -> (JobId, Vec<T::AccountId>, Claim, OutputBytes<T>) {
	let (job, executors, checker, bytes) = checked_quorum_job::<T>();
	for who in executors.iter().chain([&checker]) {
		process::<T>(job, who, commitment::<T>(job, who, &bytes), None);
	}
	let (revealing, left) = executors.split_at(executors.len() - left);
	for who in revealing.iter().chain([&checker]) {
		process::<T>(job, who, reveal::<T>(&bytes), Some(bytes.clone()));
	}
	(job, left.to_vec(), reveal::<T>(&bytes), bytes)
}

/// Fills `page` of `block`'s timers with the ends of no phase.
fn fill_timer_page<T: Config>(block: BlockNumberFor<T>, page: u32) {
	let full = vec![(JobId::MAX, Timer::Dispute); T::MaxTimersPerPage::get() as usize];
	Timers::<T>::insert(block, page, BoundedVec::truncate_from(full));
	TimerPages::<T>::insert(block, page + 1);
}

/// The salt of benchmark commitments.
const SALT: [u8; 32] = [7; 32];

/// `voter`'s commitment to a vote for `hash` in the dispute over `job`.
fn vote_commitment<T: Config>(job: JobId, voter: &T::AccountId, hash: H256) -> H256 {
	let attempt = T::Jobs::job(job).unwrap().attempt;
	VerdictClaim::vote_commitment(job, attempt, voter, &hash, &SALT)
}

/// The output hash of benchmark challengers who are right (and of the votes for them).
fn truth() -> H256 {
	H256::repeat_byte(1)
}

/// A provisional result on a model with `executors` executors and `verifiers` verifiers,
/// challenged by the first `challengers` verifiers: the first with [`truth`], the others
/// each with another hash; returns the job.
fn challenged_by<T: Config>(executors: u32, verifiers: u32, challengers: u32) -> JobId {
	let model = network::<T>(executors, verifiers);
	let (job, _) = provisional::<T>(&model);
	for index in 0..challengers {
		let hash = if index == 0 { truth() } else { H256::repeat_byte(index as u8 + 1) };
		Pallet::<T>::do_challenge(challenger::<T>(index), job, hash).expect("challenges");
	}
	job
}

/// As [`challenged_by`]; returns the job at the block its committee can be drawn in (fresh
/// randomness known), and that block.
fn challenged<T: Config>(
	executors: u32,
	verifiers: u32,
	challengers: u32,
) -> (JobId, BlockNumberFor<T>) {
	let job = challenged_by::<T>(executors, verifiers, challengers);
	T::BenchmarkRandomness::reveal([9; 32]);
	let drawn_at = frame_system::Pallet::<T>::block_number() + 2u32.into();
	frame_system::Pallet::<T>::set_block_number(drawn_at);
	(job, drawn_at)
}

/// A provisional result, challenged by the most challengers (all but the first with hashes
/// that lose, each forfeiting its bond), with a full committee drawn; returns the job and
/// the committee.
fn disputed<T: Config>() -> (JobId, Vec<T::AccountId>) {
	let challengers = T::MaxChallengers::get();
	let (job, drawn_at) = challenged::<T>(2, T::CommitteeSize::get() + challengers, challengers);
	Pallet::<T>::draw_committee(job, drawn_at);
	let committee = Disputes::<T>::get(job).unwrap().committee.into_inner();
	assert_eq!(committee.len() as u32, T::CommitteeSize::get());
	(job, committee)
}

/// A result on a model with one executor, outputs of about `bytes` bytes and a dispute
/// graph of `nodes` nodes whose last node gives the output, challenged: returns the job,
/// its executor, and a trace the game accepts.
fn game_for_trace<T: Config>(nodes: u32, bytes: u32) -> (JobId, T::AccountId, TraceSubmission<T>) {
	let spec = spec_of(bytes);
	let model = network_with::<T>(spec.clone(), 1, challenge_ready::<T>());
	let outputs = encoded_outputs(spec, 0.5);
	let tensors = haca_primitives::tensor::decode_tensors(&outputs).unwrap();
	let header = Header {
		version: LOWERING_VERSION,
		inputs: 1,
		constants: 0,
		outputs: vec![nodes].try_into().unwrap(),
	};
	let mut leaves: Vec<H256> = (0..nodes).map(|node| merkle::leaf_hash(&node.encode())).collect();
	*leaves.last_mut().unwrap() = merkle::leaf_hash(&tensors[0].encode());
	let graph_leaves: Vec<H256> =
		[merkle::leaf_hash(&header.encode())].into_iter().chain(leaves.iter().copied()).collect();
	T::Models::set_graph_for_benchmark(
		&model,
		GraphCommitment {
			lowering: LOWERING_VERSION,
			graph_root: merkle::root(&graph_leaves),
			weights_root: H256::zero(),
			nodes,
			largest_step: 0,
			largest_step_bytes: 0,
		},
	);
	let job = drawn_job::<T>(&model, VerificationMode::Attested);
	let executor = T::Jobs::job(job).unwrap().executors[0].clone();
	let hash = H256(sp_io::hashing::blake2_256(&outputs));
	let result =
		sign::<T>(job, &executor, Claim::Output(hash), Some(outputs.clone().try_into().unwrap()));
	Pallet::<T>::process_batch(batch::<T>(vec![result]), SignatureCheck::Verify);
	Pallet::<T>::do_challenge(challenger::<T>(0), job, truth()).expect("challenges");
	assert!(Games::<T>::contains_key(job));
	let trace = TraceSubmission {
		header,
		header_proof: merkle::proof(&graph_leaves, 0).unwrap().try_into().unwrap(),
		leaves: leaves.try_into().unwrap(),
		outputs: outputs.try_into().unwrap(),
	};
	(job, executor, trace)
}

/// A game in its proof phase over a result on a model whose dispute graph is two `Relu`s
/// in a row over an input of about `bytes` bytes, the executor's trace wrong at the second:
/// returns the job and the proof of that step.
fn game_for_proof<T: Config>(bytes: u32) -> (JobId, StepProof<T>) {
	let spec = spec_of(bytes);
	let model = network_with::<T>(spec.clone(), 1, challenge_ready::<T>());
	let relu = |value: u32| Node { op: Op::Relu, inputs: vec![value].try_into().unwrap() };
	let graph = Graph {
		header: Header {
			version: LOWERING_VERSION,
			inputs: 1,
			constants: 0,
			outputs: vec![2].try_into().unwrap(),
		},
		constants: Vec::new(),
		nodes: vec![relu(0), relu(1)],
	};
	let (job, _) = provisional_of::<T>(&model, spec);
	let input = haca_primitives::tensor::decode_tensors(&T::Jobs::input(job).unwrap()).unwrap();
	T::Models::set_graph_for_benchmark(&model, graph.commitment(&input).expect("runs"));
	Pallet::<T>::do_challenge(challenger::<T>(0), job, truth()).expect("challenges");
	let values = graph.values(&input).expect("runs");
	let leaves = vec![merkle::leaf_hash(&values[1].encode()), H256::repeat_byte(7)];
	Traces::<T>::insert(
		job,
		ExecutorTrace { header: graph.header.clone(), leaves: leaves.try_into().unwrap() },
	);
	let until = frame_system::Pallet::<T>::block_number() + T::ProofWindow::get();
	Games::<T>::mutate(job, |game| game.as_mut().unwrap().phase = GamePhase::Proofs { until });
	let step_inputs = vec![values[1].clone()];
	let proof = StepProof {
		index: 1,
		node: graph.nodes[1].clone(),
		node_proof: merkle::proof(&graph.leaves(), 2).unwrap().try_into().unwrap(),
		work: haca_kernels::work(&graph.nodes[1].op, &step_inputs),
		inputs: step_inputs.encode().try_into().unwrap(),
		constant_proofs: Default::default(),
	};
	(job, proof)
}

/// An attested job on `model` with a provisional result of outputs for `spec`.
fn provisional_of<T: Config>(model: &ModelHash, spec: TensorSpec) -> (JobId, T::AccountId) {
	let job = drawn_job::<T>(model, VerificationMode::Attested);
	let executor = T::Jobs::job(job).unwrap().executors[0].clone();
	let bytes = outputs_for::<T>(spec, 0.5);
	let hash = H256(sp_io::hashing::blake2_256(&bytes));
	let statement = sign::<T>(job, &executor, Claim::Output(hash), Some(bytes));
	Pallet::<T>::process_batch(batch::<T>(vec![statement]), SignatureCheck::Verify);
	(job, executor)
}

/// `f32` tensors of `elements` elements, each `value`, as a matrix of `rows` rows.
fn matrix(rows: u32, columns: u32, value: f32) -> Tensor {
	Tensor::from_f32(&[rows, columns], &vec![value; (rows * columns) as usize]).unwrap()
}

/// A proven result on the largest circuit a model registers, its proof (the largest a statement may carry,
/// not a valid one: what it costs to apply is measured, not to verify), and the drawn job
/// it settles.
fn proven_result<T: Config>() -> (JobId, Statement<T>, InferenceSignature, ProofBytes<T>) {
	let most = T::Models::max_circuit_bytes();
	let circuit = haca_proof::benchmarking::circuit_of_bytes(most);
	let layout = circuit.layout().expect("a provable circuit");
	// As many samples as a trace holds and whose outputs a statement carries.
	let carried = (T::MaxOutputLen::get().saturating_sub(ENCODING_OVERHEAD)) as usize;
	let samples = (haca_proof::circuit::MAX_TRACE_ROWS as usize / layout.period)
		.min(carried / circuit.output_len())
		.max(1);
	let spec = |elements: usize| TensorSpec {
		name: b"t".to_vec().try_into().unwrap(),
		element_type: ElementType::U8,
		shape: vec![samples as u32, elements as u32].try_into().unwrap(),
		variable_axes: 0,
	};
	let model = ModelHash::repeat_byte(7);
	let specs = |spec| vec![spec].try_into().unwrap();
	let (inputs, outputs) = (spec(circuit.input_len()), spec(circuit.output_len()));
	T::Models::activate_for_benchmark(&model, specs(inputs), specs(outputs), 10u32.into());
	T::Models::set_circuit_for_benchmark(&model, circuit.encode());
	let key = InferenceKey::generate_pair(None);
	T::Executors::register_for_benchmark(&account("executor", 0, 0), &model, false, key);
	let job = drawn_job::<T>(&model, VerificationMode::Proven);
	let executor = T::Jobs::job(job).unwrap().executors[0].clone();
	let input = haca_primitives::tensor::decode_tensors(&T::Jobs::input(job).unwrap()).unwrap();
	let quanta = circuit.input_quanta(&input[0]).expect("the job's input is quanta");
	let outputs: Vec<i32> = quanta
		.chunks(circuit.input_len())
		.flat_map(|sample| circuit.evaluate(&layout, sample))
		.collect();
	let bytes = vec![circuit.output_tensor(&outputs).unwrap()].encode();
	let proof: ProofBytes<T> = vec![0; T::MaxProofBytes::get() as usize].try_into().unwrap();
	let claim = Pallet::<T>::proven_claim(H256(sp_io::hashing::blake2_256(&bytes)), &proof);
	let carried = outputs.iter().map(|&quantum| quantum as u8).collect::<Vec<_>>();
	let (statement, signature) =
		sign::<T>(job, &executor, claim, Some(carried.try_into().expect("fits MaxOutputLen")));
	(job, statement, signature, proof)
}

/// Outputs of the smallest size a benchmark model has: a group statement's benchmarks carry
/// them, and what more bytes cost is added by `Pallet::output_bytes_weight`.
fn smallest_spec() -> TensorSpec {
	spec_of(ENCODING_OVERHEAD + 4)
}

/// A group of `size` attested jobs on a model with one executor and the smallest outputs,
/// drawn; returns its first job id and its executor.
fn drawn_group<T: Config>(size: u32) -> (JobId, T::AccountId) {
	let model = network_with::<T>(smallest_spec(), 1, challenge_ready::<T>());
	let first = T::Jobs::submit_group_for_benchmark(&account("client", 0, 0), &model, size);
	T::Jobs::draw_for_benchmark();
	let executor = T::Jobs::job(first).unwrap().executors[0].clone();
	(first, executor)
}

/// The executor's signed group statement of the group whose first job is `first`: the
/// smallest outputs for every member.
fn signed_group<T: Config>(
	first: JobId,
	executor: &T::AccountId,
) -> (GroupStatement<T>, InferenceSignature) {
	let size = T::Jobs::group(first).expect("open group").members.len();
	let outputs = outputs_for::<T>(smallest_spec(), 0.5);
	let output_hash = H256(sp_io::hashing::blake2_256(&outputs));
	let result = GroupOutput::<T> { output_hash, outputs: Some(outputs) };
	let results = vec![result; size].try_into().expect("within MaxGroupSize");
	let statement = GroupStatement::<T> { first, executor: executor.clone(), results };
	let payload = Pallet::<T>::group_signing_payload(&statement).expect("one result a member");
	let key = T::Executors::session_key(executor).expect("registered");
	let signature = key.sign(&payload.signing_bytes()).expect("key in the keystore");
	(statement, signature)
}

/// A group of `size` jobs with its executor's group statement applied; returns its first
/// job id.
fn group_with_results<T: Config>(size: u32) -> JobId {
	let (first, executor) = drawn_group::<T>(size);
	let (statement, signature) = signed_group::<T>(first, &executor);
	let checked = Pallet::<T>::check_group(&statement, &signature, SignatureCheck::Verify)
		.expect("checks out");
	Pallet::<T>::apply_group(statement, signature, checked).expect("applies");
	first
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// Checking one attested statement with `b` bytes of outputs.
	#[benchmark]
	fn check_statement(b: Linear<{ ENCODING_OVERHEAD + 4 }, { T::MaxOutputLen::get() }>) {
		let (_, _, (item, signature)) = attested_output::<T>(b);
		let checked;

		#[block]
		{
			checked = Pallet::<T>::check(&item, &signature, SignatureCheck::Verify).is_ok();
		}

		assert!(checked);
	}

	/// Verifying a statement's signature (left out of statements the transaction's own
	/// authorization verified).
	#[benchmark]
	fn verify_signature() {
		let (_, job, (item, signature)) = attested_output::<T>(ENCODING_OVERHEAD + 4);
		let job = T::Jobs::job(job).unwrap();
		let verified;

		#[block]
		{
			verified = Pallet::<T>::verify_signature(&item, &signature, &job).is_ok();
		}

		assert!(verified);
	}

	/// The costliest statement: the last reveal of the largest quorum, with the largest
	/// float outputs, which tallies the round (its spot check judged) and settles the job.
	#[benchmark]
	fn statement() {
		let client: T::AccountId = account("client", 0, 0);
		let (job, last, reveal, bytes) = quorum_revealed_but::<T>(1);
		let final_reveal = batch::<T>(vec![sign::<T>(job, &last[0], reveal, Some(bytes))]);

		#[extrinsic_call]
		submit_statements(RawOrigin::Signed(client), final_reveal);

		assert!(T::Jobs::job(job).is_none(), "settled");
	}

	/// The costliest quorum commitment: the last of the largest quorum's, its spot checker
	/// committed, which opens the reveal phase (every committer owes a reveal) in a new page
	/// of timers.
	#[benchmark]
	fn commitment_statement() {
		let client: T::AccountId = account("client", 0, 0);
		let (job, executors, checker, bytes) = checked_quorum_job::<T>();
		let (last, others) = executors.split_last().expect("a quorum");
		for who in others.iter().chain([&checker]) {
			process::<T>(job, who, commitment::<T>(job, who, &bytes), None);
		}
		let due = frame_system::Pallet::<T>::block_number() + T::RevealWindow::get() + 1u32.into();
		fill_timer_page::<T>(due, 0);
		let last_commitment =
			batch::<T>(vec![sign::<T>(job, last, commitment::<T>(job, last, &bytes), None)]);

		#[extrinsic_call]
		submit_statements(RawOrigin::Signed(client), last_commitment);

		assert!(Quorums::<T>::get(job).unwrap().reveal_until.is_some(), "reveal phase open");
		assert_eq!(TimerPages::<T>::get(due), 2);
	}

	/// The costliest quorum reveal that does not end its round: the last but one of the
	/// largest quorum's, with the largest float outputs.
	#[benchmark]
	fn reveal_statement() {
		let client: T::AccountId = account("client", 0, 0);
		let (job, left, reveal, bytes) = quorum_revealed_but::<T>(2);
		let last_but_one = batch::<T>(vec![sign::<T>(job, &left[0], reveal, Some(bytes))]);

		#[extrinsic_call]
		submit_statements(RawOrigin::Signed(client), last_but_one);

		assert_eq!(Quorums::<T>::get(job).unwrap().reveals.len(), T::MaxQuorum::get() as usize - 1);
	}

	/// An attested output of `b` bytes, whose window's end opens a new page of timers.
	#[benchmark]
	fn attested_statement(b: Linear<{ ENCODING_OVERHEAD + 4 }, { T::MaxOutputLen::get() }>) {
		let (client, job, signed) = attested_output::<T>(b);
		let due =
			frame_system::Pallet::<T>::block_number() + T::ChallengeWindow::get() + 1u32.into();
		fill_timer_page::<T>(due, 0);

		#[extrinsic_call]
		submit_statements(RawOrigin::Signed(client), batch::<T>(vec![signed]));

		assert!(Results::<T>::contains_key(job));
		assert_eq!(TimerPages::<T>::get(due), 2);
	}

	/// The challenge that opens a dispute.
	#[benchmark]
	fn challenge() {
		let model = network::<T>(1, challenge_ready::<T>());
		let (job, _) = provisional::<T>(&model);
		let challenger = challenger::<T>(0);

		#[extrinsic_call]
		_(RawOrigin::Signed(challenger), job, truth());

		assert!(Disputes::<T>::contains_key(job));
	}

	/// The challenge that fills a dispute's last place for challengers, before its
	/// committee is drawn (the pool of members is checked).
	#[benchmark]
	fn join_challenge() {
		let challengers = T::MaxChallengers::get();
		let verifiers = T::CommitteeSize::get() + challengers;
		let job = challenged_by::<T>(1, verifiers, challengers - 1);
		let last = challenger::<T>(challengers - 1);

		#[extrinsic_call]
		challenge(RawOrigin::Signed(last), job, truth());

		let dispute = Disputes::<T>::get(job).unwrap();
		assert_eq!(dispute.challengers.len() as u32, challengers);
	}

	/// The last commitment, which opens the reveal phase.
	#[benchmark]
	fn commit_vote() {
		let (job, committee) = disputed::<T>();
		let truth = truth();
		let (last, others) = committee.split_last().expect("a committee");
		for voter in others {
			Pallet::<T>::do_commit_vote(
				voter.clone(),
				job,
				vote_commitment::<T>(job, voter, truth),
			)
			.expect("commits");
		}
		let commitment = vote_commitment::<T>(job, last, truth);

		#[extrinsic_call]
		_(RawOrigin::Signed(last.clone()), job, commitment);

		assert!(Disputes::<T>::get(job).unwrap().reveal_until.is_some());
	}

	/// The last reveal, which decides against the executor: the smallest majority for the
	/// first challenger's hash shares the executor's slash, the other challengers' forfeited
	/// bonds and the slashes of the members against it.
	#[benchmark]
	fn reveal_vote() {
		let (job, committee) = disputed::<T>();
		let truth = truth();
		let majority = committee.len() / 2 + 1;
		let vote_of = |index: usize| if index < majority { truth } else { H256::repeat_byte(2) };
		for (index, voter) in committee.iter().enumerate() {
			let commitment = vote_commitment::<T>(job, voter, vote_of(index));
			Pallet::<T>::do_commit_vote(voter.clone(), job, commitment).expect("commits");
		}
		let decider = committee[0].clone();
		for (index, voter) in committee.iter().enumerate().skip(1) {
			Pallet::<T>::do_reveal_vote(voter.clone(), job, vote_of(index), SALT).expect("reveals");
		}

		#[extrinsic_call]
		_(RawOrigin::Signed(decider), job, truth, SALT);

		assert!(!Disputes::<T>::contains_key(job));
	}

	/// A challenge window's end that settles a result of the largest outputs.
	#[benchmark]
	fn timer_challenge_window() {
		let model = network::<T>(1, challenge_ready::<T>());
		let (job, _) = provisional::<T>(&model);
		let due =
			frame_system::Pallet::<T>::block_number() + T::ChallengeWindow::get() + 1u32.into();

		#[block]
		{
			Pallet::<T>::run_timer(job, Timer::ChallengeWindow, due);
		}

		assert!(T::Jobs::job(job).is_none(), "settled");
	}

	/// A reveal phase's end in the largest quorum with the largest float outputs: every
	/// executor but one revealed (compared pairwise within tolerance), and the spot checker
	/// (compared with the agreement); the silent one is slashed, the checker shares its
	/// slash, and the rest settle.
	#[benchmark]
	fn timer_reveal_phase() {
		let (job, ..) = quorum_revealed_but::<T>(1);
		let until = Quorums::<T>::get(job).unwrap().reveal_until.unwrap();

		#[block]
		{
			Pallet::<T>::run_timer(job, Timer::RevealPhase, until + 1u32.into());
		}

		assert!(T::Jobs::job(job).is_none(), "settled");
	}

	/// A committee draw from the most verifiers of a model (the verifier set filled up).
	#[benchmark]
	fn timer_committee() {
		let room =
			T::Executors::max_verifiers().saturating_sub(T::Executors::verifiers().len() as u32);
		let (job, drawn_at) = challenged::<T>(1, room.max(1), 1);

		#[block]
		{
			Pallet::<T>::run_timer(job, Timer::Committee, drawn_at);
		}

		let committee = Disputes::<T>::get(job).unwrap().committee;
		assert_eq!(committee.len() as u32, T::CommitteeSize::get());
	}

	/// A reveal phase's end that decides a dispute against the executor: the smallest
	/// majority revealed, the rest of the committee committed and never revealed, and pays.
	#[benchmark]
	fn timer_dispute() {
		let (job, committee) = disputed::<T>();
		let truth = truth();
		let majority = committee.len() / 2 + 1;
		for voter in &committee {
			let commitment = vote_commitment::<T>(job, voter, truth);
			Pallet::<T>::do_commit_vote(voter.clone(), job, commitment).expect("commits");
		}
		for voter in committee.iter().take(majority) {
			Pallet::<T>::do_reveal_vote(voter.clone(), job, truth, SALT).expect("reveals");
		}
		let until = Disputes::<T>::get(job).unwrap().reveal_until.unwrap();

		#[block]
		{
			Pallet::<T>::run_timer(job, Timer::Dispute, until + 1u32.into());
		}

		assert!(!Disputes::<T>::contains_key(job));
	}

	/// A verifier's request for the outputs of a result too large for its statement, whose
	/// time to publish ends in a new page of timers.
	#[benchmark]
	fn request_outputs() {
		let (job, executor, _) = large_result::<T>(2);
		let verifier: T::AccountId = account("verifier", 0, 0);
		let due = frame_system::Pallet::<T>::block_number() + T::PublishWindow::get() + 1u32.into();
		fill_timer_page::<T>(due, 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(verifier), job);

		assert!(OwedPages::<T>::contains_key(&executor, job));
	}

	/// The page that completes a publication of `p` pages: every page read and hashed, and
	/// a new challenge window scheduled.
	#[benchmark]
	fn output_page(p: Linear<2, { T::MaxOutputPages::get() }>) {
		let client: T::AccountId = account("client", 0, 0);
		let (job, last) = published_but_one::<T>(p);

		#[extrinsic_call]
		submit_statements(RawOrigin::Signed(client), batch::<T>(vec![last]));

		assert!(Results::<T>::get(job).is_some_and(|result| result.published));
	}

	/// The end of the time to publish the largest outputs, all but one page in: the
	/// executor is slashed, its pages removed and the job re-run.
	#[benchmark]
	fn timer_publication() {
		let (job, _) = published_but_one::<T>(T::MaxOutputPages::get());
		let due = frame_system::Pallet::<T>::block_number() + T::PublishWindow::get() + 1u32.into();

		#[block]
		{
			Pallet::<T>::run_timer(job, Timer::Publication, due);
		}

		assert!(!Results::<T>::contains_key(job));
		assert_eq!(OutputPages::<T>::iter_prefix(job).count(), 0);
	}

	/// Taking a full page of timers and, out of weight, putting it back.
	#[benchmark]
	fn timer_page() {
		let block = frame_system::Pallet::<T>::block_number();
		fill_timer_page::<T>(block, 0);
		let mut meter = WeightMeter::with_limit(T::WeightInfo::timer_page());
		let finished;

		#[block]
		{
			finished = Pallet::<T>::run_page(block, 0, block, &mut meter);
		}

		assert!(!finished);
		assert_eq!(Timers::<T>::get(block, 0).len() as u32, T::MaxTimersPerPage::get());
	}

	/// Going past a block without timers.
	#[benchmark]
	fn timer_block() {
		let block = frame_system::Pallet::<T>::block_number();
		TimersDue::<T>::put((block, 0));

		#[block]
		{
			Pallet::<T>::process_timers(block);
		}

		assert_eq!(TimersDue::<T>::get(), (block + 1u32.into(), 0));
	}

	/// An executor's trace of `n` nodes with outputs of about `b` bytes: the header's proof
	/// checked, the outputs decoded, hashed and compared with the result's, the leaves
	/// stored.
	#[benchmark]
	fn submit_trace(
		n: Linear<1, { T::MaxGraphNodes::get() }>,
		b: Linear<{ ENCODING_OVERHEAD + 4 }, { T::MaxOutputLen::get() }>,
	) {
		let (job, executor, trace) = game_for_trace::<T>(n, b);

		#[extrinsic_call]
		_(RawOrigin::Signed(executor), job, trace);

		assert!(Traces::<T>::contains_key(job));
	}

	/// A step proven wrong with inputs of about `b` bytes (a `Relu`, the cheapest operator
	/// per byte): the node's proof, the inputs' hashes, the run, the executor's slash and
	/// the job's re-run.
	#[benchmark]
	fn prove_step(b: Linear<{ ENCODING_OVERHEAD + 4 }, { T::MaxOutputLen::get() }>) {
		let (job, proof) = game_for_proof::<T>(b);
		let prover: T::AccountId = account("prover", 0, 0);

		#[extrinsic_call]
		_(RawOrigin::Signed(prover), job, proof);

		assert!(!Games::<T>::contains_key(job));
	}

	/// A convolution of `w` thousand units of work (multiply-adds, mostly): 3x3 filters over
	/// 16 channels of a padded image, the kernel that takes the most time per unit (matrix
	/// products, pools and element-wise kernels take less, on any shape).
	#[benchmark]
	fn run_products(w: Linear<1, 1_000>) {
		let conv = Op::Conv { pads: [1; 4], strides: [1; 2], dilations: [1; 2], group: 1 };
		let inputs = |side: u32| {
			let image = vec![0.5; (16 * side * side) as usize];
			[
				Tensor::from_f32(&[1, 16, side, side], &image).unwrap(),
				Tensor::from_f32(&[16, 16, 3, 3], &[-0.25; 16 * 16 * 9]).unwrap(),
			]
		};
		let side = (1u32..)
			.find(|&side| haca_kernels::work(&conv, &inputs(side)) >= u64::from(w) * 1_000)
			.unwrap();
		let inputs = inputs(side);
		let ran;

		#[block]
		{
			ran = haca_kernels::run(&conv, &inputs);
		}

		assert!(ran.is_ok());
	}

	/// `tanh` over elements worth `w` thousand units of work.
	#[benchmark]
	fn run_functions(w: Linear<1, 1_000>) {
		let units_per_element = haca_kernels::work(&Op::Tanh, &[matrix(1, 1, 0.5)]);
		let elements = (u64::from(w) * 1_000).div_ceil(units_per_element) as u32;
		let inputs = [matrix(1, elements, 0.5)];
		let ran;

		#[block]
		{
			ran = haca_kernels::run(&Op::Tanh, &inputs);
		}

		assert!(ran.is_ok());
	}

	/// The end of a trace phase without a trace: the executor slashed, the job re-run.
	#[benchmark]
	fn timer_trace_withheld() {
		let (job, _, _) = game_for_trace::<T>(1, T::MaxOutputLen::get());
		let now = frame_system::Pallet::<T>::block_number() + T::TraceWindow::get() + 1u32.into();

		#[block]
		{
			Pallet::<T>::run_timer(job, Timer::Game, now);
		}

		assert!(!Games::<T>::contains_key(job));
	}

	/// The end of a proof phase without a proof: the challenger's bond forfeited, the result
	/// settled and paid.
	#[benchmark]
	fn timer_game_settled() {
		let (job, executor, trace) =
			game_for_trace::<T>(T::MaxGraphNodes::get(), T::MaxOutputLen::get());
		Pallet::<T>::do_submit_trace(executor, job, trace).expect("a trace");
		let now = frame_system::Pallet::<T>::block_number() + T::ProofWindow::get() + 1u32.into();

		#[block]
		{
			Pallet::<T>::run_timer(job, Timer::Game, now);
		}

		assert!(!Games::<T>::contains_key(job) && !Traces::<T>::contains_key(job));
	}

	/// Verifying a proof of `r` trace rows (up to a power of two): the widest circuit whose
	/// samples fill them.
	#[benchmark]
	fn verify_proof(r: Linear<8, { haca_proof::circuit::MAX_TRACE_ROWS }>) {
		let (proven, proof) = haca_proof::benchmarking::widest_proof(r);
		let verified;

		#[block]
		{
			verified = haca_proof::verify(proven, &proof);
		}

		assert_eq!(verified, Ok(()));
	}

	/// Applying a proven result whose proof the transaction's authorization verified: the
	/// largest circuit and proof, the job settled.
	#[benchmark]
	fn apply_proof() {
		let (job, item, signature, proof) = proven_result::<T>();

		#[extrinsic_call]
		submit_proof(RawOrigin::Authorized, item, signature, proof);

		assert!(T::Jobs::job(job).is_none(), "settled");
	}

	/// Checking a group statement of `n` results (the smallest outputs), its signature
	/// included.
	#[benchmark]
	fn check_group_statement(n: Linear<2, { T::MaxGroupSize::get() }>) {
		let (first, executor) = drawn_group::<T>(n);
		let (item, signature) = signed_group::<T>(first, &executor);
		let checked;

		#[block]
		{
			checked = Pallet::<T>::check_group(&item, &signature, SignatureCheck::Verify).is_ok();
		}

		assert!(checked);
	}

	/// Applying a group statement of `n` results whose authorization verified its
	/// signature; its window's end opens a new page of timers.
	#[benchmark]
	fn group_statement(n: Linear<2, { T::MaxGroupSize::get() }>) {
		let (first, executor) = drawn_group::<T>(n);
		let (item, signature) = signed_group::<T>(first, &executor);
		let due =
			frame_system::Pallet::<T>::block_number() + T::ChallengeWindow::get() + 1u32.into();
		fill_timer_page::<T>(due, 0);

		#[extrinsic_call]
		submit_group_results(RawOrigin::Authorized, item, signature);

		assert_eq!(GroupResults::<T>::get(first).unwrap().members.len() as u32, n);
		assert_eq!(TimerPages::<T>::get(due), 2);
	}

	/// A group statement's window end that settles its `n` results (each outcome replacing
	/// the oldest).
	#[benchmark]
	fn timer_group_window(n: Linear<2, { T::MaxGroupSize::get() }>) {
		let first = group_with_results::<T>(n);
		let due =
			frame_system::Pallet::<T>::block_number() + T::ChallengeWindow::get() + 1u32.into();
		let timer = Timer::GroupWindow { members: n, bytes: 0 };

		#[block]
		{
			Pallet::<T>::run_timer(first, timer, due);
		}

		assert!(T::Jobs::job(first).is_none(), "settled");
		assert!(!GroupResults::<T>::contains_key(first));
	}

	/// A result leaving a group statement of `n` results for a result of its own, with its
	/// inclusion proof.
	#[benchmark]
	fn leave_group(n: Linear<2, { T::MaxGroupSize::get() }>) {
		let first = group_with_results::<T>(n);

		#[block]
		{
			Pallet::<T>::leave_group(first);
		}

		assert!(Results::<T>::get(first).unwrap().inclusion.is_some());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_bench_ext(), crate::mock::Test);
}
