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
	/// job's model other than the parties, each independently, from randomness known only
	/// since a block after the first challenge's. While there is none such yet, tries again
	/// in the next block; a dispute that never gets a committee times out (nobody slashed).
	/// Committee members are bound to the dispute (their bonds cannot leave) until it ends.
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
		let parties: Vec<_> =
			[&executor].into_iter().chain(dispute.challengers.iter().map(|(who, _)| who)).collect();
		let pool = Self::committee_pool(job, &parties);
		let seed = (randomness, job).encode();
		let size = T::CommitteeSize::get() as usize;
		dispute.committee =
			BoundedVec::truncate_from(haca_primitives::draw::sample(&pool, &seed, size));
		for member in &dispute.committee {
			T::Executors::begin_dispute(member);
			Seats::<T>::insert(member, job, ());
		}
		Self::deposit_event(Event::CommitteeDrawn {
			job,
			committee: dispute.committee.clone(),
			commit_until: dispute.commit_until,
		});
		Disputes::<T>::insert(job, dispute);
	}

	/// Weight of a challenge: the costlier of opening a dispute and joining one.
	pub(crate) fn challenge_weight() -> Weight {
		T::WeightInfo::challenge()
			.max(T::WeightInfo::join_challenge())
			.saturating_add(Self::leave_group_weight())
	}

	/// Weight of a request for outputs, its result leaving a group statement first.
	pub(crate) fn request_outputs_weight() -> Weight {
		T::WeightInfo::request_outputs().saturating_add(Self::leave_group_weight())
	}

	/// Weight of a result leaving the largest group statement.
	fn leave_group_weight() -> Weight {
		T::WeightInfo::leave_group(T::MaxGroupSize::get())
	}

	/// Weight of a verdict: its signature's check and the costliest verdict.
	pub(crate) fn verdict_weight() -> Weight {
		T::WeightInfo::check_statement(0).saturating_add(
			Self::challenge_weight()
				.max(T::WeightInfo::commit_vote())
				.max(Self::reveal_vote_weight())
				.max(Self::request_outputs_weight()),
		)
	}

	/// Weight of a vote's reveal: the last decides, and may remove the result's publication.
	pub(crate) fn reveal_vote_weight() -> Weight {
		T::WeightInfo::reveal_vote().saturating_add(Self::pages_removal_weight())
	}

	/// Verifier `who` challenges `job`'s attested result with the `output_hash` it
	/// computed, within the result's challenge window, and puts up its bond: it opens a
	/// dispute over a provisional result (a game the chain decides, when the model has a
	/// dispute graph and the input is finite: `games.rs`) or joins the open committee
	/// dispute. The result's outputs
	/// must be on chain (published, when too large for its statement), so that the
	/// committee compares its runs with them within the model's tolerance.
	pub(crate) fn do_challenge(who: T::AccountId, job: JobId, output_hash: H256) -> DispatchResult {
		ensure!(T::Executors::verifiers().contains(&who), Error::<T>::NotVerifier);
		Self::leave_group(job);
		let result = Results::<T>::get(job).ok_or(Error::<T>::NotChallengeable)?;
		ensure!(who != result.executor, Error::<T>::OwnResult);
		ensure!(output_hash != result.output_hash, Error::<T>::SameOutput);
		ensure!(result.outputs_on_chain(), Error::<T>::OutputsNotPublished);
		match result.status {
			ResultStatus::Provisional { challenge_until } if Self::game_graph(job).is_some() => {
				Self::open_game(who, job, output_hash, result, challenge_until)
			}
			ResultStatus::Provisional { challenge_until } => {
				Self::open_dispute(who, job, output_hash, result, challenge_until)
			}
			ResultStatus::Publishing { .. } => Err(Error::<T>::OutputsNotPublished.into()),
			ResultStatus::Disputed if Games::<T>::contains_key(job) => {
				Err(Error::<T>::ChainDecides.into())
			}
			ResultStatus::Disputed => Self::join_dispute(who, job, output_hash, &result.executor),
		}
	}

	/// Opens a dispute over `job`'s provisional `result`, challenged by `who`: holds its
	/// bond and schedules the committee's draw (next block, or as soon as fresh randomness
	/// is known), the end of the commit phase and the latest end of the reveal phase.
	fn open_dispute(
		who: T::AccountId,
		job: JobId,
		output_hash: H256,
		mut result: AttestedResult<T>,
		challenge_until: BlockNumberFor<T>,
	) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now <= challenge_until, Error::<T>::NotChallengeable);
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
				challengers: BoundedVec::truncate_from(alloc::vec![(who.clone(), output_hash)]),
				challenge_until,
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

	/// Adds `who` to the challengers of the open dispute over `job`'s result (of
	/// `executor`), within the result's challenge window, and holds its bond. Before the
	/// committee is drawn, only a verifier whose absence leaves the committee full may join.
	fn join_dispute(
		who: T::AccountId,
		job: JobId,
		output_hash: H256,
		executor: &T::AccountId,
	) -> DispatchResult {
		let mut dispute = Disputes::<T>::get(job).ok_or(Error::<T>::NotChallengeable)?;
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(now <= dispute.challenge_until, Error::<T>::NotChallengeable);
		ensure!(
			!dispute.challengers.iter().any(|(challenger, _)| challenger == &who),
			Error::<T>::AlreadyChallenged
		);
		ensure!(!dispute.committee.contains(&who), Error::<T>::OnCommittee);
		if dispute.committee.is_empty() {
			// Drawn later, from the verifiers who are no party: a challenger joining now must
			// not take a seat the committee would fill.
			let parties: Vec<_> = [executor]
				.into_iter()
				.chain(dispute.challengers.iter().map(|(challenger, _)| challenger))
				.collect();
			let pool = Self::committee_pool(job, &parties);
			ensure!(
				!pool.contains(&who) || pool.len() > T::CommitteeSize::get() as usize,
				Error::<T>::CommitteeNotDrawn
			);
		}
		dispute
			.challengers
			.try_push((who.clone(), output_hash))
			.map_err(|_| Error::<T>::TooManyChallengers)?;
		Self::hold_challenge_bond(&who)?;
		T::Executors::begin_dispute(&who);
		Disputes::<T>::insert(job, dispute);
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
	/// for the executor's output hash or for a challenger's, or for another hash (the
	/// executor is wrong; every challenger's bond returns). Members who voted for the outcome share `CommitteeRewardShare` of each
	/// loser's slash (executor's stake or challengers' bonds) and the slashes of the other
	/// members, who lose `VoterSlash` each: for a vote against it, or for none. The wronged
	/// side (the executor, the challengers of the winning hash, or the client when nobody
	/// claimed it) shares `SlashRewardShare` of each loser's slash. Without such a majority
	/// the dispute times out and nobody is slashed.
	pub(crate) fn decide(job: JobId, dispute: Dispute<T>) {
		Disputes::<T>::remove(job);
		for member in &dispute.committee {
			Seats::<T>::remove(member, job);
		}
		let (Some(result), Some(view)) = (Results::<T>::get(job), T::Jobs::job(job)) else {
			defensive!("a dispute's result and job stay until the dispute ends");
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
		let claimed = [result.output_hash]
			.into_iter()
			.chain(dispute.challengers.iter().map(|(_, hash)| *hash))
			.find(|claim| majority(*claim));
		// A disputed result's outputs are on chain, and a member votes for the hash of its
		// own run only when its outputs are outside the model's tolerance of them: a majority
		// for one such hash shows the executor wrong even when no challenger claimed it (the
		// liar's own challengers may hold every place).
		let unclaimed = match claimed {
			None => dispute
				.committee
				.iter()
				.filter_map(&revealed)
				.find(|hash| *hash != result.output_hash && majority(*hash)),
			Some(_) => None,
		};
		let outcome = claimed.or(unclaimed);
		// Without an outcome nothing shows what anyone should have voted: nobody pays.
		let (winners, losers): (Vec<_>, Vec<_>) = match outcome {
			Some(outcome) => {
				dispute.committee.iter().partition(|member| revealed(member) == Some(outcome))
			}
			None => (Vec::new(), Vec::new()),
		};
		for loser in &losers {
			T::Executors::slash(loser, T::VoterSlash::get(), &shares(&winners, Perbill::one()));
		}
		dispute.committee.iter().for_each(T::Executors::end_dispute);
		T::Executors::end_dispute(&result.executor);
		dispute
			.challengers
			.iter()
			.for_each(|(challenger, _)| T::Executors::end_dispute(challenger));

		let Some(outcome) = outcome else {
			for (challenger, _) in &dispute.challengers {
				Self::release_challenge_bond(challenger);
			}
			Self::take_result(job, &view.model);
			T::Jobs::rerun(job, &[result.executor]);
			Self::deposit_event(Event::DisputeTimedOut { job });
			return;
		};
		let executor_was_right = outcome == result.output_hash;
		Self::deposit_event(Event::DisputeResolved { job, executor_was_right });
		// On a hash nobody claimed, nothing shows which challenger computed what: every bond
		// returns, and the client is the wronged side.
		let (right, wrong): (Vec<_>, Vec<_>) = dispute
			.challengers
			.iter()
			.partition(|(_, hash)| *hash == outcome || unclaimed.is_some());
		let right: Vec<_> = right.into_iter().map(|(challenger, _)| challenger).collect();
		let wronged = match (executor_was_right, unclaimed) {
			(true, _) => alloc::vec![&result.executor],
			(false, Some(_)) => alloc::vec![&view.client],
			(false, None) => right.clone(),
		};
		let mut rewards = shares(&winners, T::CommitteeRewardShare::get());
		rewards.extend(shares(&wronged, T::SlashRewardShare::get()));
		for (challenger, _) in wrong {
			Self::forfeit_challenge_bond(challenger, &rewards);
		}
		if executor_was_right {
			Self::settle_attested(job);
		} else {
			right.iter().for_each(|challenger| Self::release_challenge_bond(challenger));
			T::Executors::slash(&result.executor, view.stake, &rewards);
			Self::take_result(job, &view.model);
			T::Jobs::rerun(job, &[result.executor]);
		}
	}
}

/// `total` shared equally among `among` (nothing for nobody).
fn shares<'a, AccountId>(among: &[&'a AccountId], total: Perbill) -> Vec<(&'a AccountId, Perbill)> {
	if among.is_empty() {
		return Vec::new();
	}
	let each = Perbill::from_parts(total.deconstruct() / among.len() as u32);
	among.iter().map(|who| (*who, each)).collect()
}
