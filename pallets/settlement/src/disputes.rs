//! Challenges of attested results and their committees' votes: drawn after the challenge,
//! committed then revealed, and paid or slashed by the outcome.

use alloc::vec::Vec;
use codec::Encode;
use frame_support::{defensive, ensure, pallet_prelude::*, traits::Randomness};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::statement::VerdictClaim;
use haca_primitives::{
	traits::{ExecutorAccountability, ExecutorDirectory, JobLedger},
	JobId,
};
use sp_core::H256;
use sp_runtime::{
	traits::{One, Saturating},
	Perbill,
};

use crate::*;

impl<T: Config> Pallet<T> {
	/// The verifiers who may sit on a committee over `job` between `parties`: those who
	/// audit the job's model, but the parties.
	fn committee_pool(job: JobId, parties: &[&T::AccountId]) -> Vec<T::AccountId> {
		let Some(view) = T::Jobs::job(job) else { return Vec::new() };
		T::Executors::verifiers_of(&view.model)
			.into_iter()
			.filter(|who| !parties.contains(&who))
			.collect()
	}

	/// Draws the committee of the dispute over `job`: up to `CommitteeSize` verifiers of the
	/// job's model other than the parties, each independently, from randomness known only since a block after
	/// the challenge's. While there is none such yet, tries again in the next block; a
	/// dispute that never gets a committee times out (nobody slashed). Committee members are
	/// bound to the dispute (their bonds cannot leave) until it ends.
	pub(crate) fn draw_committee(job: JobId, now: BlockNumberFor<T>) {
		let Some(mut dispute) = Disputes::<T>::get(job) else { return };
		let (randomness, known_since) = T::Randomness::random(COMMITTEE_SUBJECT);
		let Some(randomness) = randomness.filter(|_| known_since > dispute.challenged_at) else {
			Self::schedule(now.saturating_add(One::one()), job, Timer::Committee);
			return;
		};
		let Some(executor) = Results::<T>::get(job).map(|result| result.executor) else {
			defensive!("a dispute's result stays until the dispute ends");
			return;
		};
		let pool = Self::committee_pool(job, &[&executor, &dispute.challenger]);
		let seed = (randomness, job).encode();
		let size = T::CommitteeSize::get() as usize;
		dispute.committee =
			BoundedVec::truncate_from(haca_primitives::draw::sample(&pool, &seed, size));
		dispute.committee.iter().for_each(T::Executors::begin_dispute);
		Self::deposit_event(Event::CommitteeDrawn {
			job,
			committee: dispute.committee.clone(),
			commit_until: dispute.commit_until,
		});
		Disputes::<T>::insert(job, dispute);
	}

	/// Opens a dispute over `job`'s provisional result, challenged by verifier `who` with
	/// the `output_hash` it computed; holds its bond and schedules the committee's draw
	/// (next block, or as soon as fresh randomness is known), the end of the commit phase
	/// and the latest end of the reveal phase.
	pub(crate) fn do_challenge(who: T::AccountId, job: JobId, output_hash: H256) -> DispatchResult {
		ensure!(T::Executors::verifiers().contains(&who), Error::<T>::NotVerifier);
		let mut result = Results::<T>::get(job).ok_or(Error::<T>::NotChallengeable)?;
		let ResultStatus::Provisional { challenge_until } = result.status else {
			return Err(Error::<T>::NotChallengeable.into());
		};
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now <= challenge_until, Error::<T>::NotChallengeable);
		ensure!(who != result.executor, Error::<T>::OwnResult);
		ensure!(output_hash != result.output_hash, Error::<T>::SameOutput);
		ensure!(
			!Self::committee_pool(job, &[&result.executor, &who]).is_empty(),
			Error::<T>::NoCommittee
		);
		Self::hold_challenge_bond(&who)?;
		let commit_until = now.saturating_add(T::DisputeWindow::get());
		let last_reveal = commit_until.saturating_add(T::RevealWindow::get());
		Self::schedule(now.saturating_add(One::one()), job, Timer::Committee);
		Self::schedule(commit_until.saturating_add(One::one()), job, Timer::Dispute);
		Self::schedule(last_reveal.saturating_add(One::one()), job, Timer::Dispute);

		T::Executors::begin_dispute(&result.executor);
		T::Executors::begin_dispute(&who);
		result.status = ResultStatus::Disputed;
		Results::<T>::insert(job, result);
		Disputes::<T>::insert(
			job,
			Dispute {
				challenger: who.clone(),
				challenger_hash: output_hash,
				committee: Default::default(),
				challenged_at: now,
				votes: Default::default(),
				commit_until,
				reveal_until: None,
			},
		);
		Self::deposit_event(Event::Challenged { job, challenger: who, output_hash });
		Ok(())
	}

	/// Records committee member `who`'s `commitment` to a vote in the dispute over `job`.
	/// Once every member committed, the reveal phase opens.
	pub(crate) fn do_commit_vote(
		who: T::AccountId,
		job: JobId,
		commitment: H256,
	) -> DispatchResult {
		let mut dispute = Disputes::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
		ensure!(dispute.committee.contains(&who), Error::<T>::NotOnCommittee);
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(
			dispute.reveal_until.is_none() && now <= dispute.commit_until,
			Error::<T>::DeadlinePassed
		);
		ensure!(!dispute.votes.iter().any(|(voter, _)| voter == &who), Error::<T>::AlreadyVoted);
		dispute
			.votes
			.try_push((who.clone(), Vote::Committed(commitment)))
			.map_err(|_| Error::<T>::AlreadyVoted)?;
		Self::deposit_event(Event::VoteCommitted { job, voter: who });
		if dispute.votes.len() == dispute.committee.len() {
			let until = now.saturating_add(T::RevealWindow::get());
			Self::schedule(until.saturating_add(One::one()), job, Timer::Dispute);
			Self::open_vote_reveals(job, &mut dispute, until);
		}
		Disputes::<T>::insert(job, dispute);
		Ok(())
	}

	fn open_vote_reveals(job: JobId, dispute: &mut Dispute<T>, until: BlockNumberFor<T>) {
		dispute.reveal_until = Some(until);
		Self::deposit_event(Event::VoteRevealOpened { job, until });
	}

	/// Opens committee member `who`'s vote in the dispute over `job`: `output_hash` under
	/// `salt` must be what it committed to. When every member who committed has revealed,
	/// the dispute is decided.
	pub(crate) fn do_reveal_vote(
		who: T::AccountId,
		job: JobId,
		output_hash: H256,
		salt: [u8; 32],
	) -> DispatchResult {
		let mut dispute = Disputes::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
		let until = dispute.reveal_until.ok_or(Error::<T>::RevealNotOpen)?;
		ensure!(frame_system::Pallet::<T>::block_number() <= until, Error::<T>::DeadlinePassed);
		let vote = dispute
			.votes
			.iter_mut()
			.find(|(voter, _)| voter == &who)
			.map(|(_, vote)| vote)
			.ok_or(Error::<T>::NotCommitted)?;
		let Vote::Committed(commitment) = *vote else {
			return Err(Error::<T>::AlreadyVoted.into());
		};
		let attempt = T::Jobs::job(job).map(|view| view.attempt).ok_or(Error::<T>::UnknownJob)?;
		ensure!(
			VerdictClaim::vote_commitment(job, attempt, &who, &output_hash, &salt) == commitment,
			Error::<T>::CommitmentMismatch
		);
		*vote = Vote::Revealed(output_hash);
		Self::deposit_event(Event::VoteRevealed { job, voter: who, output_hash });
		if dispute.votes.iter().all(|(_, vote)| matches!(vote, Vote::Revealed(_))) {
			Self::decide(job, dispute);
		} else {
			Disputes::<T>::insert(job, dispute);
		}
		Ok(())
	}

	/// A phase of the dispute over `job` ended in block `now`: after the commit phase, the
	/// reveal phase opens (unless nobody committed); after the reveal phase, the dispute is
	/// decided.
	pub(crate) fn end_dispute_phase(job: JobId, now: BlockNumberFor<T>) {
		let Some(mut dispute) = Disputes::<T>::get(job) else { return };
		match dispute.reveal_until {
			Some(until) if until < now => Self::decide(job, dispute),
			Some(_) => {}
			None if dispute.commit_until < now => {
				if dispute.votes.is_empty() {
					Self::decide(job, dispute);
				} else {
					// Ends with the latest end, scheduled with the challenge.
					let until = dispute.commit_until.saturating_add(T::RevealWindow::get());
					Self::open_vote_reveals(job, &mut dispute, until);
					Disputes::<T>::insert(job, dispute);
				}
			}
			None => {}
		}
	}

	/// Decides the dispute over `job` from its revealed votes: a majority of the committee
	/// for the executor's output hash or for the challenger's. Members who voted for the
	/// outcome share `CommitteeRewardShare` of the loser's slash and the slashes of the other
	/// members, who lose `VoterSlash` each: for a vote against it, or for none. Without such
	/// a majority the dispute times out and nobody is slashed.
	pub(crate) fn decide(job: JobId, dispute: Dispute<T>) {
		Disputes::<T>::remove(job);
		let Some(result) = Results::<T>::get(job) else {
			defensive!("a dispute's result stays until the dispute ends");
			return;
		};
		let revealed = |member: &T::AccountId| {
			dispute.votes.iter().find(|(voter, _)| voter == member).and_then(|(_, vote)| match vote
			{
				Vote::Revealed(hash) => Some(*hash),
				Vote::Committed(_) => None,
			})
		};
		let support = |claim: H256| {
			dispute.committee.iter().filter(|member| revealed(member) == Some(claim)).count()
		};
		let majority = |claim: H256| support(claim) * 2 > dispute.committee.len();
		let outcome = [result.output_hash, dispute.challenger_hash]
			.into_iter()
			.find(|claim| majority(*claim));
		// Without an outcome nothing shows what anyone should have voted: nobody pays.
		let (winners, losers): (Vec<_>, Vec<_>) = match outcome {
			Some(outcome) => {
				dispute.committee.iter().partition(|member| revealed(member) == Some(outcome))
			}
			None => (Vec::new(), Vec::new()),
		};
		let winner_share = |total: Perbill| {
			if winners.is_empty() {
				return Vec::new();
			}
			let each = Perbill::from_parts(total.deconstruct() / winners.len() as u32);
			winners.iter().map(|winner| (*winner, each)).collect()
		};
		for loser in &losers {
			T::Executors::slash(loser, T::VoterSlash::get(), &winner_share(Perbill::one()));
		}
		dispute.committee.iter().for_each(T::Executors::end_dispute);
		T::Executors::end_dispute(&result.executor);
		T::Executors::end_dispute(&dispute.challenger);

		let Some(outcome) = outcome else {
			Self::release_challenge_bond(&dispute.challenger);
			Results::<T>::remove(job);
			T::Jobs::rerun(job, &[result.executor]);
			Self::deposit_event(Event::DisputeTimedOut { job });
			return;
		};
		let executor_was_right = outcome == result.output_hash;
		Self::deposit_event(Event::DisputeResolved { job, executor_was_right });
		let committee_rewards = winner_share(T::CommitteeRewardShare::get());
		if executor_was_right {
			// The challenger pays for the false alarm.
			Self::forfeit_challenge_bond(&dispute.challenger, &result.executor, &committee_rewards);
			Self::settle_attested(job);
		} else {
			Self::release_challenge_bond(&dispute.challenger);
			let stake = T::Jobs::job(job).map(|view| view.stake).unwrap_or_default();
			let mut rewards = committee_rewards;
			rewards.push((&dispute.challenger, T::SlashRewardShare::get()));
			T::Executors::slash(&result.executor, stake, &rewards);
			Results::<T>::remove(job);
			T::Jobs::rerun(job, &[result.executor]);
		}
	}
}
