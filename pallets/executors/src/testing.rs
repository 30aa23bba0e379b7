//! Session keys and their proofs of possession, for test runtimes (this pallet's and the
//! other pallets' mocks, the runtime's tests).

use haca_primitives::{InferenceKey, InferenceKeyProof};
use sp_core::{proof_of_possession::ProofOfPossessionGenerator, sr25519, Pair};

/// The session key pair of `seed` (any string: `//Alice`, `//haca-10`, ...).
pub fn key_pair(seed: &str) -> sr25519::Pair {
	sr25519::Pair::from_string(seed, None).expect("a valid derivation")
}

/// `pair`'s public key as a session key.
pub fn key_of(pair: &sr25519::Pair) -> InferenceKey {
	pair.public().into()
}

/// `pair`'s proof of possession for `who` on the chain of the current externalities.
pub fn key_proof<T: crate::Config>(who: &T::AccountId, pair: &sr25519::Pair) -> InferenceKeyProof {
	let statement = crate::Pallet::<T>::key_owner_statement(who);
	InferenceKeyProof::from(pair.clone().generate_proof_of_possession(&statement))
}
