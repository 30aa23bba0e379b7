//! Proofs as the runtime receives them, for a statement of a small circuit: random bytes,
//! and an honest proof with bytes overwritten, cut or appended, are each refused without a
//! panic; only the honest proof itself verifies.

#![no_main]

use std::sync::OnceLock;

use haca_proof::{prover::prove, testing::small_circuit, verify, Statement};

/// The statement of a run on fixed input quanta, and its honest proof.
fn honest() -> &'static (Statement, Vec<u8>) {
	static HONEST: OnceLock<(Statement, Vec<u8>)> = OnceLock::new();
	HONEST.get_or_init(|| {
		let circuit = small_circuit();
		let inputs = vec![20, 40, 60, 80];
		let (outputs, proof) = prove(&circuit, [1; 32], &inputs).expect("the run proves");
		let statement =
			Statement::new(circuit, [1; 32], inputs, outputs).expect("a statement of the run");
		(statement, proof)
	})
}

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
	let (statement, proof) = honest();
	// The first byte picks how the rest makes a proof; the next two, where it goes.
	let Some((&how, rest)) = bytes.split_first() else { return };
	let (at, patch) = match rest {
		[high, low, patch @ ..] => {
			(usize::from(u16::from_be_bytes([*high, *low])) % proof.len(), patch)
		}
		_ => (0, rest),
	};
	let candidate = match how % 4 {
		0 => rest.to_vec(),
		1 => {
			let mut overwritten = proof.clone();
			for (byte, new) in overwritten[at..].iter_mut().zip(patch) {
				*byte = *new;
			}
			overwritten
		}
		2 => proof[..at].to_vec(),
		_ => [&proof[..], patch].concat(),
	};
	let verified = verify(statement.clone(), &candidate);
	assert_eq!(verified.is_ok(), candidate == *proof, "{verified:?} for a changed proof");
});
