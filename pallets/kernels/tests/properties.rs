//! Properties of the kernels on generated operators and tensors: whatever the shapes, types
//! and attributes, an operator gives outputs or a named error and never panics (the runtime
//! will run them on parties' inputs), within the work it is charged; arithmetic commutes bit
//! for bit; a transpose undone is the identity; slices of a concatenation give back its
//! parts; a quantum dequantised is within half a step of the value; integer convolutions
//! are float convolutions of small integers.

use haca_kernels::{run, work, Op};
use haca_primitives::tensor::{ElementType, Tensor};
use proptest::prelude::*;

const TYPES: [ElementType; 5] =
	[ElementType::F32, ElementType::I32, ElementType::I64, ElementType::U8, ElementType::I8];

fn tensor() -> impl Strategy<Value = Tensor> {
	(prop::sample::select(TYPES.to_vec()), prop::collection::vec(0u32..4, 0..5), any::<bool>())
		.prop_flat_map(|(element_type, dims, exact)| {
			let count: u32 = dims.iter().product();
			let len = count as usize * element_type.width().unwrap() + usize::from(!exact);
			(Just(element_type), Just(dims), prop::collection::vec(any::<u8>(), len))
		})
		.prop_map(|(element_type, dims, data)| Tensor {
			element_type,
			shape: dims.try_into().unwrap(),
			data,
		})
}

fn floats(dims: Vec<u32>) -> impl Strategy<Value = Tensor> {
	let count = dims.iter().product::<u32>() as usize;
	prop::collection::vec(-10f32..10.0, count)
		.prop_map(move |values| Tensor::from_f32(&dims, &values).unwrap())
}

fn axes<T: std::fmt::Debug + Clone + 'static>(
	element: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = sp_runtime::BoundedVec<T, sp_core::ConstU32<8>>> {
	prop::collection::vec(element, 0..6).prop_map(|axes| axes.try_into().unwrap())
}

fn op() -> impl Strategy<Value = Op> {
	let small = || 0u32..4;
	prop_oneof![
		Just(Op::Add),
		Just(Op::Sub),
		Just(Op::Mul),
		Just(Op::Div),
		Just(Op::Relu),
		Just(Op::Sigmoid),
		Just(Op::Tanh),
		Just(Op::Erf),
		Just(Op::MatMul),
		Just(Op::MatMulInteger),
		(any::<bool>(), any::<bool>(), any::<u32>(), any::<u32>())
			.prop_map(|(trans_a, trans_b, alpha, beta)| Op::Gemm { trans_a, trans_b, alpha, beta }),
		([small(), small(), small(), small()], [small(), small()], [small(), small()], small())
			.prop_map(|(pads, strides, dilations, group)| Op::Conv {
				pads,
				strides,
				dilations,
				group
			}),
		([small(), small()], [small(), small(), small(), small()], [small(), small()])
			.prop_map(|(kernel, pads, strides)| Op::MaxPool { kernel, pads, strides }),
		Just(Op::GlobalAveragePool),
		(0u8..6).prop_map(|axis| Op::Flatten { axis }),
		Just(Op::Reshape),
		axes(0u8..6).prop_map(|perm| Op::Transpose { perm }),
		(-6i8..6).prop_map(|axis| Op::Softmax { axis }),
		(axes(-6i8..6), any::<bool>())
			.prop_map(|(axes, keep_dims)| Op::ReduceMean { axes, keep_dims }),
		(-6i8..6, any::<u32>())
			.prop_map(|(axis, epsilon)| Op::LayerNormalization { axis, epsilon }),
		Just(Op::Clip),
		prop::sample::select(TYPES.to_vec()).prop_map(|to| Op::Cast { to }),
		(
			[small(), small()],
			[small(), small(), small(), small()],
			[small(), small()],
			any::<bool>()
		)
			.prop_map(|(kernel, pads, strides, count_include_pad)| Op::AveragePool {
				kernel,
				pads,
				strides,
				count_include_pad
			}),
		(-6i8..6).prop_map(|axis| Op::Concat { axis }),
		Just(Op::Slice),
		(-6i8..6).prop_map(|axis| Op::Gather { axis }),
		(-6i8..6).prop_map(|axis| Op::QuantizeLinear { axis }),
		(-6i8..6).prop_map(|axis| Op::DequantizeLinear { axis }),
		Just(Op::QLinearMatMul),
		([small(), small(), small(), small()], [small(), small()], [small(), small()], small())
			.prop_map(|(pads, strides, dilations, group)| Op::ConvInteger {
				pads,
				strides,
				dilations,
				group
			}),
		([small(), small(), small(), small()], [small(), small()], [small(), small()], small())
			.prop_map(|(pads, strides, dilations, group)| Op::QLinearConv {
				pads,
				strides,
				dilations,
				group
			}),
		(-6i8..6, any::<bool>(), any::<bool>()).prop_map(|(axis, keep_dims, select_last)| {
			Op::ArgMax { axis, keep_dims, select_last }
		}),
	]
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(2048))]

	#[test]
	fn operators_give_outputs_or_named_errors(op in op(), inputs in prop::collection::vec(tensor(), 0..9)) {
		let _ = run(&op, &inputs);
	}

	#[test]
	fn the_work_charged_covers_what_a_run_reads_and_writes(op in op(), inputs in prop::collection::vec(tensor(), 0..9)) {
		if let Ok(outputs) = run(&op, &inputs) {
			let elements = |tensor: &Tensor| tensor.shape.iter().map(|&d| u64::from(d)).product::<u64>();
			let moved: u64 = inputs.iter().chain(&outputs).map(elements).sum();
			prop_assert!(work(&op, &inputs) >= moved, "{:?}: {} < {}", op, work(&op, &inputs), moved);
		}
	}

	#[test]
	fn arithmetic_commutes_bit_for_bit(a in tensor(), b in tensor(), multiply in any::<bool>()) {
		let op = if multiply { Op::Mul } else { Op::Add };
		prop_assert_eq!(run(&op, &[a.clone(), b.clone()]), run(&op, &[b, a]));
	}

	#[test]
	fn slices_of_a_concatenation_give_back_its_parts(
		(a, b, axis) in (1u32..4, 0usize..3).prop_flat_map(|(rank, axis)| {
			let axis = axis.min(rank as usize - 1);
			(prop::collection::vec(1u32..4, rank as usize), 0u32..4).prop_flat_map(move |(dims, other)| {
				let mut b_dims = dims.clone();
				b_dims[axis] = other;
				(floats(dims), floats(b_dims), Just(axis))
			})
		})
	) {
		let joined = run(&Op::Concat { axis: axis as i8 }, &[a.clone(), b.clone()]).unwrap().remove(0);
		let split = a.shape[axis] as i64;
		let ints = |values: &[i64]| Tensor {
			element_type: ElementType::I64,
			shape: vec![values.len() as u32].try_into().unwrap(),
			data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
		};
		let part = |start: i64, end: i64| {
			run(&Op::Slice, &[joined.clone(), ints(&[start]), ints(&[end]), ints(&[axis as i64])]).unwrap().remove(0)
		};
		prop_assert_eq!(part(0, split), a);
		prop_assert_eq!(part(split, i64::MAX), b);
	}

	#[test]
	fn a_quantum_dequantised_is_within_half_a_step(values in prop::collection::vec(-100f32..100.0, 1..20), scale in 0.01f32..2.0, zero in any::<u8>()) {
		let x = Tensor::from_f32(&[values.len() as u32], &values).unwrap();
		let scale = Tensor::from_f32(&[], &[scale]).unwrap();
		let zero_point = Tensor { element_type: ElementType::U8, shape: Default::default(), data: vec![zero] };
		let q = run(&Op::QuantizeLinear { axis: 0 }, &[x, scale.clone(), zero_point.clone()]).unwrap().remove(0);
		let back = run(&Op::DequantizeLinear { axis: 0 }, &[q, scale.clone(), zero_point]).unwrap().remove(0);
		let step = f32::from_le_bytes(scale.data[..4].try_into().unwrap());
		for (at, value) in values.iter().enumerate() {
			let got = f32::from_le_bytes(back.data[at * 4..][..4].try_into().unwrap());
			// Values that fit in the 256 quanta around the zero point come back within half a
			// step (and a rounding); the others saturate toward them.
			let quanta = value / step + f32::from(zero);
			if (0.0..=255.0).contains(&quanta) {
				prop_assert!((got - value).abs() <= step * 0.5 * 1.001, "{} -> {}", value, got);
			}
		}
	}

	#[test]
	fn integer_convolutions_are_float_convolutions_of_small_integers(
		(x, w) in (1u32..3, 1u32..3, 1u32..5, 1u32..5).prop_flat_map(|(channels, filters, size, kernel)| {
			let kernel = kernel.min(size);
			(
				prop::collection::vec(any::<u8>(), (channels * size * size) as usize).prop_map(move |data| (vec![1, channels, size, size], data)),
				prop::collection::vec(any::<u8>(), (filters * channels * kernel * kernel) as usize).prop_map(move |data| (vec![filters, channels, kernel, kernel], data)),
			)
		}),
		pads in [0u32..2, 0u32..2, 0u32..2, 0u32..2],
		x_zero in any::<u8>(),
		w_zero in any::<u8>(),
	) {
		let bytes = |(dims, data): &(Vec<u32>, Vec<u8>)| Tensor { element_type: ElementType::I8, shape: dims.clone().try_into().unwrap(), data: data.clone() };
		let scalar = |value: u8| Tensor { element_type: ElementType::I8, shape: Default::default(), data: vec![value] };
		let integer = Op::ConvInteger { pads, strides: [1, 1], dilations: [1, 1], group: 1 };
		let sums = run(&integer, &[bytes(&x), bytes(&w), scalar(x_zero), scalar(w_zero)]).unwrap().remove(0);
		// The same values less their zero points, as floats: every sum is an integer under 2^24,
		// exact in f32.
		let float = |(dims, data): &(Vec<u32>, Vec<u8>), zero: u8| {
			let values: Vec<f32> = data.iter().map(|&v| f32::from(v as i8) - f32::from(zero as i8)).collect();
			Tensor::from_f32(dims, &values).unwrap()
		};
		let conv = Op::Conv { pads, strides: [1, 1], dilations: [1, 1], group: 1 };
		let floats = run(&conv, &[float(&x, x_zero), float(&w, w_zero)]).unwrap().remove(0);
		let as_floats: Vec<f32> = sums.data.chunks_exact(4).map(|b| i32::from_le_bytes(b.try_into().unwrap()) as f32).collect();
		prop_assert_eq!(Tensor::from_f32(&floats.shape, &as_floats).unwrap(), floats);
	}

	#[test]
	fn quantised_products_of_any_shapes_give_outputs_or_named_errors(
		(m, k, n) in (0u32..3, 0u32..3, 0u32..3),
		(a_scales, b_scales) in (0u32..4, 0u32..4),
		signed in any::<bool>(),
	) {
		let bytes = |dims: &[u32]| {
			let count = dims.iter().product::<u32>() as usize;
			let element_type = if signed { ElementType::I8 } else { ElementType::U8 };
			Tensor { element_type, shape: dims.to_vec().try_into().unwrap(), data: vec![3; count] }
		};
		let scales = |count: u32| Tensor::from_f32(&[count], &vec![0.5; count as usize]).unwrap();
		let inputs = [
			bytes(&[m, k]),
			scales(a_scales),
			bytes(&[]),
			bytes(&[k, n]),
			scales(b_scales),
			bytes(&[]),
			Tensor::from_f32(&[], &[0.25]).unwrap(),
			bytes(&[]),
		];
		if let Ok(outputs) = run(&Op::QLinearMatMul, &inputs) {
			prop_assert_eq!(&outputs[0].shape[..], &[m, n][..]);
		}
	}

	#[test]
	fn a_transpose_undone_is_the_identity(x in tensor(), seed in any::<u64>()) {
		let rank = x.shape.len();
		let mut perm: Vec<u8> = (0..rank as u8).collect();
		// A permutation from the seed (Fisher-Yates).
		let mut state = seed;
		for i in (1..rank).rev() {
			state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
			perm.swap(i, (state >> 33) as usize % (i + 1));
		}
		let mut inverse = vec![0u8; rank];
		perm.iter().enumerate().for_each(|(i, &axis)| inverse[usize::from(axis)] = i as u8);
		let there = Op::Transpose { perm: perm.try_into().unwrap() };
		let back = Op::Transpose { perm: inverse.try_into().unwrap() };
		if let Ok(mut moved) = run(&there, std::slice::from_ref(&x)) {
			prop_assert_eq!(run(&back, &[moved.remove(0)]).unwrap(), vec![x]);
		}
	}
}
