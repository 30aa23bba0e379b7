//! HACA's own convolution operator, put in place of tract's where it is faster: float32,
//! NCHW, one group, unit strides and dilations, constant weights and bias, on machines with
//! AVX-512. tract lowers such a convolution to an im2col matrix and a matrix product; the
//! direct kernel ([`kernel`]) reads the input where it lies: twice as fast on the bench's
//! cnn_small and cnn_large, 15% on the ResNet-18. A ReLU and a 2x2 max-pooling that follow
//! the convolution are fused into it (one pass over its outputs instead of three). It is
//! wired in before tract optimises the model ([`rewrite`]), through tract's public operator
//! traits; every other convolution stays tract's.

mod kernel;
#[cfg(test)]
mod tests;

use tract_onnx::prelude::{
	tract_ndarray::ArrayD, tvec, Datum, IntoTValue, TValue, TVec, TractResult, TypedFact,
	TypedModel, TypedModelPatch,
};
use tract_onnx::tract_core::{
	internal::*,
	ops::binary::TypedBinOp,
	ops::cnn::{Conv, KernelFormat, MaxPool, PaddingSpec},
	ops::math::Max,
	ops::nn::DataFormat,
};

pub use kernel::{Block, Epilogue, Geometry, Layout};

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

/// A convolution run by [`kernel::convolve`]: its geometry, the kernel's block and layout
/// for it, the operators fused after it, its weights packed for the kernel and its bias (one
/// value, or one an output channel).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DirectConv {
	geometry: Geometry,
	tiling: (Block, Layout),
	epilogue: Epilogue,
	packed: Floats,
	bias: Floats,
}

impl DirectConv {
	/// The operator for `geometry`, with OIHW `weights` and `bias`.
	pub fn new(geometry: Geometry, weights: &[f32], bias: &[f32]) -> Self {
		Self::with_tiling(geometry, kernel::tiling(&geometry), weights, bias)
	}

	fn with_tiling(
		geometry: Geometry,
		tiling: (Block, Layout),
		weights: &[f32],
		bias: &[f32],
	) -> Self {
		let packed = Floats(Arc::new(kernel::pack(&geometry, tiling.0, weights)));
		let epilogue = Epilogue::default();
		Self { geometry, tiling, epilogue, packed, bias: Floats(Arc::new(bias.to_vec())) }
	}

	/// The same convolution followed by `epilogue`, if it leaves outputs.
	fn then(self, epilogue: Epilogue) -> Option<Self> {
		epilogue.output_hw(&self.geometry)?;
		Some(Self { epilogue, ..self })
	}

	/// Runs the operator on a batch of NCHW images with the portable kernel (the vector
	/// kernel's sums, in its order, one point at a time).
	#[cfg(test)]
	fn eval_portable(&self, images: &[f32]) -> Vec<f32> {
		self.each_image(images, kernel::convolve_portable)
	}

	/// The output's shape (NCHW) for `batch` images.
	fn output_shape(&self, batch: usize) -> [usize; 4] {
		let (output_h, output_w) = self.output_hw();
		[batch, self.geometry.output_channels, output_h, output_w]
	}

	fn output_hw(&self) -> (usize, usize) {
		self.epilogue.output_hw(&self.geometry).expect("checked in `rewrite`")
	}

	fn each_image(&self, images: &[f32], convolve: kernel::Convolve) -> Vec<f32> {
		let geometry = &self.geometry;
		let (packed, bias) = (&self.packed.0, &self.bias.0);
		let (output_h, output_w) = self.output_hw();
		let image_len = geometry.input_channels * geometry.input_h * geometry.input_w;
		let output_len = geometry.output_channels * output_h * output_w;
		let mut output = vec![0.0; images.len() / image_len * output_len];
		for (image, output) in
			images.chunks_exact(image_len).zip(output.chunks_exact_mut(output_len))
		{
			convolve(geometry, self.tiling, self.epilogue, packed, bias, image, output);
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

/// The one node that reads `node`'s output, if nothing else does (the model's outputs
/// included).
fn sole_reader<'a>(model: &'a TypedModel, node: &TypedNode) -> TractResult<Option<&'a TypedNode>> {
	if model.output_outlets()?.contains(&OutletId::new(node.id, 0)) {
		return Ok(None);
	}
	model.single_succ(node.id)
}

/// Whether `node` is a ReLU of `input` as tract declutters ONNX's: `max(input, 0)` with a
/// constant zero that does not broadcast the input to a larger shape.
fn is_relu_of(model: &TypedModel, node: &TypedNode, input: OutletId) -> TractResult<bool> {
	let Some(op) = node.op_as::<TypedBinOp>() else { return Ok(false) };
	let [first, second] = node.inputs[..] else { return Ok(false) };
	let zero = if first == input { second } else { first };
	let zero = model.outlet_fact(zero)?.konst.as_ref();
	let zero = zero.is_some_and(|zero| {
		zero.datum_type() == f32::datum_type()
			&& zero.len() == 1
			&& zero.cast_to_scalar::<f32>().is_ok_and(|value| value == 0.0)
	});
	Ok(op.0.is::<Max>()
		&& zero
		&& node.inputs.contains(&input)
		&& model.outlet_fact(node.id.into())?.shape == model.outlet_fact(input)?.shape)
}

/// Whether `node` is a 2x2 max-pooling at stride 2 without padding, NCHW, values only.
fn is_pool(node: &TypedNode) -> bool {
	let Some(pool) = node.op_as::<MaxPool>() else { return false };
	let spec = &pool.pool_spec;
	pool.with_index_outputs.is_none()
		&& spec.data_format == DataFormat::NCHW
		&& spec.kernel_shape[..] == [2, 2]
		&& spec.strides()[..] == [2, 2]
		&& spec.dilations().iter().all(|dilation| *dilation == 1)
		&& spec.padding == PaddingSpec::Valid
}

/// What follows the convolution `node` in `model` and [`Epilogue`] can take: a ReLU, then a
/// 2x2 max-pooling, each only when it alone reads the value before it. Returns the
/// epilogue and the node whose output the fused operator computes.
fn epilogue<'a>(
	model: &'a TypedModel,
	node: &'a TypedNode,
) -> TractResult<(Epilogue, &'a TypedNode)> {
	let (mut epilogue, mut last) = (Epilogue::default(), node);
	if let Some(next) = sole_reader(model, last)? {
		if is_relu_of(model, next, last.id.into())? {
			(epilogue.relu, last) = (true, next);
		}
	}
	if let Some(next) = sole_reader(model, last)? {
		if is_pool(next) {
			(epilogue.pool, last) = (true, next);
		}
	}
	Ok((epilogue, last))
}

/// Puts [`DirectConv`] in place of each convolution of `model` it takes, with the ReLU and
/// max-pooling after it that it can fuse, on machines with the vector kernel; `model` is
/// typed and decluttered (tract's `Conv` operators, constants folded), not yet optimised.
pub fn rewrite(model: &mut TypedModel) -> TractResult<()> {
	if !kernel::vectorised() {
		return Ok(());
	}
	let convolutions: Vec<usize> =
		model.nodes().iter().filter(|node| node.op_is::<Conv>()).map(|node| node.id).collect();
	// One at a time: a patch reads the model as the patches before it left it (a
	// convolution's input may be the output another one replaced).
	for id in convolutions {
		if let Some(patch) = patch(model, model.node(id))? {
			patch.apply(model)?;
		}
	}
	Ok(())
}

/// The patch that puts a [`DirectConv`], with the epilogue it can fuse, in place of the
/// convolution `node` of `model`, if the direct kernel takes it.
fn patch(model: &TypedModel, node: &TypedNode) -> TractResult<Option<TypedModelPatch>> {
	let Some(conv) = node.op_as::<Conv>() else { return Ok(None) };
	let facts: TVec<&TypedFact> =
		node.inputs.iter().map(|input| model.outlet_fact(*input)).collect::<TractResult<_>>()?;
	let [fact, kernel, bias] = &facts[..] else { return Ok(None) };
	let Some(op) = direct(conv, fact, kernel, bias) else { return Ok(None) };
	let (fused, last) = epilogue(model, node)?;
	let (op, last) = match op.clone().then(fused) {
		Some(fused) => (fused, last),
		None => (op, node),
	};
	let mut patch = TypedModelPatch::default();
	let input = patch.tap_model(model, node.inputs[0])?;
	let output = patch.wire_node(&last.name, op, &[input])?;
	patch.shunt_outside(model, last.id.into(), output[0])?;
	Ok(Some(patch))
}

/// Whether the optimised `model` runs a convolution with the direct kernel.
#[cfg(test)]
fn used_in(model: &TypedModel) -> bool {
	model.nodes().iter().any(|node| node.op_is::<DirectConv>())
}
