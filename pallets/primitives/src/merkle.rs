//! Binary Merkle trees over blake2-256, as execution traces and weight commitments use them.
//!
//! A leaf is hashed as `blake2_256(0x00 ‖ bytes)` and an inner node as
//! `blake2_256(0x01 ‖ left ‖ right)`, so no leaf can pass for an inner node. Levels are
//! built pairwise from the left; a level's odd last hash moves up unchanged. The root of no
//! leaves is zero.

use alloc::vec::Vec;
use sp_core::H256;

const LEAF: u8 = 0;
const INNER: u8 = 1;

/// The hash of a leaf holding `bytes`.
pub fn leaf_hash(bytes: &[u8]) -> H256 {
	let mut input = Vec::with_capacity(1 + bytes.len());
	input.push(LEAF);
	input.extend_from_slice(bytes);
	H256(sp_io::hashing::blake2_256(&input))
}

fn inner_hash(left: &H256, right: &H256) -> H256 {
	let mut input = [0u8; 65];
	input[0] = INNER;
	input[1..33].copy_from_slice(left.as_bytes());
	input[33..].copy_from_slice(right.as_bytes());
	H256(sp_io::hashing::blake2_256(&input))
}

/// The level above `level`.
fn parents(level: &[H256]) -> Vec<H256> {
	level
		.chunks(2)
		.map(|pair| match pair {
			[left, right] => inner_hash(left, right),
			[last] => *last,
			_ => unreachable!("chunks of two"),
		})
		.collect()
}

/// The root of a tree over leaf hashes `leaves`.
pub fn root(leaves: &[H256]) -> H256 {
	let mut level = leaves.to_vec();
	while level.len() > 1 {
		level = parents(&level);
	}
	level.first().copied().unwrap_or_default()
}

/// The sibling hashes from leaf `index` up to the root, bottom first (levels where the
/// leaf's ancestor has no sibling contribute none); `None` if there is no such leaf.
pub fn proof(leaves: &[H256], index: usize) -> Option<Vec<H256>> {
	if index >= leaves.len() {
		return None;
	}
	let mut siblings = Vec::new();
	let (mut level, mut at) = (leaves.to_vec(), index);
	while level.len() > 1 {
		if let Some(sibling) = level.get(at ^ 1) {
			siblings.push(*sibling);
		}
		level = parents(&level);
		at /= 2;
	}
	Some(siblings)
}

/// Whether `leaf` is leaf `index` of a tree of `count` leaves with root `root`, by the
/// sibling hashes `siblings` ([`proof`]). Nothing is allocated.
pub fn verify(root: H256, leaf: H256, index: u32, count: u32, siblings: &[H256]) -> bool {
	if index >= count {
		return false;
	}
	let (mut hash, mut at, mut width) = (leaf, index, count);
	let mut siblings = siblings.iter();
	while width > 1 {
		let has_sibling = (at ^ 1) < width;
		if has_sibling {
			let Some(sibling) = siblings.next() else { return false };
			hash =
				if at % 2 == 0 { inner_hash(&hash, sibling) } else { inner_hash(sibling, &hash) };
		}
		at /= 2;
		width = width.div_ceil(2);
	}
	siblings.next().is_none() && hash == root
}

#[cfg(test)]
mod tests {
	use super::*;

	fn leaves(count: usize) -> Vec<H256> {
		(0..count).map(|i| leaf_hash(&(i as u32).to_le_bytes())).collect()
	}

	#[test]
	fn every_leaf_of_every_size_proves_and_nothing_else_does() {
		for count in 1..=17 {
			let leaves = leaves(count);
			let top = root(&leaves);
			for (index, leaf) in leaves.iter().enumerate() {
				let siblings = proof(&leaves, index).unwrap();
				let (index, count) = (index as u32, count as u32);
				assert!(verify(top, *leaf, index, count, &siblings), "{index} of {count}");
				assert!(!verify(top, leaf_hash(b"other"), index, count, &siblings));
				assert!(!verify(top, *leaf, index ^ 1, count, &siblings));
				let mut longer = siblings.clone();
				longer.push(H256::zero());
				assert!(!verify(top, *leaf, index, count, &longer));
			}
			assert_eq!(proof(&leaves, count), None);
			assert!(!verify(top, leaves[0], count as u32, count as u32, &[]));
		}
	}

	#[test]
	fn leaves_and_inner_nodes_hash_apart() {
		let leaves = leaves(2);
		let top = root(&leaves);
		// The root is not the leaf hash of the two leaf hashes side by side.
		assert_ne!(top, leaf_hash(&[leaves[0].as_bytes(), leaves[1].as_bytes()].concat()));
		assert_eq!(root(&leaves[..1]), leaves[0]);
		assert_eq!(root(&[]), H256::zero());
	}
}
