//! # Jobs pallet
//!
//! Job registration: a client submits an inference job (a model, an input in the canonical
//! tensor encoding, a verification mode the model accepts, and the most it will pay). The
//! pallet checks the input against the model's input spec before holding any funds, holds
//! the fee and a storage deposit, and queues the job for a draw. In a later block the
//! pallet draws the job's executors among the model's eligible ones, each independently,
//! from randomness that became known only after the job's inclusion (`Randomness`; in the
//! runtime BABE's VRF output of the block after it): neither the client nor anyone
//! watching the chain can choose who runs a job, yet every node computes the same draw.
//!
//! A job waits in a bounded queue until drawn (the client may cancel it meanwhile), longer
//! while no executor is eligible; after `PendingTimeout` blocks of waiting it fails,
//! refunded. Each client has at most `MaxPendingPerClient` jobs waiting, and new
//! submissions fill at most half of the queue, keeping the rest for re-runs. An assigned job has a deadline; when it passes
//! without a result the late executors lose reputation and the job is drawn again, up to
//! `MaxAttempts` assignments, after which it fails and everything held is returned. With
//! `SpotCheckChance`, an assignment of a quorum job also draws a spot checker among the
//! model's verifiers, which owes a commitment like the executors (the settlement pallet
//! judges it).
//! Deadline and queue work in `on_initialize` is bounded per block.
//!
//! An attested batch is a group: its jobs are stored, drawn to one executor and timed as one
//! record, so that each costs a share of one record's storage writes; a member leaves the
//! group for a record of its own when something happens to it alone (`groups.rs`).
//!
//! The logic is split by concern: `submission.rs`, `assignment.rs`, `groups.rs`, `deadlines.rs`,
//! `ledger.rs` (the jobs as settlement sees and settles them), `asset.rs` (clients'
//! escrows: every movement of funds) and `try_state.rs`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

mod asset;
mod assignment;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod deadlines;
mod groups;
mod ledger;
#[cfg(test)]
mod mock;
mod outcomes;
mod submission;
#[cfg(feature = "std")]
pub mod testing;
#[cfg(test)]
mod tests;
#[cfg(any(feature = "try-runtime", feature = "std"))]
mod try_state;
mod types;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

/// Input length, in bytes, of the jobs of the `submit_batch` benchmark: a batch is charged
/// for what its longer inputs cost over it (by the `submit` benchmark's per-byte slope).
pub const BATCH_BENCHMARK_INPUT_LEN: u32 = 20;

/// The subject the executors' draws ask [`Config::Randomness`] about.
pub const DRAW_SUBJECT: &[u8] = b"haca/jobs/executors";

/// What spot-checker draws add to the seed of the executors' draw.
pub const SPOT_CHECK_SUBJECT: &[u8] = b"haca/jobs/spot-check";

/// Balance type of the pallet's currency.
pub type BalanceOf<T> = <<T as Config>::Currency as frame_support::traits::fungible::Inspect<
	<T as frame_system::Config>::AccountId,
>>::Balance;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame_support::{
		pallet_prelude::*,
		traits::fungible::{Inspect, Mutate, MutateHold},
		weights::WeightMeter,
	};
	use frame_system::pallet_prelude::*;
	use haca_primitives::{
		traits::{
			ExecutorAccountability, ExecutorDirectory, ExecutorRegistry, ModelRegistry,
			OnPartialDelivery,
		},
		JobId, ModelHash, VerificationMode,
	};
	use sp_runtime::Perbill;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Values of the config items that have defaults, for test runtimes: a mock derives them
	/// (`#[derive_impl(config_preludes::TestDefaultConfig)]`) and writes only what differs.
	pub mod config_preludes {
		use super::*;
		use frame_support::{derive_impl, traits::ConstU32};

		frame_support::parameter_types! {
			/// No limit.
			pub const UnlimitedWeight: Weight = Weight::MAX;
			/// A tenth of the job's stake.
			pub const LatenessSlash: sp_runtime::Perbill = sp_runtime::Perbill::from_percent(10);
			/// Never.
			pub const NoSpotChecks: sp_runtime::Perbill = sp_runtime::Perbill::zero();
		}

		/// Small bounds, no partial-delivery handler, free weights, hooks without a limit.
		pub struct TestDefaultConfig;

		#[derive_impl(frame_system::config_preludes::TestDefaultConfig, no_aggregated_types)]
		impl frame_system::DefaultConfig for TestDefaultConfig {}

		#[frame_support::register_default_impl(TestDefaultConfig)]
		impl DefaultConfig for TestDefaultConfig {
			#[inject_runtime_type]
			type RuntimeHoldReason = ();
			type OnPartialDelivery = ();
			type MaxInputLen = ConstU32<1024>;
			type MaxOutputLen = ConstU32<256>;
			type MaxOutcomes = ConstU32<4>;
			type MaxGroupOutcomes = ConstU32<2>;
			type MaxJobsPerSubmit = ConstU32<4>;
			type MaxQuorum = ConstU32<3>;
			type MaxAttempts = ConstU32<3>;
			type MinAttestedVerifiers = ConstU32<0>;
			type MaxPendingJobs = ConstU32<8>;
			type MaxPendingPerClient = ConstU32<4>;
			type MaxHookWeight = UnlimitedWeight;
			type LatenessSlash = LatenessSlash;
			type SpotCheckChance = NoSpotChecks;
			type WeightInfo = ();
		}
	}

	#[pallet::config(with_default)]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency fees and deposits are held in.
		#[pallet::no_default]
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reasons, which include this pallet's.
		#[pallet::no_default_bounds]
		type RuntimeHoldReason: From<HoldReason>;

		/// The model registry.
		#[pallet::no_default]
		type Models: ModelRegistry<Self::AccountId, BalanceOf<Self>>;

		/// The executor registry.
		#[pallet::no_default]
		type Executors: ExecutorRegistry<Self::AccountId, BalanceOf<Self>>
			+ ExecutorDirectory<Self::AccountId>
			+ ExecutorAccountability<Self::AccountId, BalanceOf<Self>>;

		/// Where executors' draws take their randomness from, with the block since which it
		/// is known; a job is drawn only from randomness known since a block after the one
		/// it started waiting in. `None` (no randomness yet) draws nothing.
		#[pallet::no_default]
		type Randomness: frame_support::traits::Randomness<Option<Self::Hash>, BlockNumberFor<Self>>;

		/// Makes fresh randomness known in benchmarks, which run without a block author.
		#[cfg(feature = "runtime-benchmarks")]
		#[pallet::no_default]
		type BenchmarkRandomness: haca_primitives::traits::RevealRandomness;

		/// Decides what happens to a job whose deadline passes with part of its executors
		/// delivered (the settlement pallet: a quorum may go on with the deliverers).
		type OnPartialDelivery: OnPartialDelivery<Self::AccountId>;

		/// Longest job input (encoded tensor list), in bytes.
		#[pallet::constant]
		type MaxInputLen: Get<u32>;

		/// Longest settled outputs (encoded tensor list) an outcome keeps, in bytes: the
		/// longest a statement carries.
		#[pallet::constant]
		type MaxOutputLen: Get<u32>;

		/// How many of the most recently ended jobs keep their outcome in [`Outcomes`]
		/// (older ones are in the events only).
		#[pallet::constant]
		type MaxOutcomes: Get<u32>;

		/// How many of the groups whose results most recently settled together keep their
		/// outcome in [`GroupOutcomes`] (older ones are in the events only).
		#[pallet::constant]
		type MaxGroupOutcomes: Get<u32>;

		/// Most jobs one `submit_batch` call submits (within `MaxPendingPerClient` and half
		/// of `MaxPendingJobs`: every job waits in the queue for its draw).
		#[pallet::constant]
		type MaxJobsPerSubmit: Get<u32>;

		/// Most executors one job is assigned to (the largest quorum).
		#[pallet::constant]
		type MaxQuorum: Get<u32>;

		/// Blocks an assignment has to deliver a result.
		#[pallet::constant]
		#[pallet::no_default]
		type ResultTimeout: Get<BlockNumberFor<Self>>;

		/// Assignments a job gets before it fails.
		#[pallet::constant]
		type MaxAttempts: Get<u32>;

		/// Least registered verifiers for attested jobs: a challenger and a committee besides
		/// the executor. With fewer, nobody could challenge a lie, so attested jobs are
		/// refused (`TooFewVerifiers`) and quorum jobs remain.
		#[pallet::constant]
		type MinAttestedVerifiers: Get<u32>;

		/// Most jobs waiting for executors. New submissions may fill half of the queue; the
		/// other half is kept for re-runs, so that a queue full of new jobs never fails a
		/// job that already ran.
		#[pallet::constant]
		type MaxPendingJobs: Get<u32>;

		/// Most jobs of one client waiting for executors at once (new submissions beyond it
		/// get `QueueFull`).
		#[pallet::constant]
		type MaxPendingPerClient: Get<u32>;

		/// Blocks a job waits for executors before it fails, refunded in full.
		#[pallet::constant]
		#[pallet::no_default]
		type PendingTimeout: Get<BlockNumberFor<Self>>;

		/// Most weight `on_initialize` spends on passed deadlines and then on draws of
		/// waiting jobs, each charged its benchmarked worst case; what does not fit waits
		/// for the next blocks, oldest first.
		#[pallet::constant]
		type MaxHookWeight: Get<Weight>;

		/// Share of a job's stake each executor that misses the job's deadline loses, to the
		/// client, who waited for nothing: lateness costs bond, not only reputation.
		#[pallet::constant]
		type LatenessSlash: Get<Perbill>;

		/// Chance that an assignment of a quorum job also draws a spot checker: a verifier of
		/// the model (neither the client nor an executor) that must run the job and commit to
		/// its output like the executors, so that a verifier that does not run the models it
		/// audits is caught (the settlement pallet slashes a spot checker whose reveal is
		/// missing or outside the agreement).
		#[pallet::constant]
		type SpotCheckChance: Get<Perbill>;

		/// Storage deposit of any job.
		#[pallet::constant]
		#[pallet::no_default]
		type JobDeposit: Get<BalanceOf<Self>>;

		/// Storage deposit per input byte.
		#[pallet::constant]
		#[pallet::no_default]
		type InputByteDeposit: Get<BalanceOf<Self>>;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A job's maximum fee and storage deposit, held until the job ends.
		#[codec(index = 0)]
		JobEscrow,
	}

	/// Jobs that have not ended.
	#[pallet::storage]
	pub type Jobs<T: Config> = StorageMap<_, Twox64Concat, JobId, Job<T>>;

	/// The input of each job (a group's members' too): the canonical encoding of its input
	/// tensors.
	#[pallet::storage]
	pub type JobInputs<T: Config> =
		StorageMap<_, Twox64Concat, JobId, BoundedVec<u8, T::MaxInputLen>>;

	/// How the most recently ended jobs ended (at most `MaxOutcomes`; each new outcome
	/// replaces the oldest).
	#[pallet::storage]
	pub type Outcomes<T: Config> = StorageMap<_, Twox64Concat, JobId, JobOutcomeOf<T>>;

	/// The jobs of [`Outcomes`], by their place in its ring: place -> job.
	#[pallet::storage]
	pub type OutcomeRing<T: Config> = StorageMap<_, Twox64Concat, u32, JobId>;

	/// Outcomes recorded so far; the next one takes place `OutcomesRecorded % MaxOutcomes`.
	#[pallet::storage]
	pub type OutcomesRecorded<T: Config> = StorageValue<_, u64, ValueQuery>;

	/// How the members of the most recently settled groups ended, when their results settled
	/// together from one group statement (at most `MaxGroupOutcomes` groups; each new one
	/// replaces the oldest). A member that ended alone has its outcome in [`Outcomes`].
	#[pallet::storage]
	pub type GroupOutcomes<T: Config> = StorageMap<_, Twox64Concat, GroupId, GroupOutcome<T>>;

	/// The groups of [`GroupOutcomes`], by their place in its ring: place -> group.
	#[pallet::storage]
	pub type GroupOutcomeRing<T: Config> = StorageMap<_, Twox64Concat, u32, GroupId>;

	/// Group outcomes recorded so far; the next one takes place
	/// `GroupOutcomesRecorded % MaxGroupOutcomes`.
	#[pallet::storage]
	pub type GroupOutcomesRecorded<T: Config> = StorageValue<_, u64, ValueQuery>;

	/// The id the next job gets.
	#[pallet::storage]
	pub type NextJobId<T: Config> = StorageValue<_, JobId, ValueQuery>;

	/// Groups of jobs that have not ended (see [`Group`]).
	#[pallet::storage]
	pub type Groups<T: Config> = StorageMap<_, Twox64Concat, GroupId, Group<T>>;

	/// Jobs and groups waiting for eligible executors, oldest first.
	#[pallet::storage]
	pub type PendingJobs<T: Config> =
		StorageValue<_, BoundedVec<Work, T::MaxPendingJobs>, ValueQuery>;

	/// How many jobs of each client wait in [`PendingJobs`].
	#[pallet::storage]
	pub type PendingPerClient<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

	/// Deadlines in the order they fall: position -> (job or group, deadline). Entries of
	/// jobs and groups that delivered or were re-assigned since are skipped when reached.
	#[pallet::storage]
	pub type DeadlineQueue<T: Config> = StorageMap<_, Twox64Concat, u64, (Work, BlockNumberFor<T>)>;

	/// The jobs each executor is assigned to and has not delivered: what its node owes,
	/// found without walking every job.
	#[pallet::storage]
	pub type Undelivered<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, JobId, ()>;

	/// The groups each executor is assigned to and has not delivered (every present member
	/// of them is owed).
	#[pallet::storage]
	pub type UndeliveredGroups<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, GroupId, ()>;

	/// Positions of the first and one-past-the-last entries of [`DeadlineQueue`].
	#[pallet::storage]
	pub type DeadlineQueueBounds<T: Config> = StorageValue<_, (u64, u64), ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A job was submitted.
		Submitted {
			/// The job.
			job: JobId,
			/// Who pays for it.
			client: T::AccountId,
			/// The model it runs.
			model: ModelHash,
			/// How its result is verified.
			mode: VerificationMode,
			/// Most the client pays.
			max_fee: BalanceOf<T>,
		},
		/// A job was assigned to executors.
		Assigned {
			/// The job.
			job: JobId,
			/// The executors.
			executors: BoundedVec<T::AccountId, T::MaxQuorum>,
			/// Last block at which a result is accepted.
			deadline: BlockNumberFor<T>,
			/// Which assignment this is (1 for the first).
			attempt: u32,
		},
		/// A verifier was drawn to spot-check a job's assignment.
		SpotCheckDrawn {
			/// The job.
			job: JobId,
			/// The verifier, which owes a commitment by the assignment's deadline.
			checker: T::AccountId,
		},
		/// The executors of a job missed its deadline.
		DeadlineMissed {
			/// The job.
			job: JobId,
			/// The late executors.
			executors: BoundedVec<T::AccountId, T::MaxQuorum>,
		},
		/// Every executor of a job delivered (and its spot checker answered); it awaits
		/// settlement.
		Delivered {
			/// The job.
			job: JobId,
		},
		/// A job failed (after `MaxAttempts` assignments, or after waiting `PendingTimeout`
		/// blocks for executors); everything held was returned.
		Failed {
			/// The job.
			job: JobId,
			/// Amount returned to the client.
			refunded: BalanceOf<T>,
		},
		/// No executor could take a waiting group whole: its members wait as jobs of their
		/// own (same ids).
		GroupDissolved {
			/// The group's first job id.
			first: JobId,
		},
		/// The client cancelled a waiting job; everything held was returned.
		Cancelled {
			/// The job.
			job: JobId,
			/// Amount returned to the client.
			refunded: BalanceOf<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No model has this hash.
		UnknownModel,
		/// The model is uploading, retired or broken.
		ModelNotActive,
		/// The model does not accept this verification mode.
		ModeNotAccepted,
		/// A quorum needs `2 <= of <= MaxQuorum` executors and a majority of them to agree
		/// (`agree <= of`, `2 * agree > of`).
		InvalidQuorum,
		/// The input is not a canonically encoded tensor list.
		MalformedInput,
		/// The input has a different number of tensors than the model.
		WrongInputCount,
		/// An input tensor's element type differs from the model's.
		WrongInputType,
		/// An input tensor's shape differs from the model's.
		WrongInputShape,
		/// An input tensor's byte length does not match its shape and element type.
		WrongInputLength,
		/// The maximum fee is below the model's fee times the executors needed.
		FeeTooLow,
		/// The client cannot pay the maximum fee and the deposit.
		InsufficientBalance,
		/// Too many jobs are waiting for executors, the client's own at `MaxPendingPerClient`
		/// or new ones at half of `MaxPendingJobs`; try later.
		QueueFull,
		/// Attested jobs need `MinAttestedVerifiers` registered verifiers, so that a lie can
		/// be challenged; submit a quorum job instead.
		TooFewVerifiers,
		/// No job has this id.
		UnknownJob,
		/// Only the job's client may do this.
		NotClient,
		/// Only jobs still waiting for their draw or for executors can be cancelled.
		NotCancellable,
		/// A batch needs at least one input.
		EmptyBatch,
		/// A settlement's payouts add up to more than the job's maximum fee.
		PayoutsExceedFee,
		/// A `Bool` input element is neither 0 (false) nor 1 (true).
		InvalidBoolean,
		/// A `String` input's data is not as many canonical length-prefixed UTF-8 strings of
		/// at most 255 bytes as its shape has elements.
		InvalidString,
		/// The input is longer than `MaxInputLen` bytes.
		InputTooLong,
		/// A batch has more than `MaxJobsPerSubmit` inputs.
		TooManyInputs,
		/// The results settled are not one per present member of the group, in order, or
		/// one pays more than the group's maximum fee.
		NotGroupMembers,
		/// The group's results have not all been delivered.
		NotDelivered,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let mut meter = WeightMeter::with_limit(T::MaxHookWeight::get());
			meter.consume(Self::hook_base_weight());
			Self::process_deadlines(now, &mut meter);
			Self::assign_pending(now, &mut meter);
			meter.consumed()
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}

		fn integrity_test() {
			assert!(
				(1..=u32::from(u8::MAX)).contains(&T::MaxQuorum::get()),
				"MaxQuorum must admit one executor and fit a quorum's `of: u8`"
			);
			assert!(T::MaxAttempts::get() > 0, "MaxAttempts must admit a first assignment");
			assert!(T::MaxJobsPerSubmit::get() > 0, "MaxJobsPerSubmit must admit an input");
			assert!(
				u64::from(T::MaxJobsPerSubmit::get()) <= GROUP_SPAN,
				"a batch's group must fit the ids a group spans"
			);
			assert!(
				T::MaxJobsPerSubmit::get()
					<= T::MaxPendingPerClient::get().min(T::MaxPendingJobs::get() / 2),
				"a full batch must fit a client's and the new submissions' share of the queue"
			);
			assert!(
				T::MaxHookWeight::get().all_gte(
					Self::hook_base_weight()
						.saturating_add(Self::expiry_weight())
						.saturating_add(Self::draw_weight(&Work::Job(0)))
						.saturating_add(Self::draw_weight(&Work::Group(0)))
				),
				"MaxHookWeight must let a missed deadline and a draw through"
			);
			assert!(!T::ResultTimeout::get().is_zero(), "ResultTimeout must last a block");
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Submits a job and holds its maximum fee and storage deposit until it ends; its
		/// executors are drawn in a later block (see the pallet's documentation).
		///
		/// - `origin`: signed; the client, who pays.
		/// - `model`: an active model.
		/// - `input`: the input tensors in the canonical encoding, matching the model's specs,
		///   at most `MaxInputLen` bytes (`InputTooLong`).
		/// - `mode`: how the result is verified; one the model accepts.
		/// - `max_fee`: the most the client pays, at least the model's fee per executor.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::submit(input.len() as u32))]
		pub fn submit(
			origin: OriginFor<T>,
			model: ModelHash,
			input: Vec<u8>,
			mode: VerificationMode,
			max_fee: BalanceOf<T>,
		) -> DispatchResult {
			let client = ensure_signed(origin)?;
			let input = Self::bounded_input(input)?;
			Self::do_submit(client, model, input, mode, max_fee).map(|_| ())
		}

		/// Cancels a job that is still waiting for executors and returns everything held.
		///
		/// - `origin`: signed; the job's client.
		/// - `job`: the waiting job.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::cancel())]
		pub fn cancel(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			let client = ensure_signed(origin)?;
			Self::do_cancel(client, job)
		}

		/// Submits one job per input, as [`Pallet::submit`] would one by one, with
		/// consecutive ids. One bad input fails the whole batch: nothing is held or created.
		/// The transaction and the hold are paid for once. An attested batch of two or more
		/// jobs is a group ([`Group`]): one record, drawn to one executor with room for all
		/// of them, its ids starting a new span of `GROUP_SPAN`.
		///
		/// - `origin`: signed; the client, who pays.
		/// - `model`: an active model.
		/// - `inputs`: up to `MaxJobsPerSubmit` inputs (`TooManyInputs`), each as `submit`
		///   takes it.
		/// - `mode`: how each result is verified; one the model accepts.
		/// - `max_fee`: the most the client pays per job.
		#[pallet::call_index(2)]
		#[pallet::weight(Pallet::<T>::submit_batch_weight(
			*mode,
			inputs.iter().map(|input| input.len() as u32),
		))]
		pub fn submit_batch(
			origin: OriginFor<T>,
			model: ModelHash,
			inputs: Vec<Vec<u8>>,
			mode: VerificationMode,
			max_fee: BalanceOf<T>,
		) -> DispatchResult {
			let client = ensure_signed(origin)?;
			ensure!(inputs.len() <= T::MaxJobsPerSubmit::get() as usize, Error::<T>::TooManyInputs);
			let inputs =
				inputs.into_iter().map(Self::bounded_input).collect::<Result<Vec<_>, _>>()?;
			Self::do_submit_batch(client, model, inputs, mode, max_fee).map(|_| ())
		}
	}
}
