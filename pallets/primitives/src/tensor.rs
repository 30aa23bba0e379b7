//! The canonical tensor encoding shared by the runtime and the inference engine.
//!
//! A tensor is its element type, its shape and its elements as little-endian raw bytes, in
//! row-major order. A list of tensors (a model's inputs or outputs) is SCALE-encoded as a
//! `Vec<Tensor>`; the hash of a tensor list is the blake2-256 of that encoding
//! ([`tensors_hash`]). Bytes that decode to a tensor list but are not its exact encoding
//! (trailing bytes) are rejected by [`decode_tensors`], so every list has one encoding and
//! one hash.

use alloc::vec::Vec;
use codec::{Decode, DecodeAll, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use serde::{Deserialize, Serialize};
use sp_core::ConstU32;
use sp_runtime::BoundedVec;
use Debug;

/// Most dimensions a tensor may have.
pub const MAX_RANK: u32 = 8;
/// Longest tensor name, in bytes.
pub const MAX_NAME_LEN: u32 = 64;
/// Most tensors in a model's input or output list.
pub const MAX_TENSORS: u32 = 8;

/// Element type of a tensor.
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
	Serialize,
	Deserialize,
)]
pub enum ElementType {
	/// IEEE 754 binary32.
	F32,
	/// IEEE 754 binary64.
	F64,
	/// Signed 8-bit integer.
	I8,
	/// Unsigned 8-bit integer.
	U8,
	/// Signed 16-bit integer.
	I16,
	/// Signed 32-bit integer.
	I32,
	/// Signed 64-bit integer.
	I64,
}

impl ElementType {
	/// Bytes per element.
	pub const fn size(self) -> usize {
		match self {
			Self::I8 | Self::U8 => 1,
			Self::I16 => 2,
			Self::F32 | Self::I32 => 4,
			Self::F64 | Self::I64 => 8,
		}
	}

	/// Whether the type is a floating-point type (compared within a tolerance).
	pub const fn is_float(self) -> bool {
		matches!(self, Self::F32 | Self::F64)
	}
}

/// A tensor's dimensions (bounded rank).
pub type Shape = BoundedVec<u32, ConstU32<MAX_RANK>>;

/// A tensor name, UTF-8 (as in the ONNX graph).
pub type TensorName = BoundedVec<u8, ConstU32<MAX_NAME_LEN>>;

/// What a model expects of one input or produces as one output.
#[derive(
	Clone,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
	Serialize,
	Deserialize,
)]
pub struct TensorSpec {
	/// Name of the tensor in the ONNX graph.
	pub name: TensorName,
	/// Element type.
	pub element_type: ElementType,
	/// Fixed shape.
	pub shape: Shape,
}

impl TensorSpec {
	/// Number of elements (`None` on overflow).
	pub fn element_count(&self) -> Option<usize> {
		element_count(&self.shape)
	}

	/// Size of a tensor of this spec in bytes (`None` on overflow).
	pub fn byte_len(&self) -> Option<usize> {
		self.element_count()?.checked_mul(self.element_type.size())
	}
}

/// A tensor in the canonical encoding.
#[derive(Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, Debug)]
pub struct Tensor {
	/// Element type.
	pub element_type: ElementType,
	/// Dimensions.
	pub shape: Shape,
	/// Elements, little-endian, row-major.
	pub data: Vec<u8>,
}

impl Tensor {
	/// Checks the tensor against `spec`: element type, shape and byte length.
	pub fn check(&self, spec: &TensorSpec) -> Result<(), TensorError> {
		if self.element_type != spec.element_type {
			return Err(TensorError::ElementType);
		}
		if self.shape != spec.shape {
			return Err(TensorError::Shape);
		}
		if Some(self.data.len()) != spec.byte_len() {
			return Err(TensorError::ByteLength);
		}
		Ok(())
	}
}

/// Why tensors do not match their specs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TensorError {
	/// The bytes are not a canonically encoded tensor list.
	Malformed,
	/// A different number of tensors than the model has.
	Count,
	/// A tensor's element type differs from the spec.
	ElementType,
	/// A tensor's shape differs from the spec.
	Shape,
	/// A tensor's data length is not its element count times its element size.
	ByteLength,
}

/// Number of elements of a tensor with dimensions `shape` (`None` on overflow).
pub fn element_count(shape: &[u32]) -> Option<usize> {
	shape.iter().try_fold(1usize, |count, &dim| count.checked_mul(dim as usize))
}

/// Length of the canonical encoding of a tensor list matching `specs` (`None` on overflow).
pub fn encoded_len(specs: &[TensorSpec]) -> Option<usize> {
	let compact = |n: usize| codec::Compact(n as u64).encoded_size();
	specs.iter().try_fold(compact(specs.len()), |total, spec| {
		let data = spec.byte_len()?;
		let rank = spec.shape.len();
		total.checked_add(1 + compact(rank) + 4 * rank + compact(data) + data)
	})
}

/// Decodes a canonically encoded tensor list; trailing bytes are an error.
pub fn decode_tensors(mut bytes: &[u8]) -> Result<Vec<Tensor>, TensorError> {
	Vec::<Tensor>::decode_all(&mut bytes).map_err(|_| TensorError::Malformed)
}

/// Checks a tensor list against specs, one to one and in order.
pub fn check_tensors(tensors: &[Tensor], specs: &[TensorSpec]) -> Result<(), TensorError> {
	if tensors.len() != specs.len() {
		return Err(TensorError::Count);
	}
	tensors.iter().zip(specs).try_for_each(|(tensor, spec)| tensor.check(spec))
}

/// Decodes `bytes` and checks them against `specs`.
pub fn decode_and_check(bytes: &[u8], specs: &[TensorSpec]) -> Result<Vec<Tensor>, TensorError> {
	let tensors = decode_tensors(bytes)?;
	check_tensors(&tensors, specs)?;
	Ok(tensors)
}

/// The hash of a tensor list: blake2-256 of its canonical encoding.
pub fn tensors_hash(tensors: &[Tensor]) -> [u8; 32] {
	sp_io::hashing::blake2_256(&tensors.encode())
}

/// Distance between two IEEE 754 values in units of least precision, from their bit
/// patterns (`bits` is the width: 32 or 64). Integer arithmetic only, so every node computes
/// the same answer. NaNs are at distance zero only from the identical bit pattern.
pub fn ulp_distance(a: u64, b: u64, bits: u32) -> u64 {
	let sign = 1u64 << (bits - 1);
	let exponent_mask = if bits == 32 { 0x7f80_0000 } else { 0x7ff0_0000_0000_0000 };
	let is_nan =
		|x: u64| x & exponent_mask == exponent_mask && x & (exponent_mask ^ (sign - 1)) != 0;
	if a == b {
		return 0;
	}
	if is_nan(a) || is_nan(b) {
		return u64::MAX;
	}
	// Map the sign-magnitude patterns onto one ordered integer line (+0 and -0 meet at 0).
	let ordered = |x: u64| -> i128 {
		let magnitude = (x & (sign - 1)) as i128;
		if x & sign != 0 {
			-magnitude
		} else {
			magnitude
		}
	};
	(ordered(a) - ordered(b)).unsigned_abs().min(u64::MAX as u128) as u64
}

/// Whether two tensor lists agree: same types and shapes, integer elements identical, float
/// elements within `max_ulps` units of least precision of each other.
pub fn tensors_agree(a: &[Tensor], b: &[Tensor], max_ulps: u32) -> bool {
	a.len() == b.len()
		&& a.iter().zip(b).all(|(x, y)| {
			if x.element_type != y.element_type
				|| x.shape != y.shape
				|| x.data.len() != y.data.len()
			{
				return false;
			}
			let within = |width: usize| {
				x.data.chunks_exact(width).zip(y.data.chunks_exact(width)).all(|(p, q)| {
					let mut wide = [[0u8; 8]; 2];
					wide[0][..width].copy_from_slice(p);
					wide[1][..width].copy_from_slice(q);
					let (p, q) = (u64::from_le_bytes(wide[0]), u64::from_le_bytes(wide[1]));
					ulp_distance(p, q, (width * 8) as u32) <= u64::from(max_ulps)
				})
			};
			match x.element_type {
				ElementType::F32 => within(4),
				ElementType::F64 => within(8),
				_ => x.data == y.data,
			}
		})
}

#[cfg(test)]
mod tests {
	use super::*;

	fn shape(dims: &[u32]) -> Shape {
		dims.to_vec().try_into().expect("rank within bound")
	}

	fn spec(element_type: ElementType, dims: &[u32]) -> TensorSpec {
		TensorSpec { name: b"x".to_vec().try_into().unwrap(), element_type, shape: shape(dims) }
	}

	fn f32_tensor(dims: &[u32], values: &[f32]) -> Tensor {
		Tensor {
			element_type: ElementType::F32,
			shape: shape(dims),
			data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
		}
	}

	#[test]
	fn tensors_round_trip_and_hash_their_encoding() {
		let tensors = vec![f32_tensor(&[1, 2], &[1.0, -2.5])];
		let bytes = tensors.encode();
		assert_eq!(decode_tensors(&bytes), Ok(tensors.clone()));
		assert_eq!(tensors_hash(&tensors), sp_io::hashing::blake2_256(&bytes));
		assert_ne!(tensors_hash(&tensors), tensors_hash(&[f32_tensor(&[1, 2], &[1.0, 2.5])]));
	}

	#[test]
	fn trailing_or_truncated_bytes_are_malformed() {
		let mut bytes = vec![f32_tensor(&[2], &[1.0, 2.0])].encode();
		bytes.push(0);
		assert_eq!(decode_tensors(&bytes), Err(TensorError::Malformed));
		bytes.truncate(bytes.len() - 2);
		assert_eq!(decode_tensors(&bytes), Err(TensorError::Malformed));
	}

	#[test]
	fn checks_name_the_mismatch() {
		let specs = [spec(ElementType::F32, &[1, 2])];
		assert_eq!(check_tensors(&[f32_tensor(&[1, 2], &[0.0, 1.0])], &specs), Ok(()));
		assert_eq!(check_tensors(&[], &specs), Err(TensorError::Count));
		assert_eq!(
			check_tensors(&[f32_tensor(&[2, 1], &[0.0, 1.0])], &specs),
			Err(TensorError::Shape)
		);
		assert_eq!(
			check_tensors(&[f32_tensor(&[1, 2], &[0.0])], &specs),
			Err(TensorError::ByteLength)
		);
		let mut wrong_type = f32_tensor(&[1, 2], &[0.0, 1.0]);
		wrong_type.element_type = ElementType::I32;
		assert_eq!(check_tensors(&[wrong_type], &specs), Err(TensorError::ElementType));
	}

	fn f32_bits(v: f32) -> u64 {
		u64::from(v.to_bits())
	}

	#[test]
	fn ulp_distance_counts_representable_steps() {
		let one = f32_bits(1.0);
		let next = f32_bits(f32::from_bits(1.0f32.to_bits() + 1));
		assert_eq!(ulp_distance(one, one, 32), 0);
		assert_eq!(ulp_distance(one, next, 32), 1);
		assert_eq!(ulp_distance(next, one, 32), 1);
		assert_eq!(ulp_distance(f32_bits(0.0), f32_bits(-0.0), 32), 0);
		// The smallest positive and negative subnormals are two steps apart, across zero.
		assert_eq!(ulp_distance(1, 0x8000_0001, 32), 2);
		assert_eq!(ulp_distance(f32_bits(f32::NAN), f32_bits(1.0), 32), u64::MAX);
		assert_eq!(ulp_distance(f32_bits(f32::NAN), f32_bits(f32::NAN), 32), 0);
		assert_eq!(ulp_distance(1.0f64.to_bits(), (1.0f64.to_bits()) + 3, 64), 3);
		assert!(ulp_distance(f32_bits(1.0), f32_bits(2.0), 32) > 1_000_000);
	}

	#[test]
	fn float_tensors_agree_within_tolerance_and_integers_exactly() {
		let a = vec![f32_tensor(&[2], &[1.0, -3.5])];
		let nudged = f32::from_bits((-3.5f32).to_bits() + 2);
		let b = vec![f32_tensor(&[2], &[1.0, nudged])];
		assert!(tensors_agree(&a, &a, 0));
		assert!(!tensors_agree(&a, &b, 1));
		assert!(tensors_agree(&a, &b, 2));
		assert!(!tensors_agree(&a, &[f32_tensor(&[1, 2], &[1.0, -3.5])], 2));

		let int = |v: i32| Tensor {
			element_type: ElementType::I32,
			shape: shape(&[1]),
			data: v.to_le_bytes().to_vec(),
		};
		assert!(tensors_agree(&[int(7)], &[int(7)], 100));
		assert!(!tensors_agree(&[int(7)], &[int(8)], 100));
	}

	#[test]
	fn encoded_len_matches_the_encoding() {
		let tensors = vec![f32_tensor(&[1, 2], &[1.0, 2.0]), f32_tensor(&[70], &[0.5; 70])];
		let specs = [spec(ElementType::F32, &[1, 2]), spec(ElementType::F32, &[70])];
		assert_eq!(encoded_len(&specs), Some(tensors.encode().len()));
	}

	#[test]
	fn byte_lengths_follow_element_sizes_and_overflow_is_caught() {
		assert_eq!(spec(ElementType::I64, &[3, 4]).byte_len(), Some(96));
		assert_eq!(spec(ElementType::U8, &[]).byte_len(), Some(1));
		assert_eq!(spec(ElementType::F64, &[u32::MAX, u32::MAX, u32::MAX]).byte_len(), None);
	}
}
