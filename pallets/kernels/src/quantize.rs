//! Quantised operators: integer products of 8-bit tensors into i32 (`MatMulInteger`,
//! `ConvInteger`), conversions between floats and 8-bit quanta (`QuantizeLinear`,
//! `DequantizeLinear`), and the requantised products `QLinearMatMul` and `QLinearConv`.
//!
//! Where ONNX leaves the arithmetic of a rounding open, these kernels round as tract does,
//! so that the quanta an honest executor's engine computes are the ones its trace shows,
//! bit for bit (a quantum apart would be a whole step of the output apart, far beyond any
//! float tolerance): a scalar scale is applied as `x · (1 / scale)`, a per-axis one as
//! `x / scale`; a requantisation is the exact product of the sum and the f32 multiplier,
//! rounded to the nearest, ties to even (tract's fixed-point scaling).

use alloc::vec::Vec;
use haca_primitives::tensor::{ElementType, Tensor};

use crate::{
	array::{count, Array, Element},
	conv::convolve,
	input,
	linalg::product,
	resolve_axis, KernelError,
};

/// The elements of an 8-bit tensor as i32, less its zero point: a scalar, or one per index
/// `which(flat index)` picks.
fn shifted(
	tensor: &Tensor,
	zero_point: Option<&Tensor>,
	which: impl Fn(&[usize], usize) -> usize,
) -> Result<Array<i32>, KernelError> {
	let read = |tensor: &Tensor| match tensor.element_type {
		ElementType::U8 | ElementType::I8 => widened(tensor),
		_ => Err(KernelError::ElementType),
	};
	let mut values = read(tensor)?;
	let Some(zero_point) = zero_point else { return Ok(values) };
	if zero_point.element_type != tensor.element_type {
		return Err(KernelError::ElementType);
	}
	let zero = read(zero_point)?;
	let shape = values.shape.clone();
	// A scalar, or as many as `which` can pick (one per row, column or filter).
	let picks = (0..count(&shape)).map(|flat| which(&shape, flat)).max().map_or(0, |at| at + 1);
	if zero.data.len() != 1 && zero.data.len() != picks {
		return Err(KernelError::Shape);
	}
	for (flat, value) in values.data.iter_mut().enumerate() {
		let at = if zero.data.len() == 1 { 0 } else { which(&shape, flat) };
		*value -= *zero.data.get(at).ok_or(KernelError::Shape)?;
	}
	Ok(values)
}

/// `MatMulInteger`: 8-bit `a` and `b`, zero points optional (a scalar, one per row of `a`
/// or one per column of `b`), into i32 (wrapping).
pub(crate) fn matmul_integer(inputs: &[Tensor]) -> Result<Tensor, KernelError> {
	let a = input(inputs, 2..=4, 0)?;
	let b = input(inputs, 2..=4, 1)?;
	if a.element_type != b.element_type
		&& !matches!(
			(a.element_type, b.element_type),
			(ElementType::U8, ElementType::I8) | (ElementType::I8, ElementType::U8)
		) {
		return Err(KernelError::ElementType);
	}
	let row = |shape: &[usize], flat: usize| {
		let k = shape.last().copied().unwrap_or(1).max(1);
		let m = if shape.len() >= 2 { shape[shape.len() - 2].max(1) } else { 1 };
		flat / k % m
	};
	let column = |shape: &[usize], flat: usize| flat % shape.last().copied().unwrap_or(1).max(1);
	let a = shifted(a, inputs.get(2), row)?;
	let b = shifted(b, inputs.get(3), column)?;
	product(&a, &b, 0i32, |acc, x, y| acc.wrapping_add(x.wrapping_mul(y)))?.into_tensor()
}

/// `ConvInteger`: `Conv` of 8-bit `x` and `w` less their zero points (a scalar for `x`; a
/// scalar or one per filter for `w`), into i32 (wrapping).
pub(crate) fn conv_integer(
	inputs: &[Tensor],
	pads: [u32; 4],
	strides: [u32; 2],
	dilations: [u32; 2],
	group: u32,
) -> Result<Tensor, KernelError> {
	let x = input(inputs, 2..=4, 0)?;
	let w = input(inputs, 2..=4, 1)?;
	integer_convolution(x, w, inputs.get(2), inputs.get(3), pads, strides, dilations, group)?
		.into_tensor()
}

/// The i32 convolution (wrapping) of 8-bit `x` and `w` less their zero points.
#[allow(clippy::too_many_arguments)]
fn integer_convolution(
	x: &Tensor,
	w: &Tensor,
	x_zero: Option<&Tensor>,
	w_zero: Option<&Tensor>,
	pads: [u32; 4],
	strides: [u32; 2],
	dilations: [u32; 2],
	group: u32,
) -> Result<Array<i32>, KernelError> {
	let x = shifted(x, x_zero, |_, _| 0)?;
	let filter =
		|shape: &[usize], flat: usize| flat / count(shape.get(1..).unwrap_or_default()).max(1);
	let w = shifted(w, w_zero, filter)?;
	convolve(&x, &w, pads, strides, dilations, group, 0i32, |acc, x, w| {
		acc.wrapping_add(x.wrapping_mul(w))
	})
}

/// `QLinearConv` of `(x, x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero, bias)`: the
/// i32 convolution of `x - x_zero` by `w - w_zero` (as `ConvInteger`) plus the optional
/// i32 bias of each filter (wrapping), requantised as `QLinearMatMul` by
/// `x_scale · w_scale / y_scale`; `w`'s scale and zero point are scalars or one per filter.
pub(crate) fn qlinear_conv(
	inputs: &[Tensor],
	pads: [u32; 4],
	strides: [u32; 2],
	dilations: [u32; 2],
	group: u32,
) -> Result<Tensor, KernelError> {
	let (parameters, bias) = match inputs.len() {
		8 => (inputs, None),
		9 => (&inputs[..8], Some(Array::<i32>::read(&inputs[8])?)),
		_ => return Err(KernelError::InputCount),
	};
	let [x, x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero] = parameters else {
		return Err(KernelError::InputCount);
	};
	let (x_scale, w_scale, y_scale) =
		(Array::<f32>::read(x_scale)?, Array::<f32>::read(w_scale)?, Array::<f32>::read(y_scale)?);
	let filters = w.shape.first().map_or(0, |&filters| filters as usize);
	let per_filter = |values: usize| values == 1 || values == filters;
	if x_scale.data.len() != 1 || y_scale.data.len() != 1 || !per_filter(w_scale.data.len()) {
		return Err(KernelError::Shape);
	}
	if bias.as_ref().is_some_and(|bias| bias.shape != [filters]) {
		return Err(KernelError::Shape);
	}
	let mut sums =
		integer_convolution(x, w, Some(x_zero), Some(w_zero), pads, strides, dilations, group)?;
	// Outputs are [images, filters, rows, columns].
	let plane = count(sums.shape.get(2..).unwrap_or_default()).max(1);
	let filter = move |flat: usize| flat / plane % filters.max(1);
	if let Some(bias) = bias {
		for (flat, sum) in sums.data.iter_mut().enumerate() {
			*sum = sum.wrapping_add(bias.data[filter(flat)]);
		}
	}
	// In `QLinearMatMul`'s order: x_scale · w_scale, then / y_scale.
	let multipliers: Vec<f32> = (0..filters)
		.map(|at| {
			let w_scale = w_scale.data[if w_scale.data.len() == 1 { 0 } else { at }];
			x_scale.data[0] * w_scale / y_scale.data[0]
		})
		.collect();
	let multiplier = |flat: usize| multipliers[filter(flat)];
	match y_zero.element_type {
		ElementType::U8 => requantized::<u8>(sums, y_zero, multiplier),
		ElementType::I8 => requantized::<i8>(sums, y_zero, multiplier),
		_ => Err(KernelError::ElementType),
	}
}

/// An 8-bit element type quantised values are saturated into.
trait Quantum: Element + Into<i32> {
	/// `value` clamped to the type's range.
	fn saturate(value: i32) -> Self;
}

macro_rules! quantum {
	($($type:ty),*) => {$(
		impl Quantum for $type {
			fn saturate(value: i32) -> Self {
				value.clamp(<$type>::MIN.into(), <$type>::MAX.into()) as $type
			}
		}
	)*};
}

quantum!(u8, i8);

/// `value` rounded to the nearest integer, ties to even, plus `zero`, saturated into `Q`
/// (a NaN rounds to 0; a value beyond i32 saturates there before `zero` is added, which
/// wraps, as in tract).
fn quantized<Q: Quantum>(value: f32, zero: i32) -> Q {
	Q::saturate((libm::rintf(value) as i32).wrapping_add(zero))
}

/// `sum · multiplier` rounded to the nearest integer, ties to even, computed exactly: the
/// sum times the multiplier's 24-bit significand, shifted by its exponent (saturating).
/// `None` for a multiplier that is not finite.
fn scaled(sum: i32, multiplier: f32) -> Option<i64> {
	if !multiplier.is_finite() {
		return None;
	}
	let bits = multiplier.to_bits();
	let (fraction, biased) = (i64::from(bits & 0x7f_ffff), ((bits >> 23) & 0xff) as i32);
	// multiplier = significand · 2^exponent (subnormals have no hidden bit).
	let (significand, exponent) =
		if biased == 0 { (fraction, -149) } else { (fraction | 1 << 23, biased - 150) };
	// Under 2^31 · 2^24: exact in i64.
	let product = i64::from(sum).abs() * significand;
	let magnitude = if product == 0 {
		0
	} else if exponent >= 0 {
		product
			.checked_shl(exponent as u32)
			.filter(|shifted| shifted >> exponent == product)
			.unwrap_or(i64::MAX)
	} else if exponent < -62 {
		0
	} else {
		let shift = (-exponent) as u32;
		let (whole, rest, half) =
			(product >> shift, product & ((1 << shift) - 1), 1 << (shift - 1));
		whole + i64::from(rest > half || (rest == half && whole & 1 == 1))
	};
	Some(if (sum < 0) != (bits >> 31 == 1) { -magnitude } else { magnitude })
}

/// Which of a quantisation parameter's values applies to each element of a tensor of
/// `shape`: the one of a scalar (a tensor of one element), or the one at the element's
/// index along `axis` (a 1-D tensor as long as that axis).
fn per_axis(
	parameter: &[usize],
	shape: &[usize],
	axis: i8,
) -> Result<impl Fn(usize) -> usize, KernelError> {
	let (inner, dim) = if count(parameter) == 1 {
		(1, 1)
	} else {
		let axis = resolve_axis(axis.into(), shape.len())?;
		if parameter != [shape[axis]] {
			return Err(KernelError::Shape);
		}
		(count(&shape[axis + 1..]).max(1), shape[axis])
	};
	Ok(move |flat: usize| flat / inner % dim)
}

/// `QuantizeLinear` of f32 `x` by its scale and optional zero point (u8 or i8; u8 0 if
/// omitted).
pub(crate) fn quantize_linear(inputs: &[Tensor], axis: i8) -> Result<Tensor, KernelError> {
	let x = Array::<f32>::read(input(inputs, 2..=3, 0)?)?;
	let scale = Array::<f32>::read(&inputs[1])?;
	match inputs.get(2).map_or(ElementType::U8, |zero| zero.element_type) {
		ElementType::U8 => quantize::<u8>(&x, &scale, inputs.get(2), axis),
		ElementType::I8 => quantize::<i8>(&x, &scale, inputs.get(2), axis),
		_ => Err(KernelError::ElementType),
	}
}

fn quantize<Q: Quantum>(
	x: &Array<f32>,
	scale: &Array<f32>,
	zero: Option<&Tensor>,
	axis: i8,
) -> Result<Tensor, KernelError> {
	let which = per_axis(&scale.shape, &x.shape, axis)?;
	let per_tensor = scale.data.len() == 1;
	let zero = zero.map(Array::<Q>::read).transpose()?;
	if zero.as_ref().is_some_and(|zero| zero.shape != scale.shape) {
		return Err(KernelError::Shape);
	}
	let data = x
		.data
		.iter()
		.enumerate()
		.map(|(flat, &value)| {
			let at = which(flat);
			let zero = zero.as_ref().map_or(0, |zero| zero.data[at].into());
			let scale = scale.data[at];
			quantized::<Q>(if per_tensor { value * (1.0 / scale) } else { value / scale }, zero)
		})
		.collect();
	Array::new(x.shape.clone(), data)?.into_tensor()
}

/// The elements of a u8, i8 or i32 tensor as i32.
fn widened(tensor: &Tensor) -> Result<Array<i32>, KernelError> {
	fn widen<T: Element + Into<i32>>(tensor: &Tensor) -> Result<Array<i32>, KernelError> {
		let array = Array::<T>::read(tensor)?;
		Ok(Array { shape: array.shape, data: array.data.into_iter().map(Into::into).collect() })
	}
	match tensor.element_type {
		ElementType::U8 => widen::<u8>(tensor),
		ElementType::I8 => widen::<i8>(tensor),
		ElementType::I32 => widen::<i32>(tensor),
		_ => Err(KernelError::ElementType),
	}
}

/// `DequantizeLinear` of `x` (u8, i8 or i32) by its scale and optional zero point (of
/// `x`'s type): `f32(x - zero) · scale`, the difference wrapping.
pub(crate) fn dequantize_linear(inputs: &[Tensor], axis: i8) -> Result<Tensor, KernelError> {
	let x = input(inputs, 2..=3, 0)?;
	let scale = Array::<f32>::read(&inputs[1])?;
	let which =
		per_axis(&scale.shape, &x.shape.iter().map(|&d| d as usize).collect::<Vec<_>>(), axis)?;
	let zero = match inputs.get(2) {
		Some(zero) if zero.element_type != x.element_type => return Err(KernelError::ElementType),
		Some(zero) => {
			Some(widened(zero)?)
				.filter(|zero| zero.shape == scale.shape)
				.ok_or(KernelError::Shape)?
				.data
		}
		None => alloc::vec![0; scale.data.len()],
	};
	let x = widened(x)?;
	let data = x
		.data
		.iter()
		.enumerate()
		.map(|(flat, &value)| {
			let at = which(flat);
			value.wrapping_sub(zero[at]) as f32 * scale.data[at]
		})
		.collect();
	Array::new(x.shape, data)?.into_tensor()
}

/// `QLinearMatMul`: the i32 product of `a` and `b` less their zero points, requantised by
/// `a_scale · b_scale / y_scale` (in that order, in f32; see [`scaled`]) into `y_zero`'s
/// type.
pub(crate) fn qlinear_matmul(inputs: &[Tensor]) -> Result<Tensor, KernelError> {
	let [a, a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero] = inputs else {
		return Err(KernelError::InputCount);
	};
	let (a_scale, b_scale, y_scale) =
		(Array::<f32>::read(a_scale)?, Array::<f32>::read(b_scale)?, Array::<f32>::read(y_scale)?);
	// Rows of `a` and columns of `b` (1 for a vector).
	let rows = if a.shape.len() >= 2 { a.shape[a.shape.len() - 2] as usize } else { 1 };
	let columns = if b.shape.len() >= 2 { b.shape[b.shape.len() - 1] as usize } else { 1 };
	let fits = |scale: &Array<f32>, per: usize| scale.data.len() == 1 || scale.shape == [per];
	if !fits(&a_scale, rows) || !fits(&b_scale, columns) || y_scale.data.len() != 1 {
		return Err(KernelError::Shape);
	}
	let row = move |_: &[usize], flat: usize| {
		flat / a.shape.last().map_or(1, |&k| k as usize).max(1) % rows
	};
	let column = move |_: &[usize], flat: usize| flat % columns;
	let a = shifted(a, Some(a_zero), row)?;
	let b = shifted(b, Some(b_zero), column)?;
	let sums = product(&a, &b, 0i32, |acc, x, y| acc.wrapping_add(x.wrapping_mul(y)))?;
	let pick =
		|scale: &Array<f32>, at: usize| scale.data[if scale.data.len() == 1 { 0 } else { at }];
	let scalars = a_scale.data.len() == 1 && b_scale.data.len() == 1;
	let shared = if scalars { a_scale.data[0] * b_scale.data[0] / y_scale.data[0] } else { 0.0 };
	let multiplier = |flat: usize| {
		if scalars {
			return shared;
		}
		let (i, j) = (flat / columns % rows, flat % columns);
		pick(&a_scale, i) * pick(&b_scale, j) / y_scale.data[0]
	};
	match y_zero.element_type {
		ElementType::U8 => requantized::<u8>(sums, y_zero, multiplier),
		ElementType::I8 => requantized::<i8>(sums, y_zero, multiplier),
		_ => Err(KernelError::ElementType),
	}
}

/// Each of `sums` times its multiplier, plus the scalar `zero`, saturated into `Q`.
fn requantized<Q: Quantum>(
	sums: Array<i32>,
	zero: &Tensor,
	multiplier: impl Fn(usize) -> f32,
) -> Result<Tensor, KernelError> {
	let zero: i32 = match Array::<Q>::read(zero)?.data[..] {
		[zero] => zero.into(),
		_ => return Err(KernelError::Shape),
	};
	let data = sums
		.data
		.iter()
		.enumerate()
		.map(|(flat, &sum)| {
			let value = scaled(sum, multiplier(flat)).ok_or(KernelError::Attribute)?;
			Ok(Q::saturate(
				value.saturating_add(zero.into()).clamp(i32::MIN.into(), i32::MAX.into()) as i32,
			))
		})
		.collect::<Result<_, KernelError>>()?;
	Array::new(sums.shape, data)?.into_tensor()
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{run, Op};

	fn bytes(element_type: ElementType, dims: &[u32], data: &[u8]) -> Tensor {
		Tensor { element_type, shape: dims.to_vec().try_into().unwrap(), data: data.to_vec() }
	}

	fn f32s(dims: &[u32], values: &[f32]) -> Tensor {
		Tensor::from_f32(dims, values).unwrap()
	}

	#[test]
	fn matmul_integer_subtracts_zero_points_and_widens() {
		let a = bytes(ElementType::U8, &[2, 2], &[1, 2, 3, 255]);
		let b = bytes(ElementType::U8, &[2, 1], &[10, 20]);
		let out = |inputs: &[Tensor]| run(&Op::MatMulInteger, inputs).unwrap();
		assert_eq!(
			out(&[a.clone(), b.clone()]),
			vec![Tensor::from_i32(&[2, 1], &[50, 5130]).unwrap()]
		);
		let a_zero = bytes(ElementType::U8, &[], &[1]);
		let b_zero = bytes(ElementType::U8, &[1], &[10]);
		assert_eq!(
			out(&[a.clone(), b.clone(), a_zero, b_zero]),
			vec![Tensor::from_i32(&[2, 1], &[10, 2540]).unwrap()]
		);
		// One zero point per row of `a`.
		let rows = bytes(ElementType::U8, &[2], &[1, 3]);
		assert_eq!(out(&[a, b, rows]), vec![Tensor::from_i32(&[2, 1], &[20, 5040]).unwrap()]);
		let signed = bytes(ElementType::I8, &[1, 1], &[0x80]);
		assert_eq!(
			out(&[signed.clone(), signed]),
			vec![Tensor::from_i32(&[1, 1], &[16384]).unwrap()]
		);
	}

	#[test]
	fn quantize_rounds_ties_to_even_and_saturates() {
		let x = f32s(&[6], &[0.5, 1.5, 2.5, -0.5, 1000.0, f32::NAN]);
		let scale = f32s(&[], &[0.5]);
		let quantize = Op::QuantizeLinear { axis: 1 };
		// x / 0.5: 1, 3, 5, -1, 2000, NaN; plus 2.
		let zero = bytes(ElementType::U8, &[], &[2]);
		assert_eq!(
			run(&quantize, &[x.clone(), scale.clone(), zero]).unwrap()[0].data,
			[3, 5, 7, 1, 255, 2]
		);
		let scale = f32s(&[], &[2.0]);
		// x / 2: 0.25, 0.75, 1.25, -0.25, 500: 0, 1, 1, 0, saturated; u8 without a zero point.
		assert_eq!(run(&quantize, &[x.clone(), scale]).unwrap()[0].data, [0, 1, 1, 0, 255, 0]);
		let signed = bytes(ElementType::I8, &[], &[0]);
		let out =
			run(&quantize, &[f32s(&[2], &[-1000.0, 2.5]), f32s(&[], &[1.0]), signed]).unwrap();
		assert_eq!(out[0].data, [0x80, 2]);
	}

	#[test]
	fn requantisation_rounds_the_exact_product() {
		assert_eq!(scaled(7, 0.5), Some(4));
		assert_eq!(scaled(5, 0.5), Some(2));
		assert_eq!(scaled(-5, 0.5), Some(-2));
		assert_eq!(scaled(-7, 0.5), Some(-4));
		assert_eq!(scaled(3, -2.0), Some(-6));
		assert_eq!(scaled(i32::MIN, f32::MAX), Some(-i64::MAX));
		assert_eq!(scaled(1, f32::from_bits(1)), Some(0));
		assert_eq!(scaled(1, f32::NAN), None);
		// 0.1 in f32 is a little over 0.1: 15 · 0.1 rounds in f32 to exactly 1.5 (to 2 by
		// ties to even), but the exact product is over 1.5 only by 2^-27: 2 as well; and
		// 5 · 0.1 is 0.5 + 7.45e-9: 1, where f32 rounds to 0.5 and then to 0.
		assert_eq!(scaled(15, 0.1), Some(2));
		assert_eq!(scaled(5, 0.1), Some(1));
		assert_eq!(libm::rintf(5.0 * 0.1f32), 0.0);
	}

	#[test]
	fn quantisation_parameters_may_be_per_axis() {
		let x = f32s(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
		let scales = f32s(&[2], &[1.0, 0.5]);
		let by_column = run(&Op::QuantizeLinear { axis: 1 }, &[x.clone(), scales.clone()]).unwrap();
		assert_eq!(by_column[0].data, [1, 4, 3, 8]);
		let by_row = run(&Op::QuantizeLinear { axis: 0 }, &[x.clone(), scales.clone()]).unwrap();
		assert_eq!(by_row[0].data, [1, 2, 6, 8]);
		let three = f32s(&[3], &[1.0; 3]);
		assert_eq!(run(&Op::QuantizeLinear { axis: 1 }, &[x, three]), Err(KernelError::Shape));
		let q = bytes(ElementType::U8, &[2, 2], &[10, 20, 30, 40]);
		let zeros = bytes(ElementType::U8, &[2], &[10, 0]);
		let back = run(&Op::DequantizeLinear { axis: 1 }, &[q, scales, zeros]).unwrap();
		assert_eq!(back[0], f32s(&[2, 2], &[0.0, 10.0, 20.0, 20.0]));
		let sums = Tensor::from_i32(&[2], &[-3, 1 << 30]).unwrap();
		let back = run(&Op::DequantizeLinear { axis: 0 }, &[sums, f32s(&[], &[0.5])]).unwrap();
		assert_eq!(back[0], f32s(&[2], &[-1.5, (1 << 29) as f32]));
	}

	#[test]
	fn qlinear_matmul_requantises_the_integer_product() {
		let u8s = |dims: &[u32], data: &[u8]| bytes(ElementType::U8, dims, data);
		let a = u8s(&[1, 2], &[3, 5]);
		let b = u8s(&[2, 2], &[2, 1, 4, 1]);
		// (a - 1) · (b - 1) = [2, 4] · [[1, 0], [3, 0]] = [14, 0]; times 0.5 · 1 / 2: 3.5, 0;
		// rounded to even and shifted by 10: 14, 10.
		let inputs = [
			a,
			f32s(&[], &[0.5]),
			u8s(&[], &[1]),
			b,
			f32s(&[], &[1.0]),
			u8s(&[], &[1]),
			f32s(&[], &[2.0]),
			u8s(&[], &[10]),
		];
		assert_eq!(run(&Op::QLinearMatMul, &inputs).unwrap()[0], u8s(&[1, 2], &[14, 10]));
		let mut infinite = inputs.clone();
		infinite[6] = f32s(&[], &[0.0]);
		assert_eq!(run(&Op::QLinearMatMul, &infinite), Err(KernelError::Attribute));
		assert_eq!(run(&Op::QLinearMatMul, &inputs[..7]), Err(KernelError::InputCount));
		// No rows, and so no scale for any: an empty product, not a panic.
		let mut empty = inputs.clone();
		empty[0] = u8s(&[0, 2], &[]);
		empty[1] = f32s(&[0], &[]);
		assert_eq!(run(&Op::QLinearMatMul, &empty).unwrap()[0], u8s(&[0, 2], &[]));
	}

	#[test]
	fn qlinear_conv_adds_the_bias_and_requantises_per_filter() {
		let x = bytes(ElementType::U8, &[1, 1, 2, 2], &[1, 2, 3, 4]);
		let w = bytes(ElementType::I8, &[2, 1, 1, 1], &[2, 0xff]);
		let op = Op::QLinearConv { pads: [0; 4], strides: [1, 1], dilations: [1, 1], group: 1 };
		let bias = Tensor::from_i32(&[2], &[1, -1]).unwrap();
		let inputs = [
			x,
			f32s(&[], &[0.5]),
			bytes(ElementType::U8, &[], &[1]),
			w,
			f32s(&[2], &[1.0, 0.25]),
			bytes(ElementType::I8, &[2], &[0, 1]),
			f32s(&[], &[1.0]),
			bytes(ElementType::U8, &[], &[10]),
			bias,
		];
		// Filter 0: ((x - 1) · 2 + 1) · 0.5 = 0.5, 1.5, 2.5, 3.5: 0, 2, 2, 4 (ties to even);
		// filter 1: ((x - 1) · (-1 - 1) - 1) · 0.125 = -0.125 to -0.875: 0, 0, -1, -1; plus 10.
		let expected = bytes(ElementType::U8, &[1, 2, 2, 2], &[10, 12, 12, 14, 10, 10, 9, 9]);
		assert_eq!(run(&op, &inputs).unwrap(), vec![expected]);
		// Without the bias: filter 0 gives 0, 1, 2, 3; filter 1 0, -0.25, -0.5 (to even: 0)
		// and -0.75.
		let unbiased = run(&op, &inputs[..8]).unwrap();
		assert_eq!(unbiased[0].data, [10, 11, 12, 13, 10, 10, 10, 9]);
		let mut misshapen = inputs.clone();
		misshapen[8] = Tensor::from_i32(&[3], &[0; 3]).unwrap();
		assert_eq!(run(&op, &misshapen), Err(KernelError::Shape));
		let mut three_scales = inputs.clone();
		three_scales[4] = f32s(&[3], &[1.0; 3]);
		assert_eq!(run(&op, &three_scales), Err(KernelError::Shape));
		assert_eq!(run(&op, &inputs[..7]), Err(KernelError::InputCount));
	}

	#[test]
	fn conv_integer_subtracts_zero_points_per_filter() {
		let x = bytes(ElementType::U8, &[1, 1, 2, 2], &[1, 2, 3, 4]);
		let w = bytes(ElementType::I8, &[2, 1, 1, 1], &[1, 0xff]);
		let op = Op::ConvInteger { pads: [0; 4], strides: [1, 1], dilations: [1, 1], group: 1 };
		let x_zero = bytes(ElementType::U8, &[], &[1]);
		let w_zero = bytes(ElementType::I8, &[2], &[0, 1]);
		// Filter 0: (x - 1) · 1; filter 1: (x - 1) · (-1 - 1).
		let expected = Tensor::from_i32(&[1, 2, 2, 2], &[0, 1, 2, 3, 0, -2, -4, -6]).unwrap();
		assert_eq!(run(&op, &[x, w, x_zero, w_zero]).unwrap(), vec![expected]);
	}
}
