//! What executors and verifiers sign, checked on chain against their session keys:
//! executors' statements about jobs and verifiers' verdicts on attested results.
//!
//! A statement binds a claim (an output hash, a quorum commitment or its reveal) to one
//! attempt of one job on one chain: the signed bytes are the domain tag followed by the SCALE
//! encoding of [`StatementPayload`] (genesis hash, job id, attempt, model hash, input hash,
//! executor, claim). A signature is therefore useless for any other attempt, job, model,
//! input, executor or chain. Verdicts ([`VerdictPayload`]) are bound the same way, to the
//! attempt whose result they judge, under their own domain tag. A quorum commitment hides
//! the output hash under the job, the attempt and the executor as well as a salt, so one
//! executor's commitment opens for nobody else and for no other attempt; a committee
//! member's vote commitment does the same under a domain tag of its own.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;

use crate::{InferenceKey, InferenceSignature, JobId, ModelHash};

/// Domain tag prefixed to every signed statement.
pub const STATEMENT_DOMAIN: &[u8] = b"HACA/statement/v2";

/// Domain tag prefixed to every signed group statement.
pub const GROUP_STATEMENT_DOMAIN: &[u8] = b"HACA/group-statement/v1";

/// Domain tag prefixed to every signed verdict.
pub const VERDICT_DOMAIN: &[u8] = b"HACA/verdict/v3";

/// Domain tag prefixed to every signed move in a dispute the chain decides.
pub const GAME_MOVE_DOMAIN: &[u8] = b"HACA/game-move/v1";

/// Domain tag prefixed to what a proof of a proven result is bound to.
pub const PROOF_DOMAIN: &[u8] = b"HACA/proof/v1";

/// Domain tag prefixed to what a quorum commitment hashes.
pub const COMMITMENT_DOMAIN: &[u8] = b"HACA/commitment/v1";

/// Domain tag prefixed to what a committee member's vote commitment hashes.
pub const VOTE_COMMITMENT_DOMAIN: &[u8] = b"HACA/vote-commitment/v1";

/// Most bytes of an executor's explanation of a failed run ([`Claim::Failed`]).
pub const MAX_FAILURE_DETAIL: u32 = 256;

/// Why an executor could not run a job (reported instead of retrying forever).
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
pub enum ExecutionFailure {
	/// The model's bytes are not available to the executor.
	ModelUnavailable,
	/// The model's bytes are corrupt or do not match its specs.
	InvalidModel,
	/// The input does not fit the model at run time.
	BadInput,
	/// The model failed while running.
	Execution,
	/// The model did not finish within the executor's time limit.
	Timeout,
}

/// What an executor claims about a job.
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
pub enum Claim {
	/// Attested mode: the job's output tensors hash to this.
	Output(H256),
	/// Quorum mode, first phase: [`Claim::commitment`] of the output hash.
	Commitment(H256),
	/// Quorum mode, second phase: the committed output hash and salt.
	Reveal {
		/// Hash of the output tensors.
		output_hash: H256,
		/// The salt the commitment hid the output hash with.
		salt: [u8; 32],
	},
	/// The executor could not run the job. It counts as a missed delivery for the executor's
	/// reputation; an attested job goes to another executor, a quorum round goes on with the
	/// others (and re-runs once too few are left to agree).
	Failed {
		/// Why, in the chain's terms.
		reason: ExecutionFailure,
		/// blake2-256 of the engine's own words (UTF-8, at most [`MAX_FAILURE_DETAIL`]
		/// bytes, carried by the statement), when it gave any: which operator or type stopped
		/// it, for instance.
		detail: Option<H256>,
	},
	/// Attested mode, once a verifier asked for outputs too large for a statement
	/// ([`VerdictClaim::RequestOutputs`]): page `page` of their canonical encoding, cut in
	/// pages of the chain's largest statement output, carried by the statement and hashing
	/// to `hash`.
	OutputPage {
		/// The page's index, from 0.
		page: u32,
		/// blake2-256 of the page's bytes.
		hash: H256,
	},
	/// Proven mode: the job's output tensors hash to `output_hash`, and `proof` is the
	/// blake2-256 of the proof that they are the model's circuit's run on the job's input,
	/// submitted with the statement (which carries the output quanta).
	Proven {
		/// Hash of the output tensors.
		output_hash: H256,
		/// blake2-256 of the proof's bytes.
		proof: H256,
	},
}

impl Claim {
	/// `executor`'s commitment to `output_hash` under `salt` in `attempt` of `job`: the
	/// blake2-256 of the SCALE encoding of (the commitment domain tag, `job`, `attempt`,
	/// `executor`, `output_hash`, `salt`).
	pub fn commitment<AccountId: Encode>(
		job: JobId,
		attempt: u32,
		executor: &AccountId,
		output_hash: &H256,
		salt: &[u8; 32],
	) -> H256 {
		hide(COMMITMENT_DOMAIN, job, attempt, executor, output_hash, salt)
	}
}

/// The blake2-256 of the SCALE encoding of (`domain`, `job`, `attempt`, `who`, `output_hash`,
/// `salt`): `who`'s commitment to `output_hash` for one attempt of one job.
fn hide<AccountId: Encode>(
	domain: &[u8],
	job: JobId,
	attempt: u32,
	who: &AccountId,
	output_hash: &H256,
	salt: &[u8; 32],
) -> H256 {
	H256(sp_io::hashing::blake2_256(&(domain, job, attempt, who, output_hash, salt).encode()))
}

/// A statement an executor submits about a job, with the data the runtime needs to check
/// it. `Outputs` is the output tensors' bytes (canonical encoding), bounded on chain.
#[derive(Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
pub struct Statement<AccountId, Outputs> {
	/// The job.
	pub job: JobId,
	/// The executor making the claim (must be assigned to the job).
	pub executor: AccountId,
	/// The claim, as signed.
	pub claim: Claim,
	/// The output tensors, required for outputs that fit on chain; larger outputs are
	/// represented by their hash only, and published page by page when a verifier asks. For
	/// [`Claim::OutputPage`], the page; for [`Claim::Failed`], the explanation its `detail`
	/// hashes; for [`Claim::Proven`], the output quanta (one byte each).
	pub outputs: Option<Outputs>,
}

impl<AccountId, Outputs: AsRef<[u8]>> Statement<AccountId, Outputs> {
	/// Bytes of outputs the statement carries.
	pub fn carried_len(&self) -> u32 {
		self.outputs.as_ref().map_or(0, |outputs| outputs.as_ref().len() as u32)
	}
}

/// The signed content of a statement.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct StatementPayload<AccountId> {
	/// Genesis hash of the chain.
	pub genesis_hash: H256,
	/// The job.
	pub job: JobId,
	/// The job's attempt (assignment) the claim is about, counted from 1.
	pub attempt: u32,
	/// The job's model.
	pub model: ModelHash,
	/// Hash of the job's input.
	pub input_hash: H256,
	/// The executor making the claim.
	pub executor: AccountId,
	/// The claim.
	pub claim: Claim,
}

impl<AccountId: Encode> StatementPayload<AccountId> {
	/// The bytes the executor's session key signs.
	pub fn signing_bytes(&self) -> Vec<u8> {
		(STATEMENT_DOMAIN, self).encode()
	}
}

/// An executor's signed claim about one attempt of a job, kept with the job's settled result
/// so that anyone can check the result against the executor's session key without trusting
/// a node: rebuild the [`StatementPayload`] from the job and these fields and verify
/// `signature` with `key`. A claim made in a group statement has an `inclusion`: rebuild the
/// job's [`GroupLeaf`] instead, check it against the inclusion's root
/// ([`Inclusion::holds`]), and verify `signature` of the [`GroupStatementPayload`] of that
/// root (the group's first job is the first of the job's span of [`crate::GROUP_SPAN`] ids).
/// [`Attestation::verify`] does either.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct Attestation<AccountId> {
	/// The executor.
	pub executor: AccountId,
	/// Its session key when it signed.
	pub key: InferenceKey,
	/// The attempt the claim is about.
	pub attempt: u32,
	/// The claim ([`Claim::Output`] or [`Claim::Reveal`] of the settled output hash).
	pub claim: Claim,
	/// The session key's signature of the payload's [`StatementPayload::signing_bytes`], or
	/// of the group's [`GroupStatementPayload::signing_bytes`] when `inclusion` is set.
	pub signature: InferenceSignature,
	/// Where the claim sits in the group statement that made it, if a group statement did.
	pub inclusion: Option<Inclusion>,
}

/// Why an [`Attestation`] does not check out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AttestationError {
	/// The signature does not verify with the attestation's key.
	BadSignature,
	/// The job's leaf, rebuilt from the job and the claim, is not under the inclusion's root.
	BadInclusionProof,
}

impl<AccountId: Encode + Clone> Attestation<AccountId> {
	/// Checks the attestation of a claim about `job` of `model` with input `input_hash`, on
	/// the chain of `genesis_hash`: its signature of the statement it was made in, and, for
	/// a claim made in a group statement, the job's leaf under the signed root.
	pub fn verify(
		&self,
		genesis_hash: H256,
		job: JobId,
		model: ModelHash,
		input_hash: H256,
	) -> Result<(), AttestationError> {
		let signed = match &self.inclusion {
			None => StatementPayload {
				genesis_hash,
				job,
				attempt: self.attempt,
				model,
				input_hash,
				executor: self.executor.clone(),
				claim: self.claim,
			}
			.signing_bytes(),
			Some(inclusion) => {
				let Claim::Output(output_hash) = self.claim else {
					return Err(AttestationError::BadInclusionProof);
				};
				let leaf = GroupLeaf { job, attempt: self.attempt, input_hash, output_hash };
				if !inclusion.holds(&leaf) {
					return Err(AttestationError::BadInclusionProof);
				}
				GroupStatementPayload {
					genesis_hash,
					first: job - job % crate::GROUP_SPAN,
					model,
					executor: self.executor.clone(),
					root: inclusion.root,
				}
				.signing_bytes()
			}
		};
		if !sp_runtime::RuntimeAppPublic::verify(&self.key, &signed, &self.signature) {
			return Err(AttestationError::BadSignature);
		}
		Ok(())
	}
}

/// What a verifier claims about an attested result it audited.
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
pub enum VerdictClaim {
	/// Challenge the provisional result with the output hash the verifier computed (its bond
	/// is held).
	Challenge(H256),
	/// Ask the executor of a provisional result whose outputs are too large for its
	/// statement to publish them on chain ([`Claim::OutputPage`]), so that they can be
	/// compared within the model's tolerance; the result cannot be challenged before.
	RequestOutputs,
	/// As a committee member of the result's dispute, first phase: [`VerdictClaim::vote_commitment`]
	/// of the output hash the member votes for.
	VoteCommitment(H256),
	/// Second phase: the committed output hash and salt.
	VoteReveal {
		/// The output hash voted for.
		output_hash: H256,
		/// The salt the commitment hid it with.
		salt: [u8; 32],
	},
}

impl VerdictClaim {
	/// `voter`'s commitment to `output_hash` under `salt` in the dispute over `attempt` of
	/// `job`: the blake2-256 of the SCALE encoding of (the vote commitment domain tag, `job`,
	/// `attempt`, `voter`, `output_hash`, `salt`).
	pub fn vote_commitment<AccountId: Encode>(
		job: JobId,
		attempt: u32,
		voter: &AccountId,
		output_hash: &H256,
		salt: &[u8; 32],
	) -> H256 {
		hide(VOTE_COMMITMENT_DOMAIN, job, attempt, voter, output_hash, salt)
	}
}

/// A verifier's challenge of an attested result, or its vote in the result's dispute, made
/// by the verifier's node and signed by its session key.
#[derive(Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
pub struct Verdict<AccountId> {
	/// The job.
	pub job: JobId,
	/// The verifier.
	pub verifier: AccountId,
	/// The claim, as signed.
	pub claim: VerdictClaim,
}

/// The signed content of a verdict: a verifier's challenge or vote, made by its node.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct VerdictPayload<AccountId> {
	/// Genesis hash of the chain.
	pub genesis_hash: H256,
	/// The job.
	pub job: JobId,
	/// The job's attempt whose result the verdict judges.
	pub attempt: u32,
	/// The job's model.
	pub model: ModelHash,
	/// Hash of the job's input.
	pub input_hash: H256,
	/// The verifier.
	pub verifier: AccountId,
	/// The claim.
	pub claim: VerdictClaim,
}

impl<AccountId: Encode> VerdictPayload<AccountId> {
	/// The bytes the verifier's session key signs.
	pub fn signing_bytes(&self) -> Vec<u8> {
		(VERDICT_DOMAIN, self).encode()
	}
}

/// The signed content of a move in a dispute the chain decides (a disputed executor's trace,
/// or a proof of a wrong step), made by the party's node: the move itself is signed by its
/// hash (blake2-256 of its SCALE encoding).
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct GameMovePayload<AccountId> {
	/// Hash of the chain's genesis block.
	pub genesis_hash: H256,
	/// The job.
	pub job: JobId,
	/// The job's attempt whose result is disputed.
	pub attempt: u32,
	/// The job's model.
	pub model: ModelHash,
	/// Hash of the job's input.
	pub input_hash: H256,
	/// The party making the move.
	pub party: AccountId,
	/// Hash of the move.
	pub move_hash: H256,
}

impl<AccountId: Encode> GameMovePayload<AccountId> {
	/// The bytes the party's session key signs.
	pub fn signing_bytes(&self) -> Vec<u8> {
		(GAME_MOVE_DOMAIN, self).encode()
	}
}

/// One job's result in a group statement, as the group's Merkle root commits to it
/// ([`crate::merkle`], over [`GroupLeaf::hash`]es in the order of the jobs' ids).
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
pub struct GroupLeaf {
	/// The job.
	pub job: JobId,
	/// The group's attempt (assignment) the result is from, counted from 1.
	pub attempt: u32,
	/// Hash of the job's input.
	pub input_hash: H256,
	/// The job's output tensors hash to this.
	pub output_hash: H256,
}

impl GroupLeaf {
	/// The leaf's hash in the group's tree.
	pub fn hash(&self) -> H256 {
		crate::merkle::leaf_hash(&self.encode())
	}

	/// The root over `leaves`, in their order.
	pub fn root(leaves: &[GroupLeaf]) -> H256 {
		crate::merkle::root(&leaves.iter().map(GroupLeaf::hash).collect::<Vec<_>>())
	}
}

/// The signed content of a group statement: one signature for the results of all the jobs
/// of a group ([`crate::GROUP_SPAN`]) its executor answers at once.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct GroupStatementPayload<AccountId> {
	/// Genesis hash of the chain.
	pub genesis_hash: H256,
	/// The group's first job id.
	pub first: JobId,
	/// The jobs' model.
	pub model: ModelHash,
	/// The executor making the claims.
	pub executor: AccountId,
	/// The root of the results' [`GroupLeaf`]s.
	pub root: H256,
}

impl<AccountId: Encode> GroupStatementPayload<AccountId> {
	/// The bytes the executor's session key signs.
	pub fn signing_bytes(&self) -> Vec<u8> {
		(GROUP_STATEMENT_DOMAIN, self).encode()
	}
}

/// The leaf hashes of a group statement, in leaf order.
pub type GroupLeaves =
	sp_runtime::BoundedVec<H256, sp_core::ConstU32<{ crate::GROUP_SPAN as u32 }>>;

/// An executor's signature of a group statement, kept with the outcome of the group's
/// results that settled together: with the statement's leaf hashes, anyone checks one job's
/// result against the executor's session key without trusting a node ([`Self::verify`],
/// [`Self::holds`]).
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct GroupAttestation<AccountId> {
	/// The executor.
	pub executor: AccountId,
	/// Its session key when it signed.
	pub key: InferenceKey,
	/// The group's attempt the results are from.
	pub attempt: u32,
	/// The session key's signature of the [`GroupStatementPayload`] of the leaves' root.
	pub signature: InferenceSignature,
	/// The statement's leaf hashes ([`GroupLeaf::hash`]), in leaf order.
	pub leaves: GroupLeaves,
}

impl<AccountId: Encode + Clone> GroupAttestation<AccountId> {
	/// The root the executor signed.
	pub fn root(&self) -> H256 {
		crate::merkle::root(&self.leaves)
	}

	/// Checks the signature of the group statement about the group whose first job is
	/// `first`, on `model`, on the chain of `genesis_hash`.
	pub fn verify(
		&self,
		genesis_hash: H256,
		first: JobId,
		model: ModelHash,
	) -> Result<(), AttestationError> {
		let payload = GroupStatementPayload {
			genesis_hash,
			first,
			model,
			executor: self.executor.clone(),
			root: self.root(),
		};
		if !sp_runtime::RuntimeAppPublic::verify(
			&self.key,
			&payload.signing_bytes(),
			&self.signature,
		) {
			return Err(AttestationError::BadSignature);
		}
		Ok(())
	}

	/// Whether leaf `index` of the statement is `leaf`, of this attestation's attempt.
	pub fn holds(&self, index: u32, leaf: &GroupLeaf) -> bool {
		leaf.attempt == self.attempt
			&& self.leaves.get(index as usize).is_some_and(|hash| *hash == leaf.hash())
	}

	/// The attestation of the claim of `output_hash` in leaf `index`, with its inclusion
	/// proof, as a job's outcome shows it.
	pub fn attestation(&self, index: u32, output_hash: H256) -> Attestation<AccountId> {
		let siblings = crate::merkle::proof(&self.leaves, index as usize).unwrap_or_default();
		Attestation {
			executor: self.executor.clone(),
			key: self.key.clone(),
			attempt: self.attempt,
			claim: Claim::Output(output_hash),
			signature: self.signature.clone(),
			inclusion: Some(Inclusion {
				root: self.root(),
				index,
				count: self.leaves.len() as u32,
				siblings: sp_runtime::BoundedVec::truncate_from(siblings),
			}),
		}
	}
}

/// Most sibling hashes of an inclusion proof in a group of at most [`crate::GROUP_SPAN`]
/// results.
pub const MAX_GROUP_DEPTH: u32 = 6;
const _: () = assert!(1u64 << MAX_GROUP_DEPTH >= crate::GROUP_SPAN, "a full group's proof fits");

/// Where one job's result sits in a signed group statement: with the job's [`GroupLeaf`],
/// it checks against the root alone, without the other results.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct Inclusion {
	/// The root the executor signed.
	pub root: H256,
	/// The leaf's place among the statement's results.
	pub index: u32,
	/// How many results the statement holds.
	pub count: u32,
	/// The sibling hashes from the leaf up ([`crate::merkle::proof`]).
	pub siblings: sp_runtime::BoundedVec<H256, sp_core::ConstU32<MAX_GROUP_DEPTH>>,
}

impl Inclusion {
	/// The inclusion of leaf `index` of `leaves`.
	pub fn of(leaves: &[GroupLeaf], index: usize) -> Option<Inclusion> {
		let hashes: Vec<H256> = leaves.iter().map(GroupLeaf::hash).collect();
		let siblings = crate::merkle::proof(&hashes, index)?;
		Some(Inclusion {
			root: crate::merkle::root(&hashes),
			index: index as u32,
			count: hashes.len() as u32,
			siblings: siblings.try_into().ok()?,
		})
	}

	/// Whether `leaf` is the leaf this inclusion places under its root.
	pub fn holds(&self, leaf: &GroupLeaf) -> bool {
		crate::merkle::verify(self.root, leaf.hash(), self.index, self.count, &self.siblings)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn leaves(count: u64) -> Vec<GroupLeaf> {
		(0..count)
			.map(|i| GroupLeaf {
				job: 64 + i,
				attempt: 1,
				input_hash: H256::repeat_byte(i as u8),
				output_hash: H256::repeat_byte(0x80 | i as u8),
			})
			.collect()
	}

	#[test]
	fn each_result_of_a_full_group_checks_alone_against_the_signed_root() {
		for count in [1, 2, 3, 7, 63, 64] {
			let leaves = leaves(count);
			let root = GroupLeaf::root(&leaves);
			for (index, leaf) in leaves.iter().enumerate() {
				let inclusion = Inclusion::of(&leaves, index).unwrap();
				assert_eq!(inclusion.root, root);
				assert!(inclusion.holds(leaf), "leaf {index} of {count}");
			}
		}
		assert!(Inclusion::of(&leaves(4), 4).is_none());
	}

	#[test]
	fn an_inclusion_holds_for_no_other_job_attempt_input_output_or_place() {
		let leaves = leaves(5);
		let inclusion = Inclusion::of(&leaves, 2).unwrap();
		let leaf = leaves[2];
		let others = [
			GroupLeaf { job: leaf.job + 1, ..leaf },
			GroupLeaf { attempt: 2, ..leaf },
			GroupLeaf { input_hash: H256::zero(), ..leaf },
			GroupLeaf { output_hash: H256::zero(), ..leaf },
			leaves[3],
		];
		assert!(others.iter().all(|other| !inclusion.holds(other)));
		let moved = Inclusion { index: 3, ..inclusion.clone() };
		assert!(!moved.holds(&leaf));
		let mut forged = inclusion.clone();
		forged.siblings[0] = H256::repeat_byte(9);
		assert!(!forged.holds(&leaf));
		let short = Inclusion { count: 4, ..inclusion };
		assert!(!short.holds(&leaf));
	}

	#[test]
	fn a_group_statement_signs_another_domain_than_a_statement() {
		let payload = GroupStatementPayload {
			genesis_hash: H256::zero(),
			first: 64,
			model: H256::zero(),
			executor: 7u64,
			root: GroupLeaf::root(&leaves(2)),
		};
		assert!(payload.signing_bytes().starts_with(&GROUP_STATEMENT_DOMAIN.encode()));
		assert!(!payload.signing_bytes().starts_with(&STATEMENT_DOMAIN.encode()));
	}
}
