//! Paying for settled results: the executors' and the model owner's cuts of each run's fee.

use alloc::vec;
use alloc::vec::Vec;
use frame_support::{defensive, pallet_prelude::*};
use haca_primitives::{
	statement::{Attestation, Claim, Inclusion},
	traits::{ExecutorAccountability, JobLedger, ModelRegistry, SettledResult, SettlementTerms},
	JobId, ModelHash,
};
use sp_core::H256;
use sp_runtime::traits::{Saturating, Zero};

use crate::{statements::JobOf, *};

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

	/// Pays for the runs of `job` (`view`) by the executors that signed `signed` (each an
	/// executor, its claim, its signature of it in the job's current attempt, and where the
	/// claim sits in the group statement that made it, if one did), the job's
	/// fee each, and ends it with the settled `output_hash` and `outputs`; when a payout
	/// cannot be made, ends it with a full refund instead.
	pub(crate) fn pay(
		job: JobId,
		view: &JobOf<T>,
		signed: Vec<(T::AccountId, Claim, SessionSignature, Option<Inclusion>)>,
		output_hash: H256,
		outputs: Option<OutputBytes<T>>,
	) {
		let Some(terms) = T::Models::settlement_terms(&view.model) else {
			defensive!("a model's terms stay while jobs reference it");
			return;
		};
		let executors: Vec<_> = signed.iter().map(|(executor, ..)| executor.clone()).collect();
		let attestations = signed
			.into_iter()
			.map(|(executor, claim, SessionSignature { key, signature }, inclusion)| Attestation {
				executor,
				key,
				attempt: view.attempt,
				claim,
				signature,
				inclusion,
			})
			.collect();
		let result = SettledResult {
			output_hash,
			outputs: outputs.clone().map(BoundedVec::into_inner),
			attestations,
		};
		let payouts = Self::payouts(&terms, view.fee, &executors);
		let funds = match T::Jobs::settle(job, &payouts, result) {
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
			outputs,
			executors: BoundedVec::truncate_from(executors),
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
		let claim = Claim::Output(result.output_hash);
		let signed = vec![(result.executor, claim, result.signed, result.inclusion)];
		Self::pay(job, &view, signed, result.output_hash, result.outputs);
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
