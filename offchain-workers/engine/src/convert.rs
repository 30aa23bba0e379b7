//! Conversions between the canonical tensor encoding and tract's tensors. Both hold their
//! elements little-endian and row-major, so elements are copied as bytes.

#[cfg(target_endian = "big")]
compile_error!("the canonical tensor encoding is little-endian: the engine copies it as is");

use haca_primitives::tensor::{ElementType, Shape, TensorSpec};
use tract_onnx::prelude::{DatumType, Tensor as TractTensor};

use crate::EngineError;

/// tract's datum type for an element type.
pub(crate) fn datum_type(element_type: ElementType) -> DatumType {
	match element_type {
		ElementType::F32 => DatumType::F32,
		ElementType::F64 => DatumType::F64,
		ElementType::I8 => DatumType::I8,
		ElementType::U8 => DatumType::U8,
		ElementType::I16 => DatumType::I16,
		ElementType::I32 => DatumType::I32,
		ElementType::I64 => DatumType::I64,
	}
}

/// The element type of a tract datum type, if HACA has one for it.
pub(crate) fn element_type(datum_type: DatumType) -> Option<ElementType> {
	Some(match datum_type {
		DatumType::F32 => ElementType::F32,
		DatumType::F64 => ElementType::F64,
		DatumType::I8 => ElementType::I8,
		DatumType::U8 => ElementType::U8,
		DatumType::I16 => ElementType::I16,
		DatumType::I32 => ElementType::I32,
		DatumType::I64 => ElementType::I64,
		_ => return None,
	})
}

/// Dimensions as tract wants them.
pub(crate) fn dims(shape: &Shape) -> Vec<usize> {
	shape.iter().map(|dim| *dim as usize).collect()
}

/// Elements in the canonical encoding (already checked against `spec`) as a tract tensor:
/// copied once, as bytes, into tract's aligned storage.
pub(crate) fn to_tract(spec: &TensorSpec, elements: &[u8]) -> Result<TractTensor, EngineError> {
	// SAFETY: `from_raw_dt` requires the bytes to be valid elements of the datum type. Every
	// HACA element type is a plain integer or float, for which any bit pattern is a value,
	// and tract checks the byte length against the shape.
	unsafe { TractTensor::from_raw_dt(datum_type(spec.element_type), &dims(&spec.shape), elements) }
		// Inputs were checked against their specs, so a failure here is the engine's own.
		.map_err(|error| EngineError::Execution(format!("input tensor: {error}")))
}

/// Copies `elements` into `tensor` if it holds plain memory of their length (as a tensor
/// [`to_tract`] made for the same spec does); whether it did.
pub(crate) fn overwrite(tensor: &mut TractTensor, elements: &[u8]) -> bool {
	let Ok(mut view) = tensor.try_as_plain_ram_mut() else { return false };
	let bytes = view.as_bytes_mut();
	let fits = bytes.len() == elements.len();
	if fits {
		bytes.copy_from_slice(elements);
	}
	fits
}

/// The elements of a tract tensor, little-endian, if it is of `spec`'s type and shape.
pub(crate) fn elements<'a>(
	tensor: &'a TractTensor,
	spec: &TensorSpec,
) -> Result<&'a [u8], EngineError> {
	let view =
		tensor.try_as_plain_ram().map_err(|error| EngineError::Execution(error.to_string()))?;
	let shape_matches = tensor.shape().len() == spec.shape.len()
		&& tensor.shape().iter().zip(&spec.shape).all(|(&dim, &spec_dim)| dim == spec_dim as usize);
	if view.datum_type() != datum_type(spec.element_type) || !shape_matches {
		return Err(EngineError::Execution(format!(
			"output {:?}{:?}, not {:?}{:?}",
			view.datum_type(),
			tensor.shape(),
			spec.element_type,
			spec.shape.to_vec()
		)));
	}
	Ok(view.as_bytes())
}
