//! Properties of the canonical tensor encoding, ULP distance and tensor agreement, checked
//! on generated cases (tract's pattern: a problem type that generates itself and checks
//! itself). Counter-examples that proptest finds are kept as named tests below.

use codec::Encode;
use haca_primitives::tensor::{
	decode_and_check, decode_tensors, encode_strings, tensors_agree, ulp_distance, ElementType,
	FloatFormat, Layout, Tensor, TensorSpec,
};
use proptest::prelude::*;

/// A change made to a valid encoding.
#[derive(Clone, Debug)]
enum Mutation {
	None,
	Truncate(usize),
	Append(u8),
	Flip { at: usize, bit: u8 },
}

/// Specs, a tensor list matching them, and a mutation of its encoding: [`Layout`] must accept
/// exactly what [`decode_and_check`] accepts, and write back the bytes it read.
#[derive(Clone, Debug)]
struct LayoutProblem {
	specs: Vec<TensorSpec>,
	tensors: Vec<Tensor>,
	mutation: Mutation,
}

/// A spec, and the shape of a tensor that fits it (smaller on variable axes).
fn spec_strategy() -> impl Strategy<Value = (TensorSpec, Vec<u32>)> {
	(0..ElementType::ALL.len(), prop::collection::vec((0u32..4, any::<bool>(), 0u32..4), 0..4))
		.prop_map(|(kind, axes)| {
			let largest: Vec<u32> = axes.iter().map(|(size, _, _)| *size).collect();
			let variable: Vec<usize> = (0..axes.len()).filter(|axis| axes[*axis].1).collect();
			let spec = TensorSpec::new("t", ElementType::ALL[kind], &largest)
				.expect("small spec")
				.with_variable_axes(&variable);
			let dims = axes
				.iter()
				.map(
					|(size, variable, less)| {
						if *variable {
							size.saturating_sub(*less)
						} else {
							*size
						}
					},
				)
				.collect();
			(spec, dims)
		})
}

impl Arbitrary for LayoutProblem {
	type Parameters = ();
	type Strategy = BoxedStrategy<Self>;

	fn arbitrary_with(_: ()) -> Self::Strategy {
		prop::collection::vec(spec_strategy(), 0..4)
			.prop_flat_map(|specs_and_dims| {
				let (specs, dims): (Vec<TensorSpec>, Vec<Vec<u32>>) =
					specs_and_dims.into_iter().unzip();
				// Booleans mostly valid (0 or 1) and strings valid, so mutations reach the
				// bytes after them.
				let data: Vec<_> = specs
					.iter()
					.zip(&dims)
					.map(|(spec, dims)| {
						let count: usize = dims.iter().map(|size| *size as usize).product();
						let Some(width) = spec.element_type.width() else {
							return prop::collection::vec("[aé\\x00-]{0,3}", count)
								.prop_map(|strings| {
									encode_strings(strings.iter().map(String::as_str))
										.expect("short strings")
								})
								.boxed();
						};
						let byte = match spec.element_type {
							ElementType::Bool => {
								prop_oneof![9 => 0u8..=1, 1 => any::<u8>()].boxed()
							}
							_ => any::<u8>().boxed(),
						};
						prop::collection::vec(byte, count * width).boxed()
					})
					.collect();
				let mutation = prop_oneof![
					Just(Mutation::None),
					any::<usize>().prop_map(Mutation::Truncate),
					any::<u8>().prop_map(Mutation::Append),
					(any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
				];
				(Just(specs), Just(dims), data, mutation)
			})
			.prop_map(|(specs, dims, data, mutation)| {
				let tensors = specs
					.iter()
					.zip(dims)
					.zip(data)
					.map(|((spec, dims), data)| Tensor {
						element_type: spec.element_type,
						shape: dims.try_into().expect("small shape"),
						data,
					})
					.collect();
				LayoutProblem { specs, tensors, mutation }
			})
			.boxed()
	}
}

impl LayoutProblem {
	fn bytes(&self) -> Vec<u8> {
		let mut bytes = self.tensors.encode();
		match self.mutation {
			Mutation::None => {}
			Mutation::Truncate(len) => bytes.truncate(len % (bytes.len() + 1)),
			Mutation::Append(byte) => bytes.push(byte),
			Mutation::Flip { at, bit } => {
				let at = at % bytes.len();
				bytes[at] ^= 1 << bit;
			}
		}
		bytes
	}

	fn check(&self) -> Result<(), TestCaseError> {
		let layout = Layout::new(&self.specs).expect("small specs");
		let bytes = self.bytes();
		let elements = layout.elements(&bytes);
		let decoded = decode_and_check(&bytes, &self.specs);
		prop_assert_eq!(elements.is_some(), decoded.is_ok(), "bytes {:?}", bytes);
		if let (Some(elements), Ok(tensors)) = (elements, decoded) {
			for (view, tensor) in elements.iter().zip(&tensors) {
				prop_assert_eq!(view.data, &tensor.data[..]);
				prop_assert_eq!(&*view.dims, &tensor.shape[..]);
			}
			prop_assert_eq!(layout.encode(elements), Some(bytes));
		}
		Ok(())
	}
}

/// Three bit patterns of one float format.
#[derive(Clone, Debug)]
struct UlpProblem {
	a: u64,
	b: u64,
	c: u64,
	format: FloatFormat,
}

impl Arbitrary for UlpProblem {
	type Parameters = ();
	type Strategy = BoxedStrategy<Self>;

	fn arbitrary_with(_: ()) -> Self::Strategy {
		let formats = [FloatFormat::F16, FloatFormat::BF16, FloatFormat::F32, FloatFormat::F64];
		(prop::sample::select(formats.to_vec()), any::<[u64; 3]>())
			.prop_map(|(format, [a, b, c])| {
				let low = |x: u64| x & (u64::MAX >> (64 - format.bits));
				UlpProblem { a: low(a), b: low(b), c: low(c), format }
			})
			.boxed()
	}
}

impl UlpProblem {
	/// NaN-ness as the standard library (f32, f64) or the `half` crate (f16, bf16) sees it:
	/// an implementation independent of `ulp_distance`'s masks.
	fn is_nan(&self, x: u64) -> bool {
		match self.format {
			FloatFormat::F16 => half::f16::from_bits(x as u16).is_nan(),
			FloatFormat::BF16 => half::bf16::from_bits(x as u16).is_nan(),
			FloatFormat::F32 => f32::from_bits(x as u32).is_nan(),
			_ => f64::from_bits(x).is_nan(),
		}
	}

	fn check(&self) -> Result<(), TestCaseError> {
		let Self { a, b, c, format } = *self;
		let bits = format.bits;
		let distance = ulp_distance(a, b, format);
		prop_assert_eq!(distance, ulp_distance(b, a, format), "symmetric");
		prop_assert_eq!(ulp_distance(a, a, format), 0, "zero from itself");
		if self.is_nan(a) || self.is_nan(b) {
			prop_assert_eq!(distance == u64::MAX, a != b, "NaN is far from all but itself");
			return Ok(());
		}
		// Over the ordered line of non-NaN values: at most the whole line, and a triangle.
		let line = 1u128 << bits;
		prop_assert!(u128::from(distance) < line, "{} beyond the line", distance);
		if !self.is_nan(c) {
			let via =
				u128::from(ulp_distance(a, c, format)) + u128::from(ulp_distance(c, b, format));
			prop_assert!(u128::from(distance) <= via, "triangle");
		}
		// One step up from a finite positive value is one ULP away.
		let sign = 1u64 << (bits - 1);
		if a & sign == 0 && !self.is_nan(a + 1) {
			prop_assert_eq!(ulp_distance(a, a + 1, format), 1);
		}
		Ok(())
	}
}

/// Two f32 tensor lists of one shape, the second a copy of the first moved by some ULPs.
#[derive(Clone, Debug)]
struct AgreementProblem {
	a: Vec<Tensor>,
	b: Vec<Tensor>,
	max_ulps: u32,
}

impl Arbitrary for AgreementProblem {
	type Parameters = ();
	type Strategy = BoxedStrategy<Self>;

	fn arbitrary_with(_: ()) -> Self::Strategy {
		(prop::collection::vec((any::<u32>(), 0u32..4), 1..6), 0u32..4)
			.prop_map(|(elements, max_ulps)| {
				let tensor = |data: Vec<u8>| Tensor {
					element_type: ElementType::F32,
					shape: vec![elements.len() as u32].try_into().unwrap(),
					data,
				};
				let a = elements.iter().flat_map(|(bits, _)| bits.to_le_bytes()).collect();
				let b = elements
					.iter()
					.flat_map(|(bits, step)| bits.wrapping_add(*step).to_le_bytes())
					.collect();
				AgreementProblem { a: vec![tensor(a)], b: vec![tensor(b)], max_ulps }
			})
			.boxed()
	}
}

impl AgreementProblem {
	fn check(&self) -> Result<(), TestCaseError> {
		let Self { a, b, max_ulps } = self;
		prop_assert!(tensors_agree(a, a, 0), "reflexive");
		prop_assert_eq!(
			tensors_agree(a, b, *max_ulps),
			tensors_agree(b, a, *max_ulps),
			"symmetric"
		);
		if tensors_agree(a, b, *max_ulps) {
			prop_assert!(tensors_agree(a, b, max_ulps + 1), "a wider tolerance keeps agreement");
		}
		Ok(())
	}
}

proptest! {
	#[test]
	fn layout_accepts_exactly_what_decode_and_check_accepts(problem in any::<LayoutProblem>()) {
		problem.check()?;
	}

	#[test]
	fn ulp_distance_is_a_symmetric_bounded_distance(problem in any::<UlpProblem>()) {
		problem.check()?;
	}

	#[test]
	fn tensor_agreement_is_reflexive_symmetric_and_monotone(problem in any::<AgreementProblem>()) {
		problem.check()?;
	}

	#[test]
	fn decoding_any_bytes_fails_or_reencodes_them(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
		if let Ok(tensors) = decode_tensors(&bytes) {
			prop_assert_eq!(tensors.encode(), bytes);
		}
	}
}
