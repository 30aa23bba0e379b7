//! The settlement pallet as the off-chain worker sees the chain ([`haca_worker::Chain`]):
//! what it reads, and the authorized transactions it submits.

use alloc::vec::Vec;
use frame_support::pallet_prelude::*;
use frame_system::{offchain::SubmitTransaction, pallet_prelude::BlockNumberFor};
use haca_inference::{ModelSpecs, StepRun, TraceRun};
use haca_primitives::{
	runtime_api::WorkItem,
	statement::{GameMovePayload, GroupStatementPayload, StatementPayload, VerdictPayload},
	traits::{ExecutorDirectory, JobLedger, ModelRegistry, OffChainModel},
	InferenceKey, InferenceSignature, JobId, ModelHash,
};
use haca_worker::{AttestedOutput, Challengeable, OpenGame, ServedModel, VoteDue, VotePhase};
use sp_runtime::traits::Saturating;

use crate::*;

impl<T: Config> Pallet<T> {
	/// Submits `call` as an authorized general transaction; whether the pool took it.
	fn submit_authorized(call: Call<T>) -> bool {
		let xt = T::create_authorized_transaction(call.into());
		SubmitTransaction::<T, Call<T>>::submit_transaction(xt).is_ok()
	}

	/// The game over `job` as a party's node plays it, with the executor's `trace`.
	fn open_game_view(job: JobId, trace: Option<Vec<sp_core::H256>>) -> Option<OpenGame> {
		let view = T::Jobs::job(job)?;
		Some(OpenGame { job, attempt: view.attempt, model: view.model, trace })
	}

	/// `who`'s group statement of `results` about the group whose first job is `first`, if
	/// they fit in one.
	fn group_statement(
		first: JobId,
		who: T::AccountId,
		results: Vec<haca_worker::GroupResultOf<Self>>,
	) -> Option<GroupStatement<T>> {
		let results = results
			.into_iter()
			.map(|(output_hash, outputs)| GroupOutput { output_hash, outputs })
			.collect::<Vec<_>>();
		Some(GroupStatement { first, executor: who, results: results.try_into().ok()? })
	}

	/// `job`'s attested `result` as the worker sees it, with its outputs when they are on
	/// chain.
	fn attested_output(job: JobId, result: AttestedResult<T>) -> AttestedOutput<T::AccountId> {
		let pages_received = match result.status {
			ResultStatus::Publishing { received, .. } => received,
			_ => 0,
		};
		AttestedOutput {
			executor: result.executor.clone(),
			output_hash: result.output_hash,
			outputs: Self::result_outputs(job, result),
			pages_received,
		}
	}
}

impl<T: Config> haca_worker::Chain for Pallet<T> {
	type AccountId = T::AccountId;
	type Outputs = OutputBytes<T>;
	type Blocks = frame_system::Pallet<T>;

	fn key_owner(key: &InferenceKey) -> Option<T::AccountId> {
		T::Executors::key_owner(key)
	}

	fn is_verifier(who: &T::AccountId) -> bool {
		T::Executors::verifiers().contains(who)
	}

	fn pending_work(who: &T::AccountId) -> Vec<WorkItem> {
		Self::pending_work(who)
	}

	fn job_model(job: JobId) -> Option<ModelHash> {
		T::Jobs::job(job).map(|view| view.model)
	}

	fn input(job: JobId) -> Option<Vec<u8>> {
		T::Jobs::input(job)
	}

	fn served_model(model: &ModelHash) -> Option<ServedModel> {
		T::Models::settlement_terms(model).map(|terms| ServedModel {
			specs: ModelSpecs {
				inputs: terms.inputs.into_inner(),
				outputs: terms.outputs.into_inner(),
				graph: terms.graph,
			},
			tolerance_ulps: terms.tolerance_ulps,
			circuit: terms.circuit,
		})
	}

	fn model_bytes(model: &ModelHash) -> Option<Vec<u8>> {
		T::Models::model_bytes(model)
	}

	fn off_chain_model(model: &ModelHash) -> Option<OffChainModel> {
		T::Models::off_chain_model(model)
	}

	fn models_of(who: &T::AccountId) -> Vec<ModelHash> {
		T::Executors::models_of(who)
	}

	fn statement_payload(statement: &Statement<T>) -> Option<StatementPayload<T::AccountId>> {
		Self::signing_payload(statement)
	}

	fn max_statements_per_tx() -> u32 {
		T::MaxStatementsPerTx::get()
	}

	fn max_output_len() -> u32 {
		T::MaxOutputLen::get()
	}

	fn submit_statements(statements: Vec<(Statement<T>, InferenceSignature)>) -> bool {
		BoundedVec::try_from(statements).is_ok_and(|statements| {
			Self::submit_authorized(Call::<T>::submit_statements_unsigned { statements })
		})
	}

	fn group_payload(
		first: JobId,
		who: &T::AccountId,
		results: &[haca_worker::GroupResultOf<Self>],
	) -> Option<GroupStatementPayload<T::AccountId>> {
		let statement = Self::group_statement(first, who.clone(), results.to_vec())?;
		Self::group_signing_payload(&statement)
	}

	fn submit_group_results(
		first: JobId,
		who: T::AccountId,
		results: Vec<haca_worker::GroupResultOf<Self>>,
		signature: InferenceSignature,
	) -> bool {
		Self::group_statement(first, who, results).is_some_and(|statement| {
			Self::submit_authorized(Call::<T>::submit_group_results { statement, signature })
		})
	}

	fn proof_binding(job: JobId, attempt: u32, model: &ModelHash, who: &T::AccountId) -> [u8; 32] {
		Self::proof_binding(job, attempt, model, who)
	}

	fn submit_proof(
		statement: Statement<T>,
		signature: InferenceSignature,
		proof: Vec<u8>,
	) -> bool {
		ProofBytes::<T>::try_from(proof).is_ok_and(|proof| {
			Self::submit_authorized(Call::<T>::submit_proof { statement, signature, proof })
		})
	}

	fn reveals_opened(job: JobId) -> Option<BlockNumberFor<T>> {
		let until = Quorums::<T>::get(job)?.reveal_until?;
		Some(until.saturating_sub(T::RevealWindow::get()))
	}

	fn votes_due(who: &T::AccountId) -> Vec<VoteDue> {
		let now = frame_system::Pallet::<T>::block_number();
		Seats::<T>::iter_key_prefix(who)
			.filter_map(|job| {
				let dispute = Disputes::<T>::get(job)?;
				let vote = dispute.votes.iter().find(|(voter, _)| voter == who).map(|(_, v)| *v);
				// A reveal is due from the block after the one that opened the phase: peers
				// still a block behind would find it invalid and ban it.
				let opened_before =
					|until: BlockNumberFor<T>| until.saturating_sub(T::RevealWindow::get()) < now;
				let phase = match (dispute.reveal_until, vote) {
					(None, None) => VotePhase::Commit,
					(Some(until), Some(Vote::Committed(_))) if opened_before(until) => {
						VotePhase::Reveal
					}
					_ => return None,
				};
				let attempt = T::Jobs::job(job)?.attempt;
				let challenger_hashes = dispute.challengers.iter().map(|(_, hash)| *hash).collect();
				Some(VoteDue { job, attempt, phase, challenger_hashes })
			})
			.collect()
	}

	fn challengeable_results(
		who: &T::AccountId,
	) -> Vec<Challengeable<T::AccountId, BlockNumberFor<T>>> {
		let now = frame_system::Pallet::<T>::block_number();
		let models = T::Executors::models_of(who);
		let own = models.iter().flat_map(ModelResults::<T>::iter_key_prefix).filter_map(|job| {
			let result = Results::<T>::get(job).filter(|result| &result.executor != who)?;
			let (challenge_until, disputed) = match result.status {
				ResultStatus::Provisional { challenge_until } => (challenge_until, false),
				// Challengeable again once its outputs are published.
				ResultStatus::Publishing { .. } => return None,
				ResultStatus::Disputed => {
					let dispute = Disputes::<T>::get(job)?;
					let party = dispute.committee.contains(who)
						|| dispute.challengers.iter().any(|(challenger, _)| challenger == who);
					if party {
						return None;
					}
					(dispute.challenge_until, true)
				}
			};
			let published = result.published;
			(now <= challenge_until).then(|| Challengeable {
				job,
				challenge_until,
				result: Self::attested_output(job, result),
				disputed,
				published,
			})
		});
		let grouped = models
			.iter()
			.flat_map(ModelGroupResults::<T>::iter_key_prefix)
			.filter_map(GroupResults::<T>::get)
			.filter(|group| &group.executor != who && now <= group.challenge_until)
			.flat_map(|group| {
				let executor = group.executor.clone();
				let challenge_until = group.challenge_until;
				group.members.into_iter().filter(|member| !member.left).map(move |member| {
					Challengeable {
						job: member.job,
						challenge_until,
						result: AttestedOutput {
							executor: executor.clone(),
							output_hash: member.output_hash,
							outputs: member.outputs.map(BoundedVec::into_inner),
							pages_received: 0,
						},
						disputed: false,
						published: false,
					}
				})
			});
		own.chain(grouped).collect()
	}

	fn attested_result(job: JobId) -> Option<AttestedOutput<T::AccountId>> {
		Self::attested(job).map(|result| Self::attested_output(job, result))
	}

	fn verdict_payload(verdict: &Verdict<T>) -> Option<VerdictPayload<T::AccountId>> {
		Self::verdict_payload(verdict)
	}

	fn submit_verdict(verdict: Verdict<T>, signature: InferenceSignature) -> bool {
		Self::submit_authorized(Call::<T>::submit_verdict { verdict, signature })
	}

	type Move = GameMove<T>;

	fn traces_due(who: &T::AccountId) -> Vec<OpenGame> {
		Games::<T>::iter()
			.filter(|(_, game)| matches!(game.phase, GamePhase::Trace { .. }))
			.filter(|(job, _)| Results::<T>::get(job).is_some_and(|r| &r.executor == who))
			.filter_map(|(job, _)| Self::open_game_view(job, None))
			.collect()
	}

	fn traces_to_check(who: &T::AccountId) -> Vec<OpenGame> {
		let audited = T::Executors::models_of(who);
		Traces::<T>::iter()
			.filter(|(job, _)| Results::<T>::get(job).is_some_and(|r| &r.executor != who))
			.filter_map(|(job, trace)| Self::open_game_view(job, Some(trace.leaves.into_inner())))
			.filter(|game| audited.contains(&game.model))
			.collect()
	}

	fn trace_move(run: TraceRun) -> Option<GameMove<T>> {
		Some(GameMove::Trace(TraceSubmission {
			header: run.header,
			header_proof: run.header_proof.try_into().ok()?,
			leaves: run.leaves.try_into().ok()?,
			outputs: run.outputs.try_into().ok()?,
		}))
	}

	fn step_move(run: StepRun) -> Option<GameMove<T>> {
		let constant_proofs = run
			.constant_proofs
			.into_iter()
			.map(MerkleProof::try_from)
			.collect::<Result<Vec<_>, _>>()
			.ok()?;
		Some(GameMove::Step(StepProof {
			index: run.index,
			node: run.node,
			node_proof: run.node_proof.try_into().ok()?,
			inputs: run.inputs.try_into().ok()?,
			constant_proofs: constant_proofs.try_into().ok()?,
			work: run.work,
		}))
	}

	fn game_move_payload(
		job: JobId,
		party: &T::AccountId,
		game_move: &GameMove<T>,
	) -> Option<GameMovePayload<T::AccountId>> {
		Self::game_move_payload(job, party, game_move)
	}

	fn submit_game_move(
		job: JobId,
		party: T::AccountId,
		game_move: GameMove<T>,
		signature: InferenceSignature,
	) -> bool {
		Self::submit_authorized(Call::<T>::submit_game_move { job, party, game_move, signature })
	}
}
