//! What the worker keeps in the node's local (persistent) storage, per job: which
//! once-only tasks are done, what the reveal of a commitment (a quorum output's, or a
//! committee member's vote) needs, and the verdict a verifier sent about a result.
//!
//! A task (a statement, an audit, a vote) runs under a lock, so overlapping workers of
//! consecutive blocks do not both run it, and is recorded as done when it finished. Records
//! of jobs that have ended are cleared oldest first: a cursor below which every job's records
//! are gone moves up to the first job still open.

use alloc::vec::Vec;
use codec::{Decode, Encode};
use haca_primitives::{statement::VerdictClaim, JobId};
use sp_core::H256;
use sp_runtime::offchain::{
	storage::{MutateStorageError, StorageValueRef},
	storage_lock::{BlockAndTime, StorageLock},
	Duration,
};

use crate::{Chain, LOCK_BLOCKS, LOCK_MILLIS, LOG_TARGET, MAX_FORGOTTEN_PER_RUN};

/// The local-storage key of the number one above the highest job with local records.
const RECORDED_BELOW_KEY: &[u8] = b"haca/ocw-recorded-below";

/// The local-storage key of the job below which every job's local records are cleared.
const FORGOTTEN_BELOW_KEY: &[u8] = b"haca/ocw-forgotten-below";

/// The local-storage key of the lock one forgetting run holds.
const FORGETTING_LOCK_KEY: &[u8] = b"haca/ocw-forgetting";

/// Tries a change of a local-storage value gets while other workers change it first.
const MUTATE_TRIES: usize = 8;

/// What a commitment hides.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Debug)]
pub enum Commitment {
	/// An executor's output in a quorum round.
	QuorumOutput,
	/// A committee member's vote in a dispute.
	Vote,
}

/// What a commitment's reveal needs.
#[derive(Encode, Decode)]
pub(crate) struct Committed {
	/// The job's attempt the commitment was made in.
	pub attempt: u32,
	/// The committed output hash.
	pub output_hash: H256,
	/// The salt that hid it.
	pub salt: [u8; 32],
	/// The outputs (canonical tensor encoding) of a quorum output; empty for a vote.
	pub outputs: Vec<u8>,
}

/// The local-storage key of the once-only tasks of `job` that are done.
pub fn done_key(job: JobId) -> Vec<u8> {
	(b"haca/ocw-done", job).encode()
}

/// The local-storage key of what `who`'s reveal of its latest `commitment` about `job`
/// needs.
pub fn reveal_key<AccountId: Encode>(
	commitment: Commitment,
	job: JobId,
	who: &AccountId,
) -> Vec<u8> {
	(b"haca/ocw-commit", commitment, job, who).encode()
}

/// A verifier's challenge of a result, or request for its outputs, as it was last sent.
#[derive(Encode, Decode)]
pub(crate) struct SentVerdict<BlockNumber> {
	/// The last block of the result's challenge window.
	pub challenge_until: BlockNumber,
	/// The verdict.
	pub claim: VerdictClaim,
	/// The round of [`crate::RESEND_AFTER_BLOCKS`] blocks it was last sent in.
	pub round: BlockNumber,
}

/// The local-storage key of the verdict `who` last sent about `job`'s result.
pub fn verdict_key<AccountId: Encode>(job: JobId, who: &AccountId) -> Vec<u8> {
	(b"haca/ocw-verdict", job, who).encode()
}

/// Keeps the verdict `who` sent about `job`'s result.
pub(crate) fn keep_verdict<AccountId: Encode, BlockNumber: Encode>(
	job: JobId,
	who: &AccountId,
	sent: &SentVerdict<BlockNumber>,
) {
	let key = verdict_key(job, who);
	StorageValueRef::persistent(&key).set(sent);
	unless_forgotten(job, &key);
}

/// The verdict `who` last sent about `job`'s result, if one was kept.
pub(crate) fn kept_verdict<AccountId: Encode, BlockNumber: Decode>(
	job: JobId,
	who: &AccountId,
) -> Option<SentVerdict<BlockNumber>> {
	StorageValueRef::persistent(&verdict_key(job, who)).get().ok().flatten()
}

/// A lock on the task (or run) named `id`, timed by the chain's blocks and the clock.
fn task_lock<C: Chain>(id: &[u8]) -> StorageLock<'_, BlockAndTime<C::Blocks>> {
	StorageLock::with_block_and_time_deadline(id, LOCK_BLOCKS, Duration::from_millis(LOCK_MILLIS))
}

/// Runs `task` (one of `job`'s) for `id` unless another worker holds `id` or a run of
/// `task` finished it before; `task` returns whether it is finished (`false`: try again
/// later).
pub fn run_once_per_task<C: Chain>(job: JobId, id: &[u8], task: impl FnOnce() -> bool) {
	run_tasks_once::<C>(&[(job, id.to_vec())], |_| alloc::vec![task()]);
}

/// [`run_once_per_task`] for many tasks (a job and a task id each) at a time: `work` gets
/// the indices of those no other worker holds and no run finished before (never none),
/// holding their locks throughout, and says for each of them whether it is finished.
pub(crate) fn run_tasks_once<C: Chain>(
	tasks: &[(JobId, Vec<u8>)],
	work: impl FnOnce(&[usize]) -> Vec<bool>,
) {
	let mut locks: Vec<_> = tasks.iter().map(|(_, id)| task_lock::<C>(id)).collect();
	let (mut open, mut guards) = (Vec::new(), Vec::new());
	for (index, lock) in locks.iter_mut().enumerate() {
		let (job, id) = &tasks[index];
		let Ok(guard) = lock.try_lock() else {
			log::debug!(target: LOG_TARGET, "job {job}: a task is held by another worker");
			continue;
		};
		if !is_done(*job, id) {
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

/// Whether the task `id` of `job` is recorded as done.
fn is_done(job: JobId, id: &[u8]) -> bool {
	let done: Option<Vec<Vec<u8>>> =
		StorageValueRef::persistent(&done_key(job)).get().ok().flatten();
	done.is_some_and(|done| done.iter().any(|finished| finished == id))
}

/// Records the once-only task `id` of `job` as done, or (`done: false`) as to be run again.
pub(crate) fn set_done(job: JobId, id: &[u8], done: bool) {
	mutate_local_with_retry(&done_key(job), |ids: &mut Vec<Vec<u8>>| {
		ids.retain(|other| other != id);
		if done {
			ids.push(id.to_vec());
		}
	});
	if done {
		mutate_local_with_retry(RECORDED_BELOW_KEY, |below: &mut JobId| {
			*below = (*below).max(job.saturating_add(1))
		});
		unless_forgotten(job, &done_key(job));
	}
}

/// Keeps what `who`'s reveal of `commitment` about `job` needs.
pub(crate) fn keep_reveal<AccountId: Encode>(
	commitment: Commitment,
	job: JobId,
	who: &AccountId,
	committed: &Committed,
) {
	let key = reveal_key(commitment, job, who);
	StorageValueRef::persistent(&key).set(committed);
	unless_forgotten(job, &key);
}

/// What `who`'s reveal of `commitment` about `job` needs, if it was kept for `attempt`.
pub(crate) fn kept_reveal<AccountId: Encode>(
	commitment: Commitment,
	job: JobId,
	who: &AccountId,
	attempt: u32,
) -> Option<Committed> {
	let kept: Option<Committed> =
		StorageValueRef::persistent(&reveal_key(commitment, job, who)).get().ok().flatten();
	kept.filter(|kept| kept.attempt == attempt)
}

/// Clears the local records (finished tasks, reveals and verdicts of the `local` accounts) of
/// jobs that have ended, oldest first, up to the first job still open and at most
/// [`MAX_FORGOTTEN_PER_RUN`] jobs a run.
pub(crate) fn forget_ended_jobs<C: Chain>(local: &[C::AccountId]) {
	let mut lock = task_lock::<C>(FORGETTING_LOCK_KEY);
	let Ok(_guard) = lock.try_lock() else { return };
	let recorded_below: JobId =
		StorageValueRef::persistent(RECORDED_BELOW_KEY).get().ok().flatten().unwrap_or(0);
	let forgotten_below = StorageValueRef::persistent(FORGOTTEN_BELOW_KEY);
	let first: JobId = forgotten_below.get().ok().flatten().unwrap_or(0);
	let end = recorded_below.min(first.saturating_add(MAX_FORGOTTEN_PER_RUN));
	// Every id below `recorded_below` was given to a job: one that is gone has ended.
	let mut next = first;
	while next < end && C::job_model(next).is_none() {
		next += 1;
	}
	// The cursor moves before the records go: see [`unless_forgotten`].
	forgotten_below.set(&next);
	for job in first..next {
		StorageValueRef::persistent(&done_key(job)).clear();
		for who in local {
			for commitment in [Commitment::QuorumOutput, Commitment::Vote] {
				StorageValueRef::persistent(&reveal_key(commitment, job, who)).clear();
			}
			StorageValueRef::persistent(&verdict_key(job, who)).clear();
		}
	}
	if next > first {
		log::debug!(target: LOG_TARGET, "forgot the records of ended jobs {first}..{next}");
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
/// while workers running at the same time change it first, up to [`MUTATE_TRIES`] times.
fn mutate_local_with_retry<V: Encode + Decode + Default>(key: &[u8], change: impl Fn(&mut V)) {
	let value = StorageValueRef::persistent(key);
	for _ in 0..MUTATE_TRIES {
		let changed = value.mutate::<V, (), _>(|current| {
			let mut current = current.ok().flatten().unwrap_or_default();
			change(&mut current);
			Ok(current)
		});
		if !matches!(changed, Err(MutateStorageError::ConcurrentModification(_))) {
			return;
		}
	}
	log::warn!(target: LOG_TARGET, "local record {key:?} left unchanged: {MUTATE_TRIES} concurrent changes");
}
