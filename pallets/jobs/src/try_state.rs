//! The jobs pallet's invariants, checked after every test and by try-runtime.

use frame_support::{ensure, traits::Get};
use haca_primitives::traits::ExecutorRegistry;
use sp_runtime::traits::{Saturating, Zero};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Invariants: each client's held escrow is the sum of its jobs' fees and deposits;
	/// every job's runs cost at most its maximum fee;
	/// every assigned job has as many executors as its mode needs, each serving its model;
	/// [`Undelivered`] holds exactly the assigned executors that have not delivered, and the
	/// spot checkers that have not answered while their job is assigned; the
	/// the same for groups ([`UndeliveredGroups`]), whose members have no records of their
	/// own; the waiting queue holds exactly the pending jobs and groups, counted per client
	/// in jobs; the outcomes are at
	/// most `MaxOutcomes`, each of an ended job and in its ring.
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::traits::fungible::InspectHold;
		let mut escrow = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		let pending = PendingJobs::<T>::get();
		for (id, job) in Jobs::<T>::iter() {
			let total = escrow.entry(job.client.clone()).or_insert_with(Zero::zero);
			*total = total.saturating_add(job.held());
			ensure!(JobInputs::<T>::contains_key(id), "job without input");
			ensure!(
				Self::price(job.fee, &job.mode) <= job.max_fee,
				"runs cost more than the max fee"
			);
			match job.status {
				JobStatus::Pending => {
					ensure!(pending.contains(&Work::Job(id)), "pending job not queued");
					ensure!(job.executors.is_empty(), "pending job has executors");
					ensure!(job.spot_checker.is_none(), "pending job has a spot checker");
				}
				JobStatus::Delivered => {
					ensure!(!job.executors.is_empty(), "delivered job without executors");
					ensure!(
						job.delivered == job.executors,
						"delivered job with missing deliveries"
					);
				}
				JobStatus::Assigned { .. } => {
					ensure!(
						job.executors.len() as u32 == job.mode.executors(),
						"assigned job has the wrong number of executors"
					);
					for who in &job.executors {
						ensure!(
							Undelivered::<T>::contains_key(who, id) != job.delivered.contains(who),
							"the undelivered index differs from the job's deliveries"
						);
					}
					ensure!(
						job.executors.iter().all(T::Executors::is_executor),
						"job assigned to an account that is no executor"
					);
				}
			}
		}
		for (group_id, group) in Groups::<T>::iter() {
			let total = escrow.entry(group.client.clone()).or_insert_with(Zero::zero);
			*total = total.saturating_add(group.held());
			ensure!(group.size() > 0, "a group without members");
			for (place, member) in group.present() {
				ensure!(member.fee <= group.max_fee, "a member's run costs more than the max fee");
				let id = Self::member_id(group_id, place);
				ensure!(!Jobs::<T>::contains_key(id), "a member with a record of its own");
				ensure!(JobInputs::<T>::contains_key(id), "a member without input");
			}
			match (group.status, &group.executor) {
				(JobStatus::Pending, None) => {
					ensure!(pending.contains(&Work::Group(group_id)), "pending group not queued")
				}
				(JobStatus::Assigned { .. }, Some(executor)) => {
					ensure!(
						T::Executors::is_executor(executor),
						"group of an account that is no executor"
					);
					ensure!(
						UndeliveredGroups::<T>::contains_key(executor, group_id),
						"an assigned group missing from the undelivered index"
					);
				}
				(JobStatus::Delivered, Some(executor)) => ensure!(
					!UndeliveredGroups::<T>::contains_key(executor, group_id),
					"a delivered group in the undelivered index"
				),
				_ => return Err("a group's status and executor disagree".into()),
			}
		}
		for (who, group_id) in UndeliveredGroups::<T>::iter_keys() {
			let owed = Groups::<T>::get(group_id).is_some_and(|group| {
				matches!(group.status, JobStatus::Assigned { .. })
					&& group.executor.as_ref() == Some(&who)
			});
			ensure!(owed, "an undelivered group entry of no assignment");
		}
		for (who, id) in Undelivered::<T>::iter_keys() {
			let owed = Jobs::<T>::get(id).is_some_and(|job| {
				matches!(job.status, JobStatus::Assigned { .. })
					&& ((job.executors.contains(&who) && !job.delivered.contains(&who))
						|| job.spot_checker.as_ref() == Some(&who))
			});
			ensure!(owed, "an undelivered entry of no assignment");
		}
		let mut waiting = BTreeMap::<T::AccountId, u32>::new();
		for work in &pending {
			let (client, jobs) = match *work {
				Work::Job(id) => {
					let job = Jobs::<T>::get(id).filter(|job| job.status == JobStatus::Pending);
					(job.ok_or("queued job is not pending")?.client, 1)
				}
				Work::Group(group_id) => {
					let group = Groups::<T>::get(group_id)
						.filter(|group| group.status == JobStatus::Pending)
						.ok_or("queued group is not pending")?;
					let size = group.size();
					(group.client, size)
				}
			};
			*waiting.entry(client).or_default() += jobs;
		}
		ensure!(
			waiting.into_iter().eq(PendingPerClient::<T>::iter().collect::<BTreeMap<_, _>>()),
			"per-client waiting counts differ from the queue"
		);
		for (client, total) in escrow {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::JobEscrow.into(), &client) == total,
				"held escrow differs from the jobs' fees and deposits"
			);
		}
		let group_places = GroupOutcomeRing::<T>::iter().count();
		ensure!(
			group_places as u32 <= T::MaxGroupOutcomes::get(),
			"more group outcomes than MaxGroupOutcomes"
		);
		ensure!(
			GroupOutcomes::<T>::iter().count() == group_places,
			"group outcomes and their ring differ"
		);
		for (_, group_id) in GroupOutcomeRing::<T>::iter() {
			let outcome =
				GroupOutcomes::<T>::get(group_id).ok_or("a ring place without its group")?;
			for member in &outcome.members {
				ensure!(group_place(member.job).0 == group_id, "a group outcome of another's job");
				ensure!(!Outcomes::<T>::contains_key(member.job), "a job with two outcomes");
				ensure!(
					(member.leaf as usize) < outcome.attestation.leaves.len(),
					"a settled member without its leaf"
				);
			}
		}
		let places = OutcomeRing::<T>::iter().count();
		ensure!(places as u32 <= T::MaxOutcomes::get(), "more outcomes than MaxOutcomes");
		ensure!(Outcomes::<T>::iter().count() == places, "outcomes and their ring differ");
		for (_, id) in OutcomeRing::<T>::iter() {
			ensure!(Outcomes::<T>::contains_key(id), "a ring place without its outcome");
			ensure!(!Jobs::<T>::contains_key(id), "an open job with an outcome");
		}
		Ok(())
	}
}
