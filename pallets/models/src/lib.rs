//! # Models pallet
//!
//! The registry of ONNX models that HACA runs. A model is identified by its content hash
//! (blake2-256 of its bytes) and carries its input and output tensor specs, the
//! verification modes it accepts, its fee per inference and, for float outputs, the
//! tolerance that result comparisons use.
//!
//! Small models live on chain: the owner registers the model, then uploads its bytes in
//! bounded chunks, in order; the last chunk completes the upload, which activates the model
//! only if the bytes hash to the registered hash and the model runs reproducibly (no random
//! operator without a seed: [`haca_primitives::onnx`]). Larger models live off chain: nodes
//! fetch them from their peers or from their registered locators (up to `MaxLocators`
//! `http://` or `https://` URIs) and check their size and hash, and that rule, before they
//! load them.
//!
//! Registration holds a deposit (`BaseDeposit` + `ByteDeposit` per byte stored on chain: the
//! model's bytes on chain, its locators' off chain).
//! Retiring a model stops new jobs at once; the model is purged and its deposit released as
//! soon as no job references it.
//!
//! A hash belongs to its first registration, which binds nobody: its terms are fixed when it
//! is registered, executors and verifiers choose the models they run, and clients see the
//! owner and terms before paying. An on-chain registration holds its hash only while its
//! upload may still finish: after `UploadPeriod` blocks anyone may register the hash in
//! its place (the lapsed registration is purged, its deposit returned).
//!
//! The logic is split by concern: `dispatch.rs` (the calls), `interfaces.rs` (the registry
//! as other pallets use it), `asset.rs` (deposits: every movement of funds) and
//! `try_state.rs`.

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
#[cfg(test)]
mod tests;
#[cfg(any(feature = "try-runtime", feature = "std"))]
mod try_state;
mod types;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

/// Balance type of the pallet's currency.
pub type BalanceOf<T> = <<T as Config>::Currency as frame_support::traits::fungible::Inspect<
	<T as frame_system::Config>::AccountId,
>>::Balance;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::fungible::{Inspect, Mutate, MutateHold},
	};
	use frame_system::pallet_prelude::*;
	use haca_primitives::ModelHash;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Values of the config items that have defaults, for test runtimes: a mock derives them
	/// (`#[derive_impl(config_preludes::TestDefaultConfig)]`) and writes only what differs.
	pub mod config_preludes {
		use super::*;
		use frame_support::{
			derive_impl,
			traits::{ConstU32, ConstU64},
		};

		/// Small bounds, free weights.
		pub struct TestDefaultConfig;

		#[derive_impl(frame_system::config_preludes::TestDefaultConfig, no_aggregated_types)]
		impl frame_system::DefaultConfig for TestDefaultConfig {}

		#[frame_support::register_default_impl(TestDefaultConfig)]
		impl DefaultConfig for TestDefaultConfig {
			#[inject_runtime_type]
			type RuntimeHoldReason = ();
			type MaxModelBytes = ConstU32<1024>;
			type ChunkSize = ConstU32<256>;
			type MaxLocatorLen = ConstU32<64>;
			type MaxLocators = ConstU32<4>;
			type MaxToleranceUlps = ConstU32<65_536>;
			type MaxOutputBytes = ConstU32<{ 16 * 1024 }>;
			type MaxInlineOutputBytes = ConstU32<1024>;
			type UploadPeriod = ConstU32<10>;
			type MaxGraphNodes = ConstU32<64>;
			type MaxStepWork = ConstU64<1_000_000>;
			type MaxStepBytes = ConstU32<4096>;
			type MaxCircuitBytes = ConstU32<{ 64 * 1024 }>;
			type WeightInfo = ();
		}
	}

	#[pallet::config(with_default)]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency deposits are held in.
		#[pallet::no_default]
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reasons, which include this pallet's.
		#[pallet::no_default_bounds]
		type RuntimeHoldReason: From<HoldReason>;

		/// Origin that may mark models broken.
		#[pallet::no_default]
		type AdminOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Deposit for registering any model.
		#[pallet::constant]
		#[pallet::no_default]
		type BaseDeposit: Get<BalanceOf<Self>>;

		/// Deposit per byte of model stored on chain.
		#[pallet::constant]
		#[pallet::no_default]
		type ByteDeposit: Get<BalanceOf<Self>>;

		/// Largest model that may be stored on chain, in bytes.
		#[pallet::constant]
		type MaxModelBytes: Get<u32>;

		/// Size of an upload chunk in bytes (the last chunk may be shorter).
		#[pallet::constant]
		type ChunkSize: Get<u32>;

		/// Longest off-chain locator (URI), in bytes.
		#[pallet::constant]
		type MaxLocatorLen: Get<u32>;

		/// Most locators one off-chain model lists.
		#[pallet::constant]
		type MaxLocators: Get<u32>;

		/// Largest float tolerance a model may declare, in units of least precision: the
		/// bound keeps "agree within the tolerance" from meaning "any two values agree".
		#[pallet::constant]
		type MaxToleranceUlps: Get<u32>;

		/// Largest output (canonical encoding of a model's output tensors) a model may
		/// produce, in bytes: the most an executor can be made to publish on chain for a
		/// verifier to compare within the tolerance.
		#[pallet::constant]
		type MaxOutputBytes: Get<u32>;

		/// Largest output a statement carries with its result, in bytes (settlement's
		/// `MaxOutputLen`). Two kinds of model must have outputs no larger:
		/// - models offering quorum mode with float outputs: a quorum compares reveals within
		///   the tolerance only when they carry their outputs, and larger float outputs,
		///   compared by hash, would differ with the hardware (such models offer attested
		///   mode only, where outputs are published on request and compared within the
		///   tolerance);
		/// - models with variable output axes: their outputs' length is known only once they
		///   are delivered, so they come with the result rather than in pages.
		#[pallet::constant]
		type MaxInlineOutputBytes: Get<u32>;

		/// Blocks an on-chain model's registration holds its hash while its bytes are not
		/// all uploaded: afterwards anyone may register the hash in its place (the stalled
		/// registration is purged, its deposit returned).
		#[pallet::constant]
		type UploadPeriod: Get<u32>;

		/// Most nodes a model's dispute graph may have: a disputed executor's trace (a hash per
		/// node) goes in one transaction. Larger models leave disputes to a committee.
		#[pallet::constant]
		type MaxGraphNodes: Get<u32>;

		/// Most work (`haca_kernels::work`) one node of a dispute graph may take: a proof of
		/// that step must fit in a block. Models with a costlier node leave disputes to a
		/// committee.
		#[pallet::constant]
		type MaxStepWork: Get<u64>;

		/// Most bytes one node's inputs may take, encoded: a proof of that step carries them
		/// (the settlement pallet's `MaxStepBytes`). Models with a larger node leave disputes
		/// to a committee.
		#[pallet::constant]
		type MaxStepBytes: Get<u32>;

		/// Largest circuit (`haca_proof::Circuit`, SCALE-encoded) a provable model may
		/// register: it is stored on chain, and every proof of the model is verified against
		/// it.
		#[pallet::constant]
		type MaxCircuitBytes: Get<u32>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Storage deposit of a registered model.
		#[codec(index = 0)]
		ModelDeposit,
	}

	/// Registered models by content hash.
	#[pallet::storage]
	pub type Models<T: Config> = StorageMap<_, Identity, ModelHash, ModelInfo<T>>;

	/// Uploaded chunks of on-chain models, by model hash and chunk index.
	#[pallet::storage]
	pub type Chunks<T: Config> =
		StorageDoubleMap<_, Identity, ModelHash, Twox64Concat, u32, BoundedVec<u8, T::ChunkSize>>;

	/// Circuits of provable models (SCALE-encoded `haca_proof::Circuit`), by model hash.
	#[pallet::storage]
	pub type Circuits<T: Config> =
		StorageMap<_, Identity, ModelHash, BoundedVec<u8, T::MaxCircuitBytes>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A model was registered.
		Registered {
			/// The model's content hash.
			model: ModelHash,
			/// Its owner.
			owner: T::AccountId,
			/// Size of its bytes.
			byte_size: u32,
			/// Deposit held from the owner.
			deposit: BalanceOf<T>,
		},
		/// A chunk of an on-chain model was uploaded.
		ChunkUploaded {
			/// The model's content hash.
			model: ModelHash,
			/// Index of the chunk.
			index: u32,
		},
		/// The model's bytes are complete and verified (or it lives off chain): it takes jobs.
		Activated {
			/// The model's content hash.
			model: ModelHash,
		},
		/// The model takes no new jobs.
		Retired {
			/// The model's content hash.
			model: ModelHash,
		},
		/// An upload that did not finish within `UploadPeriod` gave its hash up to a new
		/// registration; its chunks were removed and its deposit released.
		UploadLapsed {
			/// The model's content hash.
			model: ModelHash,
			/// The owner of the lapsed registration.
			owner: T::AccountId,
		},
		/// A retired model was removed and its deposit released.
		Purged {
			/// The model's content hash.
			model: ModelHash,
			/// Deposit released to the owner.
			deposit: BalanceOf<T>,
		},
		/// The model was found broken and takes no new jobs.
		MarkedBroken {
			/// The model's content hash.
			model: ModelHash,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// A model with this hash is already registered (active, retired with jobs left,
		/// broken, or uploading within its `UploadPeriod`).
		AlreadyRegistered,
		/// No model has this hash.
		UnknownModel,
		/// Only the model's owner may do this.
		NotOwner,
		/// A tensor spec list is empty, or a spec's byte size overflows, or it marks an axis
		/// beyond its rank variable.
		InvalidTensorSpec,
		/// The verification mode set accepts no mode.
		InvalidModes,
		/// The float tolerance is above `MaxToleranceUlps`.
		ToleranceTooLarge,
		/// The model has no bytes.
		EmptyModel,
		/// The model is larger than may be stored on chain.
		ModelTooLarge,
		/// An off-chain model needs at least one locator.
		MissingLocator,
		/// A locator is not an `http://` or `https://` URI with a host.
		MalformedLocator,
		/// The model is not being uploaded.
		NotUploading,
		/// Chunks must be uploaded in order; this is not the next one.
		UnexpectedChunk,
		/// The chunk's length is not `ChunkSize` (or the remainder, for the last chunk).
		WrongChunkLength,
		/// The uploaded bytes do not hash to the model's hash.
		HashMismatch,
		/// The uploaded bytes are not an ONNX protobuf, or nest subgraphs deeper than
		/// `haca_primitives::onnx::MAX_GRAPH_DEPTH`.
		MalformedModel,
		/// The model has a random operator without a `seed` attribute: its outputs would
		/// differ on every run, and every executor serving it would be slashed.
		UnseededRandomOperator,
		/// The model is already retired.
		AlreadyRetired,
		/// The model is not active.
		NotActive,
		/// The owner cannot pay the deposit.
		InsufficientBalance,
		/// The model's outputs would be larger than `MaxOutputBytes`.
		OutputsTooLarge,
		/// The model's float outputs are too large for a quorum to compare them within the
		/// tolerance (over `MaxInlineOutputBytes`): offer attested mode only.
		QuorumOutputsTooLarge,
		/// The model's outputs have variable axes or strings and, at their largest, would not
		/// come with the result (over `MaxInlineOutputBytes`).
		VariableOutputsTooLarge,
		/// The dispute graph was lowered by another version than the runtime's kernels
		/// implement (`haca_primitives::dispute::LOWERING_VERSION`).
		UnsupportedLowering,
		/// The dispute graph has no node, or more than `MaxGraphNodes`.
		GraphSizeOutOfBounds,
		/// A node of the dispute graph takes more work than `MaxStepWork`: a proof of its step
		/// would not fit in a block. Register the model without its graph.
		StepTooHeavy,
		/// A node of the dispute graph reads more bytes than `MaxStepBytes`: a proof of its
		/// step would not fit in a transaction. Register the model without its graph.
		StepTooLarge,
		/// The modes include proven, but no circuit was given.
		MissingCircuit,
		/// A circuit was given, but the modes do not include proven.
		UnusedCircuit,
		/// The circuit's bytes do not decode as a `haca_proof::Circuit`.
		MalformedCircuit,
		/// The circuit cannot be proven: a layer, bound or multiplier outside what a proof's
		/// trace holds (`haca-node inspect` names which), or more samples at the largest
		/// input than a proof's trace holds.
		UnprovableCircuit,
		/// The circuit's input or output is not the model's: one tensor each, of the
		/// circuit's element type (f32 around quantisations, else u8 or i8) and its
		/// number of elements per sample (the first axis).
		CircuitSpecMismatch,
	}

	/// A model stored on chain from genesis, as the runtime's types make it.
	pub type GenesisModelOf<T> = GenesisModel<<T as frame_system::Config>::AccountId, BalanceOf<T>>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The models registered and uploaded at genesis.
		pub models: alloc::vec::Vec<GenesisModelOf<T>>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for GenesisModel {
				owner,
				bytes,
				inputs,
				outputs,
				modes,
				fee,
				tolerance_ulps,
				graph,
				circuit,
			} in &self.models
			{
				let model = ModelHash::from(sp_io::hashing::blake2_256(bytes));
				let terms = ModelTerms {
					inputs: inputs.clone().try_into().expect("genesis model: too many inputs"),
					outputs: outputs.clone().try_into().expect("genesis model: too many outputs"),
					modes: *modes,
					fee: *fee,
					tolerance_ulps: *tolerance_ulps,
					graph: *graph,
				};
				let circuit = circuit.as_ref().map(|circuit| {
					circuit.0.clone().try_into().expect("genesis model: circuit too large")
				});
				Pallet::<T>::do_register(
					owner.clone(),
					model,
					bytes.len() as u32,
					ModelSource::OnChain,
					terms,
					circuit,
				)
				.expect("genesis model registers");
				for (index, chunk) in bytes.chunks(T::ChunkSize::get() as usize).enumerate() {
					let chunk = chunk.to_vec().try_into().expect("chunk of ChunkSize");
					Pallet::<T>::do_upload_chunk(owner.clone(), model, index as u32, chunk)
						.expect("genesis model uploads");
				}
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
			assert!(T::ChunkSize::get() > 0, "ChunkSize must hold a byte");
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Registers a model by its content hash and holds its deposit: `BaseDeposit +
		/// ByteDeposit * byte_size` on chain, `BaseDeposit + ByteDeposit * locator bytes` off
		/// chain. An on-chain model is
		/// `Uploading` until [`Pallet::upload_chunk`] completes it; an off-chain one is active.
		/// A hash is first come, first served, but an upload that did not finish within
		/// `UploadPeriod` blocks holds it no longer: this registration takes its place.
		///
		/// - `origin`: signed; the owner, who pays the deposit.
		/// - `model`: blake2-256 of the ONNX bytes.
		/// - `byte_size`: length of the ONNX bytes.
		/// - `source`: on chain (uploaded next) or off chain, with its locators.
		/// - `terms`: tensor specs, accepted modes, fee per run, float tolerance and, for
		///   disputes the chain decides, the dispute graph.
		/// - `circuit`: for a model that accepts proven jobs (and only then), its circuit as
		///   `haca-node inspect` prints it; stored on chain (its bytes count in the deposit).
		#[pallet::call_index(0)]
		#[pallet::weight(
			T::WeightInfo::register(circuit.as_ref().map_or(0, |circuit| circuit.len() as u32))
				.saturating_add(T::WeightInfo::retire(T::MaxModelBytes::get().div_ceil(T::ChunkSize::get())))
		)]
		pub fn register(
			origin: OriginFor<T>,
			model: ModelHash,
			byte_size: u32,
			source: ModelSourceOf<T>,
			terms: ModelTermsOf<T>,
			circuit: Option<BoundedVec<u8, T::MaxCircuitBytes>>,
		) -> DispatchResultWithPostInfo {
			let owner = ensure_signed(origin)?;
			Ok(Some(Self::do_register(owner, model, byte_size, source, terms, circuit)?).into())
		}

		/// Uploads one chunk of an on-chain model, in order. The last chunk checks the whole
		/// model against its hash and activates it; a mismatch fails with `HashMismatch`, a
		/// model that would not run reproducibly (an unseeded random operator) with
		/// `UnseededRandomOperator`, and the owner may retire the model to start again.
		///
		/// - `origin`: signed; the model's owner.
		/// - `model`: the model being uploaded.
		/// - `index`: the chunk's position, the next one due.
		/// - `bytes`: the chunk, `ChunkSize` bytes (the last one may be shorter).
		#[pallet::call_index(1)]
		#[pallet::weight(
			T::WeightInfo::upload_chunk(bytes.len() as u32)
				.saturating_add(T::WeightInfo::verify_upload(T::MaxModelBytes::get()))
		)]
		pub fn upload_chunk(
			origin: OriginFor<T>,
			model: ModelHash,
			index: u32,
			bytes: BoundedVec<u8, T::ChunkSize>,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_upload_chunk(who, model, index, bytes)
		}

		/// Retires a model: it takes no new jobs. It is purged and its deposit released at
		/// once if no job references it, otherwise when the last one ends.
		///
		/// - `origin`: signed; the model's owner.
		/// - `model`: the model to retire.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::retire(T::MaxModelBytes::get().div_ceil(T::ChunkSize::get())))]
		pub fn retire(origin: OriginFor<T>, model: ModelHash) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			Self::do_retire(who, model)
		}

		/// Marks an active model broken: it takes no new jobs until its owner retires it.
		///
		/// - `origin`: `AdminOrigin`.
		/// - `model`: the broken model.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::mark_broken())]
		pub fn mark_broken(origin: OriginFor<T>, model: ModelHash) -> DispatchResult {
			T::AdminOrigin::ensure_origin(origin)?;
			Self::do_mark_broken(model)
		}
	}
}
