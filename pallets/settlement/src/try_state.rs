//! The pallet's invariants, checked after every test and by try-runtime.

use frame_support::{ensure, traits::Get};
use haca_primitives::traits::JobLedger;
use sp_runtime::traits::{Saturating, Zero};

use crate::*;

impl<T: Config> Pallet<T> {
	/// Invariants: every attested result belongs to an open job its executor delivered;
	/// disputes (a committee's or a game) and disputed results match one to one; traces
	/// belong to games in their proof phase; published pages belong to results
	/// being published or published, never to results that carried their outputs; the
	/// indexes (results by model, committee seats, owed reveals, owed pages) hold exactly
	/// what they index; each challenger's held bonds equal `ChallengeBond` per open dispute
	/// it challenged; group results belong to delivered groups, and each result still in a
	/// group statement is of a member still in its group, with no result of its own.
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::traits::fungible::InspectHold;
		for (job, result) in Results::<T>::iter() {
			let view = T::Jobs::job(job).ok_or("result of an ended job")?;
			ensure!(view.delivered.contains(&result.executor), "result from a non-deliverer");
			ensure!(ModelResults::<T>::contains_key(view.model, job), "result not indexed");
			let disputes = [Disputes::<T>::contains_key(job), Games::<T>::contains_key(job)];
			ensure!(
				match disputes {
					[false, false] => result.status != ResultStatus::Disputed,
					[true, true] => false,
					_ => result.status == ResultStatus::Disputed,
				},
				"disputed results and disputes differ"
			);
			let publishing = matches!(result.status, ResultStatus::Publishing { .. });
			ensure!(
				OwedPages::<T>::contains_key(&result.executor, job) == publishing,
				"the owed pages differ from the results being published"
			);
			let pages = OutputPages::<T>::iter_key_prefix(job).count();
			ensure!(
				pages == 0 || (result.outputs.is_none() && (publishing || result.published)),
				"pages of a result that was not asked for its outputs"
			);
			ensure!(!(publishing && result.published), "a result published twice");
		}
		for (first, result) in GroupResults::<T>::iter() {
			let group = T::Jobs::group(first).ok_or("results of an ended group")?;
			ensure!(
				group.delivered && group.executor.as_ref() == Some(&result.executor),
				"group results from a non-deliverer"
			);
			ensure!(
				ModelGroupResults::<T>::contains_key(group.model, first),
				"group results not indexed"
			);
			ensure!(result.members.iter().any(|member| !member.left), "group results all left");
			for member in result.members.iter().filter(|member| !member.left) {
				let in_group = group.members.iter().any(|view| view.job == member.job);
				ensure!(
					in_group && !Results::<T>::contains_key(member.job),
					"a result in a group statement has left its group"
				);
			}
		}
		let indexed_groups = ModelGroupResults::<T>::iter_keys().all(|(model, first)| {
			GroupResults::<T>::contains_key(first)
				&& T::Jobs::group(first).is_some_and(|group| group.model == model)
		});
		ensure!(indexed_groups, "a group index entry of no group results of its model");
		let pages_owed = OwedPages::<T>::iter_keys().all(|(executor, job)| {
			Results::<T>::get(job).is_some_and(|result| {
				result.executor == executor
					&& matches!(result.status, ResultStatus::Publishing { .. })
			})
		});
		ensure!(pages_owed, "owed pages of no result being published");
		let paged = OutputPages::<T>::iter_keys().all(|(job, _)| Results::<T>::contains_key(job));
		ensure!(paged, "pages of no result");
		let indexed_results = ModelResults::<T>::iter_keys().all(|(model, job)| {
			Results::<T>::contains_key(job)
				&& T::Jobs::job(job).is_some_and(|view| view.model == model)
		});
		ensure!(indexed_results, "a result index entry of no result of its model");
		let seated = Seats::<T>::iter_keys().all(|(member, job)| {
			Disputes::<T>::get(job).is_some_and(|dispute| dispute.committee.contains(&member))
		});
		ensure!(seated, "a seat on no dispute's committee");
		let owed = |who: &T::AccountId, round: &QuorumRound<T>| {
			round.reveal_until.is_some()
				&& round.commits.iter().any(|(committer, _)| committer == who)
				&& !round.reveals.iter().any(|reveal| &reveal.executor == who)
		};
		for (job, round) in Quorums::<T>::iter() {
			for (committer, _) in &round.commits {
				ensure!(
					OwedReveals::<T>::contains_key(committer, job) == owed(committer, &round),
					"the owed reveals differ from the round"
				);
			}
		}
		let reveals_owed = OwedReveals::<T>::iter_keys()
			.all(|(who, job)| Quorums::<T>::get(job).is_some_and(|round| owed(&who, &round)));
		ensure!(reveals_owed, "an owed reveal of no round in its reveal phase");
		let mut bonds = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		for (job, dispute) in Disputes::<T>::iter() {
			ensure!(Results::<T>::contains_key(job), "dispute without a result");
			for member in &dispute.committee {
				ensure!(Seats::<T>::contains_key(member, job), "a committee seat not indexed");
			}
			for (challenger, _) in dispute.challengers {
				let total = bonds.entry(challenger).or_insert_with(Zero::zero);
				*total = total.saturating_add(T::ChallengeBond::get());
			}
		}
		for (job, game) in Games::<T>::iter() {
			ensure!(Results::<T>::contains_key(job), "game without a result");
			ensure!(
				matches!(game.phase, GamePhase::Proofs { .. }) == Traces::<T>::contains_key(job),
				"a trace outside its game's proof phase"
			);
			let total = bonds.entry(game.challenger).or_insert_with(Zero::zero);
			*total = total.saturating_add(T::ChallengeBond::get());
		}
		ensure!(Traces::<T>::iter_keys().all(Games::<T>::contains_key), "a trace of no game");
		for (challenger, total) in bonds {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ChallengeBond.into(), &challenger)
					== total,
				"held challenge bonds differ from the open disputes"
			);
		}
		Ok(())
	}
}
