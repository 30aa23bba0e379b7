//! The executor side of the off-chain worker: runs assigned jobs through the node's
//! inference engine and submits signed statements, each once, in batches.

use alloc::vec::Vec;
use codec::{Decode, Encode};
use frame_support::pallet_prelude::*;
use frame_system::{offchain::SubmitTransaction, pallet_prelude::BlockNumberFor};
use haca_inference::{inference, Executed, InferenceError, ModelSpecs};
use haca_primitives::{
	runtime_api::{Due, WorkItem},
	statement::{Claim, ExecutionFailure},
	traits::{ExecutorDirectory, JobLedger, ModelRegistry},
	InferenceKey, InferenceSignature, JobId, ModelHash,
};
use sp_core::H256;
use sp_runtime::{
	offchain::{
		storage::{MutateStorageError, StorageValueRef},
		storage_lock::{BlockAndTime, StorageLock},
		Duration,
	},
	RuntimeAppPublic,
};

use crate::*;

/// Blocks a worker may hold a job's lock before another may take over.
const LOCK_BLOCKS: u32 = 5;
/// Milliseconds a worker may hold a job's lock before another may take over.
const LOCK_MILLIS: u64 = 60_000;

/// What a commitment's reveal needs, kept in the node's local storage.
#[derive(Encode, Decode)]
struct Committed {
	output_hash: H256,
	salt: [u8; 32],
	outputs: Vec<u8>,
}

impl<T: Config> Pallet<T> {
	/// Works off everything the session keys in the local keystore owe, as far as the
	/// node's roles allow: executors' statements, verifiers' audits and votes. Then forgets
	/// what it recorded about jobs that have ended.
	pub(crate) fn offchain_work(_now: BlockNumberFor<T>) {
		let roles = inference::roles();
		if !roles.executor && !roles.verifier {
			return;
		}
		let mut local = Vec::new();
		for key in InferenceKey::all() {
			let Some(who) = T::Executors::key_owner(&key) else { continue };
			if roles.executor {
				Self::work_off(&key, &who);
			}
			if roles.verifier && T::Executors::verifiers().contains(&who) {
				Self::audit_work(&key, &who, roles.audit_ppm);
			}
			local.push(who);
		}
		Self::forget_ended_jobs(&local);
	}

	/// Runs `task` (one of `job`'s) for `id` unless another worker holds `id` or a run of
	/// `task` finished it before; `task` returns whether it is finished (`false`: try again
	/// later).
	pub(crate) fn once(job: JobId, id: &[u8], task: impl FnOnce() -> bool) {
		Self::once_each(&[(job, id.to_vec())], |_| alloc::vec![task()]);
	}

	/// [`Pallet::once`] for many tasks (a job and a task id each) at a time: `work` gets the
	/// indices of those no other worker holds and no run finished before (never none), holding
	/// their locks throughout, and says for each of them whether it is finished.
	pub(crate) fn once_each(tasks: &[(JobId, Vec<u8>)], work: impl FnOnce(&[usize]) -> Vec<bool>) {
		let mut locks: Vec<_> = tasks
			.iter()
			.map(|(_, id)| {
				StorageLock::<BlockAndTime<frame_system::Pallet<T>>>::with_block_and_time_deadline(
					id,
					LOCK_BLOCKS,
					Duration::from_millis(LOCK_MILLIS),
				)
			})
			.collect();
		let (mut open, mut guards) = (Vec::new(), Vec::new());
		for (index, lock) in locks.iter_mut().enumerate() {
			let Ok(guard) = lock.try_lock() else { continue };
			let (job, id) = &tasks[index];
			let done: Option<Vec<Vec<u8>>> =
				StorageValueRef::persistent(&done_key(*job)).get().ok().flatten();
			if !done.is_some_and(|done| done.iter().any(|finished| finished == id)) {
				open.push(index);
				guards.push(guard);
			}
		}
		if open.is_empty() {
			return;
		}
		for (&index, finished) in open.iter().zip(work(&open)) {
			if finished {
				set_done(tasks[index].0, &tasks[index].1, true);
			}
		}
		drop(guards);
	}

	/// Clears the local records (finished tasks, quorum reveals of the `local` accounts) of
	/// jobs that have ended, oldest first, up to the first job still open and at most
	/// [`MAX_FORGOTTEN_PER_RUN`] jobs a run.
	fn forget_ended_jobs(local: &[T::AccountId]) {
		let mut lock =
			StorageLock::<BlockAndTime<frame_system::Pallet<T>>>::with_block_and_time_deadline(
				b"haca/ocw-forgetting",
				LOCK_BLOCKS,
				Duration::from_millis(LOCK_MILLIS),
			);
		let Ok(_guard) = lock.try_lock() else { return };
		let recorded_below: JobId =
			StorageValueRef::persistent(RECORDED_BELOW_KEY).get().ok().flatten().unwrap_or(0);
		let forgotten_below = StorageValueRef::persistent(FORGOTTEN_BELOW_KEY);
		let first: JobId = forgotten_below.get().ok().flatten().unwrap_or(0);
		let end = recorded_below.min(first.saturating_add(MAX_FORGOTTEN_PER_RUN));
		// Every id below `recorded_below` was given to a job: one that is gone has ended.
		let mut next = first;
		while next < end && T::Jobs::job(next).is_none() {
			next += 1;
		}
		// The cursor moves before the records go: see [`unless_forgotten`].
		forgotten_below.set(&next);
		for job in first..next {
			StorageValueRef::persistent(&done_key(job)).clear();
			for who in local {
				StorageValueRef::persistent(&reveal_key(job, who)).clear();
			}
		}
	}

	/// Produces the statements `who` owes, each once per attempt of its job (the deadline
	/// names the attempt: a job re-assigned to the same executor is run again), running up
	/// to [`RUN_BATCH`] jobs through the engine at a time, and submits them in batches of up
	/// to `MaxBatch`. A statement the pool did not take is produced again in a later block.
	fn work_off(key: &InferenceKey, who: &T::AccountId) {
		let mut ready = Vec::new();
		for items in Self::pending_work(who).chunks(RUN_BATCH) {
			let tasks: Vec<(JobId, Vec<u8>)> = items
				.iter()
				.map(|item| {
					let deadline = T::Jobs::job(item.job).and_then(|job| job.deadline);
					(item.job, (b"haca/ocw", item.job, who, item.due, deadline).encode())
				})
				.collect();
			Self::once_each(&tasks, |open| {
				let open_items: Vec<&WorkItem> = open.iter().map(|&index| &items[index]).collect();
				let claims = Self::claims_for(who, &open_items);
				open.iter()
					.zip(claims)
					.map(|(&index, claim)| {
						let signed = claim.and_then(|(claim, outputs)| {
							Self::signed_statement(key, who, items[index].job, claim, outputs)
						});
						let Some(signed) = signed else { return false };
						ready.push((tasks[index].clone(), signed));
						true
					})
					.collect()
			});
		}
		let mut ready = ready.into_iter().peekable();
		while ready.peek().is_some() {
			let (ids, batch): (Vec<_>, Vec<_>) =
				ready.by_ref().take(T::MaxBatch::get() as usize).unzip();
			if batch.len() > 1 && Self::send_statements(batch.clone()) {
				continue;
			}
			// The pool refuses a batch for any bad item: the items go alone.
			for ((job, id), signed) in ids.iter().zip(batch) {
				if !Self::send_statements(alloc::vec![signed]) {
					set_done(*job, id, false);
				}
			}
		}
	}

	/// `who`'s statement of `claim` (carrying `outputs`) for `job`, signed with its session
	/// key; `None` to try again later.
	fn signed_statement(
		key: &InferenceKey,
		who: &T::AccountId,
		job: JobId,
		claim: Claim,
		outputs: Option<OutputBytes<T>>,
	) -> Option<(Statement<T>, InferenceSignature)> {
		let statement = Statement::<T> { job, executor: who.clone(), claim, outputs };
		let payload = Self::signing_payload(&statement)?;
		let signature = key.sign(&payload.signing_bytes())?;
		Some((statement, signature))
	}

	/// Submits statements as one authorized `submit_statements_unsigned`; whether the pool
	/// took it.
	fn send_statements(statements: Vec<(Statement<T>, InferenceSignature)>) -> bool {
		BoundedVec::try_from(statements).is_ok_and(|statements| {
			Self::submit_authorized(Call::<T>::submit_statements_unsigned { statements })
		})
	}

	/// Submits `call` as an authorized general transaction; whether the pool took it.
	pub(crate) fn submit_authorized(call: Call<T>) -> bool {
		let xt = T::create_authorized_transaction(call.into());
		SubmitTransaction::<T, Call<T>>::submit_transaction(xt).is_ok()
	}

	/// The claims (and outputs to carry) for work items, in order; `None` to try again later.
	/// The items' jobs run through the engine in one batch per model.
	fn claims_for(
		who: &T::AccountId,
		items: &[&WorkItem],
	) -> Vec<Option<(Claim, Option<OutputBytes<T>>)>> {
		let mut executions: Vec<Option<Result<Executed, InferenceError>>> =
			items.iter().map(|_| None).collect();
		// The indices of the items to run, by model, in the order the models first appear.
		let mut batches: Vec<(&ModelHash, Vec<usize>)> = Vec::new();
		for (index, item) in items.iter().enumerate().filter(|(_, item)| item.due != Due::Reveal) {
			match batches.iter_mut().find(|(model, _)| *model == &item.model) {
				Some((_, indices)) => indices.push(index),
				None => batches.push((&item.model, alloc::vec![index])),
			}
		}
		for (model, indices) in batches {
			let jobs: Vec<JobId> = indices.iter().map(|&index| items[index].job).collect();
			for (index, executed) in indices.into_iter().zip(Self::execute_batch(model, &jobs)) {
				executions[index] = Some(executed);
			}
		}
		items
			.iter()
			.zip(executions)
			.map(|(item, executed)| match executed {
				Some(executed) => Self::claim_from(who, item, executed),
				None => Self::reveal_claim(who, item),
			})
			.collect()
	}

	/// The reveal of `who`'s commitment for a work item, from local storage.
	fn reveal_claim(
		who: &T::AccountId,
		item: &WorkItem,
	) -> Option<(Claim, Option<OutputBytes<T>>)> {
		let committed: Committed =
			StorageValueRef::persistent(&reveal_key(item.job, who)).get().ok()??;
		let claim = Claim::Reveal { output_hash: committed.output_hash, salt: committed.salt };
		Some((claim, Self::carried(committed.outputs)))
	}

	/// The claim for a work item its job's run gave `executed`; a commitment's reveal is kept
	/// in local storage.
	fn claim_from(
		who: &T::AccountId,
		item: &WorkItem,
		executed: Result<Executed, InferenceError>,
	) -> Option<(Claim, Option<OutputBytes<T>>)> {
		let Executed { outputs, output_hash } = match executed {
			Ok(executed) => executed,
			// Local, passing conditions: try again in a later block.
			Err(InferenceError::NotAnExecutor | InferenceError::Busy) => return None,
			Err(error) => return Some((Claim::Failed(failure(error)), None)),
		};
		let output_hash = H256(output_hash);
		if item.due == Due::Output {
			return Some((Claim::Output(output_hash), Self::carried(outputs)));
		}
		let salt = sp_io::offchain::random_seed();
		let reveal_key = reveal_key(item.job, who);
		StorageValueRef::persistent(&reveal_key).set(&Committed { output_hash, salt, outputs });
		unless_forgotten(item.job, &reveal_key);
		Some((Claim::Commitment(Claim::commitment(&output_hash, &salt)), None))
	}

	/// The outputs to put on chain: all of them when they fit, none otherwise.
	fn carried(outputs: Vec<u8>) -> Option<OutputBytes<T>> {
		BoundedVec::try_from(outputs).ok()
	}

	/// Runs a job's model on its input through the node's engine.
	pub(crate) fn execute(job: JobId, model: &ModelHash) -> Result<Executed, InferenceError> {
		let executed = Self::execute_batch(model, &[job]).pop();
		executed.unwrap_or(Err(InferenceError::Execution))
	}

	/// Runs `model` on the inputs of `jobs` through the node's engine, in one call, loading
	/// the model first if the engine does not have it; the result of each job, in order.
	fn execute_batch(model: &ModelHash, jobs: &[JobId]) -> Vec<Result<Executed, InferenceError>> {
		let inputs: Vec<Option<Vec<u8>>> = jobs.iter().map(|&job| T::Jobs::input(job)).collect();
		// A job gone since its work item was read has no input: it fails alone.
		let present: Vec<bool> = inputs.iter().map(Option::is_some).collect();
		let mut ran = match Self::run_loaded(model, inputs.into_iter().flatten().collect()) {
			Ok(results) => results.into_iter(),
			Err(error) => return jobs.iter().map(|_| Err(error)).collect(),
		};
		present
			.into_iter()
			.map(|present| {
				if present {
					ran.next().unwrap_or(Err(InferenceError::Execution))
				} else {
					Err(InferenceError::BadInput)
				}
			})
			.collect()
	}

	/// Runs `model` on `inputs`, loading it first if the engine does not have it.
	fn run_loaded(
		model: &ModelHash,
		inputs: Vec<Vec<u8>>,
	) -> Result<Vec<Result<Executed, InferenceError>>, InferenceError> {
		if !inference::is_loaded(model.as_ref()) {
			let terms =
				T::Models::settlement_terms(model).ok_or(InferenceError::ModelUnavailable)?;
			let specs = ModelSpecs {
				inputs: terms.inputs.into_inner(),
				outputs: terms.outputs.into_inner(),
			};
			inference::load(model.as_ref(), T::Models::model_bytes(model), specs)?;
		}
		inference::run_batch(model.as_ref(), inputs).map(|runs| runs.0)
	}
}

/// Most jobs one call of the engine runs (their inputs and outputs are in the worker's
/// memory at once).
const RUN_BATCH: usize = 64;
/// Most ended jobs whose local records one run of the worker clears.
const MAX_FORGOTTEN_PER_RUN: JobId = 4096;
/// The local-storage key of the number one above the highest job with local records.
const RECORDED_BELOW_KEY: &[u8] = b"haca/ocw-recorded-below";
/// The local-storage key of the job below which every job's local records are cleared.
const FORGOTTEN_BELOW_KEY: &[u8] = b"haca/ocw-forgotten-below";

/// The local-storage key of the once-only tasks of `job` that are done.
pub(crate) fn done_key(job: JobId) -> Vec<u8> {
	(b"haca/ocw-done", job).encode()
}

/// The local-storage key of what `who`'s reveal for `job` needs.
pub(crate) fn reveal_key<AccountId: Encode>(job: JobId, who: &AccountId) -> Vec<u8> {
	(b"haca/ocw-commit", job, who).encode()
}

/// Records the once-only task `id` of `job` as done, or (`done: false`) as to be run again.
fn set_done(job: JobId, id: &[u8], done: bool) {
	update(&done_key(job), |ids: &mut Vec<Vec<u8>>| {
		ids.retain(|other| other != id);
		if done {
			ids.push(id.to_vec());
		}
	});
	if done {
		update(RECORDED_BELOW_KEY, |below: &mut JobId| {
			*below = (*below).max(job.saturating_add(1))
		});
		unless_forgotten(job, &done_key(job));
	}
}

/// Clears the record just written at `key` for `job` if the forgetting has passed `job`: a
/// worker running on an older block's state may still work on a job that has since ended
/// and been forgotten. The forgetting moves its cursor before it clears records, so a record
/// written before this check of the cursor is cleared by one or the other.
fn unless_forgotten(job: JobId, key: &[u8]) {
	let forgotten_below: JobId =
		StorageValueRef::persistent(FORGOTTEN_BELOW_KEY).get().ok().flatten().unwrap_or(0);
	if job < forgotten_below {
		StorageValueRef::persistent(key).clear();
	}
}

/// Changes the local-storage value at `key` (its default if unset) with `change`, again
/// while workers running at the same time change it first.
fn update<V: Encode + Decode + Default>(key: &[u8], change: impl Fn(&mut V)) {
	let value = StorageValueRef::persistent(key);
	for _ in 0..8 {
		let changed = value.mutate::<V, (), _>(|current| {
			let mut current = current.ok().flatten().unwrap_or_default();
			change(&mut current);
			Ok(current)
		});
		if !matches!(changed, Err(MutateStorageError::ConcurrentModification(_))) {
			return;
		}
	}
}

/// The on-chain reason for an engine failure.
fn failure(error: InferenceError) -> ExecutionFailure {
	match error {
		InferenceError::ModelUnavailable => ExecutionFailure::ModelUnavailable,
		InferenceError::InvalidModel => ExecutionFailure::InvalidModel,
		InferenceError::BadInput => ExecutionFailure::BadInput,
		InferenceError::Timeout => ExecutionFailure::Timeout,
		InferenceError::Execution | InferenceError::NotAnExecutor | InferenceError::Busy => {
			ExecutionFailure::Execution
		}
	}
}
