//! # HACA kernels
//!
//! The operators of a model's dispute graph, computed the same way bit for bit wherever they
//! run: natively, when an executor or a verifier traces a job, and in the runtime, when the
//! chain re-executes the one operator two parties disagree on. Floats are computed in `f32`
//! in a fixed order (sums from the first term to the last, starting at zero), with `libm`'s
//! plain-Rust `exp`, `tanh` and `erf`; integers wrap as two's complement. tract, which runs
//! the models fast, may round differently: a trace's outputs agree with the engine's within
//! the model's tolerance, not bit for bit.
//!
//! An operator's semantics are ONNX's (opset 17) for the forms [`Op`] lists; NaNs follow
//! the comparisons as written in each kernel (`Relu` and `MaxPool` skip them), and every NaN
//! an operator outputs is the quiet NaN `0x7fc00000` (hardware and WebAssembly differ in a
//! NaN's other bits). Where a quantised operator rounds a float to an integer, it rounds as
//! tract does, so that a quantised model's trace is its engine's output bit for bit.
//!
//! - [`Op`]: the operators and their attributes, SCALE-encoded into the graph;
//! - [`run`]: one operator applied to its input tensors;
//! - [`work()`]: how much computing that takes at most, which the runtime charges for;
//! - [`graph`]: a model lowered to operators, its commitments, and traces of its runs.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod array;
mod conv;
mod elementwise;
pub mod graph;
mod layout;
mod linalg;
mod normalize;
mod quantize;
mod work;

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use haca_primitives::tensor::{ElementType, Tensor, MAX_RANK};
use scale_info::TypeInfo;
use sp_core::ConstU32;
use sp_runtime::BoundedVec;

pub use work::work;

/// A permutation of axes.
pub type Axes = BoundedVec<u8, ConstU32<MAX_RANK>>;
/// Axes, counted from the last when negative.
pub type SignedAxes = BoundedVec<i8, ConstU32<MAX_RANK>>;

/// An operator of the dispute graph with its attributes. Float attributes are held as their
/// bits, so an operator has one encoding.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub enum Op {
	/// `a + b`, broadcast (f32, i32, i64).
	Add,
	/// `a - b`, broadcast.
	Sub,
	/// `a * b`, broadcast.
	Mul,
	/// `a / b`, broadcast; integers truncate, and an integer division by zero is an error.
	Div,
	/// `max(x, 0)`.
	Relu,
	/// `1 / (1 + exp(-x))`.
	Sigmoid,
	/// `tanh(x)`.
	Tanh,
	/// The error function.
	Erf,
	/// Matrix product with NumPy's batching (f32).
	MatMul,
	/// Integer matrix product of 8-bit inputs into i32, less their optional zero points
	/// (inputs 2 and 3: scalars, or per row of `a` and per column of `b`).
	MatMulInteger,
	/// `alpha · A' · B' + beta · C` of 2-D `A` and `B` (transposed if asked), `C` optional.
	Gemm { trans_a: bool, trans_b: bool, alpha: u32, beta: u32 },
	/// 2-D convolution of an NCHW input by MCHW weights, bias optional; `pads` are top,
	/// left, bottom, right.
	Conv { pads: [u32; 4], strides: [u32; 2], dilations: [u32; 2], group: u32 },
	/// 2-D max pooling (padding never wins).
	MaxPool { kernel: [u32; 2], pads: [u32; 4], strides: [u32; 2] },
	/// Mean of each channel over its whole plane.
	GlobalAveragePool,
	/// Reshape into 2-D at `axis`.
	Flatten { axis: u8 },
	/// Reshape to the i64 shape of input 1 (0 copies the dimension, -1 is inferred).
	Reshape,
	/// Axes permuted.
	Transpose { perm: Axes },
	/// Softmax along `axis` (counted from the last when negative).
	Softmax { axis: i8 },
	/// Mean over `axes` (all if none), kept as size-1 axes if `keep_dims`.
	ReduceMean { axes: SignedAxes, keep_dims: bool },
	/// Layer normalisation over the axes from `axis` on: `(x - mean) / sqrt(var + epsilon)
	/// · scale + bias`, bias optional.
	LayerNormalization { axis: i8, epsilon: u32 },
	/// `min(max(x, lo), hi)` of `x` (f32, i32, i64, u8 or i8) between the scalars of inputs 1
	/// and 2; a NaN `x` stays NaN.
	Clip,
	/// Each element converted to `to` (f32, i32, i64, u8 or i8 from any of them): a float
	/// to an integer truncates toward zero and saturates (NaN gives 0), an integer to a
	/// narrower one wraps, an integer to a float rounds to the nearest (ties to even).
	Cast { to: ElementType },
	/// 2-D average pooling: the sum of each window's elements inside the image (rows, then
	/// columns) divided by their count, or by the window's size if `count_include_pad`;
	/// each pad must be smaller than the window.
	AveragePool { kernel: [u32; 2], pads: [u32; 4], strides: [u32; 2], count_include_pad: bool },
	/// The inputs (one type, one rank, equal but along `axis`) joined along `axis`.
	Concat { axis: i8 },
	/// ONNX's `Slice` of input 0 by `starts`, `ends` and optional `axes` and `steps`
	/// (inputs 1 to 4, i32 or i64): out-of-range bounds are clamped, steps may be negative.
	Slice,
	/// The entries of input 0 along `axis` at the indices of input 1 (i32 or i64, negative
	/// counted from the end; outside the axis an error).
	Gather { axis: i8 },
	/// `saturate(round(x / scale) + zero_point)` of f32 `x` into u8 (or the zero point's
	/// type, u8 or i8), rounding to the nearest (ties to even); the scale and zero point
	/// are scalars (the division then a product by `1 / scale`, as tract computes it) or
	/// one per index of `axis`. A NaN gives the zero point.
	QuantizeLinear { axis: i8 },
	/// `f32(x - zero_point) · scale` of `x` (u8, i8 or i32; the difference wrapping); the
	/// scale and zero point are scalars or one per index of `axis`.
	DequantizeLinear { axis: i8 },
	/// Quantised matrix product of `(a, a_scale, a_zero, b, b_scale, b_zero, y_scale,
	/// y_zero)`: the i32 product of `a - a_zero` and `b - b_zero` (as `MatMulInteger`),
	/// requantised as `saturate(round(product · (a_scale · b_scale / y_scale)) + y_zero)`,
	/// the multiplier in f32 and its product with the sum exact (ties to even); `a`'s
	/// scale is a scalar or one per row, `b`'s one per column.
	QLinearMatMul,
	/// `Conv` of 8-bit `x` and `w` into i32 (wrapping) less their zero points (inputs 2 and
	/// 3: a scalar for `x`, a scalar or one per filter for `w`), without bias.
	ConvInteger { pads: [u32; 4], strides: [u32; 2], dilations: [u32; 2], group: u32 },
	/// Quantised convolution of `(x, x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero,
	/// bias)`: the i32 convolution of `x - x_zero` by `w - w_zero` (as `ConvInteger`) plus
	/// each filter's optional i32 bias, requantised as `QLinearMatMul` by `x_scale ·
	/// w_scale / y_scale`; `x`'s scale and zero point are scalars, `w`'s scalars or one per
	/// filter.
	QLinearConv { pads: [u32; 4], strides: [u32; 2], dilations: [u32; 2], group: u32 },
	/// The i64 index of the largest element along `axis` (f32, i32, i64, u8 or i8), the
	/// first of equals or, if `select_last`, the last; NaNs are never the largest. The axis
	/// is kept (size 1) if `keep_dims`.
	ArgMax { axis: i8, keep_dims: bool, select_last: bool },
}

/// Most elements an operator's output may have (64 MiB of f32).
pub const MAX_ELEMENTS: usize = 1 << 24;

/// Why an operator cannot run on its inputs.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, TypeInfo, MaxEncodedLen, Debug)]
pub enum KernelError {
	/// Fewer or more inputs than the operator takes.
	InputCount,
	/// An input of an element type the operator does not take, or inputs of different types.
	ElementType,
	/// Shapes the operator cannot combine (or a tensor whose data does not fit its shape).
	Shape,
	/// An attribute out of range for the inputs (an axis, a permutation, a group).
	Attribute,
	/// An integer division by zero.
	DivisionByZero,
	/// An output over the rank bound or [`MAX_ELEMENTS`].
	TooLarge,
	/// A `Gather` index outside its axis.
	Index,
}

/// Applies `op` to `inputs`: its outputs.
pub fn run(op: &Op, inputs: &[Tensor]) -> Result<Vec<Tensor>, KernelError> {
	let output = match op {
		Op::Add | Op::Sub | Op::Mul | Op::Div => elementwise::binary(op, inputs)?,
		Op::Relu | Op::Sigmoid | Op::Tanh | Op::Erf => elementwise::unary(op, inputs)?,
		Op::MatMul => linalg::matmul(inputs)?,
		Op::MatMulInteger => quantize::matmul_integer(inputs)?,
		Op::Gemm { trans_a, trans_b, alpha, beta } => {
			linalg::gemm(inputs, *trans_a, *trans_b, f32::from_bits(*alpha), f32::from_bits(*beta))?
		}
		Op::Conv { pads, strides, dilations, group } => {
			conv::conv(inputs, *pads, *strides, *dilations, *group)?
		}
		Op::MaxPool { kernel, pads, strides } => conv::max_pool(inputs, *kernel, *pads, *strides)?,
		Op::GlobalAveragePool => conv::global_average_pool(inputs)?,
		Op::Flatten { axis } => layout::flatten(inputs, *axis)?,
		Op::Reshape => layout::reshape(inputs)?,
		Op::Transpose { perm } => layout::transpose(inputs, perm)?,
		Op::Softmax { axis } => normalize::softmax(inputs, *axis)?,
		Op::ReduceMean { axes, keep_dims } => normalize::reduce_mean(inputs, axes, *keep_dims)?,
		Op::LayerNormalization { axis, epsilon } => {
			normalize::layer_normalization(inputs, *axis, f32::from_bits(*epsilon))?
		}
		Op::Clip => elementwise::clip(inputs)?,
		Op::Cast { to } => elementwise::cast(inputs, *to)?,
		Op::AveragePool { kernel, pads, strides, count_include_pad } => {
			conv::average_pool(inputs, *kernel, *pads, *strides, *count_include_pad)?
		}
		Op::Concat { axis } => layout::concat(inputs, *axis)?,
		Op::Slice => layout::slice(inputs)?,
		Op::Gather { axis } => layout::gather(inputs, *axis)?,
		Op::QuantizeLinear { axis } => quantize::quantize_linear(inputs, *axis)?,
		Op::DequantizeLinear { axis } => quantize::dequantize_linear(inputs, *axis)?,
		Op::QLinearMatMul => quantize::qlinear_matmul(inputs)?,
		Op::ConvInteger { pads, strides, dilations, group } => {
			quantize::conv_integer(inputs, *pads, *strides, *dilations, *group)?
		}
		Op::QLinearConv { pads, strides, dilations, group } => {
			quantize::qlinear_conv(inputs, *pads, *strides, *dilations, *group)?
		}
		Op::ArgMax { axis, keep_dims, select_last } => {
			normalize::arg_max(inputs, *axis, *keep_dims, *select_last)?
		}
	};
	if output.shape.len() > MAX_RANK as usize {
		return Err(KernelError::TooLarge);
	}
	Ok(alloc::vec![output])
}

/// The one input an operator of `count` inputs takes at `index`.
fn input(
	inputs: &[Tensor],
	count: core::ops::RangeInclusive<usize>,
	index: usize,
) -> Result<&Tensor, KernelError> {
	if !count.contains(&inputs.len()) {
		return Err(KernelError::InputCount);
	}
	inputs.get(index).ok_or(KernelError::InputCount)
}

/// `axis` counted from the last if negative, within `rank`.
fn resolve_axis(axis: i64, rank: usize) -> Result<usize, KernelError> {
	let resolved = if axis < 0 { axis + rank as i64 } else { axis };
	usize::try_from(resolved).ok().filter(|axis| *axis < rank).ok_or(KernelError::Attribute)
}
