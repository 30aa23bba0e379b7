//! HACA's own convolution operator, put in place of tract's where it is faster: float32,
//! NCHW, one group, unit strides and dilations, constant weights and bias, on machines with
//! AVX-512. tract lowers such a convolution to an im2col matrix and a matrix product; the
//! direct kernel ([`kernel`]) reads the input where it lies: twice as fast on the bench's
//! cnn_small and cnn_large, 15% on the ResNet-18. It is wired in before tract optimises the model ([`rewrite`]), through
//! tract's public operator traits; every other convolution stays tract's.

mod kernel;
#[cfg(test)]
mod tests;

use tract_onnx::prelude::{
	tract_ndarray::ArrayD, tvec, Datum, IntoTValue, TValue, TVec, TractResult, TypedFact,
	TypedModel, TypedModelPatch,
};
use tract_onnx::tract_core::{
	internal::*,
	ops::cnn::{Conv, KernelFormat, PaddingSpec},
	ops::nn::DataFormat,
};

pub use kernel::{Block, Geometry};

/// Constant floats in an operator, compared and hashed by their bits (as tract compares
/// and hashes operators).
#[derive(Debug, Clone)]
struct Floats(Arc<Vec<f32>>);

impl PartialEq for Floats {
	fn eq(&self, other: &Self) -> bool {
		self.0.len() == other.0.len()
			&& self.0.iter().zip(other.0.iter()).all(|(a, b)| a.to_bits() == b.to_bits())
	}
}

impl Eq for Floats {}

impl std::hash::Hash for Floats {
	fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
		self.0.iter().for_each(|value| value.to_bits().hash(state));
	}
}

/// A convolution run by [`kernel::convolve`]: its geometry, the kernel's block for it, its
/// weights packed for the kernel and its bias (one value, or one an output channel).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DirectConv {
	geometry: Geometry,
	block: Block,
	packed: Floats,
	bias: Floats,
}

impl DirectConv {
	/// The operator for `geometry`, with OIHW `weights` and `bias`.
	pub fn new(geometry: Geometry, weights: &[f32], bias: &[f32]) -> Self {
		Self::with_block(geometry, Block::for_geometry(&geometry), weights, bias)
	}

	fn with_block(geometry: Geometry, block: Block, weights: &[f32], bias: &[f32]) -> Self {
		let packed = Floats(Arc::new(kernel::pack(&geometry, block, weights)));
		Self { geometry, block, packed, bias: Floats(Arc::new(bias.to_vec())) }
	}

	/// Runs the operator on a batch of NCHW images with the portable kernel (the vector
	/// kernel's sums, in its order, one point at a time).
	#[cfg(test)]
	fn eval_portable(&self, images: &[f32]) -> Vec<f32> {
		self.each_image(images, kernel::convolve_portable)
	}

	/// The output's shape (NCHW) for `batch` images.
	fn output_shape(&self, batch: usize) -> [usize; 4] {
		let (output_h, output_w) = self.geometry.output_hw().expect("checked in `rewrite`");
		[batch, self.geometry.output_channels, output_h, output_w]
	}

	fn each_image(&self, images: &[f32], convolve: kernel::Convolve) -> Vec<f32> {
		let geometry = &self.geometry;
		let (packed, bias) = (&self.packed.0, &self.bias.0);
		let (output_h, output_w) = geometry.output_hw().expect("checked in `rewrite`");
		let image_len = geometry.input_channels * geometry.input_h * geometry.input_w;
		let output_len = geometry.output_channels * output_h * output_w;
		let mut output = vec![0.0; images.len() / image_len * output_len];
		for (image, output) in
			images.chunks_exact(image_len).zip(output.chunks_exact_mut(output_len))
		{
			convolve(geometry, self.block, packed, bias, image, output);
		}
		output
	}
}

impl Op for DirectConv {
	fn name(&self) -> StaticName {
		"HacaDirectConv".into()
	}

	fn validation(&self) -> Validation {
		Validation::Rounding
	}

	op_as_typed_op!();
}

impl EvalOp for DirectConv {
	op_out_of_plan!();

	fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
		let input = args_1!(inputs);
		let view = input.to_plain_array_view::<f32>()?;
		let images = view.as_slice().map(std::borrow::Cow::Borrowed);
		let images = images.unwrap_or_else(|| view.iter().copied().collect::<Vec<_>>().into());
		let output = self.each_image(&images, kernel::convolve);
		let shape = self.output_shape(view.shape()[0]);
		Ok(tvec!(ArrayD::from_shape_vec(&shape[..], output)?.into_tvalue()))
	}
}

impl TypedOp for DirectConv {
	fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
		let batch = inputs[0].shape[0].to_usize()?;
		Ok(tvec!(f32::fact(self.output_shape(batch))))
	}

	as_op!();
}

/// The operator for tract's convolution `conv` on an input of `fact`, with `kernel` and
/// `bias`, when the direct kernel takes it.
fn direct(
	conv: &Conv,
	fact: &TypedFact,
	kernel: &TypedFact,
	bias: &TypedFact,
) -> Option<DirectConv> {
	let spec = &conv.pool_spec;
	if conv.q_params.is_some()
		|| conv.group != 1
		|| conv.kernel_fmt != KernelFormat::OIHW
		|| spec.data_format != DataFormat::NCHW
		|| spec.rank() != 2
		|| fact.datum_type != f32::datum_type()
		|| spec.strides().iter().any(|stride| *stride != 1)
		|| spec.dilations().iter().any(|dilation| *dilation != 1)
	{
		return None;
	}
	let shape = fact.shape.as_concrete()?;
	let &[_, channels, input_h, input_w] = shape else { return None };
	let weights = kernel.konst.as_ref()?.cast_to::<f32>().ok()?;
	let bias = bias.konst.as_ref()?.cast_to::<f32>().ok()?;
	let &[output_channels, kernel_channels, kernel_h, kernel_w] = weights.shape() else {
		return None;
	};
	// tract pads ONNX pools' ceil mode on its own terms; every other padding is a number of
	// zero rows and columns on each side.
	if matches!(spec.padding, PaddingSpec::ExplicitOnnxPool(..)) || kernel_channels != channels {
		return None;
	}
	let [rows, columns] = &spec.computed_padding(&[input_h, input_w])[..] else { return None };
	let geometry = Geometry {
		input_channels: channels,
		output_channels,
		input_h,
		input_w,
		kernel_h,
		kernel_w,
		pads: [rows.pad_before, rows.pad_after, columns.pad_before, columns.pad_after],
	};
	if geometry.output_hw()? != (rows.convoluted, columns.convoluted) {
		return None;
	}
	let bias = bias.to_plain_array_view::<f32>().ok()?;
	if bias.len() != 1 && bias.len() != output_channels {
		return None;
	}
	let weights = weights.to_plain_array_view::<f32>().ok()?;
	let (weights, bias): (Vec<f32>, Vec<f32>) =
		(weights.iter().copied().collect(), bias.iter().copied().collect());
	Some(DirectConv::new(geometry, &weights, &bias))
}

/// Puts [`DirectConv`] in place of each convolution of `model` it takes, on machines with
/// the vector kernel; `model` is typed and decluttered (tract's `Conv` operators, constants
/// folded), not yet optimised.
pub fn rewrite(model: &mut TypedModel) -> TractResult<()> {
	if !kernel::vectorised() {
		return Ok(());
	}
	let mut patches = Vec::new();
	for node in model.nodes() {
		let Some(conv) = node.op_as::<Conv>() else { continue };
		let facts: TVec<&TypedFact> = node
			.inputs
			.iter()
			.map(|input| model.outlet_fact(*input))
			.collect::<TractResult<_>>()?;
		let [fact, kernel, bias] = &facts[..] else { continue };
		if let Some(op) = direct(conv, fact, kernel, bias) {
			patches.push(TypedModelPatch::replace_single_op(model, node, &node.inputs[..1], op)?);
		}
	}
	for patch in patches {
		patch.apply(model)?;
	}
	Ok(())
}

/// Whether the optimised `model` runs a convolution with the direct kernel.
#[cfg(test)]
fn used_in(model: &TypedModel) -> bool {
	model.nodes().iter().any(|node| node.op_is::<DirectConv>())
}
