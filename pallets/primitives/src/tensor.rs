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
/// Longest `String` element, in bytes of UTF-8.
pub const MAX_STRING_LEN: u32 = 255;

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
	/// Boolean, one byte: 0 is false, 1 is true, and no other byte is a valid element.
	Bool,
	/// Unsigned 16-bit integer.
	U16,
	/// Unsigned 32-bit integer.
	U32,
	/// Unsigned 64-bit integer.
	U64,
	/// IEEE 754 binary16 (half precision).
	F16,
	/// bfloat16: the upper 16 bits of an IEEE 754 binary32 (8 exponent bits, 7 stored
	/// mantissa bits).
	BF16,
	/// A UTF-8 string of at most [`MAX_STRING_LEN`] bytes, encoded as its SCALE-compact
	/// byte length and its bytes (canonically: the shortest compact form). Class labels of
	/// scikit-learn classifiers are strings.
	String,
}

impl ElementType {
	/// Every element type, in the order of their encoding's indices. New types are appended,
	/// so an encoding stays valid with every later runtime.
	pub const ALL: [ElementType; 14] = [
		Self::F32,
		Self::F64,
		Self::I8,
		Self::U8,
		Self::I16,
		Self::I32,
		Self::I64,
		Self::Bool,
		Self::U16,
		Self::U32,
		Self::U64,
		Self::F16,
		Self::BF16,
		Self::String,
	];

	/// Bytes per element of a fixed-width type; `None` for `String`, whose elements take
	/// their own lengths.
	pub const fn width(self) -> Option<usize> {
		match self {
			Self::I8 | Self::U8 | Self::Bool => Some(1),
			Self::I16 | Self::U16 | Self::F16 | Self::BF16 => Some(2),
			Self::F32 | Self::I32 | Self::U32 => Some(4),
			Self::F64 | Self::I64 | Self::U64 => Some(8),
			Self::String => None,
		}
	}

	/// Most bytes one element takes: its width, or the longest string's length prefix and
	/// bytes.
	pub const fn max_size(self) -> usize {
		match self.width() {
			Some(width) => width,
			// The compact encoding of 64..=16383 takes two bytes.
			None => 2 + MAX_STRING_LEN as usize,
		}
	}

	/// The bit layout of a floating-point type; `None` for the others.
	pub const fn float_format(self) -> Option<FloatFormat> {
		match self {
			Self::F16 => Some(FloatFormat::F16),
			Self::BF16 => Some(FloatFormat::BF16),
			Self::F32 => Some(FloatFormat::F32),
			Self::F64 => Some(FloatFormat::F64),
			_ => None,
		}
	}

	/// Whether the type is a floating-point type (compared within a tolerance).
	pub const fn is_float(self) -> bool {
		self.float_format().is_some()
	}
}

/// The bit layout of a binary floating-point type (a sign bit, then the exponent, then the
/// stored mantissa), which is all ULP distance needs to know of it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FloatFormat {
	/// Width in bits.
	pub bits: u32,
	/// Width of the exponent field in bits.
	pub exponent_bits: u32,
}

impl FloatFormat {
	/// IEEE 754 binary16.
	pub const F16: Self = Self { bits: 16, exponent_bits: 5 };
	/// bfloat16.
	pub const BF16: Self = Self { bits: 16, exponent_bits: 8 };
	/// IEEE 754 binary32.
	pub const F32: Self = Self { bits: 32, exponent_bits: 8 };
	/// IEEE 754 binary64.
	pub const F64: Self = Self { bits: 64, exponent_bits: 11 };

	/// The mask of the exponent field.
	const fn exponent_mask(self) -> u64 {
		((1u64 << self.exponent_bits) - 1) << (self.bits - 1 - self.exponent_bits)
	}

	/// Whether the float with bit pattern `bits` (in the low bits) is neither infinite nor
	/// NaN.
	pub const fn is_finite(self, bits: u64) -> bool {
		bits & self.exponent_mask() != self.exponent_mask()
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
	/// The shape: each fixed axis's size, and each variable axis's largest size.
	pub shape: Shape,
	/// The variable axes, as a bit set: axis `i` is variable if bit `i` is set. A tensor's
	/// variable axis may have any size from 0 to its `shape` entry: a dynamic batch, or an
	/// output whose size depends on the data, within a declared maximum.
	#[serde(default, skip_serializing_if = "no_variable_axes")]
	pub variable_axes: u8,
}

/// Whether a spec's axes are all fixed (its JSON then leaves `variable_axes` out).
fn no_variable_axes(axes: &u8) -> bool {
	*axes == 0
}

impl TensorSpec {
	/// The spec of tensor `name` of `element_type` and fixed shape `dims`; `None` if the name
	/// or the shape is over its bound.
	pub fn new(name: &str, element_type: ElementType, dims: &[u32]) -> Option<Self> {
		Some(Self {
			name: name.as_bytes().to_vec().try_into().ok()?,
			element_type,
			shape: dims.to_vec().try_into().ok()?,
			variable_axes: 0,
		})
	}

	/// This spec with the axes `axes` variable (up to their sizes in the shape).
	pub fn with_variable_axes(mut self, axes: &[usize]) -> Self {
		self.variable_axes =
			axes.iter().fold(0, |set, axis| set | 1u8.checked_shl(*axis as u32).unwrap_or(0));
		self
	}

	/// Whether axis `axis` is variable.
	pub fn is_variable(&self, axis: usize) -> bool {
		axis < 8 && self.variable_axes & (1 << axis) != 0
	}

	/// Whether the spec is well formed: variable axes within its rank, and its largest
	/// tensor's size within `usize`.
	pub fn is_valid(&self) -> bool {
		u32::from(self.variable_axes) >> self.shape.len() == 0 && self.byte_len().is_some()
	}

	/// Whether a tensor of shape `dims` fits the spec: the same rank, every fixed axis of
	/// its size, every variable axis at most its largest size.
	pub fn admits(&self, dims: &[u32]) -> bool {
		dims.len() == self.shape.len()
			&& dims
				.iter()
				.zip(&self.shape)
				.enumerate()
				.all(|(axis, (&dim, &size))| dim == size || (self.is_variable(axis) && dim <= size))
	}

	/// Number of elements of the spec's largest tensor (`None` on overflow).
	pub fn element_count(&self) -> Option<usize> {
		element_count(&self.shape)
	}

	/// Most bytes the elements of a tensor of this spec take (`None` on overflow): those of
	/// its largest tensor, with strings at their longest.
	pub fn byte_len(&self) -> Option<usize> {
		self.element_count()?.checked_mul(self.element_type.max_size())
	}

	/// Whether every tensor of the spec has the same encoded length: no variable axis, no
	/// strings.
	pub fn is_fixed_length(&self) -> bool {
		self.variable_axes == 0 && self.element_type.width().is_some()
	}
}

/// The element type and shape, as people read them: `F32[≤8, 6]` for batches of up to 8
/// rows of 6.
impl core::fmt::Display for TensorSpec {
	fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
		write!(f, "{:?}[", self.element_type)?;
		for (axis, size) in self.shape.iter().enumerate() {
			let separator = if axis == 0 { "" } else { ", " };
			let bound = if self.is_variable(axis) { "≤" } else { "" };
			write!(f, "{separator}{bound}{size}")?;
		}
		write!(f, "]")
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

	/// Number of elements its shape holds (`None` on overflow).
	pub fn element_count(&self) -> Option<usize> {
		element_count(&self.shape)
	}

	/// A string tensor of shape `dims` holding `values`; `None` if the rank is over its bound
	/// or a value is longer than [`MAX_STRING_LEN`].
	pub fn from_strings<'a>(
		dims: &[u32],
		values: impl IntoIterator<Item = &'a str>,
	) -> Option<Self> {
		let data = encode_strings(values)?;
		Some(Self {
			element_type: ElementType::String,
			shape: dims.to_vec().try_into().ok()?,
			data,
		})
	}

	/// Checks the tensor against `spec`: element type, shape and elements.
	pub fn check(&self, spec: &TensorSpec) -> Result<(), TensorError> {
		if self.element_type != spec.element_type {
			return Err(TensorError::ElementType);
		}
		if !spec.admits(&self.shape) {
			return Err(TensorError::Shape);
		}
		let count = self.element_count().ok_or(TensorError::ByteLength)?;
		check_elements(self.element_type, count, &self.data)
	}
}

/// Checks that `data` holds exactly `count` valid elements of `element_type`. Every byte
/// pattern of its width is a value of a fixed-width type but `Bool`, whose elements are 0
/// or 1; `String` data is `count` canonical length-prefixed UTF-8 strings. Nothing is
/// allocated, whatever the data.
pub fn check_elements(
	element_type: ElementType,
	count: usize,
	data: &[u8],
) -> Result<(), TensorError> {
	let Some(width) = element_type.width() else {
		let mut elements = StringElements { rest: data };
		let mut valid = 0usize;
		for element in elements.by_ref().take(count) {
			element.ok_or(TensorError::InvalidString)?;
			valid += 1;
		}
		return match valid == count && elements.next().is_none() {
			true => Ok(()),
			false => Err(TensorError::InvalidString),
		};
	};
	if Some(data.len()) != count.checked_mul(width) {
		return Err(TensorError::ByteLength);
	}
	if element_type == ElementType::Bool && data.iter().any(|&byte| byte > 1) {
		return Err(TensorError::NotBoolean);
	}
	Ok(())
}

/// The elements of `String` data in order: each a string, or `None` (and nothing after it)
/// where the data stops being canonical length-prefixed UTF-8 strings of at most
/// [`MAX_STRING_LEN`] bytes.
struct StringElements<'a> {
	rest: &'a [u8],
}

impl<'a> Iterator for StringElements<'a> {
	type Item = Option<&'a str>;

	fn next(&mut self) -> Option<Self::Item> {
		if self.rest.is_empty() {
			return None;
		}
		let element = read_compact(self.rest)
			.filter(|(len, _)| *len <= MAX_STRING_LEN)
			.and_then(|(len, rest)| rest.split_at_checked(len as usize))
			.and_then(|(bytes, rest)| Some((core::str::from_utf8(bytes).ok()?, rest)));
		let (string, rest) = element.unzip();
		self.rest = rest.unwrap_or_default();
		Some(string)
	}
}

/// The elements of `String` data, if it is a sequence of canonical length-prefixed UTF-8
/// strings of at most [`MAX_STRING_LEN`] bytes and nothing else.
pub fn decode_strings(data: &[u8]) -> Option<Vec<&str>> {
	StringElements { rest: data }.collect()
}

/// `String` data holding `values`; `None` if one is longer than [`MAX_STRING_LEN`].
pub fn encode_strings<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Vec<u8>> {
	let mut data = Vec::new();
	for value in values {
		if value.len() > MAX_STRING_LEN as usize {
			return None;
		}
		codec::Compact(value.len() as u32).encode_to(&mut data);
		data.extend_from_slice(value.as_bytes());
	}
	Some(data)
}

/// A compact-encoded `u32` at the start of `bytes` in its shortest form, and the bytes after
/// it.
fn read_compact(bytes: &[u8]) -> Option<(u32, &[u8])> {
	let mut rest = bytes;
	let codec::Compact(value) = codec::Compact::<u32>::decode(&mut rest).ok()?;
	let canonical = bytes.len() - rest.len() == codec::Compact(value).encoded_size();
	canonical.then_some((value, rest))
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
	/// A tensor's shape does not fit the spec (rank, a fixed axis's size, or a variable
	/// axis above its largest size).
	Shape,
	/// A fixed-width tensor's data length is not its element count times its width.
	ByteLength,
	/// A `Bool` element is neither 0 nor 1.
	NotBoolean,
	/// `String` data is not as many canonical length-prefixed UTF-8 strings of at most
	/// [`MAX_STRING_LEN`] bytes as the shape has elements.
	InvalidString,
}

/// Number of elements of a tensor with dimensions `shape` (`None` on overflow).
pub fn element_count(shape: &[u32]) -> Option<usize> {
	shape.iter().try_fold(1usize, |count, &dim| count.checked_mul(dim as usize))
}

/// Length of the longest canonical encoding of a tensor list matching `specs` (`None` on
/// overflow): that of their largest tensors.
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

/// A tensor's dimensions, held inline (no allocation while a tensor is read or written).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Dims {
	rank: u8,
	sizes: [u32; MAX_RANK as usize],
}

impl Dims {
	/// The dimensions `sizes`; `None` above the rank bound.
	pub fn new(sizes: &[u32]) -> Option<Self> {
		let mut dims = Self { rank: u8::try_from(sizes.len()).ok()?, sizes: Default::default() };
		dims.sizes.get_mut(..sizes.len())?.copy_from_slice(sizes);
		Some(dims)
	}
}

impl core::ops::Deref for Dims {
	type Target = [u32];

	fn deref(&self) -> &[u32] {
		&self.sizes[..usize::from(self.rank)]
	}
}

/// One tensor of an encoding: its dimensions and its elements' bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TensorView<'a> {
	/// Dimensions.
	pub dims: Dims,
	/// Elements, little-endian, row-major.
	pub data: &'a [u8],
}

/// How one tensor of a [`Layout`] is encoded.
#[derive(Clone, PartialEq, Eq, Debug)]
enum TensorLayout {
	/// All axes fixed and the elements of one width: the bytes before the elements are
	/// known, and so is their length.
	Fixed { header: Vec<u8>, dims: Dims, data_len: usize, element_type: ElementType },
	/// Some axes variable, or strings: the element type and rank are known (`header`); the
	/// dimensions and the elements' length are read and checked.
	Read { header: Vec<u8>, spec: TensorSpec },
}

/// The canonical encoding of tensor lists matching specs, worked out once. Everything the
/// specs fix is known in advance, so bytes are checked by comparison and elements are read
/// and written in place, without decoding into [`Tensor`]s: what [`decode_and_check`]
/// accepts, [`Layout::elements`] accepts, and nothing else.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Layout {
	/// The list's length, encoded.
	prefix: Vec<u8>,
	tensors: Vec<TensorLayout>,
}

impl Layout {
	/// The layout of tensor lists matching `specs` (`None` if a spec is not valid).
	pub fn new(specs: &[TensorSpec]) -> Option<Self> {
		let tensors = specs
			.iter()
			.map(|spec| {
				if !spec.is_valid() {
					return None;
				}
				let mut header = spec.element_type.encode();
				if !spec.is_fixed_length() {
					codec::Compact(spec.shape.len() as u32).encode_to(&mut header);
					return Some(TensorLayout::Read { header, spec: spec.clone() });
				}
				let data_len = spec.byte_len()?;
				spec.shape.encode_to(&mut header);
				codec::Compact(u32::try_from(data_len).ok()?).encode_to(&mut header);
				let dims = Dims::new(&spec.shape)?;
				Some(TensorLayout::Fixed {
					header,
					dims,
					data_len,
					element_type: spec.element_type,
				})
			})
			.collect::<Option<_>>()?;
		let prefix = codec::Compact(u32::try_from(specs.len()).ok()?).encode();
		Some(Self { prefix, tensors })
	}

	/// Each tensor in `bytes`, if `bytes` is the canonical encoding of a tensor list
	/// matching the specs.
	pub fn elements<'a>(&self, bytes: &'a [u8]) -> Option<Vec<TensorView<'a>>> {
		let mut rest = bytes.strip_prefix(&self.prefix[..])?;
		let views = self
			.tensors
			.iter()
			.map(|layout| {
				let (dims, data_len, element_type) = match layout {
					TensorLayout::Fixed { header, dims, data_len, element_type } => {
						rest = rest.strip_prefix(&header[..])?;
						(*dims, *data_len, *element_type)
					}
					TensorLayout::Read { header, spec } => {
						let (dim_bytes, tail) = rest
							.strip_prefix(&header[..])?
							.split_at_checked(4 * spec.shape.len())?;
						let mut sizes = [0u32; MAX_RANK as usize];
						for (size, bytes) in sizes.iter_mut().zip(dim_bytes.chunks_exact(4)) {
							*size = u32::from_le_bytes(bytes.try_into().ok()?);
						}
						let dims = Dims::new(&sizes[..spec.shape.len()])?;
						if !spec.admits(&dims) {
							return None;
						}
						let (data_len, tail) = read_compact(tail)?;
						rest = tail;
						(dims, data_len as usize, spec.element_type)
					}
				};
				let (data, tail) = rest.split_at_checked(data_len)?;
				rest = tail;
				// Within the spec's largest size, which is valid: no overflow.
				let count = element_count(&dims)?;
				check_elements(element_type, count, data).ok()?;
				Some(TensorView { dims, data })
			})
			.collect::<Option<Vec<_>>>()?;
		rest.is_empty().then_some(views)
	}

	/// The canonical encoding of the tensor list of these tensors, one per spec (`None`
	/// unless each fits its spec and holds valid elements).
	pub fn encode<'a>(&self, tensors: impl IntoIterator<Item = TensorView<'a>>) -> Option<Vec<u8>> {
		let mut bytes = self.prefix.clone();
		let mut tensors = tensors.into_iter();
		for layout in &self.tensors {
			let TensorView { dims, data } = tensors.next()?;
			let element_type = match layout {
				TensorLayout::Fixed { header, dims: fixed, data_len, element_type } => {
					if dims != *fixed || data.len() != *data_len {
						return None;
					}
					bytes.extend_from_slice(header);
					*element_type
				}
				TensorLayout::Read { header, spec } => {
					if !spec.admits(&dims) {
						return None;
					}
					bytes.extend_from_slice(header);
					dims.iter().for_each(|size| bytes.extend_from_slice(&size.to_le_bytes()));
					codec::Compact(u32::try_from(data.len()).ok()?).encode_to(&mut bytes);
					spec.element_type
				}
			};
			check_elements(element_type, element_count(&dims)?, data).ok()?;
			bytes.extend_from_slice(data);
		}
		tensors.next().is_none().then_some(bytes)
	}
}

/// Decodes `bytes` and checks them against `specs`.
pub fn decode_and_check(bytes: &[u8], specs: &[TensorSpec]) -> Result<Vec<Tensor>, TensorError> {
	let tensors = decode_tensors(bytes)?;
	check_tensors(&tensors, specs)?;
	Ok(tensors)
}

/// Whether every float element of `tensors` is finite (integer tensors always are).
pub fn all_finite(tensors: &[Tensor]) -> bool {
	tensors.iter().all(|tensor| {
		let (Some(format), Some(width)) =
			(tensor.element_type.float_format(), tensor.element_type.width())
		else {
			return true;
		};
		tensor.data.chunks_exact(width).all(|element| {
			let mut wide = [0u8; 8];
			wide[..width].copy_from_slice(element);
			format.is_finite(u64::from_le_bytes(wide))
		})
	})
}

/// The hash of a tensor list: blake2-256 of its canonical encoding.
pub fn tensors_hash(tensors: &[Tensor]) -> [u8; 32] {
	sp_io::hashing::blake2_256(&tensors.encode())
}

/// Distance between two floats of `format` in units of least precision, from their bit
/// patterns (in the low bits of `a` and `b`). Integer arithmetic only, so every node computes
/// the same answer. NaNs are at distance zero only from the identical bit pattern.
pub fn ulp_distance(a: u64, b: u64, format: FloatFormat) -> u64 {
	let sign = 1u64 << (format.bits - 1);
	let exponent_mask = format.exponent_mask();
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
			let (Some(format), Some(width)) =
				(x.element_type.float_format(), x.element_type.width())
			else {
				return x.data == y.data;
			};
			x.data.chunks_exact(width).zip(y.data.chunks_exact(width)).all(|(p, q)| {
				let mut wide = [[0u8; 8]; 2];
				wide[0][..width].copy_from_slice(p);
				wide[1][..width].copy_from_slice(q);
				let (p, q) = (u64::from_le_bytes(wide[0]), u64::from_le_bytes(wide[1]));
				ulp_distance(p, q, format) <= u64::from(max_ulps)
			})
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
		TensorSpec::new("x", element_type, dims).expect("small spec")
	}

	fn view(tensor: &Tensor) -> TensorView<'_> {
		TensorView { dims: Dims::new(&tensor.shape).unwrap(), data: &tensor.data }
	}

	fn data<'a>(views: &[TensorView<'a>]) -> Vec<&'a [u8]> {
		views.iter().map(|view| view.data).collect()
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
		assert_eq!(ulp_distance(one, one, FloatFormat::F32), 0);
		assert_eq!(ulp_distance(one, next, FloatFormat::F32), 1);
		assert_eq!(ulp_distance(next, one, FloatFormat::F32), 1);
		assert_eq!(ulp_distance(f32_bits(0.0), f32_bits(-0.0), FloatFormat::F32), 0);
		// The smallest positive and negative subnormals are two steps apart, across zero.
		assert_eq!(ulp_distance(1, 0x8000_0001, FloatFormat::F32), 2);
		assert_eq!(ulp_distance(f32_bits(f32::NAN), f32_bits(1.0), FloatFormat::F32), u64::MAX);
		assert_eq!(ulp_distance(f32_bits(f32::NAN), f32_bits(f32::NAN), FloatFormat::F32), 0);
		assert_eq!(ulp_distance(1.0f64.to_bits(), (1.0f64.to_bits()) + 3, FloatFormat::F64), 3);
		assert!(ulp_distance(f32_bits(1.0), f32_bits(2.0), FloatFormat::F32) > 1_000_000);
	}

	#[test]
	fn only_numbers_that_are_not_infinite_are_finite() {
		let finite = |values: &[f32]| all_finite(&[f32_tensor(&[values.len() as u32], values)]);
		assert!(finite(&[0.0, -1.5, f32::MAX, f32::MIN_POSITIVE, 1e-45]));
		for odd in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
			assert!(!finite(&[1.0, odd]), "{odd}");
		}
		// Half precision by its own exponent field; integers always.
		let half = |bits: u16| Tensor {
			element_type: ElementType::F16,
			shape: shape(&[1]),
			data: bits.to_le_bytes().to_vec(),
		};
		assert!(all_finite(&[half(0x7bff)]) && !all_finite(&[half(0x7c00)]));
		assert!(all_finite(&[Tensor::from_i32(&[1], &[i32::MAX]).unwrap()]));
	}

	#[test]
	fn half_precision_distances_follow_their_own_exponent_fields() {
		// 0x7c01 is a NaN in binary16 (all-ones exponent, non-zero mantissa) but a finite
		// number in bfloat16, whose exponent field is three bits wider.
		assert_eq!(ulp_distance(0x7c01, 0x7c00, FloatFormat::F16), u64::MAX);
		assert_eq!(ulp_distance(0x7c01, 0x7c00, FloatFormat::BF16), 1);
		assert_eq!(ulp_distance(0x7f81, 0x7f80, FloatFormat::BF16), u64::MAX);
		// 1.0 and its successor; +0 and -0; the smallest subnormals across zero.
		assert_eq!(ulp_distance(0x3c00, 0x3c01, FloatFormat::F16), 1);
		assert_eq!(ulp_distance(0x3f80, 0x3f81, FloatFormat::BF16), 1);
		assert_eq!(ulp_distance(0x0000, 0x8000, FloatFormat::F16), 0);
		assert_eq!(ulp_distance(0x0001, 0x8001, FloatFormat::BF16), 2);
		// The largest finite binary16 (65504) and infinity are neighbours.
		assert_eq!(ulp_distance(0x7bff, 0x7c00, FloatFormat::F16), 1);
	}

	#[test]
	fn half_precision_tensors_agree_within_tolerance() {
		let half = |element_type, bits: &[u16]| Tensor {
			element_type,
			shape: shape(&[bits.len() as u32]),
			data: bits.iter().flat_map(|b| b.to_le_bytes()).collect(),
		};
		for element_type in [ElementType::F16, ElementType::BF16] {
			let a = [half(element_type, &[0x3c00, 0x4000])];
			let b = [half(element_type, &[0x3c02, 0x4000])];
			assert!(tensors_agree(&a, &b, 2), "{element_type:?}");
			assert!(!tensors_agree(&a, &b, 1), "{element_type:?}");
		}
		// Same bits, different types: no agreement.
		assert!(!tensors_agree(
			&[half(ElementType::F16, &[0x3c00])],
			&[half(ElementType::BF16, &[0x3c00])],
			0
		));
		// u16 is compared exactly.
		assert!(!tensors_agree(
			&[half(ElementType::U16, &[7])],
			&[half(ElementType::U16, &[8])],
			100
		));
	}

	#[test]
	fn booleans_are_zero_or_one_for_checks_and_layouts() {
		let specs = [spec(ElementType::Bool, &[3])];
		let layout = Layout::new(&specs).unwrap();
		let bools = |data: Vec<u8>| {
			vec![Tensor { element_type: ElementType::Bool, shape: shape(&[3]), data }]
		};
		let good = bools(vec![1, 0, 1]);
		assert_eq!(decode_and_check(&good.encode(), &specs), Ok(good.clone()));
		assert_eq!(
			layout.elements(&good.encode()).as_deref().map(data),
			Some(vec![&[1u8, 0, 1][..]])
		);
		let two = bools(vec![1, 2, 0]);
		assert_eq!(decode_and_check(&two.encode(), &specs), Err(TensorError::NotBoolean));
		assert_eq!(layout.elements(&two.encode()), None);
		let dims = Dims::new(&[3]).unwrap();
		assert_eq!(layout.encode([TensorView { dims, data: &[0u8, 0xff, 1] }]), None);
		// Any byte is a u8: the rule is the type's, not the size's.
		let u8_specs = [spec(ElementType::U8, &[3])];
		let mut bytes = two.encode();
		bytes[1] = ElementType::U8.encode()[0];
		assert!(decode_and_check(&bytes, &u8_specs).is_ok());
	}

	#[test]
	fn strings_are_canonical_length_prefixed_utf8_within_their_bound() {
		let labels = Tensor::from_strings(&[2], ["setosa", "vérsicolor"]).unwrap();
		assert_eq!(labels.data[0], 6 << 2);
		assert_eq!(decode_strings(&labels.data), Some(vec!["setosa", "vérsicolor"]));
		// Fixed and variable shapes alike are read element by element.
		for spec in [
			spec(ElementType::String, &[2]),
			spec(ElementType::String, &[3]).with_variable_axes(&[0]),
		] {
			assert!(!spec.is_fixed_length());
			let layout = Layout::new(core::slice::from_ref(&spec)).unwrap();
			let good = vec![labels.clone()];
			let bytes = good.encode();
			assert_eq!(decode_and_check(&bytes, core::slice::from_ref(&spec)), Ok(good));
			let views = layout.elements(&bytes).expect("valid strings");
			assert_eq!(layout.encode(views), Some(bytes.clone()));
		}
		let specs = [spec(ElementType::String, &[2])];
		let layout = Layout::new(&specs).unwrap();
		let longest = "x".repeat(MAX_STRING_LEN as usize);
		let too_long = longest.clone() + "x";
		assert!(Tensor::from_strings(&[2], [longest.as_str(), ""]).is_some());
		assert!(Tensor::from_strings(&[2], [too_long.as_str(), ""]).is_none());
		assert_eq!(spec(ElementType::String, &[2]).byte_len(), Some(2 * (2 + 255)));
		let with = |data: Vec<u8>| {
			vec![Tensor { element_type: ElementType::String, shape: shape(&[2]), data }]
		};
		let over_long = [encode_strings([longest.as_str()]).unwrap(), vec![0]].concat();
		let mut over_long_prefix = over_long.clone();
		over_long_prefix.splice(0..2, codec::Compact(256u32).encode());
		over_long_prefix.push(b'x');
		let bad = [
			// One string for a shape of two, and three.
			encode_strings(["a"]).unwrap(),
			encode_strings(["a", "b", "c"]).unwrap(),
			// Not UTF-8.
			vec![4, 0xff, 0],
			// A length in compact's two-byte form where one byte does: decodable, not canonical.
			vec![1 << 2 | 0b01, 0, b'a', 0],
			// A length past the data's end, and 256 bytes.
			vec![8, b'a', 0],
			over_long_prefix,
		];
		for data in bad {
			let tensors = with(data.clone());
			assert_eq!(
				check_tensors(&tensors, &specs),
				Err(TensorError::InvalidString),
				"{data:?}"
			);
			assert_eq!(layout.elements(&tensors.encode()), None, "{data:?}");
			let dims = Dims::new(&[2]).unwrap();
			assert_eq!(layout.encode([TensorView { dims, data: &data }]), None, "{data:?}");
		}
		assert!(check_tensors(&with(over_long), &specs).is_ok());
		// Strings agree only when identical, whatever the tolerance.
		let other = Tensor::from_strings(&[2], ["setosa", "virginica"]).unwrap();
		let same = core::slice::from_ref(&labels);
		assert!(tensors_agree(same, same, 0));
		assert!(!tensors_agree(&[labels], &[other], u32::MAX));
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
		assert_eq!(data(&elements), [&tensors[0].data[..], &tensors[1].data[..]]);
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
		let first = view(&tensors[0]);
		assert_eq!(layout.encode([first]), None);
		let short = TensorView { dims: Dims::new(&[70]).unwrap(), data: &[7; 69] };
		assert_eq!(layout.encode([first, short]), None);
		let extra = TensorView { dims: Dims::new(&[]).unwrap(), data: &[] };
		assert_eq!(layout.encode([first, view(&tensors[1]), extra]), None);
		assert!(Layout::new(&[spec(ElementType::F64, &[u32::MAX, u32::MAX])]).is_none());
	}

	#[test]
	fn variable_axes_take_any_size_up_to_their_largest() {
		// A batch of up to 4 rows of 3, and an output of up to 5 values.
		let specs = [
			spec(ElementType::F32, &[4, 3]).with_variable_axes(&[0]),
			spec(ElementType::I64, &[5]).with_variable_axes(&[0]),
		];
		let layout = Layout::new(&specs).unwrap();
		let tensors = |rows: u32, count: u32| {
			vec![
				f32_tensor(&[rows, 3], &vec![0.5; rows as usize * 3]),
				Tensor {
					element_type: ElementType::I64,
					shape: shape(&[count]),
					data: vec![1; count as usize * 8],
				},
			]
		};
		for (rows, count) in [(1, 0), (4, 5), (2, 3), (0, 0)] {
			let good = tensors(rows, count);
			let bytes = good.encode();
			assert_eq!(decode_and_check(&bytes, &specs), Ok(good.clone()));
			let views = layout.elements(&bytes).expect("fits the specs");
			assert_eq!(*views[0].dims, [rows, 3]);
			assert_eq!(layout.encode(views), Some(bytes.clone()));
		}
		for (rows, count) in [(5, 0), (1, 6)] {
			let over = tensors(rows, count);
			assert_eq!(decode_and_check(&over.encode(), &specs), Err(TensorError::Shape));
			assert_eq!(layout.elements(&over.encode()), None);
			assert_eq!(layout.encode(over.iter().map(view)), None);
		}
		// A fixed axis stays fixed.
		let mut wide = tensors(2, 1);
		wide[0] = f32_tensor(&[2, 2], &[0.5; 4]);
		assert_eq!(decode_and_check(&wide.encode(), &specs), Err(TensorError::Shape));
		assert_eq!(layout.elements(&wide.encode()), None);
		// Elements must be as many as the dimensions say.
		let mut short = tensors(2, 1);
		short[0].data.truncate(20);
		assert_eq!(decode_and_check(&short.encode(), &specs), Err(TensorError::ByteLength));
		assert_eq!(layout.elements(&short.encode()), None);
		assert_eq!(layout.encode(short.iter().map(view)), None);
		// The longest encoding is that of the largest tensors.
		assert_eq!(encoded_len(&specs), Some(tensors(4, 5).encode().len()));
	}

	#[test]
	fn specs_read_as_their_type_and_shape() {
		let batch = spec(ElementType::F32, &[8, 6]).with_variable_axes(&[0]);
		assert_eq!(alloc::format!("{batch}"), "F32[≤8, 6]");
		assert_eq!(alloc::format!("{}", spec(ElementType::I64, &[])), "I64[]");
	}

	#[test]
	fn variable_axes_lie_within_the_rank() {
		assert!(spec(ElementType::F32, &[4, 3]).with_variable_axes(&[1]).is_valid());
		assert!(!spec(ElementType::F32, &[4, 3]).with_variable_axes(&[2]).is_valid());
		let mut stray = spec(ElementType::F32, &[4]);
		stray.variable_axes = 0b1000_0000;
		assert!(!stray.is_valid());
		assert!(Layout::new(&[stray]).is_none());
	}

	#[test]
	fn byte_lengths_follow_element_sizes_and_overflow_is_caught() {
		assert_eq!(spec(ElementType::I64, &[3, 4]).byte_len(), Some(96));
		assert_eq!(spec(ElementType::U8, &[]).byte_len(), Some(1));
		assert_eq!(spec(ElementType::F64, &[u32::MAX, u32::MAX, u32::MAX]).byte_len(), None);
	}
}
