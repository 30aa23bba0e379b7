//! Golden vectors of group statements' leaves, roots and inclusion proofs, as the runtime
//! computes them. The JavaScript client checks its leaf hashes and inclusion proofs, which
//! receipts of jobs settled from a group statement need, against the same file
//! (`clients/js/tests/vectors.test.js`).
//!
//! The committed file must be exactly what this test generates; after a deliberate change,
//! `UPDATE_VECTORS=1 cargo test -p haca-primitives --test group_vectors` rewrites it.

use haca_primitives::statement::{GroupLeaf, Inclusion};
use serde_json::{json, Value};
use sp_core::H256;

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/group.json");

fn hex(bytes: &[u8]) -> String {
	sp_core::bytes::to_hex(bytes, false)
}

/// A group of `count` results of jobs from `first`, with inputs and outputs told apart.
fn leaves(first: u64, count: u64) -> Vec<GroupLeaf> {
	(0..count)
		.map(|i| GroupLeaf {
			job: first + i,
			attempt: 1 + (i % 3) as u32,
			input_hash: H256::repeat_byte(i as u8),
			output_hash: H256::repeat_byte(0x80 | i as u8),
		})
		.collect()
}

fn vectors() -> Value {
	let groups: Vec<Value> = [1, 2, 3, 5, 8, 64]
		.into_iter()
		.map(|count| {
			let leaves = leaves(64 * count, count);
			let inclusions: Vec<Inclusion> =
				(0..leaves.len()).map(|index| Inclusion::of(&leaves, index).unwrap()).collect();
			let results: Vec<Value> = leaves
				.iter()
				.zip(&inclusions)
				.map(|(leaf, inclusion)| {
					assert!(inclusion.holds(leaf));
					json!({
						"leaf": {
							"job": leaf.job,
							"attempt": leaf.attempt,
							"inputHash": hex(leaf.input_hash.as_bytes()),
							"outputHash": hex(leaf.output_hash.as_bytes()),
						},
						"leafHash": hex(leaf.hash().as_bytes()),
						"index": inclusion.index,
						"count": inclusion.count,
						"siblings": inclusion.siblings.iter().map(|h| hex(h.as_bytes())).collect::<Vec<_>>(),
					})
				})
				.collect();
			json!({ "root": hex(GroupLeaf::root(&leaves).as_bytes()), "results": results })
		})
		.collect();
	json!({ "groups": groups })
}

#[test]
fn the_committed_group_vectors_are_what_the_runtime_computes() {
	let generated = serde_json::to_string_pretty(&vectors()).expect("JSON") + "\n";
	if std::env::var_os("UPDATE_VECTORS").is_some() {
		std::fs::write(FILE, &generated).unwrap();
	}
	let committed =
		std::fs::read_to_string(FILE).expect("vectors file; write it with UPDATE_VECTORS=1");
	assert!(committed == generated, "{FILE} is stale: rerun with UPDATE_VECTORS=1");
}
