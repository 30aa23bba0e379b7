//! Properties of the kernels on generated operators and tensors: whatever the shapes, types
//! and attributes, an operator gives outputs or a named error and never panics (the runtime
//! will run them on parties' inputs), within the work it is charged; arithmetic commutes bit
//! for bit; a transpose undone is the identity.

use haca_kernels::{run, work, Op};
use haca_primitives::tensor::{ElementType, Tensor};
use proptest::prelude::*;

fn tensor() -> impl Strategy<Value = Tensor> {
	let types =
		[ElementType::F32, ElementType::I32, ElementType::I64, ElementType::U8, ElementType::I8];
	(prop::sample::select(types.to_vec()), prop::collection::vec(0u32..4, 0..5), any::<bool>())
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
	]
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(2048))]

	#[test]
	fn operators_give_outputs_or_named_errors(op in op(), inputs in prop::collection::vec(tensor(), 0..5)) {
		let _ = run(&op, &inputs);
	}

	#[test]
	fn the_work_charged_covers_what_a_run_reads_and_writes(op in op(), inputs in prop::collection::vec(tensor(), 0..5)) {
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
