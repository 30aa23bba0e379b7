//! Groups: the attested jobs of one batch, stored, drawn, assigned and timed as one record
//! ([`Group`]), and members leaving them for records of their own.
//!
//! Rules:
//! - An attested batch of two or more inputs is one group; its job ids are those of its
//!   span (`group * GROUP_SPAN + place`), so every job keeps its own id, and each member's
//!   input is in [`JobInputs`] under it.
//! - A group is drawn as one to one executor with room for all its members (capacity and
//!   bond). When no executor can take it whole but one could take a single job, the group
//!   dissolves into jobs of their own, drawn as any job is.
//! - A missed deadline costs the executor `LatenessSlash` of every member's stake, and the
//!   group is drawn again (avoiding it), up to `MaxAttempts` assignments.
//! - Anything that happens to one member alone (its executor's statement, a re-run, a
//!   failure, a cancellation) first moves it to a record of its own ([`Pallet::detach`]).

use alloc::{vec, vec::Vec};
use codec::Encode;
use frame_support::{pallet_prelude::*, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	traits::{
		ExecutorAccountability, ExecutorRegistry, GroupMemberView, GroupSettlement, GroupView,
		ModelRegistry, SettledFunds,
	},
	JobId, ModelHash, VerificationMode,
};
use sp_runtime::{
	traits::{Saturating, Zero},
	Perbill,
};

use crate::*;

/// A group as the settlement pallet sees it.
pub(crate) type GroupViewOf<T> =
	GroupView<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

/// What a draw did with a waiting group.
pub(crate) enum GroupDraw {
	/// Assigned to an executor.
	Assigned,
	/// Left waiting: no executor is eligible even for one of its jobs, or no fresh
	/// randomness yet.
	Wait,
	/// Dissolved: its members wait as jobs of their own.
	Dissolved(Vec<Work>),
}

impl<T: Config> Pallet<T> {
	/// The id of the member at `place` of `group`.
	pub(crate) fn member_id(group: GroupId, place: usize) -> JobId {
		group.saturating_mul(GROUP_SPAN).saturating_add(place as JobId)
	}

	/// Stores the jobs of an attested batch as one new group, queued for its draw; returns
	/// the first job's id.
	pub(crate) fn submit_group(
		client: &T::AccountId,
		model: ModelHash,
		inputs: Vec<BoundedVec<u8, T::MaxInputLen>>,
		fees: Vec<BalanceOf<T>>,
		max_fee: BalanceOf<T>,
		stake: BalanceOf<T>,
		now: BlockNumberFor<T>,
	) -> Result<JobId, DispatchError> {
		let members = inputs
			.iter()
			.zip(fees)
			.map(|(input, fee)| {
				Some(GroupMember {
					input_hash: sp_core::H256(sp_io::hashing::blake2_256(input)),
					fee,
					deposit: Self::deposit_for(input.len() as u32),
				})
			})
			.collect::<Vec<_>>();
		let size = members.len() as u32;
		let members = BoundedVec::try_from(members).map_err(|_| Error::<T>::TooManyInputs)?;
		let group = NextJobId::<T>::mutate(|next| {
			let group = next.div_ceil(GROUP_SPAN);
			*next = group.saturating_add(1).saturating_mul(GROUP_SPAN);
			group
		});
		ensure!(Self::enqueue(Work::Group(group), client, size, false), Error::<T>::QueueFull);
		for (place, input) in inputs.into_iter().enumerate() {
			JobInputs::<T>::insert(Self::member_id(group, place), input);
		}
		Groups::<T>::insert(
			group,
			Group {
				client: client.clone(),
				model,
				max_fee,
				stake,
				status: JobStatus::Pending,
				executor: None,
				avoid: None,
				attempts: 0,
				submitted_at: now,
				waiting_since: now,
				members,
			},
		);
		Ok(Self::member_id(group, 0))
	}

	/// GroupMember `member` of `group` as a job record of its own.
	fn member_job(group: &Group<T>, member: &GroupMember<T>) -> Job<T> {
		Job {
			client: group.client.clone(),
			model: group.model,
			input_hash: member.input_hash,
			mode: VerificationMode::Attested,
			max_fee: group.max_fee,
			fee: member.fee,
			deposit: member.deposit,
			stake: group.stake,
			status: group.status,
			executors: BoundedVec::truncate_from(group.executor.iter().cloned().collect()),
			delivered: if group.status == JobStatus::Delivered {
				BoundedVec::truncate_from(group.executor.iter().cloned().collect())
			} else {
				Default::default()
			},
			spot_checker: None,
			avoid: BoundedVec::truncate_from(group.avoid.iter().cloned().collect()),
			attempts: group.attempts,
			submitted_at: group.submitted_at,
			waiting_since: group.waiting_since,
		}
	}

	/// Job `id`, whether in a record of its own or a member of a group.
	pub(crate) fn job_record(id: JobId) -> Option<Job<T>> {
		Self::job_and_group(id).map(|(job, _)| job)
	}

	/// Job `id`, with the first job id of its group while it is a member of one.
	pub(crate) fn job_and_group(id: JobId) -> Option<(Job<T>, Option<JobId>)> {
		if let Some(job) = Jobs::<T>::get(id) {
			return Some((job, None));
		}
		let (group_id, place) = group_place(id);
		let group = Groups::<T>::get(group_id)?;
		let member = group.members.get(place)?.as_ref()?;
		Some((Self::member_job(&group, member), Some(Self::member_id(group_id, 0))))
	}

	/// If job `id` is a member of a group, it leaves it: the group no longer counts it; the
	/// caller stores or ends the record [`Self::job_record`] gave and ends the member's part
	/// of the group's assignment (its place of capacity and its stake go with it). A group
	/// left empty ends and leaves the waiting queue.
	pub(crate) fn detach(id: JobId) {
		if Jobs::<T>::contains_key(id) {
			return;
		}
		let (group_id, place) = group_place(id);
		let Some(mut group) = Groups::<T>::get(group_id) else { return };
		if group.members.get_mut(place).and_then(Option::take).is_none() {
			return;
		}
		if group.size() == 0 {
			Self::end_group(group_id, &group);
		} else {
			Groups::<T>::insert(group_id, group);
		}
	}

	/// Removes a group that has no members left, from the queue and index too.
	fn end_group(group_id: GroupId, group: &Group<T>) {
		if let Some(executor) = &group.executor {
			UndeliveredGroups::<T>::remove(executor, group_id);
		}
		if group.status == JobStatus::Pending {
			PendingJobs::<T>::mutate(|pending| {
				pending.retain(|work| *work != Work::Group(group_id))
			});
		}
		Groups::<T>::remove(group_id);
	}

	/// Draws an executor for waiting group `group_id` from `randomness` (see the module's
	/// rules); `room` is how many more entries the waiting queue holds, which a dissolution
	/// needs for all but one of the members.
	pub(crate) fn draw_group(
		group_id: GroupId,
		group: &mut Group<T>,
		randomness: &T::Hash,
		now: BlockNumberFor<T>,
		room: &mut u32,
	) -> GroupDraw {
		let size = group.size();
		let eligible = T::Executors::eligible_executors(&group.model, size, group.stake);
		let fresh: Vec<_> =
			eligible.iter().filter(|who| group.avoid.as_ref() != Some(*who)).cloned().collect();
		let pool = if fresh.is_empty() { eligible } else { fresh };
		let seed = (randomness, Work::Group(group_id), group.attempts).encode();
		let Some(executor) = haca_primitives::draw::sample(&pool, &seed, 1).pop() else {
			let any = !T::Executors::eligible_executors(&group.model, 1, group.stake).is_empty();
			if !any || *room < size.saturating_sub(1) {
				return GroupDraw::Wait;
			}
			*room = room.saturating_sub(size.saturating_sub(1));
			return GroupDraw::Dissolved(Self::dissolve(group_id, group));
		};
		T::Executors::note_assigned(&executor, size, group.stake);
		UndeliveredGroups::<T>::insert(&executor, group_id, ());
		let deadline = now.saturating_add(T::ResultTimeout::get());
		group.attempts.saturating_inc();
		group.status = JobStatus::Assigned { deadline };
		group.executor = Some(executor.clone());
		group.avoid = None;
		Self::push_deadline(Work::Group(group_id), deadline);
		let executors = BoundedVec::truncate_from(vec![executor]);
		for (place, _) in group.present() {
			Self::deposit_event(Event::Assigned {
				job: Self::member_id(group_id, place),
				executors: executors.clone(),
				deadline,
				attempt: group.attempts,
			});
		}
		GroupDraw::Assigned
	}

	/// Turns every member of pending group `group_id` into a pending job of its own, in
	/// the group's place in the queue; returns them.
	fn dissolve(group_id: GroupId, group: &Group<T>) -> Vec<Work> {
		let mut jobs = Vec::new();
		for (place, member) in group.present() {
			let id = Self::member_id(group_id, place);
			Jobs::<T>::insert(id, Self::member_job(group, member));
			jobs.push(Work::Job(id));
		}
		Groups::<T>::remove(group_id);
		Self::deposit_event(Event::GroupDissolved { first: Self::member_id(group_id, 0) });
		jobs
	}

	/// The deadline of group `group_id` passed with no statement for its remaining
	/// members: its executor loses reputation and `LatenessSlash` of their stakes, to the
	/// client, and the group is drawn again avoiding it, or fails refunded after
	/// `MaxAttempts` assignments. Returns whether it was queued again.
	pub(crate) fn expire_group(
		group_id: GroupId,
		mut group: Group<T>,
		now: BlockNumberFor<T>,
	) -> bool {
		let size = group.size();
		if let Some(executor) = group.executor.clone() {
			let lateness = T::LatenessSlash::get() * group.stake.saturating_mul(size.into());
			T::Executors::note_missed_deadline(&executor);
			T::Executors::slash(&executor, lateness, &[(&group.client, Perbill::one())]);
			T::Executors::note_released(&executor, size);
			UndeliveredGroups::<T>::remove(&executor, group_id);
			let executors = BoundedVec::truncate_from(vec![executor.clone()]);
			for (place, _) in group.present() {
				Self::deposit_event(Event::DeadlineMissed {
					job: Self::member_id(group_id, place),
					executors: executors.clone(),
				});
			}
			T::Executors::release_stake(&executor, group.stake.saturating_mul(size.into()));
			group.avoid = Some(executor);
		}
		group.executor = None;
		group.status = JobStatus::Pending;
		let restarted = group.attempts < T::MaxAttempts::get()
			&& Self::enqueue(Work::Group(group_id), &group.client, size, true);
		if restarted {
			group.waiting_since = now;
			Groups::<T>::insert(group_id, group);
		} else {
			Self::fail_group(group_id, group);
		}
		restarted
	}

	/// The group whose first job is `first`, as the settlement pallet sees it.
	pub(crate) fn group_view(first: JobId) -> Option<GroupViewOf<T>> {
		let (group_id, place) = group_place(first);
		if place != 0 {
			return None;
		}
		let group = Groups::<T>::get(group_id)?;
		let members = group
			.present()
			.map(|(place, member)| GroupMemberView {
				job: Self::member_id(group_id, place),
				input_hash: member.input_hash,
				fee: member.fee,
			})
			.collect();
		Some(GroupView {
			deadline: match group.status {
				JobStatus::Assigned { deadline } => Some(deadline),
				_ => None,
			},
			delivered: group.status == JobStatus::Delivered,
			client: group.client,
			model: group.model,
			max_fee: group.max_fee,
			stake: group.stake,
			executor: group.executor,
			attempt: group.attempts,
			members,
		})
	}

	/// `who`, the executor of the group whose first job is `first`, delivered the results of
	/// all its members: its places of capacity are free and the deadline no longer applies.
	pub(crate) fn group_delivered(first: JobId, who: &T::AccountId) {
		let (group_id, _) = group_place(first);
		let Some(mut group) = Groups::<T>::get(group_id) else { return };
		let JobStatus::Assigned { .. } = group.status else { return };
		if group.executor.as_ref() != Some(who) {
			return;
		}
		T::Executors::note_released(who, group.size());
		UndeliveredGroups::<T>::remove(who, group_id);
		group.status = JobStatus::Delivered;
		for (place, _) in group.present() {
			Self::deposit_event(Event::Delivered { job: Self::member_id(group_id, place) });
		}
		Groups::<T>::insert(group_id, group);
	}

	/// Ends members of the delivered group whose first job is `first`, each with its result
	/// and its share of `payouts`, and keeps one outcome for them all (see
	/// [`JobLedger::settle_group`]); the others stay in the group.
	pub(crate) fn settle_members(
		first: JobId,
		payouts: &[(T::AccountId, BalanceOf<T>)],
		settlement: GroupSettlement<T::AccountId, BalanceOf<T>>,
	) -> Result<Vec<SettledFunds<BalanceOf<T>>>, DispatchError> {
		let (group_id, _) = group_place(first);
		let mut group = Groups::<T>::get(group_id).ok_or(Error::<T>::UnknownJob)?;
		ensure!(group.status == JobStatus::Delivered, Error::<T>::NotDelivered);
		let mut members = Vec::with_capacity(settlement.members.len());
		for settled in &settlement.members {
			let (in_group, place) = group_place(settled.job);
			let member = group.members.get_mut(place).and_then(Option::take);
			let member = member.filter(|_| in_group == group_id && settled.paid <= group.max_fee);
			members.push(member.ok_or(Error::<T>::NotGroupMembers)?);
		}
		let total = |amounts: &mut dyn Iterator<Item = BalanceOf<T>>| {
			amounts.fold(BalanceOf::<T>::zero(), |total, amount| total.saturating_add(amount))
		};
		let paid = total(&mut payouts.iter().map(|(_, amount)| *amount));
		ensure!(
			paid == total(&mut settlement.members.iter().map(|settled| settled.paid)),
			Error::<T>::PayoutsExceedFee
		);
		// Every payout or none.
		frame_support::storage::with_storage_layer(|| {
			payouts.iter().try_for_each(|(payee, amount)| {
				Self::pay_from_escrow(&group.client, payee, *amount)
			})
		})?;
		let held =
			total(&mut members.iter().map(|member| group.max_fee.saturating_add(member.deposit)));
		if let Some(executor) = &group.executor {
			let settled = members.len() as u32;
			T::Executors::release_stake(executor, group.stake.saturating_mul(settled.into()));
		}
		Self::release_escrow(&group.client, held.saturating_sub(paid));
		let mut funds = Vec::with_capacity(members.len());
		let mut outcomes = Vec::with_capacity(members.len());
		for (member, settled) in members.into_iter().zip(settlement.members) {
			let refunded =
				group.max_fee.saturating_add(member.deposit).saturating_sub(settled.paid);
			T::Models::remove_job_reference(&group.model);
			JobInputs::<T>::remove(settled.job);
			outcomes.push(SettledMember {
				job: settled.job,
				leaf: settled.leaf,
				input_hash: member.input_hash,
				output_hash: settled.output_hash,
				outputs: settled.outputs.and_then(|outputs| BoundedVec::try_from(outputs).ok()),
				paid: settled.paid,
				refunded,
			});
			funds.push(SettledFunds { paid: settled.paid, refunded });
		}
		Self::record_group_outcome(
			group_id,
			GroupOutcome {
				client: group.client.clone(),
				model: group.model,
				submitted_at: group.submitted_at,
				ended_at: frame_system::Pallet::<T>::block_number(),
				attestation: settlement.attestation,
				members: BoundedVec::truncate_from(outcomes),
			},
		);
		if group.size() == 0 {
			Self::end_group(group_id, &group);
		} else {
			Groups::<T>::insert(group_id, group);
		}
		Ok(funds)
	}

	/// Ends every member of `group_id` with a full refund.
	pub(crate) fn fail_group(group_id: GroupId, group: Group<T>) {
		for (place, member) in group.present() {
			let id = Self::member_id(group_id, place);
			Self::fail_job(id, &Self::member_job(&group, member));
		}
		Groups::<T>::remove(group_id);
	}
}
