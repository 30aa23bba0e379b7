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
	/// Every element type, in the order of their encoding's indices.
	pub const ALL: [ElementType; 7] =
		[Self::F32, Self::F64, Self::I8, Self::U8, Self::I16, Self::I32, Self::I64];

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

/// Tensor names in JSON (chain specs) as the strings they are, not as byte lists.
mod name_as_text {
	use super::TensorName;
	use serde::{de::Error as _, ser::Error as _, Deserialize, Deserializer, Serializer};

	pub fn serialize<S: Serializer>(name: &TensorName, serializer: S) -> Result<S::Ok, S::Error> {
		let text = core::str::from_utf8(name).map_err(|_| S::Error::custom("non-UTF-8 name"))?;
		serializer.serialize_str(text)
	}

	pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TensorName, D::Error> {
		let text = alloc::string::String::deserialize(deserializer)?;
		text.into_bytes().try_into().map_err(|_| D::Error::custom("tensor name too long"))
	}
}

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
	/// Name of the tensor in the ONNX graph (a string in JSON).
	#[serde(with = "name_as_text")]
	pub name: TensorName,
	/// Element type.
	pub element_type: ElementType,
	/// Fixed shape.
	pub shape: Shape,
}

impl TensorSpec {
	/// The spec of tensor `name` of `element_type` and shape `dims`; `None` if the name or
	/// the shape is over its bound.
	pub fn new(name: &str, element_type: ElementType, dims: &[u32]) -> Option<Self> {
		Some(Self {
			name: name.as_bytes().to_vec().try_into().ok()?,
			element_type,
			shape: dims.to_vec().try_into().ok()?,
		})
	}

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
	/// An f32 tensor of shape `dims` holding `values`; `None` if the rank is over its bound.
	pub fn from_f32(dims: &[u32], values: &[f32]) -> Option<Self> {
		Self::from_le(ElementType::F32, dims, values.iter().flat_map(|value| value.to_le_bytes()))
	}

	/// An f64 tensor of shape `dims` holding `values`; `None` if the rank is over its bound.
	pub fn from_f64(dims: &[u32], values: &[f64]) -> Option<Self> {
		Self::from_le(ElementType::F64, dims, values.iter().flat_map(|value| value.to_le_bytes()))
	}

	/// An i32 tensor of shape `dims` holding `values`; `None` if the rank is over its bound.
	pub fn from_i32(dims: &[u32], values: &[i32]) -> Option<Self> {
		Self::from_le(ElementType::I32, dims, values.iter().flat_map(|value| value.to_le_bytes()))
	}

	fn from_le(
		element_type: ElementType,
		dims: &[u32],
		data: impl Iterator<Item = u8>,
	) -> Option<Self> {
		Some(Self { element_type, shape: dims.to_vec().try_into().ok()?, data: data.collect() })
	}

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

/// The canonical encoding of tensor lists matching fixed specs, worked out once. Everything
/// but the elements is known in advance, so bytes are checked by comparison and elements are
/// read and written in place, without decoding into [`Tensor`]s: what
/// [`decode_and_check`] accepts, [`Layout::elements`] accepts, and nothing else.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Layout {
	/// The list's length, encoded.
	prefix: Vec<u8>,
	/// Per tensor: the encoded bytes before its elements, and the elements' length.
	tensors: Vec<(Vec<u8>, usize)>,
	/// Length of the whole encoding.
	len: usize,
}

impl Layout {
	/// The layout of tensor lists matching `specs` (`None` if their size overflows).
	pub fn new(specs: &[TensorSpec]) -> Option<Self> {
		let tensors: Vec<(Vec<u8>, usize)> = specs
			.iter()
			.map(|spec| {
				let data_len = spec.byte_len()?;
				let mut header = spec.element_type.encode();
				spec.shape.encode_to(&mut header);
				codec::Compact(u32::try_from(data_len).ok()?).encode_to(&mut header);
				Some((header, data_len))
			})
			.collect::<Option<_>>()?;
		let prefix = codec::Compact(u32::try_from(specs.len()).ok()?).encode();
		let len = tensors.iter().try_fold(prefix.len(), |len: usize, (header, data_len)| {
			len.checked_add(header.len())?.checked_add(*data_len)
		})?;
		Some(Self { prefix, tensors, len })
	}

	/// The elements of each tensor in `bytes`, if `bytes` is the canonical encoding of a
	/// tensor list matching the specs.
	pub fn elements<'a>(&self, bytes: &'a [u8]) -> Option<Vec<&'a [u8]>> {
		if bytes.len() != self.len {
			return None;
		}
		let mut rest = bytes.strip_prefix(&self.prefix[..])?;
		self.tensors
			.iter()
			.map(|(header, data_len)| {
				let (data, tail) = rest.strip_prefix(&header[..])?.split_at_checked(*data_len)?;
				rest = tail;
				Some(data)
			})
			.collect()
	}

	/// The canonical encoding of the tensor list with these elements, one slice per tensor
	/// (`None` unless there is one per spec, each of its spec's byte length).
	pub fn encode<'a>(&self, elements: impl IntoIterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
		let mut bytes = Vec::with_capacity(self.len);
		bytes.extend_from_slice(&self.prefix);
		let mut elements = elements.into_iter();
		for (header, data_len) in &self.tensors {
			let data = elements.next().filter(|data| data.len() == *data_len)?;
			bytes.extend_from_slice(header);
			bytes.extend_from_slice(data);
		}
		elements.next().is_none().then_some(bytes)
	}
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

	#[test]
	fn all_element_types_are_listed_by_their_encoding() {
		for (index, element_type) in ElementType::ALL.iter().enumerate() {
			assert_eq!(element_type.encode(), [index as u8]);
		}
		assert!(ElementType::decode(&mut &[ElementType::ALL.len() as u8][..]).is_err());
	}

	fn shape(dims: &[u32]) -> Shape {
		dims.to_vec().try_into().expect("rank within bound")
	}

	fn spec(element_type: ElementType, dims: &[u32]) -> TensorSpec {
		TensorSpec { name: b"x".to_vec().try_into().unwrap(), element_type, shape: shape(dims) }
	}

	fn f32_tensor(dims: &[u32], values: &[f32]) -> Tensor {
		Tensor::from_f32(dims, values).expect("rank within bound")
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
	fn a_layout_accepts_exactly_what_decoding_and_checking_accepts() {
		let specs = [spec(ElementType::F32, &[1, 2]), spec(ElementType::U8, &[70])];
		let layout = Layout::new(&specs).unwrap();
		let tensors = vec![
			f32_tensor(&[1, 2], &[1.0, -2.5]),
			Tensor { element_type: ElementType::U8, shape: shape(&[70]), data: vec![7; 70] },
		];
		let good = tensors.encode();
		let elements = layout.elements(&good).unwrap();
		assert_eq!(elements, [&tensors[0].data[..], &tensors[1].data[..]]);
		assert_eq!(layout.encode(elements), Some(good.clone()));

		let mut wrong_type = tensors.clone();
		wrong_type[0].element_type = ElementType::I32;
		let mut wrong_shape = tensors.clone();
		wrong_shape[1].shape = shape(&[7, 10]);
		let mut short = tensors.clone();
		short[1].data.pop();
		let mut trailing = good.clone();
		trailing.push(0);
		// The length of the list, 2, in compact's four-byte mode: decodable, not canonical.
		let non_canonical = [&[2 << 2 | 0b10, 0, 0, 0][..], &good[1..]].concat();
		let bad = [
			wrong_type.encode(),
			wrong_shape.encode(),
			short.encode(),
			tensors[..1].encode(),
			trailing,
			good[..good.len() - 1].to_vec(),
			non_canonical,
			Vec::new(),
		];
		for bytes in bad {
			assert!(decode_and_check(&bytes, &specs).is_err(), "{bytes:?}");
			assert_eq!(layout.elements(&bytes), None, "{bytes:?}");
		}
		// Elements of the wrong count or length have no encoding.
		assert_eq!(layout.encode([&tensors[0].data[..]]), None);
		assert_eq!(layout.encode([&tensors[0].data[..], &[7; 69][..]]), None);
		assert_eq!(layout.encode([&tensors[0].data[..], &tensors[1].data[..], &[][..]]), None);
		assert!(Layout::new(&[spec(ElementType::F64, &[u32::MAX, u32::MAX])]).is_none());
	}

	#[test]
	fn byte_lengths_follow_element_sizes_and_overflow_is_caught() {
		assert_eq!(spec(ElementType::I64, &[3, 4]).byte_len(), Some(96));
		assert_eq!(spec(ElementType::U8, &[]).byte_len(), Some(1));
		assert_eq!(spec(ElementType::F64, &[u32::MAX, u32::MAX, u32::MAX]).byte_len(), None);
	}
}
