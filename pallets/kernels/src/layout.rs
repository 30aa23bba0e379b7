//! Operators that move elements without computing: `Flatten`, `Reshape`, `Transpose`,
//! `Concat`, `Slice`, `Gather`. They take any fixed-width element type.

use alloc::{vec, vec::Vec};
use haca_primitives::tensor::{ElementType, Tensor};

use crate::{
	array::{count, output_count, strides, Array},
	graph::MAX_NODE_INPUTS,
	input, resolve_axis, KernelError,
};

/// `tensor` with its elements unchanged under `shape`, which must hold as many.
fn reshaped(tensor: &Tensor, shape: &[usize]) -> Result<Tensor, KernelError> {
	if tensor.element_type.width().is_none() {
		return Err(KernelError::ElementType);
	}
	if Some(count(shape)) != tensor.element_count() {
		return Err(KernelError::Shape);
	}
	shaped(tensor.element_type, shape, tensor.data.clone())
}

/// The tensor of `shape` whose elements of `element_type` are `data`.
fn shaped(
	element_type: ElementType,
	shape: &[usize],
	data: Vec<u8>,
) -> Result<Tensor, KernelError> {
	let dims: Vec<u32> = shape
		.iter()
		.map(|&dim| u32::try_from(dim).map_err(|_| KernelError::TooLarge))
		.collect::<Result<_, _>>()?;
	Ok(Tensor { element_type, shape: dims.try_into().map_err(|_| KernelError::TooLarge)?, data })
}

/// The width of `tensor`'s elements, which must be fixed and fill its data exactly.
fn width(tensor: &Tensor) -> Result<usize, KernelError> {
	let width = tensor.element_type.width().ok_or(KernelError::ElementType)?;
	match tensor.element_count() {
		Some(count) if count.checked_mul(width) == Some(tensor.data.len()) => Ok(width),
		_ => Err(KernelError::Shape),
	}
}

/// The elements of an i32 or i64 tensor.
fn integers(tensor: &Tensor) -> Result<Vec<i64>, KernelError> {
	match tensor.element_type {
		ElementType::I64 => Ok(Array::<i64>::read(tensor)?.data),
		ElementType::I32 => {
			Ok(Array::<i32>::read(tensor)?.data.into_iter().map(i64::from).collect())
		}
		_ => Err(KernelError::ElementType),
	}
}

fn dims(tensor: &Tensor) -> Vec<usize> {
	tensor.shape.iter().map(|&dim| dim as usize).collect()
}

/// `Flatten`: the axes before `axis` as rows, the rest as columns.
pub(crate) fn flatten(inputs: &[Tensor], axis: u8) -> Result<Tensor, KernelError> {
	let x = input(inputs, 1..=1, 0)?;
	let shape = dims(x);
	let axis = usize::from(axis);
	if axis > shape.len() {
		return Err(KernelError::Attribute);
	}
	reshaped(x, &[count(&shape[..axis]), count(&shape[axis..])])
}

/// `Reshape` to the i64 shape of input 1: 0 keeps the input's dimension at that axis, one
/// -1 takes what is left.
pub(crate) fn reshape(inputs: &[Tensor]) -> Result<Tensor, KernelError> {
	let x = input(inputs, 2..=2, 0)?;
	let target = Array::<i64>::read(input(inputs, 2..=2, 1)?)?;
	let old = dims(x);
	let mut inferred = None;
	let mut shape = Vec::with_capacity(target.data.len());
	for (axis, &dim) in target.data.iter().enumerate() {
		shape.push(match dim {
			0 => *old.get(axis).ok_or(KernelError::Shape)?,
			-1 if inferred.is_none() => {
				inferred = Some(axis);
				1
			}
			dim => usize::try_from(dim).map_err(|_| KernelError::Shape)?,
		});
	}
	if let Some(axis) = inferred {
		let known = count(&shape);
		let total = count(&old);
		if known == 0 || !total.is_multiple_of(known) {
			return Err(KernelError::Shape);
		}
		shape[axis] = total / known;
	}
	reshaped(x, &shape)
}

/// `Transpose`: axis `i` of the output is axis `perm[i]` of the input.
pub(crate) fn transpose(inputs: &[Tensor], perm: &[u8]) -> Result<Tensor, KernelError> {
	let x = input(inputs, 1..=1, 0)?;
	let width = x.element_type.width().ok_or(KernelError::ElementType)?;
	let shape = dims(x);
	let rank = shape.len();
	let mut seen = [false; 8];
	let valid = perm.len() == rank
		&& perm.iter().all(|&axis| {
			let axis = usize::from(axis);
			axis < rank && !core::mem::replace(&mut seen[axis], true)
		});
	if !valid || Some(x.data.len()) != x.element_count().map(|count| count * width) {
		return Err(KernelError::Attribute);
	}
	let in_strides = strides(&shape);
	let out_shape: Vec<usize> = perm.iter().map(|&axis| shape[usize::from(axis)]).collect();
	let total = count(&out_shape);
	let mut data = Vec::with_capacity(x.data.len());
	let mut index = alloc::vec![0usize; rank];
	for _ in 0..total {
		let at: usize =
			index.iter().zip(perm).map(|(i, &axis)| i * in_strides[usize::from(axis)]).sum();
		data.extend_from_slice(&x.data[at * width..][..width]);
		for axis in (0..rank).rev() {
			index[axis] += 1;
			if index[axis] < out_shape[axis] {
				break;
			}
			index[axis] = 0;
		}
	}
	let moved = Tensor { data, ..x.clone() };
	reshaped(&moved, &out_shape)
}

/// `Concat` along `axis`: for each index before it, each input's block in input order.
pub(crate) fn concat(inputs: &[Tensor], axis: i8) -> Result<Tensor, KernelError> {
	let first = input(inputs, 1..=MAX_NODE_INPUTS as usize, 0)?;
	let shape = dims(first);
	let axis = resolve_axis(axis.into(), shape.len())?;
	let mut joined = 0usize;
	for tensor in inputs {
		width(tensor)?;
		let own = dims(tensor);
		if tensor.element_type != first.element_type {
			return Err(KernelError::ElementType);
		}
		let fits = own.len() == shape.len()
			&& own.iter().zip(&shape).enumerate().all(|(at, (a, b))| at == axis || a == b);
		if !fits {
			return Err(KernelError::Shape);
		}
		joined = joined.checked_add(own[axis]).ok_or(KernelError::TooLarge)?;
	}
	let mut out_shape = shape.clone();
	out_shape[axis] = joined;
	let total = output_count(&out_shape)?;
	let width = width(first)?;
	let mut data = Vec::with_capacity(total * width);
	// Each input's block: its elements from the axis on.
	let blocks: Vec<(&[u8], usize)> = inputs
		.iter()
		.map(|tensor| (&tensor.data[..], count(&dims(tensor)[axis..]) * width))
		.collect();
	// With no output there is nothing to copy (and the outer count may be huge).
	let outer = if total == 0 { 0 } else { count(&shape[..axis]) };
	for block in 0..outer {
		for &(bytes, size) in &blocks {
			data.extend_from_slice(&bytes[block * size..][..size]);
		}
	}
	shaped(first.element_type, &out_shape, data)
}

/// `Slice` as ONNX defines it: along each axis asked for (each at most once), from `start`
/// by `step` (not 0) toward `end`, both counted from the end when negative and clamped to
/// the axis (to `[0, d]` for a positive step, `[0, d - 1]` and `[-1, d - 1]` for a negative
/// one); other axes whole.
pub(crate) fn slice(inputs: &[Tensor]) -> Result<Tensor, KernelError> {
	let x = input(inputs, 3..=5, 0)?;
	let width = width(x)?;
	let shape = dims(x);
	let rank = shape.len();
	let starts = integers(&inputs[1])?;
	let ends = integers(&inputs[2])?;
	let axes = match inputs.get(3) {
		Some(axes) => integers(axes)?,
		None => (0..starts.len() as i64).collect(),
	};
	let steps = match inputs.get(4) {
		Some(steps) => integers(steps)?,
		None => vec![1; starts.len()],
	};
	if [ends.len(), axes.len(), steps.len()].iter().any(|&len| len != starts.len()) {
		return Err(KernelError::Shape);
	}
	// Per axis: first index, step and length.
	let mut first = vec![0i64; rank];
	let mut step = vec![1i64; rank];
	let mut out_shape = shape.clone();
	let mut seen = [false; 8];
	for at in 0..starts.len() {
		let axis = resolve_axis(axes[at], rank)?;
		if core::mem::replace(&mut seen[axis], true) || steps[at] == 0 {
			return Err(KernelError::Attribute);
		}
		let dim = shape[axis] as i64;
		let from_end = |bound: i64| if bound < 0 { bound.saturating_add(dim) } else { bound };
		let (start, end) = (from_end(starts[at]), from_end(ends[at]));
		let (start, span) = if steps[at] > 0 {
			let start = start.max(0).min(dim);
			(start, end.max(0).min(dim) - start)
		} else {
			let start = start.max(0).min(dim - 1);
			(start, start - end.max(-1).min(dim - 1))
		};
		// Elements from `start` on, `step` apart, short of `end`: ceil(span / |step|).
		let stride = steps[at].unsigned_abs();
		out_shape[axis] = if span > 0 { ((span as u64 - 1) / stride + 1) as usize } else { 0 };
		first[axis] = start;
		step[axis] = steps[at];
	}
	let total = output_count(&out_shape)?;
	let in_strides = strides(&shape);
	let mut data = Vec::with_capacity(total * width);
	let mut index = vec![0usize; rank];
	for _ in 0..total {
		let at: usize = (0..rank)
			.map(|axis| (first[axis] + index[axis] as i64 * step[axis]) as usize * in_strides[axis])
			.sum();
		data.extend_from_slice(&x.data[at * width..][..width]);
		for axis in (0..rank).rev() {
			index[axis] += 1;
			if index[axis] < out_shape[axis] {
				break;
			}
			index[axis] = 0;
		}
	}
	shaped(x.element_type, &out_shape, data)
}

/// `Gather` along `axis`: the input's axis replaced by the indices' shape, each index
/// picking its entry of the axis.
pub(crate) fn gather(inputs: &[Tensor], axis: i8) -> Result<Tensor, KernelError> {
	let x = input(inputs, 2..=2, 0)?;
	let width = width(x)?;
	let shape = dims(x);
	let axis = resolve_axis(axis.into(), shape.len())?;
	let dim = shape[axis];
	let picks = integers(&inputs[1])?
		.into_iter()
		.map(|index| {
			let index = if index < 0 { index + dim as i64 } else { index };
			usize::try_from(index).ok().filter(|&index| index < dim).ok_or(KernelError::Index)
		})
		.collect::<Result<Vec<_>, _>>()?;
	let out_shape: Vec<usize> =
		shape[..axis].iter().chain(&dims(&inputs[1])).chain(&shape[axis + 1..]).copied().collect();
	let total = output_count(&out_shape)?;
	let size = count(&shape[axis + 1..]) * width;
	let mut data = Vec::with_capacity(total * width);
	let outer = if total == 0 { 0 } else { count(&shape[..axis]) };
	for block in 0..outer {
		for &pick in &picks {
			data.extend_from_slice(&x.data[(block * dim + pick) * size..][..size]);
		}
	}
	shaped(x.element_type, &out_shape, data)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{run, Op};
	use haca_primitives::tensor::ElementType;

	fn f32s(dims: &[u32], values: &[f32]) -> Tensor {
		Tensor::from_f32(dims, values).unwrap()
	}

	fn i64s(values: &[i64]) -> Tensor {
		let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
		Tensor {
			element_type: ElementType::I64,
			shape: vec![values.len() as u32].try_into().unwrap(),
			data,
		}
	}

	#[test]
	fn shapes_change_and_elements_stay() {
		let x = f32s(&[2, 3, 4], &[0.0; 24]);
		let shape_of = |tensors: Vec<Tensor>| tensors[0].shape.to_vec();
		assert_eq!(
			shape_of(run(&Op::Flatten { axis: 1 }, core::slice::from_ref(&x)).unwrap()),
			[2, 12]
		);
		assert_eq!(
			shape_of(run(&Op::Flatten { axis: 0 }, core::slice::from_ref(&x)).unwrap()),
			[1, 24]
		);
		assert_eq!(
			shape_of(run(&Op::Reshape, &[x.clone(), i64s(&[0, -1, 2])]).unwrap()),
			[2, 6, 2]
		);
		assert_eq!(run(&Op::Reshape, &[x.clone(), i64s(&[5, -1])]), Err(KernelError::Shape));
		assert_eq!(run(&Op::Reshape, &[x, i64s(&[-1, -1])]), Err(KernelError::Shape));
	}

	#[test]
	fn transpose_permutes_axes() {
		let x = f32s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
		let perm = |axes: &[u8]| Op::Transpose { perm: axes.to_vec().try_into().unwrap() };
		assert_eq!(
			run(&perm(&[1, 0]), core::slice::from_ref(&x)).unwrap(),
			vec![f32s(&[3, 2], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0])]
		);
		assert_eq!(run(&perm(&[0, 1]), core::slice::from_ref(&x)).unwrap(), vec![x.clone()]);
		assert_eq!(run(&perm(&[0, 0]), core::slice::from_ref(&x)), Err(KernelError::Attribute));
		assert_eq!(run(&perm(&[1]), &[x]), Err(KernelError::Attribute));
	}

	fn values(tensor: &Tensor) -> Vec<f32> {
		Array::<f32>::read(tensor).unwrap().data
	}

	#[test]
	fn concat_joins_along_an_axis() {
		let a = f32s(&[2, 1], &[1.0, 2.0]);
		let b = f32s(&[2, 2], &[3.0, 4.0, 5.0, 6.0]);
		let joined = run(&Op::Concat { axis: -1 }, &[a.clone(), b.clone()]).unwrap().remove(0);
		assert_eq!(joined, f32s(&[2, 3], &[1.0, 3.0, 4.0, 2.0, 5.0, 6.0]));
		assert_eq!(run(&Op::Concat { axis: 0 }, &[a.clone(), b]), Err(KernelError::Shape));
		let ints = Tensor::from_i32(&[2, 1], &[1, 2]).unwrap();
		assert_eq!(run(&Op::Concat { axis: 1 }, &[a, ints]), Err(KernelError::ElementType));
	}

	#[test]
	fn slice_clamps_counts_from_the_end_and_steps_backwards() {
		let x = f32s(&[2, 4], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
		let slice = |inputs: &[&[i64]]| {
			let mut all = vec![x.clone()];
			all.extend(inputs.iter().map(|values| i64s(values)));
			run(&Op::Slice, &all).map(|mut out| out.remove(0))
		};
		// Columns 1..3 of every row.
		assert_eq!(values(&slice(&[&[1], &[3], &[1]]).unwrap()), [1.0, 2.0, 5.0, 6.0]);
		// Row -1 to the end, clamped from far beyond.
		assert_eq!(values(&slice(&[&[-1], &[i64::MAX]]).unwrap()), [4.0, 5.0, 6.0, 7.0]);
		// Each row backwards by two from the last column.
		let backwards = slice(&[&[-1], &[i64::MIN], &[1], &[-2]]).unwrap();
		assert_eq!(backwards.shape.to_vec(), [2, 2]);
		assert_eq!(values(&backwards), [3.0, 1.0, 7.0, 5.0]);
		assert_eq!(slice(&[&[3], &[1], &[1]]).unwrap().shape.to_vec(), [2, 0]);
		assert_eq!(slice(&[&[0], &[1], &[1], &[0]]), Err(KernelError::Attribute));
		assert_eq!(slice(&[&[0, 0], &[1, 1], &[1, 1]]), Err(KernelError::Attribute));
	}

	#[test]
	fn gather_picks_entries_and_refuses_an_index_outside() {
		let table = f32s(&[3, 2], &[0.0, 1.0, 10.0, 11.0, 20.0, 21.0]);
		let rows = i64s(&[2, -3, 2]);
		let picked = run(&Op::Gather { axis: 0 }, &[table.clone(), rows]).unwrap().remove(0);
		assert_eq!(picked, f32s(&[3, 2], &[20.0, 21.0, 0.0, 1.0, 20.0, 21.0]));
		let column = Tensor::from_i32(&[], &[1]).unwrap();
		let picked = run(&Op::Gather { axis: 1 }, &[table.clone(), column]).unwrap().remove(0);
		assert_eq!(picked, f32s(&[3], &[1.0, 11.0, 21.0]));
		assert_eq!(run(&Op::Gather { axis: 0 }, &[table, i64s(&[3])]), Err(KernelError::Index));
	}
}
