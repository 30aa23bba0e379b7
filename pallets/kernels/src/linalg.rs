//! Matrix products of floats: `MatMul` and `Gemm` (the integer ones build on [`product`]).

use alloc::{vec, vec::Vec};
use haca_primitives::tensor::Tensor;

use crate::{
	array::{broadcast_shape, broadcast_strides, output_count, Array},
	input, KernelError,
};

/// The matrix product of `a` and `b` with NumPy's rules (a 1-D `a` is a row, a 1-D `b` a
/// column, each dropped from the result; leading axes broadcast as batches), each entry
/// `dot` of a row and a column folded from `zero` in order.
pub(crate) fn product<T: Copy, A: Copy>(
	a: &Array<T>,
	b: &Array<T>,
	zero: A,
	dot: impl Fn(A, T, T) -> A,
) -> Result<Array<A>, KernelError> {
	let (a_shape, row) = match a.shape.len() {
		0 => return Err(KernelError::Shape),
		1 => (vec![1, a.shape[0]], true),
		_ => (a.shape.clone(), false),
	};
	let (b_shape, column) = match b.shape.len() {
		0 => return Err(KernelError::Shape),
		1 => (vec![b.shape[0], 1], true),
		_ => (b.shape.clone(), false),
	};
	let (a_batch, a_matrix) = a_shape.split_at(a_shape.len() - 2);
	let (b_batch, b_matrix) = b_shape.split_at(b_shape.len() - 2);
	let (m, k, n) = (a_matrix[0], a_matrix[1], b_matrix[1]);
	if b_matrix[0] != k {
		return Err(KernelError::Shape);
	}
	let batch = broadcast_shape(a_batch, b_batch)?;
	let (a_strides, b_strides) =
		(broadcast_strides(a_batch, &batch), broadcast_strides(b_batch, &batch));
	let batches = output_count(&batch)?;
	let mut data = Vec::with_capacity(output_count(&[batches, m, n])?);
	for flat in 0..batches {
		let (mut a_at, mut b_at, mut rest) = (0, 0, flat);
		for axis in (0..batch.len()).rev() {
			let index = rest % batch[axis];
			rest /= batch[axis];
			a_at += index * a_strides[axis];
			b_at += index * b_strides[axis];
		}
		let (a_matrix, b_matrix) =
			(&a.data[a_at * m * k..][..m * k], &b.data[b_at * k * n..][..k * n]);
		for i in 0..m {
			for j in 0..n {
				let entry =
					(0..k).fold(zero, |acc, p| dot(acc, a_matrix[i * k + p], b_matrix[p * n + j]));
				data.push(entry);
			}
		}
	}
	let mut shape = batch;
	if !row {
		shape.push(m);
	}
	if !column {
		shape.push(n);
	}
	Array::new(shape, data)
}

/// `MatMul` of two f32 tensors.
pub(crate) fn matmul(inputs: &[Tensor]) -> Result<Tensor, KernelError> {
	let a = Array::<f32>::read(input(inputs, 2..=2, 0)?)?;
	let b = Array::<f32>::read(input(inputs, 2..=2, 1)?)?;
	product(&a, &b, 0.0, |acc, x, y| acc + x * y)?.into_tensor()
}

/// `Gemm`: `alpha · A' · B' + beta · C` for 2-D f32 `A`, `B` and `C` broadcast to the result.
pub(crate) fn gemm(
	inputs: &[Tensor],
	trans_a: bool,
	trans_b: bool,
	alpha: f32,
	beta: f32,
) -> Result<Tensor, KernelError> {
	let a = Array::<f32>::read(input(inputs, 2..=3, 0)?)?;
	let b = Array::<f32>::read(input(inputs, 2..=3, 1)?)?;
	if a.shape.len() != 2 || b.shape.len() != 2 {
		return Err(KernelError::Shape);
	}
	let a = if trans_a { transposed(&a) } else { a };
	let b = if trans_b { transposed(&b) } else { b };
	let mut y = product(&a, &b, 0.0, |acc, x, y| acc + x * y)?;
	y.data.iter_mut().for_each(|value| *value *= alpha);
	if let Some(c) = inputs.get(2) {
		let c = Array::<f32>::read(c)?;
		if broadcast_shape(&c.shape, &y.shape)? != y.shape {
			return Err(KernelError::Shape);
		}
		y = crate::array::zip_broadcast(&y, &c, |value, c| Ok(value + beta * c))?;
	}
	y.into_tensor()
}

/// A 2-D array transposed.
fn transposed<T: Copy>(array: &Array<T>) -> Array<T> {
	let (rows, columns) = (array.shape[0], array.shape[1]);
	let data = (0..columns)
		.flat_map(|j| (0..rows).map(move |i| (i, j)))
		.map(|(i, j)| array.data[i * columns + j])
		.collect();
	Array { shape: vec![columns, rows], data }
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{run, Op};

	fn f32s(dims: &[u32], values: &[f32]) -> Tensor {
		Tensor::from_f32(dims, values).unwrap()
	}

	#[test]
	fn matmul_batches_and_promotes_vectors() {
		let a = f32s(&[2, 2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
		let b = f32s(&[3, 1], &[1.0, 1.0, 1.0]);
		assert_eq!(
			run(&Op::MatMul, &[a.clone(), b]).unwrap(),
			vec![f32s(&[2, 2, 1], &[6.0, 15.0, 1.0, 1.0])]
		);
		let v = f32s(&[3], &[1.0, 0.0, -1.0]);
		assert_eq!(
			run(&Op::MatMul, &[a.clone(), v.clone()]).unwrap(),
			vec![f32s(&[2, 2], &[-2.0, -2.0, 1.0, 0.0])]
		);
		assert_eq!(run(&Op::MatMul, &[v.clone(), v]).unwrap(), vec![f32s(&[], &[2.0])]);
		assert_eq!(run(&Op::MatMul, &[a.clone(), a]), Err(KernelError::Shape));
	}

	#[test]
	fn gemm_transposes_scales_and_adds_its_bias() {
		let a = f32s(&[2, 1], &[1.0, 2.0]);
		let b = f32s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
		let c = f32s(&[3], &[1.0, 1.0, 1.0]);
		let op = Op::Gemm {
			trans_a: true,
			trans_b: false,
			alpha: 2.0f32.to_bits(),
			beta: 0.5f32.to_bits(),
		};
		assert_eq!(run(&op, &[a, b, c]).unwrap(), vec![f32s(&[1, 3], &[18.5, 24.5, 30.5])]);
	}
}
