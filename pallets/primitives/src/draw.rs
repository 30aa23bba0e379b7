//! Draws from on-chain data, which every node computes alike.

use alloc::vec::Vec;

/// `count` members of `pool` (at most all of them), consecutive from a start drawn from the
/// blake2-256 hash of `seed`, wrapping around at the end.
pub fn rotated<T: Clone>(pool: &[T], seed: &[u8], count: usize) -> Vec<T> {
	if pool.is_empty() {
		return Vec::new();
	}
	let hash = sp_io::hashing::blake2_256(seed);
	let first = u64::from_le_bytes(hash[..8].try_into().expect("a hash has 8 bytes"));
	let start = (first % pool.len() as u64) as usize;
	pool.iter().cycle().skip(start).take(count.min(pool.len())).cloned().collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_draw_is_consecutive_members_from_a_seeded_start() {
		let pool = [1, 2, 3, 4, 5];
		let drawn = rotated(&pool, b"seed", 3);
		let start = pool.iter().position(|member| *member == drawn[0]).unwrap();
		assert_eq!(drawn, [0, 1, 2].map(|step| pool[(start + step) % pool.len()]));
		assert_eq!(rotated(&pool, b"seed", 3), drawn, "the same seed, the same draw");
		assert_eq!(rotated(&pool, b"seed", 9).len(), pool.len(), "never more than the pool");
		assert!(rotated::<u8>(&[], b"seed", 2).is_empty());
		let starts: std::collections::BTreeSet<_> =
			(0u8..50).map(|seed| rotated(&pool, &[seed], 1)[0]).collect();
		assert_eq!(starts.len(), pool.len(), "every start is drawn for some seed");
	}
}
