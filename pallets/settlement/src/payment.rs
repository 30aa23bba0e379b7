//! Paying for settled results: the executors' and the model owner's cuts of each run's fee.

use alloc::vec::Vec;
use frame_support::{defensive, pallet_prelude::*};
use haca_primitives::{
	traits::{ExecutorAccountability, JobLedger, ModelRegistry, SettlementTerms},
	JobId, ModelHash,
};
use sp_core::H256;
use sp_runtime::traits::{Saturating, Zero};

use crate::*;

impl<T: Config> Pallet<T> {
	/// The payouts for runs by `executors` paying `fee` each on a model with `terms`: each
	/// run pays its executor the fee less the owner's share; the owner gets its shares in
	/// one payout.
	pub(crate) fn payouts(
		terms: &SettlementTerms<T::AccountId, BalanceOf<T>>,
		fee: BalanceOf<T>,
		executors: &[T::AccountId],
	) -> Vec<(T::AccountId, BalanceOf<T>)> {
		let owner_cut = T::OwnerShare::get() * fee;
		let executor_cut = fee.saturating_sub(owner_cut);
		let mut payouts: Vec<_> = executors.iter().map(|who| (who.clone(), executor_cut)).collect();
		payouts
			.push((terms.owner.clone(), owner_cut.saturating_mul((executors.len() as u32).into())));
		payouts.retain(|(_, amount)| !amount.is_zero());
		payouts
	}

	/// Pays for `executors`' runs of `job`, `fee` each, and ends it; when a payout cannot be
	/// made, ends it with a full refund instead.
	pub(crate) fn pay(
		job: JobId,
		model: &haca_primitives::ModelHash,
		fee: BalanceOf<T>,
		executors: &[T::AccountId],
		output_hash: H256,
	) {
		let Some(terms) = T::Models::settlement_terms(model) else {
			defensive!("a model's terms stay while jobs reference it");
			return;
		};
		let funds = match T::Jobs::settle(job, &Self::payouts(&terms, fee, executors)) {
			Ok(funds) => funds,
			Err(_) => {
				// A payee cannot receive its payout (below the existential deposit of an
				// account that does not exist): the client gets everything back
				// (`jobs.Failed`).
				T::Jobs::fail(job);
				return;
			}
		};
		executors.iter().for_each(T::Executors::note_settled);
		Self::deposit_event(Event::Settled {
			job,
			output_hash,
			executors: BoundedVec::truncate_from(executors.to_vec()),
			paid: funds.paid,
			refunded: funds.refunded,
		});
	}

	/// Settles an attested result whose challenge window closed (or whose challenge failed).
	pub(crate) fn settle_attested(job: JobId) {
		let Some(view) = T::Jobs::job(job) else {
			defensive!("an attested result belongs to an open job");
			return;
		};
		let Some(result) = Self::take_result(job, &view.model) else {
			defensive!("settled results are provisional or disputed ones");
			return;
		};
		Self::pay(job, &view.model, view.fee, &[result.executor], result.output_hash);
	}

	/// Removes the attested result of `job`, of `model`, with its publication, and returns
	/// it.
	pub(crate) fn take_result(job: JobId, model: &ModelHash) -> Option<AttestedResult<T>> {
		ModelResults::<T>::remove(model, job);
		let result = Results::<T>::take(job)?;
		if result.published || matches!(result.status, ResultStatus::Publishing { .. }) {
			Self::remove_publication(job, &result.executor);
		}
		Some(result)
	}
}
