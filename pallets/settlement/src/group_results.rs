//! Group statements: an executor's results for every member still in a group assigned to
//! it, signed once over the Merkle root of their leaves, stored as one [`GroupResult`] and
//! settled together when the challenge window closes.
//!
//! Rules:
//! - The statement holds one result per member still in the group, in the order of their
//!   ids; each must check out as an attested statement's would (its outputs hash to its
//!   output hash and match the model's spec, and are carried when they fit). One bad
//!   result refuses the whole statement, with that result's error.
//! - The root is the chain's own: it is rebuilt from the group's members (job, attempt,
//!   input hash) and the statement's output hashes, and the signature must be of it.
//! - A member's result that a verifier challenges or asks the outputs of leaves the
//!   group's record for an [`AttestedResult`] of its own, with its [`Inclusion`], and goes
//!   on as any attested result; the others settle together, with one outcome for them all
//!   that keeps the executor's signature and the statement's leaves (the jobs pallet's
//!   `GroupOutcomes`), so that each member's result checks against the signed root alone.

use alloc::vec::Vec;
use frame_support::{defensive, ensure, pallet_prelude::*};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	statement::{GroupAttestation, GroupLeaf, GroupStatementPayload, Inclusion},
	traits::{
		ExecutorAccountability, ExecutorDirectory, GroupSettlement, GroupView, JobLedger,
		MemberSettlement, ModelRegistry,
	},
	InferenceSignature, JobId, GROUP_SPAN,
};
use sp_core::H256;
use sp_runtime::{
	traits::{One, Saturating},
	transaction_validity::{
		InvalidTransaction, TransactionSource, TransactionValidityWithRefund, ValidTransaction,
	},
	RuntimeAppPublic,
};

use crate::{statements::SignatureCheck, *};

/// A group as group statements about it are checked and applied.
pub(crate) type GroupOf<T> =
	GroupView<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

/// A group statement that checked out: its group and the leaves it signed the root of.
pub(crate) struct CheckedGroup<T: Config> {
	group: GroupOf<T>,
	leaves: Vec<GroupLeaf>,
	root: H256,
}

impl<T: Config> Pallet<T> {
	/// The leaves of `statement`'s results for the members of `group`, if it holds one
	/// result per member.
	fn group_leaves(
		statement: &GroupStatement<T>,
		group: &GroupOf<T>,
	) -> Result<Vec<GroupLeaf>, Error<T>> {
		ensure!(statement.results.len() == group.members.len(), Error::<T>::WrongGroupSize);
		Ok(group
			.members
			.iter()
			.zip(&statement.results)
			.map(|(member, result)| GroupLeaf {
				job: member.job,
				attempt: group.attempt,
				input_hash: member.input_hash,
				output_hash: result.output_hash,
			})
			.collect())
	}

	/// What the executor's session key signs for `statement`: the payload of the root of
	/// its results' leaves, if its group is open and it holds one result per member.
	pub fn group_signing_payload(
		statement: &GroupStatement<T>,
	) -> Option<GroupStatementPayload<T::AccountId>> {
		let group = T::Jobs::group(statement.first)?;
		let leaves = Self::group_leaves(statement, &group).ok()?;
		Some(Self::group_payload(statement, &group, GroupLeaf::root(&leaves)))
	}

	fn group_payload(
		statement: &GroupStatement<T>,
		group: &GroupOf<T>,
		root: H256,
	) -> GroupStatementPayload<T::AccountId> {
		GroupStatementPayload {
			genesis_hash: Self::genesis_hash(),
			first: statement.first,
			model: group.model,
			executor: statement.executor.clone(),
			root,
		}
	}

	/// Checks a group statement without changing state: the group, its assignment to the
	/// executor, the deadline, one result per member, the signature of their root (unless
	/// `signature_check` says it was verified) and every result's outputs.
	pub(crate) fn check_group(
		statement: &GroupStatement<T>,
		signature: &InferenceSignature,
		signature_check: SignatureCheck,
	) -> Result<CheckedGroup<T>, Error<T>> {
		let group = T::Jobs::group(statement.first).ok_or(Error::<T>::UnknownJob)?;
		ensure!(group.executor.as_ref() == Some(&statement.executor), Error::<T>::NotAssigned);
		ensure!(!group.delivered, Error::<T>::Duplicate);
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(group.deadline.is_some_and(|deadline| now <= deadline), Error::<T>::DeadlinePassed);
		let leaves = Self::group_leaves(statement, &group)?;
		let root = GroupLeaf::root(&leaves);
		if signature_check == SignatureCheck::Verify {
			let key =
				T::Executors::session_key(&statement.executor).ok_or(Error::<T>::NoSessionKey)?;
			let payload = Self::group_payload(statement, &group, root);
			ensure!(key.verify(&payload.signing_bytes(), signature), Error::<T>::BadSignature);
		}
		let terms = T::Models::settlement_terms(&group.model).ok_or(Error::<T>::UnknownModel)?;
		for result in &statement.results {
			Self::check_outputs(&terms, result.output_hash, result.outputs.as_ref())?;
		}
		Ok(CheckedGroup { group, leaves, root })
	}

	/// Applies a group statement, signed with `signature`, that checked out as `checked`.
	pub(crate) fn apply_group(
		statement: GroupStatement<T>,
		signature: InferenceSignature,
		checked: CheckedGroup<T>,
	) -> DispatchResult {
		let key = T::Executors::session_key(&statement.executor).ok_or(Error::<T>::NoSessionKey)?;
		let CheckedGroup { group, leaves, root } = checked;
		let bytes = statement.carried_len();
		let GroupStatement { first, executor, results } = statement;
		let now = frame_system::Pallet::<T>::block_number();
		let challenge_until = now.saturating_add(T::ChallengeWindow::get());
		let members = results.len() as u32;
		Self::schedule(
			challenge_until.saturating_add(One::one()),
			first,
			Timer::GroupWindow { members, bytes },
		);
		T::Jobs::note_group_delivered(first, &executor);
		ModelGroupResults::<T>::insert(group.model, first, ());
		let mut grouped = Vec::with_capacity(results.len());
		for (leaf, result) in leaves.iter().zip(results) {
			Self::deposit_event(Event::ResultSubmitted {
				job: leaf.job,
				executor: executor.clone(),
				output_hash: result.output_hash,
				outputs: result.outputs.clone(),
				challenge_until,
			});
			grouped.push(GroupedResult {
				job: leaf.job,
				input_hash: leaf.input_hash,
				output_hash: result.output_hash,
				outputs: result.outputs,
				left: false,
			});
		}
		GroupResults::<T>::insert(
			first,
			GroupResult {
				executor: executor.clone(),
				attempt: group.attempt,
				root,
				signed: SessionSignature { key, signature },
				challenge_until,
				members: BoundedVec::truncate_from(grouped),
			},
		);
		Self::deposit_event(Event::GroupResultsSubmitted { first, executor, root, count: members });
		Ok(())
	}

	/// Transaction-pool validity of a group statement: it checks out as a whole. It
	/// provides the tag of its group, attempt and executor.
	pub(crate) fn authorize_group_results(
		_source: TransactionSource,
		statement: &GroupStatement<T>,
		signature: &InferenceSignature,
	) -> TransactionValidityWithRefund {
		let checked =
			Self::check_group(statement, signature, SignatureCheck::Verify).map_err(|error| {
				match error {
					Error::<T>::BadSignature => InvalidTransaction::BadProof,
					Error::<T>::DeadlinePassed => InvalidTransaction::Stale,
					_ => InvalidTransaction::Call,
				}
			})?;
		let validity = ValidTransaction::with_tag_prefix("HacaGroupResults")
			.priority(TransactionPriority::MAX / 2)
			.longevity(64)
			.and_provides((statement.first, checked.group.attempt, &statement.executor))
			.propagate(true)
			.build()?;
		Ok((validity, Weight::zero()))
	}

	/// Weight of applying a group statement (its authorization verified the signature).
	pub(crate) fn group_statement_weight(statement: &GroupStatement<T>) -> Weight {
		let members = statement.results.len() as u32;
		T::WeightInfo::group_statement(members)
			.saturating_add(Self::output_bytes_weight(statement.carried_len()))
	}

	/// Weight of checking a group statement, its signature included.
	pub(crate) fn check_group_weight(statement: &GroupStatement<T>) -> Weight {
		let members = statement.results.len() as u32;
		T::WeightInfo::check_group_statement(members)
			.saturating_add(Self::output_bytes_weight(statement.carried_len()))
	}

	/// What `bytes` bytes of outputs add to a group statement's weight, or to its
	/// settlement's, beyond the smallest outputs its benchmarks carry: what they add to
	/// checking a statement (hashing them and checking them against the model's spec).
	pub(crate) fn output_bytes_weight(bytes: u32) -> Weight {
		T::WeightInfo::check_statement(bytes).saturating_sub(T::WeightInfo::check_statement(0))
	}

	/// Settles the results still in the group statement of the group whose first job is
	/// `first`, its challenge window closed: one payout to the executor and one to the
	/// model's owner for them all, and each member's outcome with its inclusion proof.
	pub(crate) fn settle_group(first: JobId) {
		let Some(result) = GroupResults::<T>::take(first) else { return };
		let Some(group) = T::Jobs::group(first) else {
			defensive!("a group's results belong to an open group");
			return;
		};
		ModelGroupResults::<T>::remove(group.model, first);
		let Some(terms) = T::Models::settlement_terms(&group.model) else {
			defensive!("a model's terms stay while jobs reference it");
			return;
		};
		let attestation = GroupAttestation {
			executor: result.executor.clone(),
			key: result.signed.key.clone(),
			attempt: result.attempt,
			signature: result.signed.signature.clone(),
			leaves: BoundedVec::truncate_from(
				result.leaves().iter().map(GroupLeaf::hash).collect::<Vec<_>>(),
			),
		};
		let mut payouts: Vec<(T::AccountId, BalanceOf<T>)> = Vec::new();
		let mut settled = Vec::new();
		let mut settling = Vec::new();
		let mut members = group.members.iter();
		for (leaf, member) in result.members.iter().enumerate() {
			if member.left {
				continue;
			}
			let Some(fee) = members.find(|view| view.job == member.job).map(|view| view.fee) else {
				defensive!("a result still in its group statement is of a member of the group");
				continue;
			};
			let executor = core::slice::from_ref(&result.executor);
			for (payee, amount) in Self::payouts(&terms, fee, executor) {
				match payouts.iter_mut().find(|(who, _)| *who == payee) {
					Some((_, total)) => total.saturating_accrue(amount),
					None => payouts.push((payee, amount)),
				}
			}
			settling.push(member);
			settled.push(MemberSettlement {
				job: member.job,
				leaf: leaf as u32,
				paid: fee,
				output_hash: member.output_hash,
				outputs: member.outputs.clone().map(BoundedVec::into_inner),
			});
		}
		let settlement = GroupSettlement { attestation, members: settled };
		match T::Jobs::settle_group(first, &payouts, settlement) {
			Ok(funds) => {
				let executors = BoundedVec::truncate_from(alloc::vec![result.executor.clone()]);
				for (member, funds) in settling.into_iter().zip(funds) {
					T::Executors::note_settled(&result.executor);
					Self::deposit_event(Event::Settled {
						job: member.job,
						output_hash: member.output_hash,
						outputs: member.outputs.clone(),
						executors: executors.clone(),
						paid: funds.paid,
						refunded: funds.refunded,
					});
				}
			}
			// A payee cannot receive its payout: every member's client gets everything
			// back (`jobs.Failed`).
			Err(_) => settling.iter().for_each(|member| T::Jobs::fail(member.job)),
		}
	}

	/// Job `job`'s result while it is in a group statement, as an attested result of its
	/// own would be, with its inclusion proof.
	pub(crate) fn grouped_result(job: JobId) -> Option<AttestedResult<T>> {
		let first = job - job % GROUP_SPAN;
		let group = GroupResults::<T>::get(first)?;
		let index = group.members.iter().position(|member| member.job == job && !member.left)?;
		Some(Self::member_result(&group, index))
	}

	/// Member `index` of `group` as an attested result of its own.
	fn member_result(group: &GroupResult<T>, index: usize) -> AttestedResult<T> {
		let member = &group.members[index];
		AttestedResult {
			executor: group.executor.clone(),
			output_hash: member.output_hash,
			outputs: member.outputs.clone(),
			published: false,
			signed: group.signed.clone(),
			status: ResultStatus::Provisional { challenge_until: group.challenge_until },
			inclusion: Inclusion::of(&group.leaves(), index),
		}
	}

	/// Job `job`'s attested result: its own, or its place in a group statement.
	pub(crate) fn attested(job: JobId) -> Option<AttestedResult<T>> {
		Results::<T>::get(job).or_else(|| Self::grouped_result(job))
	}

	/// If job `job`'s result is in a group statement, it leaves it for a result of its own
	/// (indexed by its model, with a timer for its window), which the caller goes on with;
	/// a group statement left without results ends.
	pub(crate) fn leave_group(job: JobId) {
		if Results::<T>::contains_key(job) {
			return;
		}
		let first = job - job % GROUP_SPAN;
		let Some(mut group) = GroupResults::<T>::get(first) else { return };
		let Some(index) = group.members.iter().position(|member| member.job == job && !member.left)
		else {
			return;
		};
		let result = Self::member_result(&group, index);
		let window_end = group.challenge_until.saturating_add(One::one());
		group.members[index].left = true;
		let Some(model) = T::Jobs::job(job).map(|view| view.model) else {
			defensive!("a result in a group statement is of an open job");
			return;
		};
		if group.members.iter().all(|member| member.left) {
			GroupResults::<T>::remove(first);
			ModelGroupResults::<T>::remove(model, first);
		} else {
			GroupResults::<T>::insert(first, group);
		}
		Self::schedule(window_end, job, Timer::ChallengeWindow);
		ModelResults::<T>::insert(model, job, ());
		Results::<T>::insert(job, result);
	}
}
