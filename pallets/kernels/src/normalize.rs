//! Operators over one or more axes: `Softmax`, `ReduceMean`, `LayerNormalization`,
//! `ArgMax`.

use alloc::vec::Vec;
use haca_primitives::tensor::{ElementType, Tensor};

use crate::{
	array::{count, output_count, strides, sum, Array, Element},
	input, resolve_axis, KernelError,
};

/// `ArgMax` along `axis`: the i64 index of the largest element (f32, i32, i64, u8 or i8),
/// the first of equals, or the last if `select_last`; NaNs are never the largest (an axis
/// of NaNs gives 0). An empty axis has no index.
pub(crate) fn arg_max(
	inputs: &[Tensor],
	axis: i8,
	keep_dims: bool,
	select_last: bool,
) -> Result<Tensor, KernelError> {
	let x = input(inputs, 1..=1, 0)?;
	match x.element_type {
		ElementType::F32 => arg_max_of::<f32>(x, axis, keep_dims, select_last),
		ElementType::I32 => arg_max_of::<i32>(x, axis, keep_dims, select_last),
		ElementType::I64 => arg_max_of::<i64>(x, axis, keep_dims, select_last),
		ElementType::U8 => arg_max_of::<u8>(x, axis, keep_dims, select_last),
		ElementType::I8 => arg_max_of::<i8>(x, axis, keep_dims, select_last),
		_ => Err(KernelError::ElementType),
	}
}

fn arg_max_of<T: Element + PartialOrd>(
	x: &Tensor,
	axis: i8,
	keep_dims: bool,
	select_last: bool,
) -> Result<Tensor, KernelError> {
	let x = Array::<T>::read(x)?;
	let axis = resolve_axis(axis.into(), x.shape.len())?;
	let (outer, n, inner) = (count(&x.shape[..axis]), x.shape[axis], count(&x.shape[axis + 1..]));
	if n == 0 {
		return Err(KernelError::Shape);
	}
	// Whether `value` beats `best`: larger, or equal when the last is selected; anything
	// beats a NaN but a NaN (a NaN is the one value unordered with itself).
	let beats = |value: T, best: T| {
		if best.partial_cmp(&best).is_none() {
			value.partial_cmp(&value).is_some()
		} else {
			value > best || (select_last && value == best)
		}
	};
	let mut indices = Vec::with_capacity(outer * inner);
	// (With an empty axis after `axis`, there are no elements and no indices.)
	for block in x.data.chunks_exact((n * inner).max(1)) {
		for offset in 0..inner {
			let at = |i: usize| block[offset + i * inner];
			let best = (1..n).fold(0, |best, i| if beats(at(i), at(best)) { i } else { best });
			indices.push(best as i64);
		}
	}
	let mut shape = x.shape;
	if keep_dims {
		shape[axis] = 1;
	} else {
		shape.remove(axis);
	}
	Array::new(shape, indices)?.into_tensor()
}

/// `Softmax` along `axis`: `exp(x - max) / sum`, the sum in order along the axis.
pub(crate) fn softmax(inputs: &[Tensor], axis: i8) -> Result<Tensor, KernelError> {
	let mut x = Array::<f32>::read(input(inputs, 1..=1, 0)?)?;
	let axis = resolve_axis(axis.into(), x.shape.len())?;
	if x.data.is_empty() {
		return x.into_tensor();
	}
	let (n, inner) = (x.shape[axis], count(&x.shape[axis + 1..]));
	for block in x.data.chunks_exact_mut(n * inner) {
		for offset in 0..inner {
			let at = |i: usize| offset + i * inner;
			let max =
				(0..n)
					.map(|i| block[at(i)])
					.fold(f32::NEG_INFINITY, |max, v| if v > max { v } else { max });
			(0..n).for_each(|i| block[at(i)] = libm::expf(block[at(i)] - max));
			let total = sum((0..n).map(|i| block[at(i)]));
			(0..n).for_each(|i| block[at(i)] /= total);
		}
	}
	x.into_tensor()
}

/// `ReduceMean` over `axes` (all if empty): each output the sum of its inputs in row-major
/// order, divided by their count.
pub(crate) fn reduce_mean(
	inputs: &[Tensor],
	axes: &[i8],
	keep_dims: bool,
) -> Result<Tensor, KernelError> {
	let x = Array::<f32>::read(input(inputs, 1..=1, 0)?)?;
	let rank = x.shape.len();
	let mut reduced = [false; 8];
	for &axis in axes {
		reduced[resolve_axis(axis.into(), rank)?] = true;
	}
	if axes.is_empty() {
		reduced[..rank].iter_mut().for_each(|r| *r = true);
	}
	let kept: Vec<usize> = x
		.shape
		.iter()
		.enumerate()
		.map(|(axis, &dim)| if reduced[axis] { 1 } else { dim })
		.collect();
	let out_strides = strides(&kept);
	let mut sums = alloc::vec![0.0f32; output_count(&kept)?];
	let mut index = alloc::vec![0usize; rank];
	for &value in &x.data {
		let at: usize = (0..rank)
			.filter(|axis| !reduced[*axis])
			.map(|axis| index[axis] * out_strides[axis])
			.sum();
		sums[at] += value;
		for axis in (0..rank).rev() {
			index[axis] += 1;
			if index[axis] < x.shape[axis] {
				break;
			}
			index[axis] = 0;
		}
	}
	let terms = (count(&x.shape) / count(&kept).max(1)) as f32;
	sums.iter_mut().for_each(|total| *total /= terms);
	let shape = if keep_dims {
		kept
	} else {
		x.shape
			.iter()
			.enumerate()
			.filter(|(axis, _)| !reduced[*axis])
			.map(|(_, &dim)| dim)
			.collect()
	};
	Array::new(shape, sums)?.into_tensor()
}

/// `LayerNormalization` over the axes from `axis` on, as ONNX defines it step by step:
/// `d = x - mean`, `var = mean(d · d)`, `y = d · (1 / sqrt(var + epsilon)) · scale + bias`.
pub(crate) fn layer_normalization(
	inputs: &[Tensor],
	axis: i8,
	epsilon: f32,
) -> Result<Tensor, KernelError> {
	let mut x = Array::<f32>::read(input(inputs, 2..=3, 0)?)?;
	let scale = Array::<f32>::read(input(inputs, 2..=3, 1)?)?;
	let bias = inputs.get(2).map(Array::<f32>::read).transpose()?;
	let axis = resolve_axis(axis.into(), x.shape.len())?;
	let n = count(&x.shape[axis..]);
	let fits = |array: &Array<f32>| array.data.len() == n;
	if n == 0 || !fits(&scale) || bias.as_ref().is_some_and(|bias| !fits(bias)) {
		return Err(KernelError::Shape);
	}
	for row in x.data.chunks_exact_mut(n) {
		let mean = sum(row.iter().copied()) / n as f32;
		row.iter_mut().for_each(|value| *value -= mean);
		let variance = sum(row.iter().map(|d| d * d)) / n as f32;
		let inverse = 1.0 / libm::sqrtf(variance + epsilon);
		for (i, value) in row.iter_mut().enumerate() {
			let normalized = *value * inverse * scale.data[i];
			*value = bias.as_ref().map_or(normalized, |bias| normalized + bias.data[i]);
		}
	}
	x.into_tensor()
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{run, Op};

	fn f32s(dims: &[u32], values: &[f32]) -> Tensor {
		Tensor::from_f32(dims, values).unwrap()
	}

	fn values(tensors: Vec<Tensor>) -> Vec<f32> {
		Array::<f32>::read(&tensors[0]).unwrap().data
	}

	#[test]
	fn arg_max_picks_the_first_or_last_largest_and_skips_nans() {
		let arg_max = |axis, keep_dims, select_last| Op::ArgMax { axis, keep_dims, select_last };
		let x = f32s(&[2, 3], &[1.0, 5.0, 5.0, f32::NAN, -1.0, f32::NAN]);
		let indices = |op: &Op, x: &Tensor| {
			Array::<i64>::read(&run(op, core::slice::from_ref(x)).unwrap()[0]).unwrap()
		};
		let first = indices(&arg_max(1, false, false), &x);
		assert_eq!((first.shape, first.data), (vec![2], vec![1, 1]));
		let last = indices(&arg_max(-1, true, true), &x);
		assert_eq!((last.shape, last.data), (vec![2, 1], vec![2, 1]));
		// Along the rows: 1 > NaN, 5 > -1, 5 > NaN.
		assert_eq!(indices(&arg_max(0, false, false), &x).data, [0, 0, 0]);
		let nans = f32s(&[2], &[f32::NAN, f32::NAN]);
		assert_eq!(indices(&arg_max(0, false, false), &nans).data, [0]);
		let quanta = Tensor::from_i32(&[3], &[-7, 2, 2]).unwrap();
		assert_eq!(indices(&arg_max(0, false, true), &quanta).data, [2]);
		assert_eq!(run(&arg_max(0, false, false), &[f32s(&[0], &[])]), Err(KernelError::Shape));
		assert_eq!(run(&arg_max(2, false, false), &[x]), Err(KernelError::Attribute));
	}

	#[test]
	fn softmax_sums_to_one_along_its_axis() {
		let x = f32s(&[2, 2], &[0.0, 0.0, 1000.0, 1000.0]);
		assert_eq!(
			values(run(&Op::Softmax { axis: -1 }, core::slice::from_ref(&x)).unwrap()),
			[0.5; 4]
		);
		let columns = values(run(&Op::Softmax { axis: 0 }, core::slice::from_ref(&x)).unwrap());
		assert_eq!(columns, [0.0, 0.0, 1.0, 1.0]);
		assert_eq!(run(&Op::Softmax { axis: 2 }, &[x]), Err(KernelError::Attribute));
	}

	#[test]
	fn reduce_mean_over_chosen_axes() {
		let x = f32s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
		let mean = |axes: &[i8], keep_dims| {
			let op = Op::ReduceMean { axes: axes.to_vec().try_into().unwrap(), keep_dims };
			run(&op, core::slice::from_ref(&x)).unwrap().remove(0)
		};
		assert_eq!(mean(&[1], false), f32s(&[2], &[2.0, 5.0]));
		assert_eq!(mean(&[0], true), f32s(&[1, 3], &[2.5, 3.5, 4.5]));
		assert_eq!(mean(&[], false), f32s(&[], &[3.5]));
		assert_eq!(mean(&[-1, 0], true), f32s(&[1, 1], &[3.5]));
	}

	#[test]
	fn layer_normalization_centres_scales_and_shifts() {
		let x = f32s(&[1, 4], &[1.0, 2.0, 3.0, 4.0]);
		let scale = f32s(&[4], &[1.0, 1.0, 2.0, 2.0]);
		let bias = f32s(&[4], &[0.0, 0.0, 0.0, 1.0]);
		let op = Op::LayerNormalization { axis: -1, epsilon: 0.0f32.to_bits() };
		let y = values(run(&op, &[x, scale, bias]).unwrap());
		let expected = [-1.341_640_8, -0.447_213_6, 0.894_427_2, 3.683_281_6];
		assert!(y.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6), "{y:?}");
	}
}
