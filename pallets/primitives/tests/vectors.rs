//! Golden vectors of the canonical tensor encoding, ULP distance and tensor agreement, as the
//! runtime computes them. The JavaScript client re-implements all three and checks itself
//! against the same file (`clients/js/tests/vectors.test.js`).
//!
//! The committed file must be exactly what this test generates; after a deliberate change,
//! `UPDATE_VECTORS=1 cargo test -p haca-primitives --test vectors` rewrites it.

use codec::Encode;
use haca_primitives::tensor::{
	decode_tensors, tensors_agree, ulp_distance, ElementType, FloatFormat, Tensor,
};
use serde_json::{json, Value};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/tensor.json");

fn hex(bytes: &[u8]) -> String {
	sp_core::bytes::to_hex(bytes, false)
}

fn tensor(element_type: ElementType, dims: &[u32], data: Vec<u8>) -> Tensor {
	Tensor { element_type, shape: dims.to_vec().try_into().expect("rank within bound"), data }
}

fn f32s(dims: &[u32], values: &[f32]) -> Tensor {
	Tensor::from_f32(dims, values).expect("rank within bound")
}

fn f64s(dims: &[u32], values: &[f64]) -> Tensor {
	Tensor::from_f64(dims, values).expect("rank within bound")
}

fn strings(dims: &[u32], values: &[&str]) -> Tensor {
	Tensor::from_strings(dims, values.iter().copied()).expect("short strings")
}

/// A tensor as JSON: its type's name, its shape and its elements' bytes in hex.
fn tensor_json(tensor: &Tensor) -> Value {
	json!({
		"type": format!("{:?}", tensor.element_type),
		"shape": tensor.shape.to_vec(),
		"data": hex(&tensor.data),
	})
}

fn list_json(tensors: &[Tensor]) -> Value {
	Value::Array(tensors.iter().map(tensor_json).collect())
}

/// Tensor lists covering every element type, rank 0 to the largest, empty data and lists,
/// and one-, two- and four-byte compact lengths.
fn lists() -> Vec<Vec<Tensor>> {
	let bytes = |len: usize| (0..len).map(|i| (i * 7 % 256) as u8).collect::<Vec<u8>>();
	vec![
		vec![],
		vec![f32s(&[1, 4], &[0.5, -1.0, 2.0, 0.25])],
		vec![f32s(&[2], &[-0.0, f32::MIN_POSITIVE]), f64s(&[1, 1], &[std::f64::consts::PI])],
		vec![tensor(ElementType::I8, &[3], vec![0x80, 0, 0x7f])],
		vec![tensor(ElementType::U8, &[], vec![7])],
		vec![tensor(ElementType::I16, &[2], vec![0xfe, 0xff, 0x34, 0x12])],
		vec![tensor(ElementType::I32, &[1, 1, 1], (-1i32).to_le_bytes().to_vec())],
		vec![tensor(ElementType::I64, &[2], [i64::MIN, 1 << 40].map(i64::to_le_bytes).concat())],
		vec![tensor(ElementType::U8, &[0, 3], vec![])],
		vec![tensor(ElementType::U8, &[1; 8], vec![1])],
		vec![tensor(ElementType::U8, &[70], bytes(70))],
		vec![tensor(ElementType::U8, &[4, 4100], bytes(16_400))],
		vec![tensor(ElementType::Bool, &[2, 2], vec![1, 0, 0, 1])],
		vec![tensor(ElementType::U16, &[2], [0xffff, 0x1234].map(u16::to_le_bytes).concat())],
		vec![tensor(ElementType::U32, &[1], u32::MAX.to_le_bytes().to_vec())],
		vec![tensor(ElementType::U64, &[2], [u64::MAX, 1 << 40].map(u64::to_le_bytes).concat())],
		// binary16 1.0, -2.0, 65504 (largest finite), infinity.
		vec![tensor(
			ElementType::F16,
			&[4],
			[0x3c00u16, 0xc000, 0x7bff, 0x7c00].map(u16::to_le_bytes).concat(),
		)],
		// bfloat16 1.0, -2.0, the smallest subnormal, a NaN.
		vec![tensor(
			ElementType::BF16,
			&[4],
			[0x3f80u16, 0xc000, 0x0001, 0x7fc0].map(u16::to_le_bytes).concat(),
		)],
		// Strings: empty, ASCII, multi-byte UTF-8, and a length in compact's two-byte form.
		vec![strings(&[2, 2], &["", "setosa", "日本", &"é".repeat(40)])],
	]
}

/// Encodings `decode_tensors` refuses: trailing and missing bytes, an unknown element type
/// (the first index after the last type), a rank over the bound.
fn malformed() -> Vec<Vec<u8>> {
	let good = vec![f32s(&[1, 2], &[1.0, 2.0])].encode();
	let mut trailing = good.clone();
	trailing.push(0);
	let mut unknown_type = good.clone();
	unknown_type[1] = ElementType::ALL.len() as u8;
	let over_rank = [vec![4u8, 2, 9 << 2], [1, 0, 0, 0].repeat(9), vec![4, 7]].concat();
	vec![trailing, good[..good.len() - 1].to_vec(), unknown_type, over_rank, vec![]]
}

/// Pairs of bit patterns of each float format around the places distance is easy to get
/// wrong.
fn ulp_pairs() -> Vec<(u64, u64, ElementType)> {
	let f = |x: f32| u64::from(x.to_bits());
	let d = f64::to_bits;
	let (f16, bf16) = (ElementType::F16, ElementType::BF16);
	let (f32, f64) = (ElementType::F32, ElementType::F64);
	vec![
		(f(1.0), f(1.0), f32),
		(f(1.0), f(1.0) + 1, f32),
		(f(0.0), f(-0.0), f32),
		(1, f(-0.0) | 1, f32),
		(f(f32::MAX), f(f32::INFINITY), f32),
		(f(f32::INFINITY), f(f32::NEG_INFINITY), f32),
		(f(f32::NAN), f(f32::NAN), f32),
		(f(f32::NAN), f(f32::NAN) | 1, f32),
		(f(f32::NAN), f(1.0), f32),
		(f(-2.5), f(3.75), f32),
		(d(1.0), d(1.0) + 3, f64),
		(d(-0.0), 1, f64),
		(d(f64::NAN), d(0.0), f64),
		(d(f64::MIN), d(f64::MAX), f64),
		(0x3c00, 0x3c01, f16),
		(0x0000, 0x8000, f16),
		(0x7bff, 0x7c00, f16),
		(0x7c01, 0x7c00, f16),
		(0xfbff, 0x7bff, f16),
		(0x3f80, 0x3f81, bf16),
		(0x0001, 0x8001, bf16),
		(0x7c01, 0x7c00, bf16),
		(0x7fc0, 0x3f80, bf16),
		(0xff7f, 0x7f7f, bf16),
	]
}

/// Pairs of tensor lists and a tolerance, around what agreement allows and refuses.
fn agreement_cases() -> Vec<(Vec<Tensor>, Vec<Tensor>, u32)> {
	let near = f32::from_bits(1.0f32.to_bits() + 2);
	let ints = |values: Vec<u8>| vec![tensor(ElementType::U8, &[2], values)];
	let halves = |element_type, bits: [u16; 2]| {
		vec![tensor(element_type, &[2], bits.map(u16::to_le_bytes).concat())]
	};
	vec![
		(vec![f32s(&[2], &[1.0, 2.0])], vec![f32s(&[2], &[near, 2.0])], 2),
		(vec![f32s(&[2], &[1.0, 2.0])], vec![f32s(&[2], &[near, 2.0])], 1),
		(vec![f32s(&[2], &[1.0, 2.0])], vec![f32s(&[1, 2], &[1.0, 2.0])], 8),
		(vec![f32s(&[1], &[0.0])], vec![f32s(&[1], &[-0.0])], 0),
		(vec![f64s(&[1], &[1.0])], vec![f64s(&[1], &[f64::from_bits(1.0f64.to_bits() + 5)])], 4),
		(ints(vec![1, 2]), ints(vec![1, 3]), 100),
		(ints(vec![1, 2]), ints(vec![1, 2]), 0),
		(
			vec![f32s(&[1], &[1.0])],
			vec![tensor(ElementType::I32, &[1], 1i32.to_le_bytes().to_vec())],
			0,
		),
		(vec![], vec![f32s(&[1], &[1.0])], 0),
		(halves(ElementType::F16, [0x3c00, 0]), halves(ElementType::F16, [0x3c03, 0]), 3),
		(halves(ElementType::F16, [0x3c00, 0]), halves(ElementType::F16, [0x3c03, 0]), 2),
		(halves(ElementType::BF16, [0x3f80, 0]), halves(ElementType::BF16, [0x3f81, 0]), 1),
		(halves(ElementType::BF16, [0x3f80, 0]), halves(ElementType::F16, [0x3f80, 0]), 9),
		(halves(ElementType::U16, [1, 2]), halves(ElementType::U16, [1, 3]), 100),
		(
			vec![tensor(ElementType::Bool, &[2], vec![1, 0])],
			vec![tensor(ElementType::Bool, &[2], vec![1, 1])],
			100,
		),
		(vec![strings(&[1], &["cat"])], vec![strings(&[1], &["cat"])], 0),
		(vec![strings(&[1], &["cat"])], vec![strings(&[1], &["car"])], u32::MAX),
	]
}

fn vectors() -> Value {
	let encodings: Vec<Value> = lists()
		.iter()
		.map(|list| {
			let encoded = list.encode();
			assert_eq!(decode_tensors(&encoded).as_ref(), Ok(list), "round trip");
			json!({ "tensors": list_json(list), "encoded": hex(&encoded) })
		})
		.collect();
	let malformed: Vec<Value> = malformed()
		.iter()
		.map(|bytes| {
			assert!(decode_tensors(bytes).is_err(), "{} decodes", hex(bytes));
			Value::String(hex(bytes))
		})
		.collect();
	let ulp: Vec<Value> = ulp_pairs()
		.into_iter()
		.map(|(a, b, element_type)| {
			let format: FloatFormat = element_type.float_format().expect("a float type");
			json!({
				"type": format!("{element_type:?}"),
				"a": format!("{a:#x}"),
				"b": format!("{b:#x}"),
				"distance": ulp_distance(a, b, format).to_string(),
			})
		})
		.collect();
	let agreement: Vec<Value> = agreement_cases()
		.into_iter()
		.map(|(a, b, max_ulps)| {
			json!({
				"a": list_json(&a),
				"b": list_json(&b),
				"maxUlps": max_ulps,
				"agree": tensors_agree(&a, &b, max_ulps),
			})
		})
		.collect();
	json!({
		"encodings": encodings,
		"malformed": malformed,
		"ulpDistance": ulp,
		"tensorsAgree": agreement,
	})
}

#[test]
fn the_committed_vectors_are_what_the_runtime_computes() {
	let generated = serde_json::to_string_pretty(&vectors()).expect("JSON") + "\n";
	if std::env::var_os("UPDATE_VECTORS").is_some() {
		std::fs::create_dir_all(std::path::Path::new(FILE).parent().unwrap()).unwrap();
		std::fs::write(FILE, &generated).unwrap();
	}
	let committed =
		std::fs::read_to_string(FILE).expect("vectors file; write it with UPDATE_VECTORS=1");
	assert!(committed == generated, "{FILE} is stale: rerun with UPDATE_VECTORS=1");
}
