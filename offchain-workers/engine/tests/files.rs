//! Properties of the `.npy` and `.pb` (ONNX `TensorProto`) readers, which parse files an
//! operator or client hands over: any bytes give a tensor or a named error, never a panic,
//! and every tensor the writers produce reads back as itself.

use haca_engine::{npy, proto};
use haca_primitives::tensor::{encode_strings, ElementType, Tensor};
use proptest::prelude::*;

fn tensor_strategy() -> impl Strategy<Value = Tensor> {
	(0..ElementType::ALL.len(), prop::collection::vec(0u32..4, 0..4))
		.prop_flat_map(|(kind, dims)| {
			let element_type = ElementType::ALL[kind];
			let count = dims.iter().product::<u32>() as usize;
			// Strings without NULs, which NumPy's fixed-width strings cannot end with.
			let data = match element_type.width() {
				None => prop::collection::vec("[a-zé日 ]{0,4}", count)
					.prop_map(|strings| {
						encode_strings(strings.iter().map(String::as_str)).expect("short strings")
					})
					.boxed(),
				Some(width) => {
					let byte = match element_type {
						ElementType::Bool => (0u8..=1).boxed(),
						_ => any::<u8>().boxed(),
					};
					prop::collection::vec(byte, count * width).boxed()
				}
			};
			(Just(element_type), Just(dims), data)
		})
		.prop_map(|(element_type, dims, data)| Tensor {
			element_type,
			shape: dims.try_into().expect("rank within bound"),
			data,
		})
}

proptest! {
	#[test]
	fn npy_files_read_back_as_written(tensor in tensor_strategy()) {
		match npy::write(&tensor) {
			Ok(file) => prop_assert_eq!(npy::read(&file), Ok(tensor)),
			Err(error) => {
				prop_assert_eq!(tensor.element_type, ElementType::BF16);
				prop_assert_eq!(error, npy::NpyError::BFloat16);
			}
		}
	}

	#[test]
	fn tensor_protos_read_back_as_written(tensor in tensor_strategy()) {
		prop_assert_eq!(proto::read(&proto::write(&tensor, "t")), Ok(tensor));
	}

	#[test]
	fn the_readers_refuse_junk_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
		let _ = npy::read(&bytes);
		let _ = proto::read(&bytes);
	}

	#[test]
	fn the_readers_refuse_damaged_files_without_panicking(
		tensor in tensor_strategy(),
		cut in any::<prop::sample::Index>(),
		flip in any::<(prop::sample::Index, u8)>(),
	) {
		let files = [npy::write(&tensor).ok(), Some(proto::write(&tensor, "t"))];
		for mut file in files.into_iter().flatten() {
			let _ = npy::read(&file[..cut.index(file.len() + 1)]);
			let _ = proto::read(&file[..cut.index(file.len() + 1)]);
			if !file.is_empty() {
				let at = flip.0.index(file.len());
				file[at] ^= flip.1 | 1;
				let _ = npy::read(&file);
				let _ = proto::read(&file);
			}
		}
	}
}
