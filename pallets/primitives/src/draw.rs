//! Draws from a random seed, which every node computes alike.
//!
//! The seed must come from randomness nobody could know when the draw was asked for (the
//! pallets use BABE's VRF output of a block after the request's inclusion); this module
//! only turns it into members.

use alloc::vec::Vec;
use codec::Encode;
use sp_runtime::Perbill;

/// `count` distinct members of `pool` (at most all of them), each drawn independently and
/// uniformly among those not drawn yet, from the blake2-256 hashes of (`seed`, draw number).
/// Any subset of `pool` of that size can be drawn; the order of `pool` favours nobody.
pub fn sample<T: Clone>(pool: &[T], seed: &[u8], count: usize) -> Vec<T> {
	let mut rest: Vec<usize> = (0..pool.len()).collect();
	let count = count.min(pool.len());
	for draw in 0..count {
		let hash = sp_io::hashing::blake2_256(&(seed, draw as u32).encode());
		let value = u64::from_le_bytes(hash[..8].try_into().expect("a hash has 8 bytes"));
		// Modulo bias is below pool.len() / 2^64: negligible for any pool a chain holds.
		let pick = draw + (value % (rest.len() - draw) as u64) as usize;
		rest.swap(draw, pick);
	}
	rest[..count].iter().map(|&index| pool[index].clone()).collect()
}

/// Whether an event of probability `chance` happens, drawn from the blake2-256 hash of
/// `seed`: every node decides alike, and nobody who does not know the seed can tell.
pub fn happens(seed: &[u8], chance: Perbill) -> bool {
	let hash = sp_io::hashing::blake2_256(seed);
	let value = u64::from_le_bytes(hash[..8].try_into().expect("a hash has 8 bytes"));
	// Parts per billion, with a bias below 10^9 / 2^64.
	value % 1_000_000_000 < u64::from(chance.deconstruct())
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::collections::BTreeMap;

	#[test]
	fn a_draw_is_distinct_members_the_same_for_the_same_seed() {
		let pool = [1, 2, 3, 4, 5];
		let drawn = sample(&pool, b"seed", 3);
		assert_eq!(drawn.len(), 3);
		assert!(drawn.iter().all(|member| pool.contains(member)));
		let mut distinct = drawn.clone();
		distinct.sort();
		distinct.dedup();
		assert_eq!(distinct.len(), 3, "no member twice");
		assert_eq!(sample(&pool, b"seed", 3), drawn, "the same seed, the same draw");
		assert_eq!(sample(&pool, b"seed", 9).len(), pool.len(), "never more than the pool");
		assert!(sample::<u8>(&[], b"seed", 2).is_empty());
	}

	#[test]
	fn events_happen_as_often_as_their_chance() {
		let draws = 20_000u32;
		let count = |chance| (0..draws).filter(|seed| happens(&seed.to_le_bytes(), chance)).count();
		assert_eq!(count(Perbill::zero()), 0);
		assert_eq!(count(Perbill::one()), draws as usize);
		let tenth = count(Perbill::from_percent(10));
		assert!((1_800..2_200).contains(&tenth), "{tenth} of {draws} at 10 %");
		assert!(
			happens(b"seed", Perbill::from_percent(50))
				== happens(b"seed", Perbill::from_percent(50))
		);
	}

	/// A contiguous window of the pool (a rotation) reaches only 5 of the 10 three-member
	/// subsets of five; independent draws reach all of them, about equally often.
	#[test]
	fn every_subset_is_drawn_and_every_member_equally_often() {
		let pool = [1, 2, 3, 4, 5];
		let draws = 20_000u32;
		let mut subsets = BTreeMap::new();
		let mut members = BTreeMap::new();
		for seed in 0..draws {
			let mut drawn = sample(&pool, &seed.to_le_bytes(), 3);
			for member in &drawn {
				*members.entry(*member).or_insert(0u32) += 1;
			}
			drawn.sort();
			*subsets.entry(drawn).or_insert(0u32) += 1;
		}
		assert_eq!(subsets.len(), 10, "all C(5, 3) subsets");
		assert!(subsets.contains_key(&vec![1, 3, 5]), "a subset no window of the pool is");
		let expected = draws / 10;
		for (subset, seen) in &subsets {
			assert!(seen.abs_diff(expected) < expected / 10, "{subset:?} drawn {seen} times");
		}
		let expected = draws * 3 / 5;
		for (member, seen) in &members {
			assert!(seen.abs_diff(expected) < expected / 20, "{member} drawn {seen} times");
		}
	}
}
