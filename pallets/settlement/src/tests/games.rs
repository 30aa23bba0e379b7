//! Disputes the chain decides: an executor's trace, steps re-executed by the kernels, and
//! their outcomes.

use codec::Encode;
use haca_kernels::{
	graph::{Graph, Header, Node},
	Op,
};
use haca_primitives::{
	dispute::LOWERING_VERSION,
	merkle,
	tensor::{tensors_hash, Tensor},
	ModelHash,
};

use super::*;
use crate::{GameMove, GamePhase, Games, MerkleProof, StepProof, TraceSubmission, Traces};

/// The graph model: `relu(input · W)`, f32 [1, 4] in, [1, 2] out.
fn graph() -> Graph {
	let weights = [0.5, -1.0, 0.25, 2.0, -0.5, 1.0, 1.0, -0.25];
	Graph {
		header: Header {
			version: LOWERING_VERSION,
			inputs: 1,
			constants: 1,
			outputs: vec![3].try_into().unwrap(),
		},
		constants: vec![Tensor::from_f32(&[4, 2], &weights).unwrap()],
		nodes: vec![
			Node { op: Op::MatMul, inputs: vec![0, 1].try_into().unwrap() },
			Node { op: Op::Relu, inputs: vec![2].try_into().unwrap() },
		],
	}
}

fn graph_model() -> ModelHash {
	ModelHash::repeat_byte(2)
}

/// The job's input.
fn input() -> Vec<Tensor> {
	vec![Tensor::from_f32(&[1, 4], &[1.0, 2.0, 3.0, 4.0]).unwrap()]
}

/// Registers the graph model with its dispute graph; every executor and verifier serves it.
fn register_graph_model() {
	let mut terms = terms(&[1, 2]);
	terms.graph = Some(graph().commitment(&input()).unwrap());
	assert_ok!(Models::register(
		RuntimeOrigin::signed(OWNER),
		graph_model(),
		1_000,
		pallet_models::ModelSource::OffChain(
			vec![b"https://models.example/g".to_vec().try_into().unwrap()].try_into().unwrap()
		),
		terms,
		None,
	));
	for who in EXECUTORS.into_iter().chain(VERIFIERS) {
		let models = vec![model(), graph_model()].try_into().unwrap();
		assert_ok!(Executors::set_models(RuntimeOrigin::signed(who), models));
	}
}

/// An attested job on the graph model on `input`, with its executor's result `outputs`;
/// returns the job and the executor.
fn result_of(input: Vec<Tensor>, outputs: &[Tensor]) -> (u64, AccountId) {
	register_graph_model();
	assert_ok!(Jobs::submit(
		RuntimeOrigin::signed(CLIENT),
		graph_model(),
		input.encode(),
		VerificationMode::Attested,
		500,
	));
	drawn();
	let job = pallet_jobs::NextJobId::<Test>::get() - 1;
	let executor = Jobs::job(job).unwrap().executors[0];
	let bytes = outputs.encode();
	submit(vec![signed(job, executor, Claim::Output(hash_of(&bytes)), Some(bytes))]);
	(job, executor)
}

/// The honest outputs of the graph model on `input()`.
fn honest() -> Vec<Tensor> {
	graph().trace(&input()).unwrap().outputs
}

/// A lie about them.
fn lie() -> Vec<Tensor> {
	vec![Tensor::from_f32(&[1, 2], &[9.0, 9.0]).unwrap()]
}

/// A trace of the graph model with node outputs `nodes` (the graph's output is the last).
fn trace_of(nodes: &[Tensor]) -> TraceSubmission<Test> {
	let graph = graph();
	TraceSubmission {
		header: graph.header.clone(),
		header_proof: proof(&graph.leaves(), 0),
		leaves: nodes
			.iter()
			.map(|node| merkle::leaf_hash(&node.encode()))
			.collect::<Vec<_>>()
			.try_into()
			.unwrap(),
		outputs: vec![nodes.last().unwrap().clone()].encode().try_into().unwrap(),
	}
}

/// The honest trace.
fn honest_trace() -> TraceSubmission<Test> {
	let values = graph().values(&input()).unwrap();
	trace_of(&values[2..])
}

fn proof(leaves: &[H256], index: usize) -> MerkleProof {
	merkle::proof(leaves, index).unwrap().try_into().unwrap()
}

/// A proof of node `index` of the graph model on `inputs`, the work it takes stated.
fn step(index: usize, inputs: &[Tensor]) -> StepProof<Test> {
	let graph = graph();
	let node = graph.nodes[index].clone();
	let constant_proofs = node
		.inputs
		.iter()
		.filter(|&&value| value == 1)
		.map(|_| proof(&graph.weight_leaves(), 0))
		.collect::<Vec<_>>();
	StepProof {
		index: index as u32,
		work: haca_kernels::work(&node.op, inputs),
		node,
		node_proof: proof(&graph.leaves(), index + 1),
		inputs: inputs.encode().try_into().unwrap(),
		constant_proofs: constant_proofs.try_into().unwrap(),
	}
}

/// The inputs of the first node (the job's input and the weights).
fn first_inputs() -> Vec<Tensor> {
	vec![input()[0].clone(), graph().constants[0].clone()]
}

fn prove(who: AccountId, job: u64, proof: StepProof<Test>) -> sp_runtime::DispatchResult {
	Settlement::prove_step(RuntimeOrigin::signed(who), job, proof)
}

/// `who`'s free balance and bond, together.
fn funds(who: AccountId) -> Balance {
	Balances::balance(&who) + pallet_executors::Executors::<Test>::get(who).map_or(0, |e| e.bond)
}

#[test]
fn an_honest_trace_stands_and_the_wrong_challenger_pays() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executor) = result_of(input(), &honest());
		let challenger = VERIFIERS[0];
		let lie_hash = H256(tensors_hash(&lie()));
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, lie_hash));
		assert!(Disputes::<Test>::get(job).is_none(), "no committee");
		let until = System::block_number() + TRACE_WINDOW;
		assert_eq!(Games::<Test>::get(job).unwrap().phase, GamePhase::Trace { until });
		let executor_before = funds(executor);

		assert_ok!(Settlement::submit_trace(RuntimeOrigin::signed(executor), job, honest_trace()));
		let until = System::block_number() + PROOF_WINDOW;
		assert_eq!(Games::<Test>::get(job).unwrap().phase, GamePhase::Proofs { until });
		System::assert_has_event(Event::TraceSubmitted { job, proofs_until: until }.into());
		// Every step holds: the kernels give the trace's outputs.
		let values = graph().values(&input()).unwrap();
		assert_noop!(prove(challenger, job, step(0, &first_inputs())), Error::<Test>::StepHolds);
		assert_noop!(prove(challenger, job, step(1, &values[2..3])), Error::<Test>::StepHolds);

		run_to_block(until + 1);
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: true }.into());
		assert!(Games::<Test>::get(job).is_none() && Traces::<Test>::get(job).is_none());
		assert!(Jobs::job(job).is_none(), "settled");
		assert_eq!(challenge_hold(challenger), 0);
		assert_eq!(funds(executor), executor_before + MODEL_FEE * 9 / 10 + CHALLENGE_BOND / 2);
	});
}

#[test]
fn a_lie_is_proven_wrong_by_re_executing_one_operator() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, liar) = result_of(input(), &lie());
		let challenger = VERIFIERS[0];
		let honest_hash = H256(tensors_hash(&honest()));
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, honest_hash));
		// The honest trace does not end at the lie.
		assert_noop!(
			Settlement::submit_trace(RuntimeOrigin::signed(liar), job, honest_trace()),
			Error::<Test>::TraceDisagrees
		);
		// A trace that ends at the lie is wrong somewhere: here its first node's output,
		// from which its second follows (`relu` of a positive lie is the lie).
		assert_ok!(Settlement::submit_trace(
			RuntimeOrigin::signed(liar),
			job,
			trace_of(&[lie()[0].clone(), lie()[0].clone()])
		));
		assert_noop!(prove(challenger, job, step(1, &lie())), Error::<Test>::StepHolds);

		// Anyone re-executes the first node on the job's input and the committed weights.
		let prover = OWNER;
		let (prover_before, challenger_before) = (funds(prover), Balances::balance(&challenger));
		assert_ok!(prove(prover, job, step(0, &first_inputs())));
		System::assert_has_event(Event::StepProvenWrong { job, node: 0, prover }.into());
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: false }.into());
		assert_eq!(bond_of(liar), BOND - JOB_STAKE);
		assert_eq!(funds(prover), prover_before + JOB_STAKE / 2);
		assert_eq!(Balances::balance(&challenger), challenger_before + CHALLENGE_BOND);
		assert!(Games::<Test>::get(job).is_none() && Traces::<Test>::get(job).is_none());
		drawn();
		assert!(!Jobs::job(job).unwrap().executors.contains(&liar), "re-run without the liar");
	});
}

#[test]
fn an_executor_without_a_trace_loses_at_its_deadline() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executor) = result_of(input(), &lie());
		let challenger = VERIFIERS[0];
		let honest_hash = H256(tensors_hash(&honest()));
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, honest_hash));
		let challenger_before = Balances::balance(&challenger);
		run_to_block(System::block_number() + TRACE_WINDOW + 1);
		System::assert_has_event(Event::TraceWithheld { job }.into());
		assert_eq!(bond_of(executor), BOND - JOB_STAKE);
		assert_eq!(
			Balances::balance(&challenger),
			challenger_before + CHALLENGE_BOND + JOB_STAKE / 2
		);
		assert_noop!(
			Settlement::submit_trace(RuntimeOrigin::signed(executor), job, honest_trace()),
			Error::<Test>::NoDispute
		);
	});
}

#[test]
fn bad_traces_and_proofs_are_refused_by_name_and_move_nothing() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executor) = result_of(input(), &honest());
		let challenger = VERIFIERS[0];
		let lie_hash = H256(tensors_hash(&lie()));
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, lie_hash));
		assert_noop!(
			Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[1]), job, lie_hash),
			Error::<Test>::ChainDecides
		);
		assert_noop!(prove(challenger, job, step(0, &first_inputs())), Error::<Test>::WrongPhase);
		let submit = |who, trace| Settlement::submit_trace(RuntimeOrigin::signed(who), job, trace);
		assert_noop!(submit(challenger, honest_trace()), Error::<Test>::NotExecutor);
		let mut short = honest_trace();
		short.leaves.pop();
		assert_noop!(submit(executor, short), Error::<Test>::WrongTraceLength);
		let mut forged = honest_trace();
		forged.header.constants = 0;
		assert_noop!(submit(executor, forged), Error::<Test>::BadGraphProof);
		let mut unhashed = honest_trace();
		unhashed.outputs = lie().encode().try_into().unwrap();
		assert_noop!(submit(executor, unhashed), Error::<Test>::TraceOutputsMismatch);
		let mut garbled = honest_trace();
		garbled.outputs = vec![7u8; 5].try_into().unwrap();
		assert_noop!(submit(executor, garbled), Error::<Test>::MalformedTrace);
		assert_ok!(submit(executor, honest_trace()));
		assert_noop!(submit(executor, honest_trace()), Error::<Test>::WrongPhase);

		let mut misplaced = step(0, &first_inputs());
		misplaced.index = 1;
		assert_noop!(prove(challenger, job, misplaced), Error::<Test>::BadGraphProof);
		let mut other_weights = step(0, &first_inputs());
		let nudged = Tensor::from_f32(&[4, 2], &[1.0; 8]).unwrap();
		other_weights.inputs =
			vec![input()[0].clone(), nudged.clone()].encode().try_into().unwrap();
		other_weights.work = haca_kernels::work(&Op::MatMul, &[input()[0].clone(), nudged]);
		assert_noop!(prove(challenger, job, other_weights), Error::<Test>::BadWeightsProof);
		let other_input =
			vec![Tensor::from_f32(&[1, 4], &[0.0; 4]).unwrap(), graph().constants[0].clone()];
		assert_noop!(
			prove(challenger, job, step(0, &other_input)),
			Error::<Test>::StepInputMismatch
		);
		assert_noop!(prove(challenger, job, step(1, &lie())), Error::<Test>::StepInputMismatch);
		let mut one_input = step(0, &first_inputs());
		one_input.inputs = input().encode().try_into().unwrap();
		assert_noop!(prove(challenger, job, one_input), Error::<Test>::MalformedStep);
		let mut cheap = step(0, &first_inputs());
		cheap.work -= 1;
		assert_noop!(prove(challenger, job, cheap), Error::<Test>::WorkUnderstated);
	});
}

#[test]
fn a_move_after_its_deadline_is_refused_even_while_its_timer_waits() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executor) = result_of(input(), &honest());
		let challenger = VERIFIERS[0];
		let lie_hash = H256(tensors_hash(&lie()));
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, lie_hash));
		let submit =
			|| Settlement::submit_trace(RuntimeOrigin::signed(executor), job, honest_trace());
		// Timers beyond a block's budget wait for later blocks: a phase's end still holds.
		let trace_until = System::block_number() + TRACE_WINDOW;
		System::set_block_number(trace_until + 1);
		assert_noop!(submit(), Error::<Test>::DeadlinePassed);
		System::set_block_number(trace_until);
		assert_ok!(submit());
		let proofs_until = trace_until + PROOF_WINDOW;
		System::set_block_number(proofs_until + 1);
		assert_noop!(
			prove(challenger, job, step(0, &first_inputs())),
			Error::<Test>::DeadlinePassed
		);
		assert_eq!(
			Games::<Test>::get(job).unwrap().phase,
			GamePhase::Proofs { until: proofs_until }
		);
	});
}

#[test]
fn a_job_on_a_non_finite_input_keeps_its_dispute_with_a_committee() {
	ExtBuilder::default().build_and_execute(|| {
		let input = vec![Tensor::from_f32(&[1, 4], &[1.0, f32::NAN, 3.0, 4.0]).unwrap()];
		let (job, _) = result_of(input, &lie());
		let hash = H256(tensors_hash(&honest()));
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, hash));
		assert!(Games::<Test>::get(job).is_none());
		assert!(Disputes::<Test>::get(job).is_some());
	});
}

/// `party`'s `game_move` in the dispute over `job`, signed by `signer`'s session key.
fn signed_move(
	job: u64,
	party: AccountId,
	signer: AccountId,
	game_move: &GameMove<Test>,
) -> haca_primitives::InferenceSignature {
	use sp_core::Pair;
	let payload = crate::Pallet::<Test>::game_move_payload(job, &party, game_move).unwrap();
	pair(signer).sign(&payload.signing_bytes()).into()
}

#[test]
fn nodes_make_their_moves_signed_by_their_session_keys() {
	use sp_runtime::transaction_validity::InvalidTransaction;
	ExtBuilder::default().build_and_execute(|| {
		let (job, liar) = result_of(input(), &lie());
		let verifier = VERIFIERS[1];
		let honest_hash = H256(tensors_hash(&honest()));
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, honest_hash));
		let authorize = |party, game_move: &GameMove<Test>, signature| {
			crate::Pallet::<Test>::authorize_game_move(
				TransactionSource::Local,
				&job,
				&party,
				game_move,
				&signature,
			)
			.map(|_| ())
		};
		let lie_trace = GameMove::Trace(trace_of(&[lie()[0].clone(), lie()[0].clone()]));
		assert_eq!(
			authorize(liar, &lie_trace, signed_move(job, liar, verifier, &lie_trace)),
			Err(InvalidTransaction::BadProof.into()),
			"signed by another key"
		);
		let honest = GameMove::Trace(honest_trace());
		assert_eq!(
			authorize(liar, &honest, signed_move(job, liar, liar, &honest)),
			Err(InvalidTransaction::Call.into()),
			"a trace the chain refuses (it disagrees with the result) never enters a block"
		);
		let signature = signed_move(job, liar, liar, &lie_trace);
		assert_ok!(authorize(liar, &lie_trace, signature.clone()));
		assert_ok!(Settlement::submit_game_move(
			frame_system::RawOrigin::Authorized.into(),
			job,
			liar,
			lie_trace,
			signature
		));

		let proof = GameMove::Step(step(0, &first_inputs()));
		let signature = signed_move(job, verifier, verifier, &proof);
		assert_ok!(authorize(verifier, &proof, signature.clone()));
		let before = funds(verifier);
		assert_ok!(Settlement::submit_game_move(
			frame_system::RawOrigin::Authorized.into(),
			job,
			verifier,
			proof,
			signature
		));
		assert_eq!(funds(verifier), before + JOB_STAKE / 2, "the prover's reward");
	});
}

/// The honest outputs with their last element `ulps` units of least precision away.
fn nudged(ulps: u32) -> Vec<Tensor> {
	let mut outputs = honest();
	let data = &mut outputs[0].data;
	let at = data.len() - 4;
	let bits = u32::from_le_bytes(data[at..].try_into().unwrap()) + ulps;
	data[at..].copy_from_slice(&bits.to_le_bytes());
	outputs
}

#[test]
fn a_result_within_the_tolerance_of_the_trace_cannot_be_disputed_successfully() {
	ExtBuilder::default().build_and_execute(|| {
		// Another engine's rounding: the result is TOLERANCE_ULPS - 1 from the kernels'.
		let (job, executor) = result_of(input(), &nudged(TOLERANCE_ULPS - 1));
		let challenger = VERIFIERS[0];
		let trace_hash = H256(tensors_hash(&honest()));
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(challenger), job, trace_hash));
		assert_ok!(Settlement::submit_trace(RuntimeOrigin::signed(executor), job, honest_trace()));
		let values = graph().values(&input()).unwrap();
		assert_noop!(prove(challenger, job, step(0, &first_inputs())), Error::<Test>::StepHolds);
		assert_noop!(prove(challenger, job, step(1, &values[2..3])), Error::<Test>::StepHolds);
		run_to_block(System::block_number() + PROOF_WINDOW + 1);
		System::assert_has_event(Event::DisputeResolved { job, executor_was_right: true }.into());
	});
}

#[test]
fn a_result_beyond_the_tolerance_of_every_right_trace_loses() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executor) = result_of(input(), &nudged(TOLERANCE_ULPS + 1));
		let trace_hash = H256(tensors_hash(&honest()));
		assert_ok!(Settlement::challenge(RuntimeOrigin::signed(VERIFIERS[0]), job, trace_hash));
		assert_noop!(
			Settlement::submit_trace(RuntimeOrigin::signed(executor), job, honest_trace()),
			Error::<Test>::TraceDisagrees
		);
		run_to_block(System::block_number() + TRACE_WINDOW + 1);
		System::assert_has_event(Event::TraceWithheld { job }.into());
		assert_eq!(bond_of(executor), BOND - JOB_STAKE);
	});
}
