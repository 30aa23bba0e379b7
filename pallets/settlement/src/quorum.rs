//! Quorum rounds: the reveal phase and the tally of the reveals.

use alloc::{vec, vec::Vec};
use frame_support::{defensive, pallet_prelude::*};
use haca_primitives::{
	statement::Claim,
	tensor::{decode_tensors, tensors_agree, Tensor},
	traits::{
		ExecutorAccountability, ExecutorRegistry, JobLedger, ModelRegistry, OnPartialDelivery,
	},
	JobId, VerificationMode,
};
use sp_runtime::traits::{One, Saturating};

use crate::{statements::JobOf, *};

impl<T: Config> Pallet<T> {
	/// Opens the reveal phase of a quorum round: every executor that committed owes a
	/// reveal.
	pub(crate) fn open_reveal(job: JobId, round: &mut QuorumRound<T>) {
		let until =
			frame_system::Pallet::<T>::block_number().saturating_add(T::RevealWindow::get());
		Self::schedule(until.saturating_add(One::one()), job, Timer::RevealPhase);
		round.reveal_until = Some(until);
		for (committer, _) in &round.commits {
			OwedReveals::<T>::insert(committer, job, ());
		}
		if let Some(SpotCheck { checker, commitment: Some(_), .. }) = &round.spot_check {
			OwedReveals::<T>::insert(checker, job, ());
		}
		Self::deposit_event(Event::RevealOpened { job, until });
	}

	/// Ends `job`'s quorum `round`: nobody owes it a reveal any more.
	fn end_round(job: JobId, round: &QuorumRound<T>) {
		Quorums::<T>::remove(job);
		for (committer, _) in &round.commits {
			OwedReveals::<T>::remove(committer, job);
		}
		if let Some(check) = &round.spot_check {
			OwedReveals::<T>::remove(&check.checker, job);
		}
	}

	/// After a reveal to `job`'s `round`: tallies it once everyone who committed revealed,
	/// else stores it.
	pub(crate) fn after_reveal(job: JobId, round: QuorumRound<T>) {
		if Self::all_revealed(&round) {
			Self::tally(job, round);
		} else {
			Quorums::<T>::insert(job, round);
		}
	}

	/// Whether everyone who committed in `round` revealed, the spot checker included.
	fn all_revealed(round: &QuorumRound<T>) -> bool {
		round.reveals.len() == round.commits.len()
			&& round
				.spot_check
				.as_ref()
				.is_none_or(|check| check.commitment.is_none() || check.reveal.is_some())
	}

	/// Whether `round` of `job` may reveal: every executor answered (`answered` of them)
	/// and so did the spot checker, if the assignment has one.
	pub(crate) fn ready_to_reveal(job: &JobOf<T>, answered: usize, round: &QuorumRound<T>) -> bool {
		answered == job.executors.len()
			&& (job.spot_checker.is_none() || round.spot_check.is_some())
			&& round.reveal_until.is_none()
	}

	/// Goes on with `job`'s round after `answering` answered, with a commitment (in `round`)
	/// or a failure: once every executor of `checked` (the job before this answer) answered,
	/// the reveal phase opens; as soon as too few executors are left to reach agreement, the
	/// job re-runs without those that failed.
	pub(crate) fn after_quorum_answer(
		job: JobId,
		checked: &JobOf<T>,
		answering: &T::AccountId,
		mut round: QuorumRound<T>,
	) -> DispatchResult {
		let VerificationMode::Quorum { agree, .. } = checked.mode else {
			defensive!("quorum rounds are of quorum jobs");
			return Ok(());
		};
		let answered = checked.delivered.len() + 1;
		let failed = answered.saturating_sub(round.commits.len());
		if checked.executors.len().saturating_sub(failed) < usize::from(agree) {
			Self::end_round(job, &round);
			Self::deposit_event(Event::QuorumFailed { job });
			let failing: Vec<_> = checked
				.delivered
				.iter()
				.chain([answering])
				.filter(|who| !round.commits.iter().any(|(committer, _)| committer == *who))
				.cloned()
				.collect();
			T::Jobs::rerun(job, &failing);
			return Ok(());
		}
		if Self::ready_to_reveal(checked, answered, &round) {
			Self::open_reveal(job, &mut round);
		}
		Quorums::<T>::insert(job, round);
		Ok(())
	}

	/// Decides a quorum round from its reveals: the largest group of reveals agreeing with
	/// one of them (whose output hash settles) settles the job if it has `agree` members;
	/// dissenters and executors that committed but never revealed are slashed. Without
	/// agreement the job is re-run.
	pub(crate) fn tally(job: JobId, round: QuorumRound<T>) {
		Self::end_round(job, &round);
		let Some(view) = T::Jobs::job(job) else {
			defensive!("a quorum round belongs to an open job");
			return;
		};
		let VerificationMode::Quorum { agree, .. } = view.mode else {
			defensive!("quorum rounds are of quorum jobs");
			return;
		};
		let Some(terms) = T::Models::settlement_terms(&view.model) else {
			defensive!("a model's terms stay while jobs reference it");
			return;
		};

		let decoded: Vec<Option<Vec<Tensor>>> = round.reveals.iter().map(decoded_outputs).collect();
		let agrees = |a: usize, b: usize| {
			outputs_agree(
				&round.reveals[a],
				&decoded[a],
				&round.reveals[b],
				&decoded[b],
				terms.tolerance_ulps,
			)
		};
		// Each reveal with those that agree with it (each pair compared once); the largest
		// group wins, a tie going to the lowest output hash, so the order of the reveals does
		// not matter.
		let count = round.reveals.len();
		let mut agreement = vec![vec![false; count]; count];
		for (a, b) in (0..count).flat_map(|a| (a..count).map(move |b| (a, b))) {
			let agreed = a == b || agrees(a, b);
			agreement[a][b] = agreed;
			agreement[b][a] = agreed;
		}
		let groups: Vec<Vec<usize>> =
			agreement.iter().map(|row| (0..count).filter(|&other| row[other]).collect()).collect();
		let center = (0..groups.len()).max_by(|&a, &b| {
			groups[a]
				.len()
				.cmp(&groups[b].len())
				.then_with(|| round.reveals[b].output_hash.cmp(&round.reveals[a].output_hash))
		});
		let agreed = center.filter(|&center| groups[center].len() >= usize::from(agree));

		let agreed_output = agreed.map(|center| (&round.reveals[center], &decoded[center]));
		let passed =
			Self::judge_spot_check(job, &view, &round, agreed_output, terms.tolerance_ulps);
		let mut rewards = vec![(&view.client, T::SlashRewardShare::get())];
		rewards.extend(passed.as_ref().map(|checker| (checker, T::CommitteeRewardShare::get())));
		let slash = |who: &T::AccountId| {
			T::Executors::slash(who, view.stake, &rewards);
		};
		for (silent, _) in round
			.commits
			.iter()
			.filter(|(who, _)| !round.reveals.iter().any(|reveal| &reveal.executor == who))
		{
			T::Executors::note_missed_deadline(silent);
			slash(silent);
		}

		if let Some(center) = agreed {
			let best = &groups[center];
			for (index, reveal) in round.reveals.iter().enumerate() {
				if !best.contains(&index) {
					slash(&reveal.executor);
				}
			}
			let winners = best
				.iter()
				.map(|index| {
					let reveal = &round.reveals[*index];
					let claim =
						Claim::Reveal { output_hash: reveal.output_hash, salt: reveal.salt };
					(reveal.executor.clone(), claim, reveal.signed.clone(), None)
				})
				.collect();
			let settled = &round.reveals[center];
			Self::pay(job, &view, winners, settled.output_hash, settled.outputs.clone());
		} else {
			Self::deposit_event(Event::QuorumFailed { job });
			let participants: Vec<_> = round.commits.iter().map(|(who, _)| who.clone()).collect();
			T::Jobs::rerun(job, &participants);
		}
	}
}

/// A reveal's outputs decoded, when it carried them.
pub(crate) fn decoded_outputs<T: Config>(reveal: &Reveal<T>) -> Option<Vec<Tensor>> {
	reveal.outputs.as_ref().and_then(|bytes| decode_tensors(bytes).ok())
}

/// Whether two reveals agree: their outputs within `tolerance_ulps` when both carried them
/// (decoded), their output hashes otherwise.
pub(crate) fn outputs_agree<T: Config>(
	a: &Reveal<T>,
	decoded_a: &Option<Vec<Tensor>>,
	b: &Reveal<T>,
	decoded_b: &Option<Vec<Tensor>>,
	tolerance_ulps: u32,
) -> bool {
	match (decoded_a, decoded_b) {
		(Some(x), Some(y)) => tensors_agree(x, y, tolerance_ulps),
		_ => a.output_hash == b.output_hash,
	}
}

impl<T: Config> OnPartialDelivery<T::AccountId> for Pallet<T> {
	fn on_partial_delivery(
		id: JobId,
		_delivered: &[T::AccountId],
		_missed: &[T::AccountId],
	) -> bool {
		let Some(mut round) = Quorums::<T>::get(id) else { return false };
		let enough = match T::Jobs::job(id).map(|job| job.mode) {
			Some(VerificationMode::Quorum { agree, .. }) => {
				round.commits.len() >= usize::from(agree)
			}
			_ => false,
		};
		if enough && round.reveal_until.is_none() {
			Self::open_reveal(id, &mut round);
			Quorums::<T>::insert(id, round);
			return true;
		}
		Self::end_round(id, &round);
		false
	}
}
