//! Outputs too large for a statement, published on chain page by page when a verifier
//! asks: float outputs hash differently on different hardware, so such a result is
//! challenged, and judged, only against outputs everyone can compare within the model's
//! tolerance.
//!
//! A verifier whose run hashes differently asks for the outputs (`request_outputs`, or a
//! `RequestOutputs` verdict). The executor then owes every page (`OwedPages`): page `i`
//! holds bytes `i * MaxOutputLen ..` of the canonical encoding, each statement carrying one
//! page and claiming its hash. The last page to arrive checks the whole against the
//! result's output hash and opens a new challenge window. An executor that does not
//! publish within `PublishWindow` blocks, or whose pages do not hash to its result, loses
//! its job stake (`SlashRewardShare` to the client) and the job is re-run.

use alloc::vec::Vec;
use frame_support::{defensive, ensure, pallet_prelude::*};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	tensor::encoded_len,
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
	/// Verifier `who` asks for the outputs of `job`'s provisional result, too large for its
	/// statement, within the result's challenge window.
	pub(crate) fn do_request_outputs(who: T::AccountId, job: JobId) -> DispatchResult {
		ensure!(T::Executors::verifiers().contains(&who), Error::<T>::NotVerifier);
		Self::leave_group(job);
		let mut result = Results::<T>::get(job).ok_or(Error::<T>::NotChallengeable)?;
		ensure!(!result.outputs_on_chain(), Error::<T>::OutputsOnChain);
		let now = frame_system::Pallet::<T>::block_number();
		let in_window = matches!(
			result.status,
			ResultStatus::Provisional { challenge_until } if now <= challenge_until
		);
		ensure!(in_window, Error::<T>::NotChallengeable);
		let publish_until = now.saturating_add(T::PublishWindow::get());
		Self::schedule(publish_until.saturating_add(One::one()), job, Timer::Publication);
		OwedPages::<T>::insert(&result.executor, job, ());
		result.status = ResultStatus::Publishing { publish_until, received: 0 };
		Results::<T>::insert(job, result);
		Self::deposit_event(Event::OutputsRequested { job, verifier: who, until: publish_until });
		Ok(())
	}

	/// The pages outputs of `len` bytes are published in.
	pub(crate) fn page_count(len: usize) -> u32 {
		len.div_ceil(T::MaxOutputLen::get() as usize) as u32
	}

	/// Checks `executor`'s `page` of `job`'s outputs: asked for and not in yet, in time, of
	/// the page's length, hashing to `hash`.
	pub(crate) fn check_page(
		job: JobId,
		executor: &T::AccountId,
		page: u32,
		hash: H256,
		bytes: Option<&OutputBytes<T>>,
		outputs: &[haca_primitives::tensor::TensorSpec],
	) -> Result<(), Error<T>> {
		let result = Results::<T>::get(job).ok_or(Error::<T>::NotRequested)?;
		ensure!(&result.executor == executor, Error::<T>::NotAssigned);
		let ResultStatus::Publishing { publish_until, received } = result.status else {
			return Err(Error::<T>::NotRequested);
		};
		ensure!(
			frame_system::Pallet::<T>::block_number() <= publish_until,
			Error::<T>::DeadlinePassed
		);
		let len = encoded_len(outputs).ok_or(Error::<T>::WrongPage)?;
		let pages = Self::page_count(len);
		ensure!(page < pages.min(T::MaxOutputPages::get()), Error::<T>::WrongPage);
		ensure!(received & (1 << page) == 0, Error::<T>::Duplicate);
		let page_len = T::MaxOutputLen::get() as usize;
		let expected = if page + 1 == pages { len - page as usize * page_len } else { page_len };
		let bytes = bytes.ok_or(Error::<T>::WrongPage)?;
		ensure!(
			bytes.len() == expected && sp_io::hashing::blake2_256(bytes) == hash.0,
			Error::<T>::WrongPage
		);
		Ok(())
	}

	/// Stores a checked `page` of `job`'s outputs. The last page to arrive checks them
	/// against the result's output hash: a match opens a new challenge window, anything
	/// else counts as outputs withheld.
	pub(crate) fn store_page(job: JobId, page: u32, bytes: OutputBytes<T>, pages: u32) {
		let Some(mut result) = Results::<T>::get(job) else {
			defensive!("a checked page belongs to a result");
			return;
		};
		let ResultStatus::Publishing { publish_until, received } = result.status else {
			defensive!("a checked page belongs to a publication");
			return;
		};
		OutputPages::<T>::insert(job, page, bytes);
		let received = received | (1 << page);
		if received.count_ones() < pages {
			result.status = ResultStatus::Publishing { publish_until, received };
			Results::<T>::insert(job, result);
			return;
		}
		if Self::published_outputs(job).map(|bytes| sp_io::hashing::blake2_256(&bytes))
			!= Some(result.output_hash.0)
		{
			return Self::outputs_withheld(job, result);
		}
		let now = frame_system::Pallet::<T>::block_number();
		let challenge_until = now.saturating_add(T::ChallengeWindow::get());
		Self::schedule(challenge_until.saturating_add(One::one()), job, Timer::PublishedWindow);
		OwedPages::<T>::remove(&result.executor, job);
		result.published = true;
		result.status = ResultStatus::Provisional { challenge_until };
		Results::<T>::insert(job, result);
		Self::deposit_event(Event::OutputsPublished { job, challenge_until });
	}

	/// The published outputs of `job`'s result, its pages joined, if any were published.
	pub fn published_outputs(job: JobId) -> Option<Vec<u8>> {
		let mut pages: Vec<(u32, OutputBytes<T>)> = OutputPages::<T>::iter_prefix(job).collect();
		if pages.is_empty() {
			return None;
		}
		pages.sort_by_key(|(page, _)| *page);
		Some(pages.into_iter().flat_map(|(_, bytes)| bytes.into_inner()).collect())
	}

	/// The time to publish `job`'s outputs ran out by block `now`: unless they all arrived,
	/// the executor withheld them.
	pub(crate) fn end_publication(job: JobId, now: BlockNumberFor<T>) {
		let Some(result) = Results::<T>::get(job) else { return };
		if matches!(result.status, ResultStatus::Publishing { publish_until, .. } if publish_until < now)
		{
			Self::outputs_withheld(job, result);
		}
	}

	/// `result`'s executor withheld its outputs: it loses its job stake (`SlashRewardShare`
	/// to the client, who waited), the result goes and the job is re-run without it.
	fn outputs_withheld(job: JobId, result: AttestedResult<T>) {
		let Some(view) = T::Jobs::job(job) else {
			defensive!("an attested result belongs to an open job");
			return;
		};
		let rewards: [(&T::AccountId, Perbill); 1] = [(&view.client, T::SlashRewardShare::get())];
		let slashed = T::Executors::slash(&result.executor, view.stake, &rewards);
		Self::take_result(job, &view.model);
		T::Jobs::rerun(job, core::slice::from_ref(&result.executor));
		Self::deposit_event(Event::OutputsWithheld { job, executor: result.executor, slashed });
	}

	/// Removes what `job`'s result of `executor` left of a publication: its pages, and the
	/// executor's debt of the rest.
	pub(crate) fn remove_publication(job: JobId, executor: &T::AccountId) {
		OwedPages::<T>::remove(executor, job);
		let _ = OutputPages::<T>::clear_prefix(job, T::MaxOutputPages::get(), None);
	}

	/// The most weight removing a result's publication adds to whatever removes the result.
	pub(crate) fn pages_removal_weight() -> Weight {
		T::DbWeight::get().writes(u64::from(T::MaxOutputPages::get()) + 1)
	}

	/// The most a page of outputs weighs: a page that completes the largest publication
	/// when `completes`, else as much as one that completes the smallest (outputs of two
	/// pages: one page fits in the statement).
	pub(crate) fn page_weight(completes: bool) -> Weight {
		T::WeightInfo::output_page(if completes { T::MaxOutputPages::get() } else { 2 })
	}
}
