//! Conversions between the canonical tensor encoding and tract's tensors. Both hold their
//! elements little-endian and row-major, so elements are copied as bytes.

#[cfg(target_endian = "big")]
compile_error!("the canonical tensor encoding is little-endian: the engine copies it as is");

use haca_primitives::tensor::{ElementType, Shape, Tensor};
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

/// A canonical tensor (already checked against its spec) as a tract tensor: its bytes
/// copied once into tract's aligned storage.
pub(crate) fn to_tract(tensor: &Tensor) -> Result<TractTensor, EngineError> {
	// SAFETY: `from_raw_dt` requires the bytes to be valid elements of the datum type. Every
	// HACA element type is a plain integer or float, for which any bit pattern is a value,
	// and tract checks the byte length against the shape.
	unsafe {
		TractTensor::from_raw_dt(
			datum_type(tensor.element_type),
			&dims(&tensor.shape),
			&tensor.data,
		)
	}
	// Inputs were checked against their specs, so a failure here is the engine's own.
	.map_err(|error| EngineError::Execution(format!("input tensor: {error}")))
}

/// A tract tensor as a canonical tensor of `element_type`.
pub(crate) fn from_tract(
	tensor: &TractTensor,
	element_type: ElementType,
) -> Result<Tensor, EngineError> {
	let shape: Shape = tensor
		.shape()
		.iter()
		.map(|dim| *dim as u32)
		.collect::<Vec<_>>()
		.try_into()
		.map_err(|_| EngineError::Execution("output rank above the bound".into()))?;
	let view =
		tensor.try_as_plain_ram().map_err(|error| EngineError::Execution(error.to_string()))?;
	if view.datum_type() != datum_type(element_type) {
		return Err(EngineError::Execution(format!(
			"output of type {:?}, not {element_type:?}",
			view.datum_type()
		)));
	}
	Ok(Tensor { element_type, shape, data: view.as_bytes().to_vec() })
}
