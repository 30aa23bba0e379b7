//! ONNX `TensorProto` files (`.pb`, the format of the ONNX backend test data) as canonical
//! tensors. Data may be in `raw_data` (little-endian) or in the typed fields (strings in
//! `string_data`); data kept in external files is refused.

use haca_primitives::tensor::{
	check_elements, decode_strings, element_count, encode_strings, ElementType, Tensor,
	TensorError, MAX_STRING_LEN,
};
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
	#[error(
		"unsupported data type {0} (bool, float16, bfloat16, float, double, int8, int16, \
		 int32, int64, uint8, uint16, uint32, uint64 or string)"
	)]
	DataType(i32),
	/// A boolean tensor with an element other than 0 or 1.
	#[error("boolean elements must be 0 or 1")]
	NotBoolean,
	/// A string element that is not UTF-8 or is too long.
	#[error("string element {0} is not UTF-8 of at most {MAX_STRING_LEN} bytes")]
	String(usize),
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
		Ok(DataType::Bool) => ElementType::Bool,
		Ok(DataType::Uint16) => ElementType::U16,
		Ok(DataType::Uint32) => ElementType::U32,
		Ok(DataType::Uint64) => ElementType::U64,
		Ok(DataType::Float16) => ElementType::F16,
		Ok(DataType::Bfloat16) => ElementType::BF16,
		Ok(DataType::String) => ElementType::String,
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
		ElementType::Bool => DataType::Bool,
		ElementType::U16 => DataType::Uint16,
		ElementType::U32 => DataType::Uint32,
		ElementType::U64 => DataType::Uint64,
		ElementType::F16 => DataType::Float16,
		ElementType::BF16 => DataType::Bfloat16,
		ElementType::String => DataType::String,
	}
}

/// The elements of the typed fields, little-endian (ONNX keeps booleans, 8- and 16-bit
/// integers and the bit patterns of 16-bit floats in `int32_data`, unsigned 32- and 64-bit
/// integers in `uint64_data`), strings in the canonical encoding.
fn typed_data(proto: &TensorProto, element_type: ElementType) -> Result<Vec<u8>, ProtoError> {
	Ok(match element_type {
		ElementType::F32 => proto.float_data.iter().flat_map(|x| x.to_le_bytes()).collect(),
		ElementType::F64 => proto.double_data.iter().flat_map(|x| x.to_le_bytes()).collect(),
		ElementType::I8 => proto.int32_data.iter().map(|&x| x as i8 as u8).collect(),
		ElementType::U8 => proto.int32_data.iter().map(|&x| x as u8).collect(),
		ElementType::I16 => {
			proto.int32_data.iter().flat_map(|&x| (x as i16).to_le_bytes()).collect()
		}
		ElementType::I32 => proto.int32_data.iter().flat_map(|x| x.to_le_bytes()).collect(),
		ElementType::I64 => proto.int64_data.iter().flat_map(|x| x.to_le_bytes()).collect(),
		ElementType::Bool => proto.int32_data.iter().map(|&x| x as u8).collect(),
		ElementType::U16 | ElementType::F16 | ElementType::BF16 => {
			proto.int32_data.iter().flat_map(|&x| (x as u16).to_le_bytes()).collect()
		}
		ElementType::U32 => {
			proto.uint64_data.iter().flat_map(|&x| (x as u32).to_le_bytes()).collect()
		}
		ElementType::U64 => proto.uint64_data.iter().flat_map(|x| x.to_le_bytes()).collect(),
		ElementType::String => {
			let mut strings = Vec::with_capacity(proto.string_data.len());
			for (index, bytes) in proto.string_data.iter().enumerate() {
				let string = std::str::from_utf8(bytes)
					.ok()
					.filter(|string| string.len() <= MAX_STRING_LEN as usize);
				strings.push(string.ok_or(ProtoError::String(index))?);
			}
			encode_strings(strings).expect("lengths checked")
		}
	})
}

/// Parses a `TensorProto` file into a canonical tensor.
pub fn read(bytes: &[u8]) -> Result<Tensor, ProtoError> {
	let proto =
		TensorProto::decode(bytes).map_err(|error| ProtoError::Format(error.to_string()))?;
	from_proto(proto)
}

/// A decoded `TensorProto` (a model's initializer, say) as a canonical tensor.
pub fn from_proto(proto: TensorProto) -> Result<Tensor, ProtoError> {
	if proto.data_location == Some(DataLocation::External as i32) {
		return Err(ProtoError::External);
	}
	let element_type = element_type_of(proto.data_type)?;
	let dims = proto
		.dims
		.iter()
		.map(|&dim| u32::try_from(dim).map_err(|_| ProtoError::Shape(format!("dimension {dim}"))))
		.collect::<Result<Vec<_>, _>>()?;
	let data = match proto.raw_data.is_empty() {
		true => typed_data(&proto, element_type)?,
		false => proto.raw_data,
	};
	let count = element_count(&dims).ok_or_else(|| ProtoError::Shape(format!("{dims:?}")))?;
	match check_elements(element_type, count, &data) {
		Ok(()) => {}
		Err(TensorError::NotBoolean) => return Err(ProtoError::NotBoolean),
		Err(_) if element_type == ElementType::String => {
			let strings = decode_strings(&data).map_or(0, |strings| strings.len());
			return Err(ProtoError::Shape(format!("{strings} strings for shape {dims:?}")));
		}
		Err(_) => {
			return Err(ProtoError::Shape(format!("{} data bytes for shape {dims:?}", data.len())))
		}
	}
	let shape = dims.try_into().map_err(|_| ProtoError::Shape("rank above the bound".into()))?;
	Ok(Tensor { element_type, shape, data })
}

/// Writes a canonical tensor as a `TensorProto` named `name`, its data in `raw_data`
/// (strings, which have no raw form, in `string_data`).
pub fn write(tensor: &Tensor, name: &str) -> Vec<u8> {
	let mut proto = TensorProto {
		dims: tensor.shape.iter().map(|&dim| i64::from(dim)).collect(),
		data_type: data_type_of(tensor.element_type) as i32,
		name: name.into(),
		..Default::default()
	};
	match tensor.element_type {
		ElementType::String => {
			let strings = decode_strings(&tensor.data).unwrap_or_default();
			proto.string_data =
				strings.into_iter().map(|string| string.as_bytes().to_vec()).collect();
		}
		_ => proto.raw_data = tensor.data.clone(),
	}
	proto.encode_to_vec()
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

		let typed = |data_type: DataType, int32_data: Vec<i32>, uint64_data: Vec<u64>| {
			let proto = TensorProto {
				dims: vec![2],
				data_type: data_type as i32,
				int32_data,
				uint64_data,
				..Default::default()
			};
			read(&proto.encode_to_vec())
		};
		let le16 = |values: [u16; 2]| values.map(u16::to_le_bytes).concat();
		assert_eq!(typed(DataType::Bool, vec![1, 0], vec![]).unwrap().data, [1, 0]);
		assert_eq!(typed(DataType::Bool, vec![1, 2], vec![]), Err(ProtoError::NotBoolean));
		assert_eq!(typed(DataType::Uint16, vec![65535, 7], vec![]).unwrap().data, le16([65535, 7]));
		assert_eq!(
			typed(DataType::Float16, vec![0x3c00, 0xc000], vec![]).unwrap().data,
			le16([0x3c00, 0xc000])
		);
		assert_eq!(
			typed(DataType::Bfloat16, vec![0x3f80, 0x7fc0], vec![]).unwrap().data,
			le16([0x3f80, 0x7fc0])
		);
		let u32s = typed(DataType::Uint32, vec![], vec![u64::from(u32::MAX), 1]).unwrap();
		assert_eq!(u32s.data, [u32::MAX.to_le_bytes(), 1u32.to_le_bytes()].concat());
		let u64s = typed(DataType::Uint64, vec![], vec![u64::MAX, 1 << 40]).unwrap();
		assert_eq!(u64s.data, [u64::MAX.to_le_bytes(), (1u64 << 40).to_le_bytes()].concat());
	}

	#[test]
	fn reads_and_writes_strings() {
		let strings = |string_data: Vec<Vec<u8>>| {
			let proto = TensorProto {
				dims: vec![2],
				data_type: DataType::String as i32,
				string_data,
				..Default::default()
			};
			read(&proto.encode_to_vec())
		};
		let labels = strings(vec![b"cat".to_vec(), "chien".into()]).unwrap();
		assert_eq!(labels, Tensor::from_strings(&[2], ["cat", "chien"]).unwrap());
		assert_eq!(read(&write(&labels, "labels")).unwrap(), labels);
		assert_eq!(strings(vec![b"cat".to_vec(), vec![0xff]]), Err(ProtoError::String(1)));
		assert_eq!(strings(vec![vec![b'a'; 256], vec![]]), Err(ProtoError::String(0)));
		assert!(matches!(strings(vec![b"cat".to_vec()]), Err(ProtoError::Shape(_))));
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
		proto.data_type = DataType::Complex64 as i32;
		assert_eq!(
			read(&proto.encode_to_vec()),
			Err(ProtoError::DataType(DataType::Complex64 as i32))
		);
		proto.data_type = DataType::Float as i32;
		proto.data_location = Some(DataLocation::External as i32);
		assert_eq!(read(&proto.encode_to_vec()), Err(ProtoError::External));
	}
}
