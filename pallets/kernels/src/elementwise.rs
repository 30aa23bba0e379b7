//! Element-wise operators: arithmetic between two broadcast tensors, and activations.

use haca_primitives::tensor::{ElementType, Tensor};

use crate::{
	array::{zip_broadcast, Array, Element},
	input, KernelError, Op,
};

/// `Add`, `Sub`, `Mul` or `Div` of two tensors of one type (f32, i32 or i64), broadcast.
pub(crate) fn binary(op: &Op, inputs: &[Tensor]) -> Result<Tensor, KernelError> {
	let (a, b) = (input(inputs, 2..=2, 0)?, input(inputs, 2..=2, 1)?);
	if a.element_type != b.element_type {
		return Err(KernelError::ElementType);
	}
	match a.element_type {
		ElementType::F32 => apply(a, b, |x: f32, y| {
			Ok(match op {
				Op::Add => x + y,
				Op::Sub => x - y,
				Op::Mul => x * y,
				_ => x / y,
			})
		}),
		ElementType::I32 => {
			apply(a, b, |x: i32, y| integer(op, x.into(), y.into()).map(|v| v as i32))
		}
		ElementType::I64 => apply(a, b, |x: i64, y| integer(op, x, y)),
		_ => Err(KernelError::ElementType),
	}
}

fn apply<T: Element>(
	a: &Tensor,
	b: &Tensor,
	f: impl FnMut(T, T) -> Result<T, KernelError>,
) -> Result<Tensor, KernelError> {
	zip_broadcast(&Array::<T>::read(a)?, &Array::<T>::read(b)?, f)?.into_tensor()
}

/// Integer arithmetic, wrapping (i32 is computed in i64 and truncated, which wraps alike);
/// division truncates toward zero.
fn integer(op: &Op, x: i64, y: i64) -> Result<i64, KernelError> {
	Ok(match op {
		Op::Add => x.wrapping_add(y),
		Op::Sub => x.wrapping_sub(y),
		Op::Mul => x.wrapping_mul(y),
		_ if y == 0 => return Err(KernelError::DivisionByZero),
		_ => x.wrapping_div(y),
	})
}

/// `Relu`, `Sigmoid`, `Tanh` or `Erf` of an f32 tensor.
pub(crate) fn unary(op: &Op, inputs: &[Tensor]) -> Result<Tensor, KernelError> {
	let mut x = Array::<f32>::read(input(inputs, 1..=1, 0)?)?;
	let f: fn(f32) -> f32 = match op {
		Op::Relu => |x| if x > 0.0 { x } else { 0.0 },
		Op::Sigmoid => |x| 1.0 / (1.0 + libm::expf(-x)),
		Op::Tanh => libm::tanhf,
		_ => libm::erff,
	};
	x.data.iter_mut().for_each(|value| *value = f(*value));
	x.into_tensor()
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::run;

	fn f32s(dims: &[u32], values: &[f32]) -> Tensor {
		Tensor::from_f32(dims, values).unwrap()
	}

	#[test]
	fn arithmetic_broadcasts_numpy_style() {
		let a = f32s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
		let row = f32s(&[3], &[10.0, 20.0, 30.0]);
		let column = f32s(&[2, 1], &[100.0, 200.0]);
		assert_eq!(
			run(&Op::Add, &[a.clone(), row]).unwrap(),
			vec![f32s(&[2, 3], &[11.0, 22.0, 33.0, 14.0, 25.0, 36.0])]
		);
		assert_eq!(
			run(&Op::Sub, &[column, a.clone()]).unwrap(),
			vec![f32s(&[2, 3], &[99.0, 98.0, 97.0, 196.0, 195.0, 194.0])]
		);
		assert_eq!(
			run(&Op::Div, &[a.clone(), f32s(&[], &[2.0])]).unwrap(),
			vec![f32s(&[2, 3], &[0.5, 1.0, 1.5, 2.0, 2.5, 3.0])]
		);
		assert_eq!(run(&Op::Mul, &[a.clone(), f32s(&[2], &[1.0, 2.0])]), Err(KernelError::Shape));
		assert_eq!(
			run(&Op::Mul, &[a.clone(), Tensor::from_i32(&[1], &[1]).unwrap()]),
			Err(KernelError::ElementType)
		);
		assert_eq!(run(&Op::Mul, &[a]), Err(KernelError::InputCount));
	}

	#[test]
	fn every_nan_out_is_the_quiet_nan() {
		let nan = |bits: u32| Tensor { data: bits.to_le_bytes().to_vec(), ..f32s(&[1], &[0.0]) };
		for op in [Op::Add, Op::Mul, Op::Sub, Op::Div] {
			let out = run(&op, &[nan(0x7fc0_0001), nan(0xffc0_0002)]).unwrap();
			assert_eq!(out[0].data, 0x7fc0_0000u32.to_le_bytes(), "{op:?}");
		}
		let out = run(&Op::Sigmoid, &[nan(0xff80_0001)]).unwrap();
		assert_eq!(out[0].data, 0x7fc0_0000u32.to_le_bytes());
	}

	#[test]
	fn integers_wrap_and_truncate() {
		let ints = |values: &[i32]| Tensor::from_i32(&[values.len() as u32], values).unwrap();
		assert_eq!(
			run(&Op::Add, &[ints(&[i32::MAX, 1]), ints(&[1, 1])]).unwrap(),
			vec![ints(&[i32::MIN, 2])]
		);
		assert_eq!(
			run(&Op::Div, &[ints(&[-7, 7]), ints(&[2, -2])]).unwrap(),
			vec![ints(&[-3, -3])]
		);
		assert_eq!(run(&Op::Div, &[ints(&[1]), ints(&[0])]), Err(KernelError::DivisionByZero));
		assert_eq!(
			run(&Op::Div, &[ints(&[i32::MIN]), ints(&[-1])]).unwrap(),
			vec![ints(&[i32::MIN])]
		);
	}

	#[test]
	fn activations_follow_their_formulas_and_relu_skips_nan() {
		let x = f32s(&[4], &[-1.0, 0.0, 2.0, f32::NAN]);
		let out =
			|op| Array::<f32>::read(&run(&op, core::slice::from_ref(&x)).unwrap()[0]).unwrap().data;
		assert_eq!(out(Op::Relu), [0.0, 0.0, 2.0, 0.0]);
		let sigmoid = out(Op::Sigmoid);
		assert_eq!(sigmoid[1], 0.5);
		assert!((sigmoid[2] - 0.880_797).abs() < 1e-6);
		assert!(sigmoid[3].is_nan());
		assert!((out(Op::Tanh)[0] + 0.761_594_2).abs() < 1e-6);
		assert!((out(Op::Erf)[2] - 0.995_322_3).abs() < 1e-6);
	}
}
