//! Challenges of attested results and their committees' votes.

use alloc::vec::Vec;
use codec::Encode;
use frame_support::{defensive, ensure, pallet_prelude::*, traits::Randomness};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	traits::{ExecutorAccountability, ExecutorDirectory, JobLedger},
	JobId,
};
use sp_core::H256;
use sp_runtime::traits::{One, Saturating};

use crate::*;

impl<T: Config> Pallet<T> {
	/// The verifiers who may sit on a committee between `parties`: all but them.
	fn committee_pool(parties: &[&T::AccountId]) -> Vec<T::AccountId> {
		T::Executors::verifiers().into_iter().filter(|who| !parties.contains(&who)).collect()
	}

	/// Draws the committee of the dispute over `job`: up to `CommitteeSize` verifiers other
	/// than the parties, each independently, from randomness known only since a block after
	/// the challenge's. While there is none such yet, tries again in the next block; a
	/// dispute that never gets a committee times out (nobody slashed).
	pub(crate) fn draw_committee(job: JobId, now: BlockNumberFor<T>) {
		let Some(mut dispute) = Disputes::<T>::get(job) else { return };
		let (randomness, known_since) = T::Randomness::random(COMMITTEE_SUBJECT);
		let Some(randomness) = randomness.filter(|_| known_since > dispute.challenged_at) else {
			// No room for the retry leaves the dispute to time out.
			let _ = Self::schedule(now.saturating_add(One::one()), job, Timer::Committee);
			return;
		};
		let Some(executor) = Results::<T>::get(job).map(|result| result.executor) else {
			defensive!("a dispute's result stays until the dispute ends");
			return;
		};
		let pool = Self::committee_pool(&[&executor, &dispute.challenger]);
		let seed = (randomness, job).encode();
		let size = T::CommitteeSize::get() as usize;
		dispute.committee =
			BoundedVec::truncate_from(haca_primitives::draw::sample(&pool, &seed, size));
		Self::deposit_event(Event::CommitteeDrawn {
			job,
			committee: dispute.committee.clone(),
			until: dispute.until,
		});
		Disputes::<T>::insert(job, dispute);
	}

	/// Opens a dispute over `job`'s provisional result, challenged by verifier `who` with
	/// the `output_hash` it computed; holds its bond and schedules the committee's draw
	/// (next block, or as soon as fresh randomness is known) and the end of the vote.
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
			!Self::committee_pool(&[&result.executor, &who]).is_empty(),
			Error::<T>::NoCommittee
		);
		Self::hold_challenge_bond(&who)?;
		let until = now.saturating_add(T::DisputeWindow::get());
		Self::schedule(now.saturating_add(One::one()), job, Timer::Committee)?;
		Self::schedule(until.saturating_add(One::one()), job, Timer::Dispute)?;

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
				until,
			},
		);
		Self::deposit_event(Event::Challenged { job, challenger: who, output_hash });
		Ok(())
	}

	/// Records committee member `who`'s vote for `output_hash` in the dispute over `job`; a
	/// majority resolves the dispute at once.
	pub(crate) fn do_vote(who: T::AccountId, job: JobId, output_hash: H256) -> DispatchResult {
		let mut dispute = Disputes::<T>::get(job).ok_or(Error::<T>::NoDispute)?;
		ensure!(dispute.committee.contains(&who), Error::<T>::NotOnCommittee);
		ensure!(
			frame_system::Pallet::<T>::block_number() <= dispute.until,
			Error::<T>::DeadlinePassed
		);
		ensure!(!dispute.votes.iter().any(|(voter, _)| voter == &who), Error::<T>::AlreadyVoted);
		dispute.votes.try_push((who.clone(), output_hash)).map_err(|_| Error::<T>::AlreadyVoted)?;
		Self::deposit_event(Event::Voted { job, voter: who, output_hash });

		let support = dispute.votes.iter().filter(|(_, hash)| *hash == output_hash).count();
		if support * 2 > dispute.committee.len() {
			Self::resolve(job, dispute, output_hash);
		} else {
			Disputes::<T>::insert(job, dispute);
		}
		Ok(())
	}

	/// Ends a dispute that the committee decided for `majority_hash`.
	pub(crate) fn resolve(job: JobId, dispute: Dispute<T>, majority_hash: H256) {
		Disputes::<T>::remove(job);
		let Some(result) = Results::<T>::get(job) else {
			defensive!("a dispute's result stays until the dispute ends");
			return;
		};
		T::Executors::end_dispute(&result.executor);
		T::Executors::end_dispute(&dispute.challenger);
		let executor_was_right = majority_hash == result.output_hash;
		Self::deposit_event(Event::DisputeResolved { job, executor_was_right });
		if executor_was_right {
			// The challenger pays for the false alarm.
			Self::forfeit_challenge_bond(&dispute.challenger, &result.executor);
			Self::settle_attested(job);
		} else {
			Self::release_challenge_bond(&dispute.challenger);
			let stake = T::Jobs::job(job).map(|view| view.stake).unwrap_or_default();
			T::Executors::slash(
				&result.executor,
				stake,
				&dispute.challenger,
				T::SlashRewardShare::get(),
			);
			Results::<T>::remove(job);
			T::Jobs::rerun(job, &[result.executor]);
		}
	}

	/// A dispute reached no majority in time: bond back, job re-run.
	pub(crate) fn time_out_dispute(job: JobId) {
		let Some(dispute) = Disputes::<T>::take(job) else { return };
		Self::release_challenge_bond(&dispute.challenger);
		T::Executors::end_dispute(&dispute.challenger);
		if let Some(result) = Results::<T>::take(job) {
			T::Executors::end_dispute(&result.executor);
			T::Jobs::rerun(job, &[result.executor]);
		}
		Self::deposit_event(Event::DisputeTimedOut { job });
	}
}
