//! # Executors pallet
//!
//! The registry of the nodes that do HACA's off-chain work. An account registers as an
//! executor (runs inference for assigned jobs) and/or a verifier (audits results, sits on
//! dispute committees) with:
//! - a bond, held from its balance with a `fungible` hold;
//! - a session public key (key type `infr`) that signs its results;
//! - for executors, the models it serves and its capacity (most jobs at once).
//!
//! Unbonding takes `UnbondingDelay` blocks, during which the account gets no new work; the
//! bond leaves only when the delay is over, no job is in progress and no dispute is open.
//! The jobs and settlement pallets use the registry through the traits in
//! `haca_primitives::traits` (eligibility, capacity, reputation, slashing).
//!
//! The logic is split by concern: `dispatch.rs` (the calls), `interfaces.rs` (the traits
//! other pallets use), `asset.rs` (the bonds: every movement of funds) and `try_state.rs`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

mod asset;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod dispatch;
mod interfaces;
#[cfg(test)]
mod mock;
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

/// The session key type is the executors': `author_rotateKeys` makes one, and nodes started
/// with a development seed (`--dev`, `--alice`) hold that seed's.
impl<T: Config> sp_runtime::BoundToRuntimeAppPublic for Pallet<T> {
	type Public = haca_primitives::InferenceKey;
}

/// Balance type of the pallet's currency.
pub type BalanceOf<T> = <<T as Config>::Currency as frame_support::traits::fungible::Inspect<
	<T as frame_system::Config>::AccountId,
>>::Balance;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Balanced, BalancedHold, Credit, Inspect, Mutate, MutateHold},
			OnUnbalanced,
		},
	};
	use frame_system::pallet_prelude::*;
	use haca_primitives::{traits::ModelRegistry, InferenceKey, InferenceKeyProof, ModelHash};

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Values of the config items that have defaults, for test runtimes: a mock derives them
	/// (`#[derive_impl(config_preludes::TestDefaultConfig)]`) and writes only what differs.
	pub mod config_preludes {
		use super::*;
		use frame_support::{derive_impl, traits::ConstU32};

		/// Small bounds, free weights.
		pub struct TestDefaultConfig;

		#[derive_impl(frame_system::config_preludes::TestDefaultConfig, no_aggregated_types)]
		impl frame_system::DefaultConfig for TestDefaultConfig {}

		#[frame_support::register_default_impl(TestDefaultConfig)]
		impl DefaultConfig for TestDefaultConfig {
			#[inject_runtime_type]
			type RuntimeHoldReason = ();
			type MaxModelsPerExecutor = ConstU32<4>;
			type MaxExecutorsPerModel = ConstU32<8>;
			type MaxVerifiers = ConstU32<8>;
			type MaxCapacity = ConstU32<8>;
			type InitialReputation = ConstU32<100>;
			type LatenessPenalty = ConstU32<10>;
			type JobStakePerFee = ConstU32<10>;
			type WeightInfo = ();
		}
	}

	#[pallet::config(with_default)]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency bonds are held in.
		#[pallet::no_default]
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ Balanced<Self::AccountId>
			+ BalancedHold<Self::AccountId>;

		/// Where the part of a slashed bond goes that is not paid to the wronged party (`()`
		/// burns it).
		#[pallet::no_default]
		type OnSlash: OnUnbalanced<Credit<Self::AccountId, Self::Currency>>;

		/// The runtime's hold reasons, which include this pallet's.
		#[pallet::no_default_bounds]
		type RuntimeHoldReason: From<HoldReason>;

		/// The model registry: executors may only serve active models.
		#[pallet::no_default]
		type Models: ModelRegistry<Self::AccountId, BalanceOf<Self>>;

		/// Smallest bond of an executor.
		#[pallet::constant]
		#[pallet::no_default]
		type MinExecutorBond: Get<BalanceOf<Self>>;

		/// Smallest bond of a verifier.
		#[pallet::constant]
		#[pallet::no_default]
		type MinVerifierBond: Get<BalanceOf<Self>>;

		/// Blocks between starting to unbond and being able to withdraw the bond.
		#[pallet::constant]
		#[pallet::no_default]
		type UnbondingDelay: Get<BlockNumberFor<Self>>;

		/// Most models one executor serves.
		#[pallet::constant]
		type MaxModelsPerExecutor: Get<u32>;

		/// Most executors serving one model.
		#[pallet::constant]
		type MaxExecutorsPerModel: Get<u32>;

		/// Most registered verifiers.
		#[pallet::constant]
		type MaxVerifiers: Get<u32>;

		/// Largest capacity (concurrent jobs) an executor may declare.
		#[pallet::constant]
		type MaxCapacity: Get<u32>;

		/// Reputation of a new executor; also its ceiling.
		#[pallet::constant]
		type InitialReputation: Get<u32>;

		/// Reputation lost per missed deadline.
		#[pallet::constant]
		type LatenessPenalty: Get<u32>;

		/// Least stake of an executor's bond that one job puts at risk (see
		/// `JobStakePerFee`), whatever its fee.
		#[pallet::constant]
		#[pallet::no_default]
		type MinJobStake: Get<BalanceOf<Self>>;

		/// A job puts `JobStakePerFee` times its per-run fee (at least `MinJobStake`) of each
		/// executor's bond at stake: what the executor is slashed if it lies on the job, so
		/// that lying costs more than it earns.
		#[pallet::constant]
		type JobStakePerFee: Get<u32>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Bond of an executor or verifier.
		#[codec(index = 0)]
		Bond,
	}

	/// Registered executors and verifiers.
	#[pallet::storage]
	pub type Executors<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, ExecutorInfo<T>>;

	/// Executors serving each model, in registration order (not unbonding).
	#[pallet::storage]
	pub type ModelServers<T: Config> = StorageMap<
		_,
		Identity,
		ModelHash,
		BoundedVec<T::AccountId, T::MaxExecutorsPerModel>,
		ValueQuery,
	>;

	/// The verifier set: at most `MaxVerifiers` verifiers, none unbonding or bonded below
	/// `MinVerifierBond`. When it is full, a newcomer takes the place of the member with the
	/// smallest bond if its own bond is larger.
	#[pallet::storage]
	pub type Verifiers<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxVerifiers>, ValueQuery>;

	/// The members of the verifier set that audit each model (those that declared it among
	/// their models), in the order they joined: committees on the model's jobs are drawn from
	/// them, and attested jobs on it need `MinAttestedVerifiers` of them.
	#[pallet::storage]
	pub type ModelVerifiers<T: Config> =
		StorageMap<_, Identity, ModelHash, BoundedVec<T::AccountId, T::MaxVerifiers>, ValueQuery>;

	/// The account each session key belongs to.
	#[pallet::storage]
	pub type KeyOwners<T: Config> = StorageMap<_, Blake2_128Concat, InferenceKey, T::AccountId>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// An account registered.
		Registered {
			/// The account.
			who: T::AccountId,
			/// Its roles.
			roles: Roles,
			/// Its session key.
			key: InferenceKey,
			/// Bond held.
			bond: BalanceOf<T>,
		},
		/// An executor changed the models it serves.
		ModelsChanged {
			/// The executor.
			who: T::AccountId,
			/// The models it now serves.
			models: ServedModels<T>,
		},
		/// An executor changed its capacity.
		CapacityChanged {
			/// The executor.
			who: T::AccountId,
			/// Its new capacity.
			capacity: u32,
		},
		/// An account changed its session key.
		KeyChanged {
			/// The account.
			who: T::AccountId,
			/// Its new session key.
			key: InferenceKey,
		},
		/// An account started unbonding; it gets no new work.
		UnbondingStarted {
			/// The account.
			who: T::AccountId,
			/// First block at which the bond may be withdrawn.
			until: BlockNumberFor<T>,
		},
		/// An account withdrew its bond and left the registry.
		Withdrawn {
			/// The account.
			who: T::AccountId,
			/// Bond released.
			bond: BalanceOf<T>,
		},
		/// An account added to its bond.
		BondIncreased {
			/// The account.
			who: T::AccountId,
			/// Amount added.
			amount: BalanceOf<T>,
			/// Its bond now.
			bond: BalanceOf<T>,
		},
		/// An account was slashed.
		Slashed {
			/// The offender.
			who: T::AccountId,
			/// Amount taken from its bond.
			amount: BalanceOf<T>,
			/// The part paid to those it wronged or who proved it wrong (the rest went to
			/// `OnSlash`).
			rewarded: BalanceOf<T>,
		},
		/// A verifier left the verifier set: a larger bond took its place, or its bond fell
		/// below `MinVerifierBond`. It stays registered and returns with `bond_extra`.
		LeftVerifierSet {
			/// The verifier.
			who: T::AccountId,
		},
		/// A registered verifier outside the set joined it after topping up its bond.
		JoinedVerifierSet {
			/// The verifier.
			who: T::AccountId,
		},
		/// An executor missed a deadline and lost reputation.
		ReputationLowered {
			/// The executor.
			who: T::AccountId,
			/// Its reputation now.
			reputation: u32,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account is already registered.
		AlreadyRegistered,
		/// The key's proof of possession is no signature by the key of the caller's owner
		/// statement: the caller may not hold the key (`author_rotateKeysWithOwner` makes a
		/// key with its proof on the node that will use it).
		BadKeyProof,
		/// The account is not registered.
		NotRegistered,
		/// Neither the executor nor the verifier role was asked for.
		NoRole,
		/// The bond is below the minimum for the roles asked for.
		BondTooLow,
		/// The session key belongs to another account.
		KeyInUse,
		/// Capacity must be between one and `MaxCapacity`.
		InvalidCapacity,
		/// Only executors serve models or have a capacity.
		NotAnExecutor,
		/// A served model is unknown or not active.
		ModelNotActive,
		/// A model is listed twice.
		DuplicateModel,
		/// A model already has `MaxExecutorsPerModel` executors.
		TooManyExecutors,
		/// The verifier set is full of bonds at least as large as this one.
		TooManyVerifiers,
		/// The account cannot pay the bond.
		InsufficientBalance,
		/// The account is already unbonding.
		AlreadyUnbonding,
		/// The account has not started unbonding.
		NotUnbonding,
		/// The unbonding delay is not over.
		UnbondingNotOver,
		/// Jobs assigned to the account are still in progress.
		JobsInProgress,
		/// The account is party to an open dispute.
		UnderDispute,
		/// Jobs the account was assigned have not settled: their stakes bind its bond.
		StakeBound,
	}

	/// An executor or verifier registered at genesis, as the runtime's types make it.
	pub type GenesisExecutorOf<T> =
		GenesisExecutor<<T as frame_system::Config>::AccountId, BalanceOf<T>>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The executors and verifiers registered at genesis (after the models).
		pub executors: alloc::vec::Vec<GenesisExecutorOf<T>>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for GenesisExecutor { account, roles, key, bond, capacity, models } in &self.executors {
				let models = models.clone().try_into().expect("genesis executor: too many models");
				Pallet::<T>::do_register(
					account.clone(),
					*roles,
					key.clone(),
					*bond,
					*capacity,
					models,
				)
				.expect("genesis executor registers");
			}
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}

		fn integrity_test() {
			assert!(T::MaxCapacity::get() > 0, "MaxCapacity must admit a job");
			assert!(T::InitialReputation::get() > 0, "new executors must be eligible");
			assert!(
				!T::MinExecutorBond::get().is_zero() && !T::MinVerifierBond::get().is_zero(),
				"every role puts a bond at stake"
			);
			assert!(!T::MinJobStake::get().is_zero(), "every job puts a stake at risk");
			assert!(
				T::MinJobStake::get() <= T::MinExecutorBond::get(),
				"an executor with the least bond can take a job"
			);
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Registers the caller as an executor and/or verifier and holds its bond.
		///
		/// - `origin`: signed; the account that registers and bonds.
		/// - `roles`: executor, verifier or both.
		/// - `key`: its session key (`infr`), which signs its statements and verdicts.
		/// - `key_proof`: the key's proof of possession for the caller (see
		///   [`Pallet::key_owner_statement`]), so that nobody registers a key it does not hold.
		/// - `bond`: at least the minimum bond of each role taken.
		/// - `capacity`: most jobs at once (executors; 0 for a verifier only).
		/// - `models`: the active models its node runs: an executor serves them, a verifier
		///   audits them (and sits only on committees over their jobs).
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register(models.len() as u32))]
		pub fn register(
			origin: OriginFor<T>,
			roles: Roles,
			key: InferenceKey,
			key_proof: InferenceKeyProof,
			bond: BalanceOf<T>,
			capacity: u32,
			models: ServedModels<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_key_proof(&who, &key, &key_proof)?;
			Self::do_register(who, roles, key, bond, capacity, models)
		}

		/// Replaces the models the caller serves (as an executor) and audits (as a verifier).
		/// A dropped model gets no new jobs or committees from it; the jobs of it it holds,
		/// and the disputes it sits on, are still owed.
		///
		/// - `origin`: signed; registered and not unbonding.
		/// - `models`: the active models its node runs from now on.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::set_models(
			T::MaxModelsPerExecutor::get(),
			models.len() as u32,
		))]
		pub fn set_models(origin: OriginFor<T>, models: ServedModels<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_set_models(who, models)
		}

		/// Changes how many jobs an executor takes at once.
		///
		/// - `origin`: signed; a registered executor that is not unbonding.
		/// - `capacity`: from 1 to `MaxCapacity`.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::set_capacity())]
		pub fn set_capacity(origin: OriginFor<T>, capacity: u32) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_set_capacity(who, capacity)
		}

		/// Replaces the caller's session key.
		///
		/// - `origin`: signed; a registered executor or verifier.
		/// - `key`: the new key, used by no other account.
		/// - `key_proof`: its proof of possession for the caller, as for `register`.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::set_key())]
		pub fn set_key(
			origin: OriginFor<T>,
			key: InferenceKey,
			key_proof: InferenceKeyProof,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_key_proof(&who, &key, &key_proof)?;
			Self::do_set_key(who, key)
		}

		/// Starts unbonding: the caller gets no new work and may withdraw its bond after
		/// `UnbondingDelay` blocks.
		///
		/// - `origin`: signed; a registered executor or verifier that is not unbonding.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::unbond(T::MaxModelsPerExecutor::get()))]
		pub fn unbond(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_unbond(who)
		}

		/// Releases the bond and leaves the registry, once the unbonding delay is over, no
		/// job is in progress or unsettled and no dispute is open.
		///
		/// - `origin`: signed; an unbonding executor or verifier.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::withdraw())]
		pub fn withdraw(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw(who)
		}

		/// Adds to the caller's bond: how an executor slashed below `MinExecutorBond` becomes
		/// eligible for jobs again.
		///
		/// - `origin`: signed; a registered executor or verifier that is not unbonding.
		/// - `amount`: the funds to hold in addition.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::bond_extra())]
		pub fn bond_extra(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_bond_extra(who, amount)
		}
	}
}
