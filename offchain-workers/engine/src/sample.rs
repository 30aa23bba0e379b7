//! Deterministic sample inputs, for trying and benchmarking a model without real inputs.

use haca_primitives::tensor::{encode_strings, ElementType, Tensor, TensorSpec};

/// One tensor per spec, filled with a fixed pattern: floats in [-1, 1), integers 0 and 1
/// alternating (indices inside any table of two rows or more: token ids of an embedding, say),
/// booleans alternating, strings the decimals of those integers.
pub fn sample_inputs(specs: &[TensorSpec]) -> Vec<Tensor> {
	specs
		.iter()
		.map(|spec| {
			let count = spec.element_count().unwrap_or(0);
			let data = (0..count)
				.flat_map(|i| {
					let float = (i * 7919 % 1000) as f64 / 500.0 - 1.0;
					let int = (i % 2) as i64;
					match spec.element_type {
						ElementType::F32 => (float as f32).to_le_bytes().to_vec(),
						ElementType::F64 => float.to_le_bytes().to_vec(),
						ElementType::I8 => (int as i8).to_le_bytes().to_vec(),
						ElementType::U8 => (int as u8).to_le_bytes().to_vec(),
						ElementType::I16 => (int as i16).to_le_bytes().to_vec(),
						ElementType::I32 => (int as i32).to_le_bytes().to_vec(),
						ElementType::I64 => int.to_le_bytes().to_vec(),
						ElementType::Bool => vec![(i % 2) as u8],
						ElementType::U16 => (int as u16).to_le_bytes().to_vec(),
						ElementType::U32 => (int as u32).to_le_bytes().to_vec(),
						ElementType::U64 => (int as u64).to_le_bytes().to_vec(),
						ElementType::F16 => half::f16::from_f64(float).to_le_bytes().to_vec(),
						ElementType::BF16 => half::bf16::from_f64(float).to_le_bytes().to_vec(),
						ElementType::String => {
							encode_strings([int.to_string().as_str()]).expect("short string")
						}
					}
				})
				.collect();
			Tensor { element_type: spec.element_type, shape: spec.shape.clone(), data }
		})
		.collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn sample_inputs_match_their_specs() {
		let bytes =
			std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/int_matmul.onnx"))
				.expect("generated model");
		let specs = crate::Plan::declared_inputs(&bytes, &crate::DimBounds::default()).unwrap();
		assert_eq!(specs.len(), 1);
		assert_eq!(specs[0].element_type, ElementType::U8);
		let inputs = sample_inputs(&specs);
		assert!(inputs.iter().zip(&specs).all(|(tensor, spec)| tensor.check(spec).is_ok()));
		let plan = crate::Plan::discover(&bytes, &specs, crate::DATA_DEPENDENT_MAX).unwrap();
		let outputs = plan.run(&codec::Encode::encode(&inputs)).unwrap();
		assert_eq!(
			haca_primitives::tensor::decode_and_check(&outputs, plan.outputs()).unwrap().len(),
			1
		);
	}
}
