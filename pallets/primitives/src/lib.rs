//! # HACA primitives
//!
//! Definitions shared so there is exactly one of each. The runtime (no_std, wasm), the
//! off-chain worker and the native engine share:
//! - [`tensor`]: the canonical tensor encoding, tensor specs and the checks between them;
//! - [`merkle`]: binary Merkle trees (execution traces, weight commitments);
//! - [`dispute`]: what a model's registration commits to about its dispute graph;
//! - [`proof`]: what it records about its circuit, for proven jobs;
//! - [`VerificationMode`]: what "proof" a job asks for;
//! - [`crypto`]: the executors' session key type (`infr`), which signs results;
//! - [`statement`]: what that key signs about a job;
//! - [`onnx`]: the rule that a model runs reproducibly (no unseeded random operators);
//! - [`runtime_api`]: what clients and executors ask the runtime.
//!
//! The pallets alone use:
//! - [`traits`]: the interfaces through which they use each other;
//! - [`funds`]: holds and slashes, done one way in every pallet;
//! - [`draw`]: draws from on-chain data (executors, committees).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod dispute;
pub mod draw;
pub mod funds;
pub mod merkle;
pub mod onnx;
pub mod proof;
pub mod runtime_api;
pub mod statement;
pub mod tensor;
pub mod traits;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use serde::{Deserialize, Serialize};

/// Identifies a model: the blake2-256 hash of its ONNX bytes.
pub type ModelHash = sp_core::H256;

/// Identifies a job, in submission order.
pub type JobId = u64;

/// Job ids a group of jobs spans: job `g * GROUP_SPAN + i` is member `i` of group `g`.
pub const GROUP_SPAN: u64 = 64;

/// Least share of attested results a verifier node audits, in percent: the chain's
/// economics (each job's stake against its fee, less what a liar can win back as its own
/// challenger and committee members) make lying unprofitable for any catch probability at
/// or above it.
pub const MIN_AUDIT_PERCENT: u32 = 5;

/// Key type of the executors' session keys (`haca-node key insert --key-type infr`).
pub const INFERENCE_KEY_TYPE: sp_core::crypto::KeyTypeId = sp_core::crypto::KeyTypeId(*b"infr");

/// The executors' session key: sr25519 under [`INFERENCE_KEY_TYPE`].
pub mod crypto {
	use super::INFERENCE_KEY_TYPE;
	use sp_application_crypto::sr25519;
	sp_application_crypto::app_crypto!(sr25519, INFERENCE_KEY_TYPE);

	/// A signature is 64 bytes, encoded as they are (kept on chain in attestations).
	impl codec::MaxEncodedLen for Signature {
		fn max_encoded_len() -> usize {
			<[u8; 64]>::max_encoded_len()
		}
	}
}

/// An executor's public session key, registered on chain.
pub type InferenceKey = crypto::Public;

/// A signature by an executor's session key.
pub type InferenceSignature = crypto::Signature;

/// A session key's proof of possession for an account: the key's signature of `POP_` and
/// the owner statement (the account and the chain's genesis hash, see the executors
/// pallet's `key_owner_statement`), what `author_rotateKeysWithOwner` returns for it.
pub type InferenceKeyProof = crypto::ProofOfPossession;

/// How the result of a job is verified on chain.
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
pub enum VerificationMode {
	/// One executor signs a commitment to its result; the result settles after a challenge
	/// window unless a verifier disputes it.
	Attested,
	/// `of` executors run the job independently; `agree` matching results settle it.
	Quorum {
		/// Executors that must agree.
		agree: u8,
		/// Executors the job is assigned to.
		of: u8,
	},
	/// One executor proves its result (a STARK of the model's integer layers, for models
	/// registered with a circuit); the runtime verifies the proof and the job settles in the
	/// block that includes it.
	Proven,
}

impl VerificationMode {
	/// Number of executors the job is assigned to.
	pub fn executors(&self) -> u32 {
		match self {
			Self::Attested | Self::Proven => 1,
			Self::Quorum { of, .. } => u32::from(*of),
		}
	}

	/// The [`ModeSet`] flag of this mode's kind.
	pub fn flag(&self) -> ModeSet {
		match self {
			Self::Attested => ModeSet::ATTESTED,
			Self::Quorum { .. } => ModeSet::QUORUM,
			Self::Proven => ModeSet::PROVEN,
		}
	}
}

/// The verification modes a model accepts, one flag per mode kind.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Default,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
	Serialize,
	Deserialize,
)]
pub struct ModeSet {
	/// Accepts [`VerificationMode::Attested`] jobs.
	pub attested: bool,
	/// Accepts [`VerificationMode::Quorum`] jobs.
	pub quorum: bool,
	/// Accepts [`VerificationMode::Proven`] jobs (the model must have a circuit).
	pub proven: bool,
}

impl ModeSet {
	/// Attested (optimistic) mode only.
	pub const ATTESTED: Self = Self { attested: true, quorum: false, proven: false };
	/// Quorum (k of n) mode only.
	pub const QUORUM: Self = Self { attested: false, quorum: true, proven: false };
	/// Proven mode only.
	pub const PROVEN: Self = Self { attested: false, quorum: false, proven: true };
	/// The modes any model can take: attested and quorum.
	pub const ATTESTED_OR_QUORUM: Self = Self { attested: true, quorum: true, proven: false };
	/// Every mode.
	pub const ALL: Self = Self { attested: true, quorum: true, proven: true };

	/// Whether `mode` is in the set.
	pub fn accepts(&self, mode: &VerificationMode) -> bool {
		self.contains(mode.flag())
	}

	/// Whether every mode of `modes` is in the set.
	pub fn contains(&self, modes: ModeSet) -> bool {
		(self.attested || !modes.attested)
			&& (self.quorum || !modes.quorum)
			&& (self.proven || !modes.proven)
	}

	/// Whether the set accepts some mode.
	pub fn is_valid(&self) -> bool {
		self.attested || self.quorum || self.proven
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn mode_sets_accept_their_modes_only() {
		let quorum = VerificationMode::Quorum { agree: 2, of: 3 };
		assert!(ModeSet::ATTESTED.accepts(&VerificationMode::Attested));
		assert!(!ModeSet::ATTESTED.accepts(&quorum));
		assert!(ModeSet::ALL.accepts(&quorum));
		assert!(!ModeSet::ATTESTED_OR_QUORUM.accepts(&VerificationMode::Proven));
		assert!(ModeSet::PROVEN.accepts(&VerificationMode::Proven));
		assert!(!ModeSet::default().is_valid());
		assert!(ModeSet::decode(&mut &[1u8, 2, 0][..]).is_err(), "flags are booleans");
		assert!(ModeSet::ALL.is_valid());
		assert_eq!(quorum.executors(), 3);
		assert_eq!(VerificationMode::Attested.executors(), 1);
		assert_eq!(VerificationMode::Proven.executors(), 1);
	}

	#[test]
	fn a_signature_encodes_within_its_max_encoded_len() {
		let signature = InferenceSignature::from(sp_core::sr25519::Signature::from_raw([7; 64]));
		assert_eq!(signature.encode().len(), InferenceSignature::max_encoded_len());
	}
}
