//! What a model's registration records about its circuit: the integer layers of a quantised
//! model whose runs executors prove (`haca_proof`), stored on chain for the runtime to
//! verify proofs against.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;

/// A registered circuit, as its model's record keeps it.
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
pub struct CircuitCommitment {
	/// blake2-256 of the circuit's SCALE encoding. Executors compile the model themselves and
	/// refuse to prove its jobs when theirs hashes otherwise.
	pub hash: H256,
	/// Its encoded size in bytes.
	pub bytes: u32,
	/// Columns of its proofs' traces.
	pub columns: u32,
	/// Rows one sample takes in its proofs' traces.
	pub rows_per_sample: u32,
}
