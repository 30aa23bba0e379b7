//! Job inputs and results as the chain receives them: decoding fails or gives back tensors
//! whose encoding is exactly the input (the encoding is canonical), and checking them
//! against any spec never panics.

#![no_main]

use codec::Encode;
use haca_primitives::tensor::{check_tensors, decode_tensors, Layout, TensorSpec};

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
	let Ok(tensors) = decode_tensors(bytes) else { return };
	assert_eq!(tensors.encode(), bytes, "a second encoding of the same tensors");
	// Specs the tensors fit: with every axis fixed, and with every axis variable.
	for variable in [false, true] {
		let specs: Vec<TensorSpec> = tensors
			.iter()
			.map(|tensor| TensorSpec {
				name: b"t".to_vec().try_into().expect("short name"),
				element_type: tensor.element_type,
				shape: tensor.shape.clone(),
				variable_axes: if variable { ((1u16 << tensor.shape.len()) - 1) as u8 } else { 0 },
			})
			.collect();
		let matches = check_tensors(&tensors, &specs).is_ok();
		if let Some(layout) = Layout::new(&specs) {
			let read = layout.elements(bytes).is_some();
			assert_eq!(read, matches, "Layout and the checks disagree");
		}
	}
});
