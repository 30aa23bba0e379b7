//! The model store: models kept off chain, each a file named by its content hash
//! (`<hex blake2-256>.onnx`) in one directory. A model enters only if its bytes hash to its
//! name; the store is bounded in bytes, the least recently used model leaving first, never
//! one the node serves.

use std::{
	fs,
	path::{Path, PathBuf},
	time::SystemTime,
};

use sp_core::hexdisplay::HexDisplay;

/// Why a model could not be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
	/// The bytes do not hash to the model's hash.
	#[error("the bytes hash to 0x{found}, not to the model's 0x{expected}")]
	HashMismatch { expected: String, found: String },
	/// The model alone is larger than the store.
	#[error("the model ({size} bytes) is larger than the store ({capacity} bytes)")]
	TooLarge { size: u64, capacity: u64 },
	/// The directory could not be read or written.
	#[error("{0}")]
	Io(String),
}

/// A model in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredModel {
	/// Its content hash.
	pub hash: [u8; 32],
	/// Its size in bytes.
	pub size: u64,
	/// When it was last stored or read.
	pub used: SystemTime,
}

/// Models kept off chain, in a directory, up to a number of bytes.
#[derive(Debug, Clone)]
pub struct ModelStore {
	dir: PathBuf,
	capacity: u64,
}

impl ModelStore {
	/// The store in `dir`, holding up to `capacity` bytes of models.
	pub fn new(dir: impl Into<PathBuf>, capacity: u64) -> Self {
		Self { dir: dir.into(), capacity }
	}

	/// Its directory.
	pub fn dir(&self) -> &Path {
		&self.dir
	}

	/// Most bytes of models it holds.
	pub fn capacity(&self) -> u64 {
		self.capacity
	}

	/// Whether it holds model `hash` (not a use).
	pub fn contains(&self, hash: &[u8; 32]) -> bool {
		self.path(hash).is_file()
	}

	/// Where model `hash` is kept.
	pub fn path(&self, hash: &[u8; 32]) -> PathBuf {
		self.dir.join(format!("{}.onnx", HexDisplay::from(hash)))
	}

	/// The bytes of model `hash`, if the store has it; the read counts as a use.
	pub fn get(&self, hash: &[u8; 32]) -> Option<Vec<u8>> {
		let path = self.path(hash);
		let bytes = fs::read(&path).ok()?;
		if let Ok(file) = fs::File::options().append(true).open(&path) {
			let _ = file.set_modified(SystemTime::now());
		}
		Some(bytes)
	}

	/// Up to `len` bytes of model `hash` from `offset` (fewer at its end), if the store has
	/// it: what the node serves its peers (not a use).
	pub fn read_chunk(&self, hash: &[u8; 32], offset: u64, len: u32) -> Option<Vec<u8>> {
		use std::io::{Read, Seek, SeekFrom};
		let mut file = fs::File::open(self.path(hash)).ok()?;
		file.seek(SeekFrom::Start(offset)).ok()?;
		let mut chunk = Vec::with_capacity(len as usize);
		file.take(len.into()).read_to_end(&mut chunk).ok()?;
		Some(chunk)
	}

	/// Stores `bytes` as model `hash` if they hash to it, then makes room: the least recently
	/// used models leave until the store is within its capacity, except those in `pinned`.
	pub fn insert(
		&self,
		hash: &[u8; 32],
		bytes: &[u8],
		pinned: &[[u8; 32]],
	) -> Result<PathBuf, StoreError> {
		let found = sp_crypto_hashing::blake2_256(bytes);
		if found != *hash {
			return Err(StoreError::HashMismatch {
				expected: HexDisplay::from(hash).to_string(),
				found: HexDisplay::from(&found).to_string(),
			});
		}
		let size = bytes.len() as u64;
		if size > self.capacity {
			return Err(StoreError::TooLarge { size, capacity: self.capacity });
		}
		let io = |error: std::io::Error| StoreError::Io(format!("{}: {error}", self.dir.display()));
		fs::create_dir_all(&self.dir).map_err(io)?;
		// Written aside and renamed: a reader never sees a partial model under its name.
		let path = self.path(hash);
		let partial = path.with_extension("onnx.partial");
		fs::write(&partial, bytes).map_err(io)?;
		fs::rename(&partial, &path).map_err(io)?;
		let mut kept = pinned.to_vec();
		kept.push(*hash);
		self.make_room(&kept)?;
		Ok(path)
	}

	/// The models in the store, most recently used first.
	pub fn list(&self) -> Result<Vec<StoredModel>, StoreError> {
		let entries = match fs::read_dir(&self.dir) {
			Ok(entries) => entries,
			Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
			Err(error) => return Err(StoreError::Io(format!("{}: {error}", self.dir.display()))),
		};
		let mut models: Vec<StoredModel> = entries
			.filter_map(|entry| {
				let entry = entry.ok()?;
				let name = entry.file_name().into_string().ok()?;
				let hex = name.strip_suffix(".onnx")?;
				let hash: [u8; 32] = sp_core::bytes::from_hex(hex).ok()?.try_into().ok()?;
				let metadata = entry.metadata().ok()?;
				Some(StoredModel { hash, size: metadata.len(), used: metadata.modified().ok()? })
			})
			.collect();
		models.sort_by_key(|model| std::cmp::Reverse(model.used));
		Ok(models)
	}

	/// Removes the least recently used models not in `kept` until the store holds at most
	/// its capacity.
	fn make_room(&self, kept: &[[u8; 32]]) -> Result<(), StoreError> {
		let models = self.list()?;
		let mut total: u64 = models.iter().map(|model| model.size).sum();
		for model in models.iter().rev() {
			if total <= self.capacity {
				break;
			}
			if kept.contains(&model.hash) {
				continue;
			}
			fs::remove_file(self.path(&model.hash))
				.map_err(|error| StoreError::Io(format!("{}: {error}", self.dir.display())))?;
			log::info!(
				target: "haca-engine",
				"model 0x{} ({} bytes) left the model store (least recently used)",
				HexDisplay::from(&model.hash),
				model.size,
			);
			total -= model.size;
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn scratch(name: &str) -> PathBuf {
		let dir = std::env::temp_dir().join(format!("haca-store-{name}-{}", std::process::id()));
		let _ = fs::remove_dir_all(&dir);
		dir
	}

	fn model(byte: u8, size: usize) -> ([u8; 32], Vec<u8>) {
		let bytes = vec![byte; size];
		(sp_crypto_hashing::blake2_256(&bytes), bytes)
	}

	/// Marks `hash` as used `seconds` ago.
	fn used_ago(store: &ModelStore, hash: &[u8; 32], seconds: u64) {
		let file = fs::File::options().append(true).open(store.path(hash)).unwrap();
		let when = SystemTime::now() - std::time::Duration::from_secs(seconds);
		file.set_modified(when).unwrap();
	}

	#[test]
	fn models_enter_under_their_hash_only() {
		let store = ModelStore::new(scratch("hash"), 1_000);
		let (hash, bytes) = model(1, 10);
		let (other, _) = model(2, 10);
		assert!(matches!(store.insert(&other, &bytes, &[]), Err(StoreError::HashMismatch { .. })));
		assert_eq!(store.get(&other), None);
		assert!(!store.contains(&hash));
		assert_eq!(store.insert(&hash, &bytes, &[]).unwrap(), store.path(&hash));
		assert!(store.contains(&hash));
		assert_eq!(store.get(&hash), Some(bytes.clone()));
		assert_eq!(store.read_chunk(&hash, 4, 3), Some(bytes[4..7].to_vec()));
		assert_eq!(store.read_chunk(&hash, 8, 100), Some(bytes[8..].to_vec()));
		assert_eq!(store.read_chunk(&hash, 100, 3), Some(Vec::new()));
		assert_eq!(store.read_chunk(&other, 0, 3), None);
		let (big, big_bytes) = model(3, 1_001);
		assert_eq!(
			store.insert(&big, &big_bytes, &[]),
			Err(StoreError::TooLarge { size: 1_001, capacity: 1_000 })
		);
		let _ = fs::remove_dir_all(store.dir());
	}

	#[test]
	fn the_least_recently_used_leave_first_and_served_models_stay() {
		let store = ModelStore::new(scratch("lru"), 300);
		let (a, a_bytes) = model(1, 100);
		let (b, b_bytes) = model(2, 100);
		let (c, c_bytes) = model(3, 100);
		let (d, d_bytes) = model(4, 100);
		store.insert(&a, &a_bytes, &[]).unwrap();
		store.insert(&b, &b_bytes, &[]).unwrap();
		store.insert(&c, &c_bytes, &[]).unwrap();
		used_ago(&store, &a, 30);
		used_ago(&store, &b, 20);
		used_ago(&store, &c, 10);
		// Reading `a` makes it the most recently used: `b` leaves for `d`.
		store.get(&a).unwrap();
		store.insert(&d, &d_bytes, &[]).unwrap();
		let held: Vec<[u8; 32]> = store.list().unwrap().iter().map(|model| model.hash).collect();
		assert_eq!(held.len(), 3);
		assert!(held.contains(&a) && held.contains(&c) && held.contains(&d), "{held:?}");
		// A served model stays however old: the next oldest leaves.
		used_ago(&store, &c, 100);
		store.insert(&b, &b_bytes, &[c]).unwrap();
		let held: Vec<[u8; 32]> = store.list().unwrap().iter().map(|model| model.hash).collect();
		assert!(held.contains(&c) && held.contains(&b) && held.len() == 3, "{held:?}");
		let _ = fs::remove_dir_all(store.dir());
	}
}
