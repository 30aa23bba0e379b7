//! Types of the settlement pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	BoundedVec, CloneNoBound, DebugNoBound, DefaultNoBound, EqNoBound, PartialEqNoBound,
};
use frame_system::pallet_prelude::BlockNumberFor;
use haca_primitives::{
	statement::{Claim, VerdictKind},
	InferenceSignature, JobId,
};
use scale_info::TypeInfo;
use sp_core::H256;

use crate::Config;

/// Signed statements submitted together.
pub type StatementBatch<T> =
	BoundedVec<(Statement<T>, InferenceSignature), <T as Config>::MaxBatch>;

/// Output tensors in the canonical encoding, bounded.
pub type OutputBytes<T> = BoundedVec<u8, <T as Config>::MaxOutputLen>;

/// A statement an executor submits about a job, with the data the runtime needs to check it.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Statement<T: Config> {
	/// The job.
	pub job: JobId,
	/// The executor making the claim (must be assigned to the job).
	pub executor: T::AccountId,
	/// The claim, as signed.
	pub claim: Claim,
	/// The output tensors (canonical encoding), required for outputs that fit in
	/// `MaxOutputLen`; larger outputs are represented by their hash only.
	pub outputs: Option<OutputBytes<T>>,
}

impl<T: Config> Statement<T> {
	/// Bytes of outputs the statement carries.
	pub fn carried_len(&self) -> u32 {
		self.outputs.as_ref().map_or(0, |outputs| outputs.len() as u32)
	}
}

/// A verifier's challenge of an attested result or vote in its dispute, made by the
/// verifier's node and signed by its session key.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Verdict<T: Config> {
	/// The job.
	pub job: JobId,
	/// The verifier.
	pub verifier: T::AccountId,
	/// Challenge or vote.
	pub kind: VerdictKind,
	/// For a challenge, the output hash the verifier computed; for a vote, the output hash
	/// it backs (the executor's, or the challenger's when the executor's result is wrong).
	pub output_hash: H256,
}

/// Where a provisional attested result is.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub enum ResultStatus<BlockNumber> {
	/// Readable now; settles after `challenge_until` unless challenged.
	Provisional {
		/// Last block in which a verifier may challenge it.
		challenge_until: BlockNumber,
	},
	/// A verifier challenged it; a committee decides.
	Disputed,
}

/// An attested result awaiting settlement.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct AttestedResult<T: Config> {
	/// Who produced it.
	pub executor: T::AccountId,
	/// Hash of the output tensors.
	pub output_hash: H256,
	/// The output tensors, when they fit on chain.
	pub outputs: Option<OutputBytes<T>>,
	/// Where it is.
	pub status: ResultStatus<BlockNumberFor<T>>,
}

/// A challenge to an attested result, decided by a committee of verifiers.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Dispute<T: Config> {
	/// The verifier who challenged (its `ChallengeBond` is held).
	pub challenger: T::AccountId,
	/// The output hash the challenger computed.
	pub challenger_hash: H256,
	/// The verifiers who vote, drawn from on-chain data, parties excluded.
	pub committee: BoundedVec<T::AccountId, T::CommitteeSize>,
	/// Votes cast so far: voter and the output hash it computed.
	pub votes: BoundedVec<(T::AccountId, H256), T::CommitteeSize>,
	/// Last block in which votes count; after it the dispute times out.
	pub until: BlockNumberFor<T>,
}

/// One executor's reveal in a quorum.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Reveal<T: Config> {
	/// The executor.
	pub executor: T::AccountId,
	/// The output hash it committed to.
	pub output_hash: H256,
	/// Its output tensors, when they fit on chain (compared within the model's tolerance).
	pub outputs: Option<OutputBytes<T>>,
}

/// A k-of-n quorum round.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DefaultNoBound,
	Encode,
	Decode,
	MaxEncodedLen,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct QuorumRound<T: Config> {
	/// Commitments `blake2_256((output_hash, salt))`, by executor.
	pub commits: BoundedVec<(T::AccountId, H256), T::MaxQuorum>,
	/// Reveals so far.
	pub reveals: BoundedVec<Reveal<T>, T::MaxQuorum>,
	/// Last block of the reveal phase, once it opened.
	pub reveal_until: Option<BlockNumberFor<T>>,
}

/// A scheduled end of a phase.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
pub enum Timer {
	/// An attested result's challenge window closes.
	ChallengeWindow,
	/// A quorum's reveal phase closes.
	RevealPhase,
	/// A dispute's voting period closes.
	Dispute,
}
