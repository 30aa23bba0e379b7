//! Operators that move elements without computing: `Flatten`, `Reshape`, `Transpose`. They
//! take any fixed-width element type.

use alloc::vec::Vec;
use haca_primitives::tensor::Tensor;

use crate::{
	array::{count, strides, Array},
	input, KernelError,
};

/// `tensor` with its elements unchanged under `shape`, which must hold as many.
fn reshaped(tensor: &Tensor, shape: &[usize]) -> Result<Tensor, KernelError> {
	if tensor.element_type.width().is_none() {
		return Err(KernelError::ElementType);
	}
	if Some(count(shape)) != tensor.element_count() {
		return Err(KernelError::Shape);
	}
	let dims: Vec<u32> = shape
		.iter()
		.map(|&dim| u32::try_from(dim).map_err(|_| KernelError::TooLarge))
		.collect::<Result<_, _>>()?;
	Ok(Tensor {
		element_type: tensor.element_type,
		shape: dims.try_into().map_err(|_| KernelError::TooLarge)?,
		data: tensor.data.clone(),
	})
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
}
