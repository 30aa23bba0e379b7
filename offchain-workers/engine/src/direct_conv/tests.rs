//! The direct convolution against tract's own and against its portable form.

use proptest::prelude::*;
use tract_onnx::prelude::{tensor1, Tensor, TypedModel, TypedSimplePlan};
use tract_onnx::tract_core::ops::{cnn::PoolSpec, math::max};

use super::*;

/// A convolution's parameters: input channels, output channels, input rows and columns,
/// kernel rows and columns, pads (top, bottom, left, right), a bias per channel or one; and
/// whether a ReLU and a 2x2 max-pooling follow it.
#[derive(Debug, Clone)]
struct Case {
	batch: usize,
	geometry: Geometry,
	bias_per_channel: bool,
	then: Epilogue,
	seed: u32,
}

fn cases() -> impl Strategy<Value = Case> {
	(1..3usize, 1..12usize, 1..21usize, (1..14usize, 1..14usize), (1..6usize, 1..6usize))
		.prop_flat_map(|(batch, channels, outputs, (input_h, input_w), (kernel_h, kernel_w))| {
			let then =
				(any::<bool>(), any::<bool>()).prop_map(|(relu, pool)| Epilogue { relu, pool });
			(
				[0..kernel_h, 0..kernel_h, 0..kernel_w, 0..kernel_w],
				any::<bool>(),
				then,
				any::<u32>(),
			)
				.prop_filter_map(
					"a kernel larger than the padded input, or a pooling of nothing",
					move |(pads, bias, then, seed)| {
						let geometry = Geometry {
							input_channels: channels,
							output_channels: outputs,
							input_h,
							input_w,
							kernel_h,
							kernel_w,
							pads,
						};
						then.output_hw(&geometry)?;
						Some(Case { batch, geometry, bias_per_channel: bias, then, seed })
					},
				)
		})
}

/// Values in [-1, 1) from a seed (a linear congruential sequence).
fn values(seed: u32, count: usize) -> Vec<f32> {
	let mut state = seed;
	(0..count)
		.map(|_| {
			state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
			(state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
		})
		.collect()
}

struct Built {
	model: TypedModel,
	images: Vec<f32>,
	weights: Vec<f32>,
	bias: Vec<f32>,
}

/// A model of tract's `Conv` for `case`, with its input, weights and bias.
fn build(case: &Case) -> Built {
	let g = &case.geometry;
	let weights = values(case.seed, g.output_channels * g.input_channels * g.kernel_h * g.kernel_w);
	let bias = values(case.seed ^ 1, if case.bias_per_channel { g.output_channels } else { 1 });
	let images = values(case.seed ^ 2, case.batch * g.input_channels * g.input_h * g.input_w);
	let mut model = TypedModel::default();
	let input = model
		.add_source("x", f32::fact([case.batch, g.input_channels, g.input_h, g.input_w]))
		.unwrap();
	let kernel = Tensor::from_shape(
		&[g.output_channels, g.input_channels, g.kernel_h, g.kernel_w],
		&weights,
	)
	.unwrap();
	let kernel = model.add_const("k", kernel).unwrap();
	let bias_tensor = if case.bias_per_channel { tensor1(&bias) } else { Tensor::from(bias[0]) };
	let bias_outlet = model.add_const("b", bias_tensor).unwrap();
	let [top, bottom, left, right] = g.pads;
	let conv = Conv {
		pool_spec: PoolSpec {
			data_format: DataFormat::NCHW,
			kernel_shape: tvec![g.kernel_h, g.kernel_w],
			padding: PaddingSpec::Explicit(tvec![top, left], tvec![bottom, right]),
			dilations: None,
			strides: None,
			input_channels: g.input_channels,
			output_channels: g.output_channels,
		},
		kernel_fmt: KernelFormat::OIHW,
		group: 1,
		q_params: None,
	};
	let mut output = model.wire_node("conv", conv, &[input, kernel, bias_outlet]).unwrap();
	if case.then.relu {
		let zero =
			model.add_const("zero", Tensor::from_shape(&[1, 1, 1, 1], &[0f32]).unwrap()).unwrap();
		output = model.wire_node("relu", max(), &[output[0], zero]).unwrap();
	}
	if case.then.pool {
		let pool = MaxPool {
			pool_spec: PoolSpec {
				data_format: DataFormat::NCHW,
				kernel_shape: tvec![2, 2],
				padding: PaddingSpec::Valid,
				dilations: None,
				strides: Some(tvec![2, 2]),
				input_channels: g.output_channels,
				output_channels: g.output_channels,
			},
			with_index_outputs: None,
		};
		output = model.wire_node("pool", pool, &output).unwrap();
	}
	model.select_output_outlets(&output).unwrap();
	Built { model, images, weights, bias }
}

fn run(model: TypedModel, case: &Case, images: &[f32]) -> Vec<f32> {
	let g = &case.geometry;
	let input =
		Tensor::from_shape(&[case.batch, g.input_channels, g.input_h, g.input_w], images).unwrap();
	let plan = TypedSimplePlan::new(model.into_optimized().unwrap()).unwrap();
	let output = plan.run(tvec![input.into_tvalue()]).unwrap().remove(0);
	output.to_plain_array_view::<f32>().unwrap().iter().copied().collect()
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(200))]

	/// The rewritten model computes what tract's convolution, ReLU and max-pooling compute
	/// (within float32's rounding of sums in another order): with the direct kernel, the
	/// ReLU and pooling fused into it, wherever tract's decluttered model still has the
	/// convolution and the machine has the vector kernel.
	#[test]
	fn the_direct_convolution_agrees_with_tracts(case in cases()) {
		let Built { model, images, .. } = build(&case);
		let expected = run(model.clone(), &case, &images);
		let mut rewritten = model.into_decluttered().unwrap();
		// tract declutters some convolutions into other operators (1x1 kernels into products).
		let convolution = rewritten.nodes().iter().any(|node| node.op_is::<Conv>());
		rewrite(&mut rewritten).unwrap();
		let rewritten = rewritten.into_compact().unwrap();
		prop_assert_eq!(used_in(&rewritten), convolution && kernel::vectorised());
		if used_in(&rewritten) {
			let direct: Vec<&DirectConv> = rewritten.nodes().iter().filter_map(|node| node.op_as::<DirectConv>()).collect();
			prop_assert_eq!(direct.len(), 1);
			prop_assert_eq!(direct[0].epilogue, case.then);
			let left = rewritten.nodes().iter().filter(|node| node.op_is::<TypedBinOp>() || node.op_is::<MaxPool>()).count();
			prop_assert_eq!(left, 0);
		}
		let actual = run(rewritten, &case, &images);
		prop_assert_eq!(actual.len(), expected.len());
		let terms = (case.geometry.input_channels * case.geometry.kernel_h * case.geometry.kernel_w) as f32;
		for (actual, expected) in actual.iter().zip(&expected) {
			prop_assert!((actual - expected).abs() <= 1e-6 * terms * 4.0, "{} against {}", actual, expected);
		}
	}

	/// The vector kernel's outputs are the portable kernel's bit for bit, in each block
	/// shape and layout: the same sums in the same order.
	#[test]
	fn the_vector_kernel_is_the_portable_one_bit_for_bit(case in cases()) {
		let Built { images, weights, bias, .. } = build(&case);
		let bits = |values: &[f32]| values.iter().map(|value| value.to_bits()).collect::<Vec<_>>();
		for layout in [Layout::Flat, Layout::Rows] {
			if !case.geometry.fits(layout) {
				continue;
			}
			for block in [Block::Wide, Block::Square, Block::Tall] {
				let op = DirectConv::with_tiling(case.geometry, (block, layout), &weights, &bias);
				let op = op.then(case.then).unwrap();
				let vector = op.each_image(&images, kernel::convolve);
				let portable = op.eval_portable(&images);
				prop_assert_eq!(bits(&vector), bits(&portable), "{:?} {:?}", block, layout);
			}
		}
	}

	/// In the rows layout, each block computes tract's operators too (the rewrite picks one
	/// tiling; this covers the others on narrow images).
	#[test]
	fn every_tiling_of_a_narrow_image_agrees_with_tract(case in cases()) {
		prop_assume!(case.geometry.fits(Layout::Rows));
		let Built { model, images, weights, bias } = build(&case);
		let expected = run(model, &case, &images);
		let terms = (case.geometry.input_channels * case.geometry.kernel_h * case.geometry.kernel_w) as f32;
		for block in [Block::Wide, Block::Square, Block::Tall] {
			let op = DirectConv::with_tiling(case.geometry, (block, Layout::Rows), &weights, &bias);
			let actual = op.then(case.then).unwrap().eval_portable(&images);
			prop_assert_eq!(actual.len(), expected.len());
			for (actual, expected) in actual.iter().zip(&expected) {
				prop_assert!((actual - expected).abs() <= 1e-6 * terms * 4.0, "{:?}: {} against {}", block, actual, expected);
			}
		}
	}
}

/// Strided and dilated convolutions stay tract's.
#[test]
fn other_convolutions_stay_tracts() {
	let case = Case {
		batch: 1,
		geometry: Geometry {
			input_channels: 4,
			output_channels: 4,
			input_h: 9,
			input_w: 9,
			kernel_h: 3,
			kernel_w: 3,
			pads: [1; 4],
		},
		bias_per_channel: true,
		then: Epilogue::default(),
		seed: 7,
	};
	let variants: [fn(&mut Conv); 2] = [
		|conv| conv.pool_spec.strides = Some(tvec![2, 2]),
		|conv| conv.pool_spec.dilations = Some(tvec![2, 1]),
	];
	for change in variants {
		let Built { mut model, .. } = build(&case);
		let node = model.node_by_name("conv").unwrap().id;
		let conv = model.node_mut(node).op_as_mut::<Conv>().unwrap();
		change(conv);
		let mut rewritten = model.clone();
		rewrite(&mut rewritten).unwrap();
		assert!(!used_in(&rewritten), "{:?}", model.node(node).op);
	}
}
