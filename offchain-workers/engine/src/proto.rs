//! ONNX `TensorProto` files (`.pb`, the format of the ONNX backend test data) as canonical
//! tensors. Data may be in `raw_data` (little-endian) or in the typed fields; data kept in
//! external files is refused.

use haca_primitives::tensor::{element_count, ElementType, Tensor};
use prost::Message;
use tract_onnx::pb::{
	tensor_proto::{DataLocation, DataType},
	TensorProto,
};

/// Why bytes are not a supported `TensorProto` tensor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
	/// Not a protobuf `TensorProto`.
	#[error("not an ONNX TensorProto: {0}")]
	Format(String),
	/// An element type HACA has no canonical form for.
	#[error("unsupported data type {0} (float, double, int8, uint8, int16, int32, int64 only)")]
	DataType(i32),
	/// The data lives in another file.
	#[error("tensor data in external files is not supported")]
	External,
	/// A negative dimension, too many dimensions, or data that does not fit the shape.
	#[error("bad shape: {0}")]
	Shape(String),
}

fn element_type_of(data_type: i32) -> Result<ElementType, ProtoError> {
	Ok(match DataType::try_from(data_type) {
		Ok(DataType::Float) => ElementType::F32,
		Ok(DataType::Double) => ElementType::F64,
		Ok(DataType::Int8) => ElementType::I8,
		Ok(DataType::Uint8) => ElementType::U8,
		Ok(DataType::Int16) => ElementType::I16,
		Ok(DataType::Int32) => ElementType::I32,
		Ok(DataType::Int64) => ElementType::I64,
		_ => return Err(ProtoError::DataType(data_type)),
	})
}

fn data_type_of(element_type: ElementType) -> DataType {
	match element_type {
		ElementType::F32 => DataType::Float,
		ElementType::F64 => DataType::Double,
		ElementType::I8 => DataType::Int8,
		ElementType::U8 => DataType::Uint8,
		ElementType::I16 => DataType::Int16,
		ElementType::I32 => DataType::Int32,
		ElementType::I64 => DataType::Int64,
	}
}

/// The elements of the typed fields, little-endian (ONNX keeps 8- and 16-bit integers in
/// `int32_data`).
fn typed_data(proto: &TensorProto, element_type: ElementType) -> Vec<u8> {
	match element_type {
		ElementType::F32 => proto.float_data.iter().flat_map(|x| x.to_le_bytes()).collect(),
		ElementType::F64 => proto.double_data.iter().flat_map(|x| x.to_le_bytes()).collect(),
		ElementType::I8 => proto.int32_data.iter().map(|&x| x as i8 as u8).collect(),
		ElementType::U8 => proto.int32_data.iter().map(|&x| x as u8).collect(),
		ElementType::I16 => {
			proto.int32_data.iter().flat_map(|&x| (x as i16).to_le_bytes()).collect()
		}
		ElementType::I32 => proto.int32_data.iter().flat_map(|x| x.to_le_bytes()).collect(),
		ElementType::I64 => proto.int64_data.iter().flat_map(|x| x.to_le_bytes()).collect(),
	}
}

/// Parses a `TensorProto` file into a canonical tensor.
pub fn read(bytes: &[u8]) -> Result<Tensor, ProtoError> {
	let proto =
		TensorProto::decode(bytes).map_err(|error| ProtoError::Format(error.to_string()))?;
	if proto.data_location == Some(DataLocation::External as i32) {
		return Err(ProtoError::External);
	}
	let element_type = element_type_of(proto.data_type)?;
	let dims = proto
		.dims
		.iter()
		.map(|&dim| u32::try_from(dim).map_err(|_| ProtoError::Shape(format!("dimension {dim}"))))
		.collect::<Result<Vec<_>, _>>()?;
	let data =
		if proto.raw_data.is_empty() { typed_data(&proto, element_type) } else { proto.raw_data };
	let expected = element_count(&dims).and_then(|count| count.checked_mul(element_type.size()));
	if expected != Some(data.len()) {
		return Err(ProtoError::Shape(format!("{} data bytes for shape {dims:?}", data.len())));
	}
	let shape = dims.try_into().map_err(|_| ProtoError::Shape("rank above the bound".into()))?;
	Ok(Tensor { element_type, shape, data })
}

/// Writes a canonical tensor as a `TensorProto` named `name`, its data in `raw_data`.
pub fn write(tensor: &Tensor, name: &str) -> Vec<u8> {
	TensorProto {
		dims: tensor.shape.iter().map(|&dim| i64::from(dim)).collect(),
		data_type: data_type_of(tensor.element_type) as i32,
		raw_data: tensor.data.clone(),
		name: name.into(),
		..Default::default()
	}
	.encode_to_vec()
}

#[cfg(test)]
mod tests {
	use super::*;

	fn model_file(name: &str) -> Vec<u8> {
		std::fs::read(format!("{}/../models/{name}", env!("CARGO_MANIFEST_DIR")))
			.expect("generated reference data")
	}

	#[test]
	fn reads_the_onnx_packages_files_as_the_numpy_ones() {
		for name in ["mlp.input", "mlp.output", "int_matmul.input", "int_matmul.output"] {
			let from_proto = read(&model_file(&format!("{name}.pb"))).unwrap();
			let from_numpy = crate::npy::read(&model_file(&format!("{name}.npy"))).unwrap();
			assert_eq!(from_proto, from_numpy, "{name}");
			assert_eq!(read(&write(&from_proto, name)).unwrap(), from_proto, "{name} round trip");
		}
	}

	#[test]
	fn reads_typed_fields() {
		let proto = TensorProto {
			dims: vec![2],
			data_type: DataType::Int16 as i32,
			int32_data: vec![-2, 300],
			..Default::default()
		};
		let tensor = read(&proto.encode_to_vec()).unwrap();
		assert_eq!(tensor.element_type, ElementType::I16);
		assert_eq!(tensor.data, [(-2i16).to_le_bytes(), 300i16.to_le_bytes()].concat());
	}

	#[test]
	fn rejects_what_it_cannot_represent() {
		let good = model_file("mlp.input.pb");
		assert!(matches!(read(&good[..good.len() - 3]), Err(ProtoError::Format(_))));
		assert!(matches!(read(b"\xff\xff\xff not protobuf"), Err(ProtoError::Format(_))));
		let mut proto = TensorProto::decode(&good[..]).unwrap();
		proto.dims = vec![1, 5];
		assert!(matches!(read(&proto.encode_to_vec()), Err(ProtoError::Shape(_))));
		proto.dims = vec![-1, 4];
		assert!(matches!(read(&proto.encode_to_vec()), Err(ProtoError::Shape(_))));
		proto.dims = vec![1, 4];
		proto.data_type = DataType::String as i32;
		assert_eq!(
			read(&proto.encode_to_vec()),
			Err(ProtoError::DataType(DataType::String as i32))
		);
		proto.data_type = DataType::Float as i32;
		proto.data_location = Some(DataLocation::External as i32);
		assert_eq!(read(&proto.encode_to_vec()), Err(ProtoError::External));
	}
}
