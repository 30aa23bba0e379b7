//! Decoding untrusted proofs: every length a proof states is held to the bytes left, in
//! the proof and in the Merkle openings the verifier decodes from it later (winterfell
//! reserves whatever length it reads, and an allocation that fails aborts).

use alloc::vec::Vec;
use winter_air::proof::Proof;
use winter_utils::{ByteReader, Deserializable, DeserializationError, Serializable};

/// Bytes of a Merkle node (a Blake3-256 digest).
const DIGEST_BYTES: usize = 32;

/// The proof in `bytes`, all of them.
pub(crate) fn decode(bytes: &[u8]) -> Result<Proof, DeserializationError> {
	let mut reader = ProofReader::new(bytes);
	let proof = Proof::read_from(&mut reader)?;
	// One encoding per proof: nothing may follow it.
	if reader.has_more_bytes() {
		return Err(DeserializationError::UnconsumedBytes);
	}
	// The openings of the trace and constraint queries (each its values, then its opening).
	for queries in proof.trace_queries.iter().chain([&proof.constraint_queries]) {
		let encoded = queries.to_bytes();
		let mut reader = ProofReader::new(&encoded);
		Vec::<u8>::read_from(&mut reader)?;
		check_opening(&Vec::<u8>::read_from(&mut reader)?)?;
	}
	// The openings of the FRI layers (each its values, then its opening).
	let encoded = proof.fri_proof.to_bytes();
	let mut reader = ProofReader::new(&encoded);
	for _ in 0..reader.read_u8()? {
		let values = reader.read_u32()? as usize;
		reader.read_slice(values)?;
		let opening = reader.read_u32()? as usize;
		check_opening(reader.read_slice(opening)?)?;
	}
	Ok(proof)
}

/// Checks the lengths of a Merkle multi-proof's encoding (its depth, then vectors of
/// nodes, each its length and its digests) against its bytes.
fn check_opening(bytes: &[u8]) -> Result<(), DeserializationError> {
	let mut reader = ProofReader::new(bytes);
	reader.read_u8()?;
	let vectors = reader.read_usize()?;
	// Each vector's length takes a byte at least.
	reader.check_eor(vectors)?;
	for _ in 0..vectors {
		let digests = reader.read_usize()?;
		reader.read_slice(
			digests.checked_mul(DIGEST_BYTES).ok_or(DeserializationError::UnexpectedEOF)?,
		)?;
	}
	Ok(())
}

/// Reads a proof's bytes. A sequence is refused unless the bytes left could hold it (every
/// element of a proof takes at least one byte), so no length a proof states makes the
/// decoder allocate more than the proof's own size in elements.
struct ProofReader<'a> {
	bytes: &'a [u8],
	position: usize,
}

impl<'a> ProofReader<'a> {
	fn new(bytes: &'a [u8]) -> Self {
		Self { bytes, position: 0 }
	}

	fn left(&self) -> usize {
		self.bytes.len() - self.position
	}
}

impl ByteReader for ProofReader<'_> {
	fn read_u8(&mut self) -> Result<u8, DeserializationError> {
		let [byte] = self.read_array::<1>()?;
		Ok(byte)
	}

	fn peek_u8(&self) -> Result<u8, DeserializationError> {
		self.bytes.get(self.position).copied().ok_or(DeserializationError::UnexpectedEOF)
	}

	fn read_slice(&mut self, len: usize) -> Result<&[u8], DeserializationError> {
		self.check_eor(len)?;
		let slice = &self.bytes[self.position..self.position + len];
		self.position += len;
		Ok(slice)
	}

	fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DeserializationError> {
		let mut array = [0; N];
		array.copy_from_slice(self.read_slice(N)?);
		Ok(array)
	}

	fn check_eor(&self, num_bytes: usize) -> Result<(), DeserializationError> {
		if num_bytes > self.left() {
			return Err(DeserializationError::UnexpectedEOF);
		}
		Ok(())
	}

	fn has_more_bytes(&self) -> bool {
		self.left() > 0
	}

	fn read_many<D: Deserializable>(
		&mut self,
		num_elements: usize,
	) -> Result<Vec<D>, DeserializationError> {
		self.check_eor(num_elements)?;
		(0..num_elements).map(|_| D::read_from(self)).collect()
	}
}
