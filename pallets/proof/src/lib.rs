//! # HACA proofs
//!
//! A succinct proof that a quantised model's integer layers map a job's input quanta to its
//! output quanta: a STARK (winterfell: FRI over the 64-bit Goldilocks field and its
//! quadratic extension, Blake3 Merkle commitments), so no trusted setup and no party to
//! trust; only collision-resistant hashing. Executors prove natively (feature `prover`, which `std` has);
//! the runtime verifies in the block that includes the proof.
//!
//! - [`circuit`]: the provable part of a model, its integer semantics (those of
//!   `haca_kernels` and tract, bit for bit) and its layout in a trace;
//! - [`compile`]: a model's dispute graph to its circuit;
//! - [`air`]: the constraints;
//! - [`verify`] and, with `prover`, [`prover::prove`] (and [`benchmarking`]'s worst cases);
//! - [`testing`]: a small circuit for other crates' tests.
//!
//! A proof is bound to its circuit, to the job's input and output quanta, and to a
//! `binding` (the job, attempt and executor), all of which seed its Fiat–Shamir challenges.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod air;
#[cfg(feature = "prover")]
pub mod benchmarking;
pub mod circuit;
pub mod compile;
mod decode;
#[cfg(feature = "prover")]
pub mod prover;
#[cfg(feature = "std")]
pub mod testing;

use alloc::vec::Vec;
use codec::{Decode, Encode};
use scale_info::TypeInfo;
use winter_air::{BatchingMethod, FieldExtension, ProofOptions};
use winter_crypto::{hashers::Blake3_256, DefaultRandomCoin, MerkleTree};
use winter_math::fields::f64::BaseElement;
use winter_utils::Serializable;
use winter_verifier::{AcceptableOptions, VerifierError};

pub use air::Statement;
pub use circuit::{Circuit, CircuitError, Classes, Layer, Quantization};

/// The hash of the proof's commitments and challenges.
pub type Hasher = Blake3_256<BaseElement>;

/// The one set of parameters proofs are made and accepted with: 28 queries into a domain
/// 16 times the trace's, 16 bits of grinding, challenges in the quadratic extension, FRI
/// folding by 8: 128 bits of conjectured security.
pub fn options() -> ProofOptions {
	ProofOptions::new(
		28,
		16,
		16,
		FieldExtension::Quadratic,
		8,
		31,
		BatchingMethod::Linear,
		BatchingMethod::Linear,
	)
}

/// Why a proof is refused, or cannot be made.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub enum ProofError {
	/// The circuit cannot be proven.
	Circuit(CircuitError),
	/// The input is not whole samples of the circuit's input.
	InputShape,
	/// An input quantum outside its 8-bit range.
	InputRange,
	/// The output is not one for each input sample.
	OutputShape,
	/// More samples than a proof's trace holds.
	TooManySamples,
	/// The proof is not made with [`options`] for this statement's trace, or its bytes do
	/// not decode.
	Malformed,
	/// The proof does not prove the statement.
	Rejected,
	/// The prover failed (natively; never from the runtime).
	Proving,
}

/// The bytes a proof of `statement` starts with: its trace's shape, the options and its
/// number of constraints.
fn expected_context(statement: &Statement) -> Vec<u8> {
	let constraints = air::InferenceAir::constraints(statement);
	winter_air::proof::Context::new::<BaseElement>(statement.trace_info(), options(), constraints)
		.to_bytes()
}

/// The base-2 logarithm of the trace rows a proof's header states (its fourth byte); a
/// proof whose header is not its statement's does not verify.
pub fn stated_log_rows(proof: &[u8]) -> Option<u8> {
	proof.get(3).copied()
}

/// Verifies `proof` of `statement`.
pub fn verify(statement: Statement, proof: &[u8]) -> Result<(), ProofError> {
	// Decoding an untrusted context could trip winterfell's own checks; the expected one,
	// byte for byte, cannot.
	if !proof.starts_with(&expected_context(&statement)) {
		return Err(ProofError::Malformed);
	}
	let proof = decode::decode(proof).map_err(|_| ProofError::Malformed)?;
	let acceptable = AcceptableOptions::OptionSet(alloc::vec![options()]);
	winter_verifier::verify::<
		air::InferenceAir,
		Hasher,
		DefaultRandomCoin<Hasher>,
		MerkleTree<Hasher>,
	>(proof, statement, &acceptable)
	.map_err(|_: VerifierError| ProofError::Rejected)
}
