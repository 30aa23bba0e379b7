//! Receipts of settled jobs, checked without trusting any node.
//!
//! A receipt (a small JSON file; the JS client and the web page build it from a node's RPC)
//! holds the header of a block, a storage proof of the job's outcome
//! (`Jobs::Outcomes[job]`) in that block's state, a GRANDPA finality proof of the block and
//! the job's outputs. It verifies against a [`TrustAnchor`] derived from the chain spec
//! alone (the genesis hash and the GRANDPA authority set), in this order:
//!
//! 1. the finality proof's justification is signed by more than two thirds of the
//!    authorities and finalizes the receipt's block or a descendant linked to it by the
//!    proof's headers;
//! 2. the storage proof opens the block's state root at the outcome's key to the outcome;
//! 3. the outcome is a settlement whose output hash is the blake2-256 of the outputs;
//! 4. each executor's attestation is its session key's signature of the statement payload
//!    rebuilt from the anchor's genesis hash and the outcome (job, attempt, model, input
//!    hash, executor, claim), and one of them claims the settled output hash. A result
//!    settled from a group statement signs the root of the group's results instead: its
//!    attestation's inclusion proof must place the job's leaf (job, attempt, input hash,
//!    output hash) under that root, and the signature be of the group's payload.
//!
//! The outcome of a group's member that settled with the group is in the group's record
//! (`Jobs::GroupOutcomes[group]`, a receipt with `group: true`): the job's outcome is read
//! from it, its attestation's inclusion proof built from the statement's leaves it keeps.

use std::collections::HashMap;

use codec::Decode;
use haca_primitives::{
	runtime_api::{JobEnd, JobOutcome},
	statement::{AttestationError, Claim},
	JobId, GROUP_SPAN,
};
use haca_runtime::{opaque::Block, AccountId, Balance, BlockNumber, Header, Runtime};
use sc_consensus_grandpa::{FinalityProof, GrandpaJustification};
use serde::{Deserialize, Serialize};
use sp_consensus_grandpa::{AuthorityId, AuthorityList, SetId};
use sp_core::{Bytes, H256};
use sp_runtime::traits::{BlakeTwo256, Header as HeaderT};

/// The format tag of receipts this node reads and the clients write.
pub const FORMAT: &str = "haca-receipt/1";

/// A job's outcome as the chain keeps it.
pub type Outcome = JobOutcome<AccountId, Balance, BlockNumber>;

/// A job's receipt, as the clients write it (byte fields in 0x-prefixed hex).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Receipt {
	/// [`FORMAT`].
	pub format: String,
	/// The chain's genesis hash, as the executors signed it.
	pub genesis_hash: H256,
	/// The job.
	pub job: JobId,
	/// The job's outputs (canonical tensor encoding).
	pub outputs: Bytes,
	/// The SCALE-encoded header of the block whose state holds the outcome.
	pub header: Bytes,
	/// The SCALE-encoded outcome (`Jobs::Outcomes[job]` in that state), or, with `group`,
	/// the job's group's (`Jobs::GroupOutcomes[job / GROUP_SPAN]`).
	pub outcome: Bytes,
	/// Whether the job's result settled with its group's, `outcome` being the group's.
	#[serde(default, skip_serializing_if = "core::ops::Not::not")]
	pub group: bool,
	/// The storage proof's trie nodes (`state_getReadProof`).
	pub proof: Vec<Bytes>,
	/// The SCALE-encoded GRANDPA finality proof of the block: a justification stored with it or
	/// a later block, and the headers in between.
	pub finality: Bytes,
}

/// What a receipt verifies against: derived from the chain spec alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustAnchor {
	/// Hash of the genesis block.
	pub genesis_hash: H256,
	/// The GRANDPA authority set's id.
	pub set_id: SetId,
	/// The GRANDPA authorities and their weights.
	pub authorities: Vec<(AuthorityId, u64)>,
}

/// Why a receipt does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiptError {
	/// The file is not a receipt of this format.
	#[error("not a {FORMAT} receipt: {0}")]
	Malformed(String),
	/// The receipt is of another chain.
	#[error("the receipt is of the chain with genesis {found:?}, not {expected:?}")]
	OtherChain {
		/// The anchor's.
		expected: H256,
		/// The receipt's.
		found: H256,
	},
	/// The justification does not hold for the anchor's authorities.
	#[error("the block's finality proof does not verify: {0}")]
	NotFinalized(String),
	/// The storage proof does not open the block's state to the outcome.
	#[error("the outcome is not in the block's state: {0}")]
	NotInState(String),
	/// The job did not settle.
	#[error("job {0} did not settle: {1}")]
	NotSettled(JobId, &'static str),
	/// The outputs do not hash to the settled output hash.
	#[error("the outputs hash to {found:?}, not to the settled output hash {settled:?}")]
	OutputsMismatch {
		/// The settled output hash.
		settled: H256,
		/// The outputs' hash.
		found: H256,
	},
	/// An executor's signature does not verify.
	#[error("executor {0}'s signature of its statement does not verify")]
	BadSignature(AccountId),
	/// The job's result is not under the root of the group statement the executor signed.
	#[error("executor {0}'s group statement does not include the job's result: its inclusion proof does not verify against the signed root")]
	BadInclusionProof(AccountId),
	/// No executor's claim names the settled output hash.
	#[error("no executor's signed claim names the settled output hash {0:?}")]
	UnclaimedOutput(H256),
}

/// A verified receipt's content.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
	/// The job.
	pub job: JobId,
	/// Its model.
	pub model: H256,
	/// Hash of its input.
	pub input_hash: H256,
	/// The settled output hash.
	pub output_hash: H256,
	/// The executors whose signatures verified.
	pub executors: Vec<String>,
	/// The block whose state holds the outcome: its number and hash.
	pub block: (BlockNumber, H256),
	/// The block the justification finalizes (the receipt's block or a descendant).
	pub finalized: (BlockNumber, H256),
}

impl TrustAnchor {
	/// The anchor of the chain `spec` describes: its genesis block's hash (the state the
	/// spec builds, under this runtime's state version) and its GRANDPA authorities.
	pub fn from_chain_spec(spec: &dyn sc_service::ChainSpec) -> Result<Self, String> {
		let storage = spec.as_storage_builder().build_storage()?;
		let authorities = storage
			.top
			.get(pallet_grandpa::Authorities::<Runtime>::hashed_key().as_slice())
			.map(|bytes| AuthorityList::decode(&mut &bytes[..]))
			.transpose()
			.map_err(|error| format!("the spec's GRANDPA authorities: {error}"))?
			.ok_or("the spec has no GRANDPA authorities")?;
		let state_version = haca_runtime::VERSION.state_version();
		let backend: sp_state_machine::InMemoryBackend<BlakeTwo256> =
			(storage, state_version).into();
		let genesis =
			sc_chain_spec::construct_genesis_block::<Block>(*backend.root(), state_version);
		Ok(Self { genesis_hash: genesis.header.hash(), set_id: 0, authorities })
	}
}

/// Where the jobs pallet keeps `job`'s outcome: its own, or its group's (`group`).
pub fn outcome_key(job: JobId, group: bool) -> Vec<u8> {
	if group {
		pallet_jobs::GroupOutcomes::<Runtime>::hashed_key_for(job / GROUP_SPAN)
	} else {
		pallet_jobs::Outcomes::<Runtime>::hashed_key_for(job)
	}
}

/// `job`'s outcome from the stored bytes: its own, or read from its group's (`group`).
fn decode_outcome(job: JobId, group: bool, bytes: &[u8]) -> Result<Outcome, ReceiptError> {
	let malformed = |error: codec::Error| {
		ReceiptError::Malformed(format!("the outcome does not decode: {error}"))
	};
	if !group {
		return Outcome::decode(&mut &bytes[..]).map_err(malformed);
	}
	pallet_jobs::GroupOutcome::<Runtime>::decode(&mut &bytes[..])
		.map_err(malformed)?
		.member_outcome(job)
		.ok_or_else(|| {
			ReceiptError::NotInState(format!("the group's outcome holds no result of job {job}"))
		})
}

/// Checks `receipt` against `anchor` (see the module's documentation).
pub fn verify(receipt: &Receipt, anchor: &TrustAnchor) -> Result<Verified, ReceiptError> {
	let malformed = |what: &str, error: codec::Error| {
		ReceiptError::Malformed(format!("{what} does not decode: {error}"))
	};
	if receipt.format != FORMAT {
		return Err(ReceiptError::Malformed(format!("format {:?}", receipt.format)));
	}
	if receipt.genesis_hash != anchor.genesis_hash {
		return Err(ReceiptError::OtherChain {
			expected: anchor.genesis_hash,
			found: receipt.genesis_hash,
		});
	}
	let header =
		Header::decode(&mut &receipt.header[..]).map_err(|error| malformed("the header", error))?;
	let finalized = check_finality(&header, &receipt.finality, anchor)?;

	let key = outcome_key(receipt.job, receipt.group);
	let proof = sp_trie::StorageProof::new(receipt.proof.iter().map(|node| node.0.clone()));
	let values =
		sp_state_machine::read_proof_check::<BlakeTwo256, _>(header.state_root, proof, [&key[..]])
			.map_err(|error| ReceiptError::NotInState(format!("{error:?}")))?;
	let stored = values.get(&key).cloned().flatten();
	if stored.as_deref() != Some(&receipt.outcome[..]) {
		let found = if stored.is_some() { "another outcome" } else { "no outcome" };
		return Err(ReceiptError::NotInState(format!("the state holds {found} for the job")));
	}
	let outcome = decode_outcome(receipt.job, receipt.group, &receipt.outcome)?;

	let JobEnd::Settled { output_hash, outputs, attestations, .. } = outcome.end else {
		return Err(ReceiptError::NotSettled(receipt.job, "it failed or was cancelled"));
	};
	let found = H256(sp_crypto_hashing::blake2_256(&receipt.outputs));
	if found != output_hash || outputs.is_some_and(|kept| kept != receipt.outputs.0) {
		return Err(ReceiptError::OutputsMismatch { settled: output_hash, found });
	}
	for attestation in &attestations {
		let checked =
			attestation.verify(anchor.genesis_hash, receipt.job, outcome.model, outcome.input_hash);
		match checked {
			Ok(()) => {}
			Err(AttestationError::BadSignature) => {
				return Err(ReceiptError::BadSignature(attestation.executor.clone()))
			}
			Err(AttestationError::BadInclusionProof) => {
				return Err(ReceiptError::BadInclusionProof(attestation.executor.clone()))
			}
		}
	}
	let claimed = attestations.iter().any(|attestation| match attestation.claim {
		Claim::Output(hash)
		| Claim::Reveal { output_hash: hash, .. }
		| Claim::Proven { output_hash: hash, .. } => hash == output_hash,
		_ => false,
	});
	if !claimed {
		return Err(ReceiptError::UnclaimedOutput(output_hash));
	}
	Ok(Verified {
		job: receipt.job,
		model: outcome.model,
		input_hash: outcome.input_hash,
		output_hash,
		executors: attestations
			.iter()
			.map(|attestation| attestation.executor.to_string())
			.collect(),
		block: (*header.number(), header.hash()),
		finalized,
	})
}

/// Checks that `encoded` (a GRANDPA finality proof) finalizes `header`'s block for the
/// anchor's authorities; returns the block its justification finalizes.
fn check_finality(
	header: &Header,
	encoded: &[u8],
	anchor: &TrustAnchor,
) -> Result<(BlockNumber, H256), ReceiptError> {
	let not_finalized = |reason: String| ReceiptError::NotFinalized(reason);
	let proof = FinalityProof::<Header>::decode(&mut &encoded[..])
		.map_err(|error| not_finalized(format!("the proof does not decode: {error}")))?;
	let justification = GrandpaJustification::<Block>::decode(&proof.justification)
		.map_err(|error| not_finalized(format!("the justification: {error}")))?;
	let (number, hash) = justification.target();
	if hash != proof.block {
		return Err(not_finalized("the justification is of another block".into()));
	}
	justification
		.verify(anchor.set_id, &anchor.authorities)
		.map_err(|error| not_finalized(format!("{error}")))?;
	// From the finalized block back to the receipt's, by the proof's headers.
	let parents: HashMap<H256, &Header> =
		proof.unknown_headers.iter().map(|header| (header.hash(), header)).collect();
	let (target, mut cursor) = (header.hash(), hash);
	while cursor != target {
		let Some(known) = parents.get(&cursor) else {
			return Err(not_finalized(format!(
				"block #{} is not an ancestor of the finalized block #{number}",
				header.number()
			)));
		};
		cursor = known.parent_hash;
	}
	Ok((number, hash))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn outcome_keys_are_the_pallets_storage_keys() {
		let key = outcome_key(7, false);
		assert_eq!(key.len(), 16 + 16 + 8 + 8);
		assert_eq!(&key[40..], &7u64.to_le_bytes());
		// A member of a group: the group's record, keyed by the group's number.
		let key = outcome_key(3 * GROUP_SPAN + 5, true);
		assert_eq!(&key[40..], &3u64.to_le_bytes());
		assert_ne!(key[..32], outcome_key(7, false)[..32]);
	}

	#[test]
	fn the_dev_anchor_is_alices_grandpa_key_at_set_zero() {
		let spec = crate::chain_spec::development_chain_spec().unwrap();
		let anchor = TrustAnchor::from_chain_spec(&spec).unwrap();
		let alice = sp_keyring::Ed25519Keyring::Alice.public();
		assert_eq!(anchor.authorities, vec![(alice.into(), 1)]);
		assert_eq!(anchor.set_id, 0);
	}
}
