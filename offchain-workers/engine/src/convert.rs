//! Conversions between the canonical tensor encoding and tract's tensors.

use haca_primitives::tensor::{ElementType, Shape, Tensor};
use tract_onnx::prelude::{tract_ndarray, DatumType, IntoTensor, Tensor as TractTensor};

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

/// Builds a typed ndarray tensor from little-endian element bytes.
macro_rules! from_le {
	($ty:ty, $dims:expr, $data:expr) => {{
		let values: Vec<$ty> = $data
			.chunks_exact(core::mem::size_of::<$ty>())
			.map(|bytes| <$ty>::from_le_bytes(bytes.try_into().expect("exact chunk")))
			.collect();
		tract_ndarray::ArrayD::from_shape_vec(tract_ndarray::IxDyn($dims), values)
			.map(IntoTensor::into_tensor)
	}};
}

/// Writes a tract tensor's elements as little-endian bytes.
macro_rules! to_le {
	($ty:ty, $tensor:expr) => {
		$tensor.try_as_plain_ram().and_then(|view| {
			view.as_slice::<$ty>().map(|values| {
				values.iter().flat_map(|value| value.to_le_bytes()).collect::<Vec<u8>>()
			})
		})
	};
}

/// A canonical tensor (already checked against its spec) as a tract tensor.
pub(crate) fn to_tract(tensor: &Tensor) -> Result<TractTensor, EngineError> {
	let dims = dims(&tensor.shape);
	let data = &tensor.data;
	let built = match tensor.element_type {
		ElementType::F32 => from_le!(f32, &dims, data),
		ElementType::F64 => from_le!(f64, &dims, data),
		ElementType::I8 => from_le!(i8, &dims, data),
		ElementType::U8 => from_le!(u8, &dims, data),
		ElementType::I16 => from_le!(i16, &dims, data),
		ElementType::I32 => from_le!(i32, &dims, data),
		ElementType::I64 => from_le!(i64, &dims, data),
	};
	// Inputs were checked against their specs, so a failure here is the engine's own.
	built.map_err(|error| EngineError::Execution(format!("input tensor: {error}")))
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
	let data = match element_type {
		ElementType::F32 => to_le!(f32, tensor),
		ElementType::F64 => to_le!(f64, tensor),
		ElementType::I8 => to_le!(i8, tensor),
		ElementType::U8 => to_le!(u8, tensor),
		ElementType::I16 => to_le!(i16, tensor),
		ElementType::I32 => to_le!(i32, tensor),
		ElementType::I64 => to_le!(i64, tensor),
	}
	.map_err(|error| EngineError::Execution(error.to_string()))?;
	Ok(Tensor { element_type, shape, data })
}
