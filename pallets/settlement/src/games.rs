//! Disputes the chain decides itself: over results of models registered with a dispute
//! graph, on finite inputs.
//!
//! A verifier's challenge (with its bond) opens a game. The executor then owes the trace of
//! its run within `TraceWindow` blocks: the graph's header (proven against the graph root),
//! each node's output hash, and the graph's outputs, which must hash to their leaves and
//! agree with the committed result within the model's tolerance. An executor whose result
//! was a lie has no such trace that is right at every step. For `ProofWindow` blocks anyone
//! may then prove one step wrong: name a node (proven against the graph root), give its
//! inputs (the job's input, constants proven against the weights root, or outputs of
//! earlier nodes that hash to their leaves), and the runtime runs that one operator with
//! `haca_kernels`, which compute bit for bit as the executor's trace did. An output that
//! hashes to another leaf, or an operator that fails, proves the trace wrong.
//!
//! - A step proven wrong: the executor loses its job stake (`SlashRewardShare` to the
//!   prover), the challenger's bond returns and the job is re-run without the executor.
//! - No trace in time: the same, `SlashRewardShare` to the challenger.
//! - No step proven wrong in time: the challenger loses its bond (`SlashRewardShare` to the
//!   executor) and the result settles.
//!
//! No vote is involved. Any number of provers may try while the trace is up, so a
//! challenger that colludes with the executor and stays silent shields nothing.

use alloc::vec::Vec;
use codec::Encode;
use frame_support::{defensive, ensure, pallet_prelude::*};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_kernels::graph::Header;
use haca_primitives::{
	dispute::GraphCommitment,
	merkle,
	tensor::{all_finite, decode_tensors, tensors_agree, Tensor},
	traits::{ExecutorAccountability, JobLedger, ModelRegistry},
	JobId,
};
use sp_core::H256;
use sp_runtime::traits::{One, Saturating};

use crate::{statements::JobOf, *};

impl<T: Config> Pallet<T> {
	/// The dispute graph a challenge of `job`'s result is decided over: its model's, when it
	/// has one and the job's input is finite (results through NaNs and infinities depend on
	/// the engine's rules, which the kernels do not copy: their disputes stay with a
	/// committee).
	pub(crate) fn game_graph(job: JobId) -> Option<GraphCommitment> {
		let view = T::Jobs::job(job)?;
		let graph = T::Models::settlement_terms(&view.model)?.graph?;
		let input = decode_tensors(&T::Jobs::input(job)?).ok()?;
		all_finite(&input).then_some(graph)
	}

	/// Opens a game over `job`'s provisional `result`, challenged by `who` with
	/// `output_hash`: holds its bond and gives the executor `TraceWindow` blocks for its
	/// trace.
	pub(crate) fn open_game(
		who: T::AccountId,
		job: JobId,
		output_hash: H256,
		mut result: AttestedResult<T>,
		challenge_until: BlockNumberFor<T>,
	) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now <= challenge_until, Error::<T>::NotChallengeable);
		Self::hold_challenge_bond(&who)?;
		let until = now.saturating_add(T::TraceWindow::get());
		Self::schedule(until.saturating_add(One::one()), job, Timer::Game);
		T::Executors::begin_dispute(&result.executor);
		T::Executors::begin_dispute(&who);
		result.status = ResultStatus::Disputed;
		Results::<T>::insert(job, result);
		Games::<T>::insert(
			job,
			Game { challenger: who.clone(), output_hash, phase: GamePhase::Trace { until } },
		);
		Self::deposit_event(Event::Challenged { job, challenger: who, output_hash });
		Self::deposit_event(Event::TraceDue { job, until });
		Ok(())
	}

	/// The executor `who` of `job`'s disputed result submits its trace, in the game's trace
	/// phase; anyone may then prove a step of it wrong for `ProofWindow` blocks.
	pub(crate) fn do_submit_trace(
		who: T::AccountId,
		job: JobId,
		trace: TraceSubmission<T>,
	) -> DispatchResult {
		let mut game = Games::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
		let GamePhase::Trace { until } = game.phase else {
			return Err(Error::<T>::WrongPhase.into());
		};
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now <= until, Error::<T>::DeadlinePassed);
		let result = Results::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
		ensure!(who == result.executor, Error::<T>::NotExecutor);
		let (graph, terms_tolerance) = Self::game_terms(job)?;
		let TraceSubmission { header, header_proof, leaves, outputs } = trace;
		ensure!(leaves.len() as u32 == graph.nodes, Error::<T>::WrongTraceLength);
		let header_leaf = merkle::leaf_hash(&header.encode());
		ensure!(
			merkle::verify(graph.graph_root, header_leaf, 0, graph.nodes + 1, &header_proof),
			Error::<T>::BadGraphProof
		);
		let outputs = decode_tensors(&outputs).map_err(|_| Error::<T>::MalformedTrace)?;
		let input = Self::job_input(job)?;
		ensure!(
			outputs.len() == header.outputs.len()
				&& header.outputs.iter().zip(&outputs).all(|(&value, tensor)| {
					Self::value_leaf(&header, &leaves, &input, value)
						== Some(merkle::leaf_hash(&tensor.encode()))
				}),
			Error::<T>::TraceOutputsMismatch
		);
		let committed = Self::committed_outputs(job, &result)?;
		ensure!(tensors_agree(&outputs, &committed, terms_tolerance), Error::<T>::TraceDisagrees);

		Traces::<T>::insert(job, ExecutorTrace { header, leaves });
		let until = now.saturating_add(T::ProofWindow::get());
		Self::schedule(until.saturating_add(One::one()), job, Timer::Game);
		game.phase = GamePhase::Proofs { until };
		Games::<T>::insert(job, game);
		Self::deposit_event(Event::TraceSubmitted { job, proofs_until: until });
		Ok(())
	}

	/// `who` proves a step of the executor's trace of `job` wrong, in the game's proof
	/// phase: the executor loses.
	pub(crate) fn do_prove_step(
		who: T::AccountId,
		job: JobId,
		proof: StepProof<T>,
	) -> DispatchResult {
		let game = Games::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
		let GamePhase::Proofs { until } = game.phase else {
			return Err(Error::<T>::WrongPhase.into());
		};
		ensure!(frame_system::Pallet::<T>::block_number() <= until, Error::<T>::DeadlinePassed);
		let trace = Traces::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
		let (graph, _) = Self::game_terms(job)?;
		let StepProof { index, node, node_proof, inputs, constant_proofs, work } = proof;
		let claimed = *trace.leaves.get(index as usize).ok_or(Error::<T>::BadGraphProof)?;
		let node_leaf = merkle::leaf_hash(&node.encode());
		ensure!(
			merkle::verify(graph.graph_root, node_leaf, index + 1, graph.nodes + 1, &node_proof),
			Error::<T>::BadGraphProof
		);
		let tensors = decode_tensors(&inputs).map_err(|_| Error::<T>::MalformedStep)?;
		ensure!(tensors.len() == node.inputs.len(), Error::<T>::MalformedStep);
		let input = Self::job_input(job)?;
		let header = &trace.header;
		let mut constant_proofs = constant_proofs.iter();
		for (&value, tensor) in node.inputs.iter().zip(&tensors) {
			let leaf = merkle::leaf_hash(&tensor.encode());
			if let Some(constant) = header.constant_of(value) {
				let siblings = constant_proofs.next().ok_or(Error::<T>::BadWeightsProof)?;
				ensure!(
					merkle::verify(graph.weights_root, leaf, constant, header.constants, siblings),
					Error::<T>::BadWeightsProof
				);
			} else if let Some(earlier) = header.node_of(value) {
				// A node reads earlier nodes' outputs only.
				ensure!(earlier < index, Error::<T>::MalformedStep);
				ensure!(
					trace.leaves.get(earlier as usize) == Some(&leaf),
					Error::<T>::StepInputMismatch
				);
			} else {
				let given = input.get(value as usize).ok_or(Error::<T>::MalformedStep)?;
				ensure!(given == tensor, Error::<T>::StepInputMismatch);
			}
		}
		ensure!(haca_kernels::work(&node.op, &tensors) <= work, Error::<T>::WorkUnderstated);
		let holds = match haca_kernels::run(&node.op, &tensors) {
			Ok(outputs) => match &outputs[..] {
				[output] => merkle::leaf_hash(&output.encode()) == claimed,
				_ => false,
			},
			// The executor's own run of this operator on these inputs gave an output.
			Err(_) => false,
		};
		ensure!(!holds, Error::<T>::StepHolds);
		Self::deposit_event(Event::StepProvenWrong { job, node: index, prover: who.clone() });
		Self::executor_lost(job, game, &who);
		Ok(())
	}

	/// A phase of the game over `job` ended by block `now`: without a trace the executor
	/// loses; without a step proven wrong the challenger does.
	pub(crate) fn end_game_phase(job: JobId, now: BlockNumberFor<T>) {
		let Some(game) = Games::<T>::get(job) else { return };
		match game.phase {
			GamePhase::Trace { until } if until < now => {
				let challenger = game.challenger.clone();
				Self::deposit_event(Event::TraceWithheld { job });
				Self::executor_lost(job, game, &challenger);
			}
			GamePhase::Proofs { until } if until < now => Self::challenger_lost(job, game),
			_ => {}
		}
	}

	/// The executor of `job`'s result lost its game: it is slashed its job stake
	/// (`SlashRewardShare` to `wronged`), the challenger's bond returns, and the job is re-run
	/// without the executor.
	fn executor_lost(job: JobId, game: Game<T>, wronged: &T::AccountId) {
		let Some((result, view)) = Self::end_game(job, &game) else { return };
		Self::deposit_event(Event::DisputeResolved { job, executor_was_right: false });
		Self::release_challenge_bond(&game.challenger);
		let rewards = [(wronged, T::SlashRewardShare::get())];
		T::Executors::slash(&result.executor, view.stake, &rewards);
		Self::take_result(job, &view.model);
		T::Jobs::rerun(job, &[result.executor]);
	}

	/// Nobody proved a step of the executor's trace wrong: the challenger loses its bond
	/// (`SlashRewardShare` to the executor) and the result settles.
	fn challenger_lost(job: JobId, game: Game<T>) {
		let Some((result, _)) = Self::end_game(job, &game) else { return };
		Self::deposit_event(Event::DisputeResolved { job, executor_was_right: true });
		let rewards = [(&result.executor, T::SlashRewardShare::get())];
		Self::forfeit_challenge_bond(&game.challenger, &rewards);
		Self::settle_attested(job);
	}

	/// Removes the game over `job` and its trace and frees its parties; the disputed result
	/// and its job.
	fn end_game(job: JobId, game: &Game<T>) -> Option<(AttestedResult<T>, JobOf<T>)> {
		Games::<T>::remove(job);
		Traces::<T>::remove(job);
		let (Some(result), Some(view)) = (Results::<T>::get(job), T::Jobs::job(job)) else {
			defensive!("a game's result and job stay until the game ends");
			return None;
		};
		T::Executors::end_dispute(&result.executor);
		T::Executors::end_dispute(&game.challenger);
		Some((result, view))
	}

	/// What a step proof is charged: its checks, the operator's run for the work it states
	/// (as the costlier of products and `libm` functions per unit of work), and the
	/// result's removal when it decides.
	pub(crate) fn step_weight(proof: &StepProof<T>) -> Weight {
		let kilo_work = u32::try_from(proof.work.div_ceil(1_000)).unwrap_or(u32::MAX);
		let run =
			T::WeightInfo::run_products(kilo_work).max(T::WeightInfo::run_functions(kilo_work));
		T::WeightInfo::prove_step(proof.inputs.len() as u32)
			.saturating_add(run)
			.saturating_add(Self::pages_removal_weight())
	}

	/// What a trace submission is charged.
	pub(crate) fn trace_weight(trace: &TraceSubmission<T>) -> Weight {
		T::WeightInfo::submit_trace(trace.leaves.len() as u32, trace.outputs.len() as u32)
	}

	/// What a move made by a party's node is charged: its signature's check and the move.
	pub(crate) fn game_move_weight(game_move: &GameMove<T>) -> Weight {
		T::WeightInfo::verify_signature().saturating_add(match game_move {
			GameMove::Trace(trace) => Self::trace_weight(trace),
			GameMove::Step(proof) => Self::step_weight(proof),
		})
	}

	/// The graph and tolerance of the model of `job`, in a game.
	fn game_terms(job: JobId) -> Result<(GraphCommitment, u32), DispatchError> {
		let view = T::Jobs::job(job).ok_or(Error::<T>::UnknownJob)?;
		let terms = T::Models::settlement_terms(&view.model).ok_or(Error::<T>::UnknownModel)?;
		let graph = terms.graph.ok_or(Error::<T>::NoDispute)?;
		Ok((graph, terms.tolerance_ulps))
	}

	/// The input tensors of `job`.
	fn job_input(job: JobId) -> Result<Vec<Tensor>, DispatchError> {
		let input = T::Jobs::input(job).ok_or(Error::<T>::UnknownJob)?;
		Ok(decode_tensors(&input).map_err(|_| Error::<T>::UnknownJob)?)
	}

	/// The output tensors of `result` (in its statement, or published).
	fn committed_outputs(
		job: JobId,
		result: &AttestedResult<T>,
	) -> Result<Vec<Tensor>, DispatchError> {
		let bytes = match &result.outputs {
			Some(outputs) => outputs.to_vec(),
			None => Self::published_outputs(job).ok_or(Error::<T>::OutputsNotPublished)?,
		};
		Ok(decode_tensors(&bytes).map_err(|_| Error::<T>::OutputSpecMismatch)?)
	}

	/// The leaf a trace holds for graph value `value`: the hash of the job's input tensor,
	/// or of a node's output. Constants are no trace's outputs (`None`).
	fn value_leaf(header: &Header, leaves: &[H256], input: &[Tensor], value: u32) -> Option<H256> {
		if value < header.inputs {
			return input.get(value as usize).map(|tensor| merkle::leaf_hash(&tensor.encode()));
		}
		leaves.get(header.node_of(value)? as usize).copied()
	}
}
