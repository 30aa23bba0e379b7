//! NumPy `.npy` files (format versions 1 to 3, little-endian, C order) as canonical tensors,
//! the format operators and model owners already have their test data in. NumPy's
//! fixed-width strings (`<U`, UTF-32; `|S`, bytes) are strings without their trailing NULs.

use haca_primitives::tensor::{
	check_elements, decode_strings, element_count, encode_strings, ElementType, Tensor,
	TensorError, MAX_STRING_LEN,
};

const MAGIC: &[u8] = b"\x93NUMPY";

/// Why bytes are not a supported `.npy` tensor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpyError {
	/// Not an `.npy` file, or a truncated one.
	#[error("not a .npy file: {0}")]
	Format(&'static str),
	/// An element type HACA has no canonical form for, or big-endian data.
	#[error(
		"unsupported dtype `{0}` (little-endian bool, f16, f32, f64, i8, i16, i32, i64, u8, \
		 u16, u32, u64, or strings: <U or |S)"
	)]
	Dtype(String),
	/// A string element that is not UTF-8 or is too long.
	#[error("string element {0} is not UTF-8 of at most {MAX_STRING_LEN} bytes")]
	String(usize),
	/// bfloat16, which NumPy has no dtype for.
	#[error("bfloat16 has no NumPy dtype: write the tensor as an ONNX .pb file")]
	BFloat16,
	/// A boolean array with a byte other than 0 or 1.
	#[error("boolean elements must be 0 or 1")]
	NotBoolean,
	/// Fortran (column-major) order.
	#[error("Fortran-ordered arrays are not supported")]
	FortranOrder,
	/// More dimensions than a tensor may have, or a data length that does not fit the shape.
	#[error("bad shape: {0}")]
	Shape(String),
}

/// How a NumPy dtype holds its elements.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dtype {
	/// Elements of a fixed-width type, as in the canonical encoding.
	Plain(ElementType),
	/// `<U{n}`: strings of `n` UTF-32 code units, NUL-padded.
	Unicode(usize),
	/// `|S{n}`: strings of `n` bytes, NUL-padded.
	Bytes(usize),
}

impl Dtype {
	/// Bytes per element.
	fn width(self) -> Option<usize> {
		match self {
			Self::Plain(element_type) => element_type.width(),
			Self::Unicode(units) => units.checked_mul(4),
			Self::Bytes(bytes) => Some(bytes),
		}
	}

	/// The string one element's bytes hold, its padding removed.
	fn string(self, bytes: &[u8]) -> Option<String> {
		let string: String = match self {
			Self::Unicode(_) => bytes
				.chunks_exact(4)
				.map(|unit| char::from_u32(u32::from_le_bytes(unit.try_into().ok()?)))
				.collect::<Option<_>>()?,
			_ => String::from_utf8(bytes.to_vec()).ok()?,
		};
		let string = string.trim_end_matches('\0');
		(string.len() <= MAX_STRING_LEN as usize).then(|| string.to_owned())
	}
}

fn dtype_of(descr: &str) -> Result<Dtype, NpyError> {
	let strings = |prefix: &str| descr.strip_prefix(prefix)?.parse::<usize>().ok();
	if let Some(units) = strings("<U") {
		return Ok(Dtype::Unicode(units));
	}
	if let Some(bytes) = strings("|S") {
		return Ok(Dtype::Bytes(bytes));
	}
	Ok(Dtype::Plain(match descr {
		"<f4" => ElementType::F32,
		"<f8" => ElementType::F64,
		"|i1" | "<i1" => ElementType::I8,
		"|u1" | "<u1" => ElementType::U8,
		"<i2" => ElementType::I16,
		"<i4" => ElementType::I32,
		"<i8" => ElementType::I64,
		"|b1" => ElementType::Bool,
		"<u2" => ElementType::U16,
		"<u4" => ElementType::U32,
		"<u8" => ElementType::U64,
		"<f2" => ElementType::F16,
		other => return Err(NpyError::Dtype(other.into())),
	}))
}

fn descr_of(element_type: ElementType) -> Result<&'static str, NpyError> {
	Ok(match element_type {
		ElementType::F32 => "<f4",
		ElementType::F64 => "<f8",
		ElementType::I8 => "|i1",
		ElementType::U8 => "|u1",
		ElementType::I16 => "<i2",
		ElementType::I32 => "<i4",
		ElementType::I64 => "<i8",
		ElementType::Bool => "|b1",
		ElementType::U16 => "<u2",
		ElementType::U32 => "<u4",
		ElementType::U64 => "<u8",
		ElementType::F16 => "<f2",
		ElementType::BF16 => return Err(NpyError::BFloat16),
		ElementType::String => return Err(NpyError::Dtype("string".into())),
	})
}

/// The value of `key` in the header dictionary (up to the next top-level comma or brace).
fn header_value<'a>(header: &'a str, key: &str) -> Result<&'a str, NpyError> {
	let start = header.find(&format!("'{key}':")).ok_or(NpyError::Format("header key missing"))?;
	let rest = header[start + key.len() + 3..].trim_start();
	let end =
		if rest.starts_with('(') { rest.find(')').map(|i| i + 1) } else { rest.find([',', '}']) };
	Ok(rest[..end.ok_or(NpyError::Format("header value unterminated"))?].trim())
}

/// Parses a `.npy` file into a canonical tensor.
pub fn read(bytes: &[u8]) -> Result<Tensor, NpyError> {
	if bytes.len() < 10 || &bytes[..6] != MAGIC {
		return Err(NpyError::Format("bad magic"));
	}
	let (header_len, header_start) = match bytes[6] {
		1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
		2 | 3 if bytes.len() >= 12 => {
			(u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize, 12)
		}
		_ => return Err(NpyError::Format("unknown version")),
	};
	let data_start = header_start + header_len;
	let header = bytes
		.get(header_start..data_start)
		.and_then(|header| core::str::from_utf8(header).ok())
		.ok_or(NpyError::Format("truncated header"))?;

	let dtype = dtype_of(header_value(header, "descr")?.trim_matches('\''))?;
	if header_value(header, "fortran_order")? != "False" {
		return Err(NpyError::FortranOrder);
	}
	let dims = header_value(header, "shape")?
		.trim_matches(|c| c == '(' || c == ')')
		.split(',')
		.map(str::trim)
		.filter(|dim| !dim.is_empty())
		.map(|dim| dim.parse::<u32>().map_err(|_| NpyError::Shape(format!("dimension `{dim}`"))))
		.collect::<Result<Vec<_>, _>>()?;
	let data = &bytes[data_start..];
	let count = element_count(&dims);
	let width = dtype.width();
	if count.zip(width).and_then(|(count, width)| count.checked_mul(width)) != Some(data.len()) {
		return Err(NpyError::Shape(format!("{} data bytes for shape {dims:?}", data.len())));
	}
	let (element_type, data) = match dtype {
		Dtype::Plain(element_type) => {
			let count = count.expect("checked above");
			if check_elements(element_type, count, data) == Err(TensorError::NotBoolean) {
				return Err(NpyError::NotBoolean);
			}
			(element_type, data.to_vec())
		}
		// A width of 0 holds only empty strings.
		_ => {
			let elements = count.expect("checked above");
			let strings = (0..elements)
				.map(|index| {
					let width = width.expect("checked above");
					dtype.string(&data[index * width..][..width]).ok_or(NpyError::String(index))
				})
				.collect::<Result<Vec<_>, _>>()?;
			let data = encode_strings(strings.iter().map(String::as_str)).expect("lengths checked");
			(ElementType::String, data)
		}
	};
	let shape = dims.try_into().map_err(|_| NpyError::Shape("rank above the bound".into()))?;
	Ok(Tensor { element_type, shape, data })
}

/// Writes a canonical tensor as a version 1.0 `.npy` file (any type but bfloat16; strings
/// as `<U` of the longest one's length).
pub fn write(tensor: &Tensor) -> Result<Vec<u8>, NpyError> {
	let (descr, data) = match tensor.element_type {
		ElementType::String => {
			let strings = decode_strings(&tensor.data).ok_or(NpyError::String(0))?;
			let units = strings.iter().map(|string| string.chars().count()).max().unwrap_or(0);
			let units = units.max(1);
			let mut data = Vec::with_capacity(strings.len() * units * 4);
			for string in strings {
				let padding = units - string.chars().count();
				let chars = string.chars().map(u32::from).chain(std::iter::repeat_n(0, padding));
				chars.for_each(|unit| data.extend_from_slice(&unit.to_le_bytes()));
			}
			(format!("<U{units}"), std::borrow::Cow::Owned(data))
		}
		element_type => {
			(descr_of(element_type)?.to_owned(), std::borrow::Cow::Borrowed(&tensor.data))
		}
	};
	let dims: Vec<String> = tensor.shape.iter().map(u32::to_string).collect();
	let shape = match dims.len() {
		1 => format!("({},)", dims[0]),
		_ => format!("({})", dims.join(", ")),
	};
	let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
	// Pad so the data starts on a 64-byte boundary; the header ends with a newline.
	let unpadded = MAGIC.len() + 4 + header.len() + 1;
	header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
	header.push('\n');
	let mut bytes = MAGIC.to_vec();
	bytes.extend_from_slice(&[1, 0]);
	bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
	bytes.extend_from_slice(header.as_bytes());
	bytes.extend_from_slice(&data);
	Ok(bytes)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn reads_numpy_files_and_round_trips() {
		let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/mlp.input.npy"))
			.expect("generated reference input");
		let tensor = read(&bytes).unwrap();
		assert_eq!(tensor.element_type, ElementType::F32);
		assert_eq!(tensor.shape.to_vec(), vec![1, 4]);
		assert_eq!(&tensor.data[..4], &0.5f32.to_le_bytes());
		assert_eq!(read(&write(&tensor).unwrap()).unwrap(), tensor);
		assert_eq!(write(&tensor).unwrap().len() % 64, 16, "64-byte aligned header");
	}

	#[test]
	fn rejects_what_it_cannot_represent() {
		let tensor = Tensor {
			element_type: ElementType::I32,
			shape: vec![3].try_into().unwrap(),
			data: vec![0; 12],
		};
		let good = write(&tensor).unwrap();
		assert_eq!(read(&good).unwrap(), tensor);
		let swap = |from: &str, to: &str| -> Vec<u8> {
			let mut bytes = good.clone();
			let at = bytes.windows(from.len()).position(|w| w == from.as_bytes()).unwrap();
			bytes[at..at + from.len()].copy_from_slice(to.as_bytes());
			bytes
		};
		assert_eq!(read(&swap("<i4", ">i4")), Err(NpyError::Dtype(">i4".into())));
		assert_eq!(read(&swap("False", "True ")), Err(NpyError::FortranOrder));
		assert!(matches!(read(&good[..good.len() - 1]), Err(NpyError::Shape(_))));
		assert_eq!(read(b"not numpy at all"), Err(NpyError::Format("bad magic")));
		let bools =
			Tensor { element_type: ElementType::Bool, data: vec![0, 1, 1], ..tensor.clone() };
		let mut bytes = write(&bools).unwrap();
		*bytes.last_mut().unwrap() = 2;
		assert_eq!(read(&bytes), Err(NpyError::NotBoolean));
		let bf16 = Tensor { element_type: ElementType::BF16, ..tensor };
		assert_eq!(write(&bf16), Err(NpyError::BFloat16));
	}

	#[test]
	fn strings_are_numpys_fixed_width_strings_without_padding() {
		let labels = Tensor::from_strings(&[3], ["cat", "", "chien"]).unwrap();
		let bytes = write(&labels).unwrap();
		assert!(bytes.windows(5).any(|window| window == b"'<U5'"));
		assert_eq!(read(&bytes).unwrap(), labels);
		// `|S3` as NumPy writes `np.array([b"ab", b"xyz"])`.
		let header = "{'descr': '|S3', 'fortran_order': False, 'shape': (2,), }";
		let mut file = MAGIC.to_vec();
		file.extend_from_slice(&[1, 0]);
		file.extend_from_slice(&(header.len() as u16).to_le_bytes());
		file.extend_from_slice(header.as_bytes());
		file.extend_from_slice(b"ab\0xyz");
		assert_eq!(read(&file).unwrap(), Tensor::from_strings(&[2], ["ab", "xyz"]).unwrap());
		let last = file.len() - 1;
		file[last] = 0xff;
		assert_eq!(read(&file), Err(NpyError::String(1)));
	}
}
