//! Conversions between the canonical tensor encoding and tract's tensors. Both hold their
//! elements little-endian and row-major, so elements are copied as bytes; bfloat16, which
//! tract lacks, is computed as f32 (see [`crate::bfloat16`]) and converted on the way, and
//! strings are decoded into tract's `String`s and encoded back.

#[cfg(target_endian = "big")]
compile_error!("the canonical tensor encoding is little-endian: the engine copies it as is");

use std::borrow::Cow;

use haca_primitives::tensor::{
	decode_strings, encode_strings, Dims, ElementType, TensorSpec, MAX_STRING_LEN,
};
use tract_onnx::prelude::{tract_ndarray, DatumType, Tensor as TractTensor};

use crate::{bfloat16, EngineError};

/// tract's datum type for an element type (f32 for bfloat16).
pub(crate) fn datum_type(element_type: ElementType) -> DatumType {
	match element_type {
		ElementType::F32 | ElementType::BF16 => DatumType::F32,
		ElementType::F64 => DatumType::F64,
		ElementType::F16 => DatumType::F16,
		ElementType::I8 => DatumType::I8,
		ElementType::U8 => DatumType::U8,
		ElementType::I16 => DatumType::I16,
		ElementType::I32 => DatumType::I32,
		ElementType::I64 => DatumType::I64,
		ElementType::Bool => DatumType::Bool,
		ElementType::U16 => DatumType::U16,
		ElementType::U32 => DatumType::U32,
		ElementType::U64 => DatumType::U64,
		ElementType::String => DatumType::String,
	}
}

/// The element type of a tract datum type, if HACA has one for it. tract's symbolic
/// dimensions (`TDim`, what `Shape` yields) are ONNX's int64.
pub(crate) fn element_type(datum_type: DatumType) -> Option<ElementType> {
	Some(match datum_type {
		DatumType::F32 => ElementType::F32,
		DatumType::F64 => ElementType::F64,
		DatumType::F16 => ElementType::F16,
		DatumType::I8 => ElementType::I8,
		DatumType::U8 => ElementType::U8,
		DatumType::I16 => ElementType::I16,
		DatumType::I32 => ElementType::I32,
		DatumType::I64 | DatumType::TDim => ElementType::I64,
		DatumType::Bool => ElementType::Bool,
		DatumType::U16 => ElementType::U16,
		DatumType::U32 => ElementType::U32,
		DatumType::U64 => ElementType::U64,
		DatumType::String => ElementType::String,
		_ => return None,
	})
}

/// Dimensions as tract wants them.
pub(crate) fn tract_dims(shape: &[u32]) -> Vec<usize> {
	shape.iter().map(|dim| *dim as usize).collect()
}

/// Elements in the canonical encoding of a tensor of `element_type` and dimensions `dims`
/// (already checked against its spec) as a tract tensor: copied once, as bytes, into
/// tract's aligned storage.
pub(crate) fn to_tract(
	element_type: ElementType,
	dims: &[u32],
	elements: &[u8],
) -> Result<TractTensor, EngineError> {
	// Inputs were checked against their specs, so a failure here is the engine's own.
	let failed = |error: String| EngineError::Execution(format!("input tensor: {error}"));
	if element_type == ElementType::String {
		let strings = decode_strings(elements).ok_or_else(|| failed("invalid strings".into()))?;
		let strings = strings.into_iter().map(String::from).collect();
		let array = tract_ndarray::ArrayD::from_shape_vec(tract_dims(dims), strings)
			.map_err(|error| failed(error.to_string()))?;
		return Ok(array.into());
	}
	let elements = tract_elements(element_type, elements);
	// SAFETY: `from_raw_dt` requires the bytes to be valid elements of the datum type. Every
	// bit pattern is a value of HACA's integer and float types; booleans are 0 or 1, which
	// the input's layout checked before (`Layout::elements`); tract checks the byte length
	// against the shape.
	unsafe { TractTensor::from_raw_dt(datum_type(element_type), &tract_dims(dims), &elements) }
		.map_err(|error| failed(error.to_string()))
}

/// Elements of `element_type` as tract holds them: as they are, but bfloat16 widened to
/// f32.
fn tract_elements(element_type: ElementType, elements: &[u8]) -> Cow<'_, [u8]> {
	match element_type {
		ElementType::BF16 => Cow::Owned(bfloat16::widen_elements(elements)),
		_ => Cow::Borrowed(elements),
	}
}

/// Copies `elements` of `element_type` and dimensions `dims` (checked against their spec)
/// into `tensor` if it holds plain memory of that shape and length in tract (as a tensor
/// [`to_tract`] made for the same fixed-width type and dimensions does); whether it did.
pub(crate) fn overwrite(
	tensor: &mut TractTensor,
	element_type: ElementType,
	dims: &[u32],
	elements: &[u8],
) -> bool {
	let same_shape = element_type != ElementType::String
		&& tensor.shape().len() == dims.len()
		&& tensor.shape().iter().zip(dims).all(|(&dim, &size)| dim == size as usize);
	if !same_shape {
		return false;
	}
	let Ok(mut view) = tensor.try_as_plain_ram_mut() else { return false };
	let bytes = view.as_bytes_mut();
	let elements = tract_elements(element_type, elements);
	let fits = bytes.len() == elements.len();
	if fits {
		bytes.copy_from_slice(&elements);
	}
	fits
}

/// The dimensions and elements (little-endian) of a tract tensor, if it is of `spec`'s type
/// and its shape fits the spec (bfloat16 rounded from tract's f32, int64 converted from
/// symbolic dimensions).
pub(crate) fn elements<'a>(
	tensor: &'a TractTensor,
	spec: &TensorSpec,
) -> Result<(Dims, Cow<'a, [u8]>), EngineError> {
	if tensor.datum_type() == DatumType::TDim && spec.element_type == ElementType::I64 {
		let integers = tensor
			.cast_to_dt(DatumType::I64)
			.map_err(|error| EngineError::Execution(format!("output dimensions: {error}")))?;
		let (dims, data) = plain_elements(&integers, spec)?;
		return Ok((dims, Cow::Owned(data.into_owned())));
	}
	plain_elements(tensor, spec)
}

/// [`elements`] of a tensor held as plain memory.
fn plain_elements<'a>(
	tensor: &'a TractTensor,
	spec: &TensorSpec,
) -> Result<(Dims, Cow<'a, [u8]>), EngineError> {
	let view =
		tensor.try_as_plain_ram().map_err(|error| EngineError::Execution(error.to_string()))?;
	let sizes: Option<Vec<u32>> =
		tensor.shape().iter().map(|&dim| u32::try_from(dim).ok()).collect();
	let dims = sizes.as_deref().and_then(Dims::new).filter(|dims| spec.admits(dims));
	let Some(dims) = dims.filter(|_| view.datum_type() == datum_type(spec.element_type)) else {
		return Err(EngineError::Execution(format!(
			"output {:?}{:?} does not fit its spec {spec}",
			view.datum_type(),
			tensor.shape(),
		)));
	};
	let data = match spec.element_type {
		ElementType::BF16 => Cow::Owned(bfloat16::narrow_elements(view.as_bytes())),
		ElementType::String => {
			let strings =
				view.as_slice::<String>().map_err(|e| EngineError::Execution(e.to_string()))?;
			let data = encode_strings(strings.iter().map(String::as_str)).ok_or_else(|| {
				EngineError::Execution(format!(
					"an output string is longer than {MAX_STRING_LEN} bytes"
				))
			})?;
			Cow::Owned(data)
		}
		_ => Cow::Borrowed(view.as_bytes()),
	};
	Ok((dims, data))
}
