//! Element-wise operators: arithmetic between two broadcast tensors, activations, clipping
//! and conversions.

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

/// `Clip` of `x` between the optional scalar bounds of inputs 1 and 2, of `x`'s type.
pub(crate) fn clip(inputs: &[Tensor]) -> Result<Tensor, KernelError> {
	match input(inputs, 1..=3, 0)?.element_type {
		ElementType::F32 => clip_as::<f32>(inputs),
		ElementType::I32 => clip_as::<i32>(inputs),
		ElementType::I64 => clip_as::<i64>(inputs),
		ElementType::U8 => clip_as::<u8>(inputs),
		ElementType::I8 => clip_as::<i8>(inputs),
		_ => Err(KernelError::ElementType),
	}
}

fn clip_as<T: Element + PartialOrd>(inputs: &[Tensor]) -> Result<Tensor, KernelError> {
	let mut x = Array::<T>::read(&inputs[0])?;
	let bound = |index: usize| -> Result<Option<T>, KernelError> {
		let Some(tensor) = inputs.get(index) else { return Ok(None) };
		match Array::<T>::read(tensor)?.data[..] {
			[bound] => Ok(Some(bound)),
			_ => Err(KernelError::Shape),
		}
	};
	let (low, high) = (bound(1)?, bound(2)?);
	for value in x.data.iter_mut() {
		// Comparisons with a NaN are false: a NaN `x` passes, a NaN bound clips nothing.
		if low.is_some_and(|low| *value < low) {
			*value = low.unwrap_or(*value);
		}
		if high.is_some_and(|high| *value > high) {
			*value = high.unwrap_or(*value);
		}
	}
	x.into_tensor()
}

/// An element type `Cast` converts to, from a float or an integer as Rust's `as` does.
trait Convert: Element {
	fn from_float(x: f32) -> Self;
	fn from_integer(x: i64) -> Self;
}

macro_rules! convert {
	($($type:ty),*) => {$(
		impl Convert for $type {
			fn from_float(x: f32) -> Self {
				x as $type
			}

			fn from_integer(x: i64) -> Self {
				x as $type
			}
		}
	)*};
}

convert!(f32, i32, i64, u8, i8);

/// `Cast` of a tensor of f32, i32, i64, u8 or i8 to `to`, one of these.
pub(crate) fn cast(inputs: &[Tensor], to: ElementType) -> Result<Tensor, KernelError> {
	let x = input(inputs, 1..=1, 0)?;
	match to {
		ElementType::F32 => cast_to::<f32>(x),
		ElementType::I32 => cast_to::<i32>(x),
		ElementType::I64 => cast_to::<i64>(x),
		ElementType::U8 => cast_to::<u8>(x),
		ElementType::I8 => cast_to::<i8>(x),
		_ => Err(KernelError::ElementType),
	}
}

fn cast_to<T: Convert>(x: &Tensor) -> Result<Tensor, KernelError> {
	fn integers<S: Element + Into<i64>, T: Convert>(x: &Tensor) -> Result<Array<T>, KernelError> {
		let x = Array::<S>::read(x)?;
		Ok(Array {
			shape: x.shape,
			data: x.data.into_iter().map(|v| T::from_integer(v.into())).collect(),
		})
	}
	let converted = match x.element_type {
		ElementType::F32 => {
			let x = Array::<f32>::read(x)?;
			Array { shape: x.shape, data: x.data.into_iter().map(T::from_float).collect() }
		}
		ElementType::I32 => integers::<i32, T>(x)?,
		ElementType::I64 => integers::<i64, T>(x)?,
		ElementType::U8 => integers::<u8, T>(x)?,
		ElementType::I8 => integers::<i8, T>(x)?,
		_ => return Err(KernelError::ElementType),
	};
	converted.into_tensor()
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

	#[test]
	fn clip_bounds_each_side_and_lets_nan_through() {
		let x = f32s(&[4], &[-1.0, 0.5, 7.0, f32::NAN]);
		let (zero, six) = (f32s(&[], &[0.0]), f32s(&[1], &[6.0]));
		let out = |inputs: &[Tensor]| {
			Array::<f32>::read(&run(&Op::Clip, inputs).unwrap()[0]).unwrap().data
		};
		let clipped = out(&[x.clone(), zero.clone(), six.clone()]);
		assert_eq!(clipped[..3], [0.0, 0.5, 6.0]);
		assert!(clipped[3].is_nan());
		assert_eq!(out(&[x.clone(), zero.clone()])[..3], [0.0, 0.5, 7.0]);
		// A low bound over the high one gives the high one, as min(max(x, low), high).
		assert_eq!(out(&[x.clone(), six.clone(), zero.clone()])[..3], [0.0, 0.0, 0.0]);
		let bytes = Tensor {
			element_type: ElementType::U8,
			shape: vec![3].try_into().unwrap(),
			data: vec![1, 128, 250],
		};
		let low =
			Tensor { element_type: ElementType::U8, shape: Default::default(), data: vec![128] };
		assert_eq!(run(&Op::Clip, &[bytes, low]).unwrap()[0].data, [128, 128, 250]);
		assert_eq!(run(&Op::Clip, &[x, f32s(&[2], &[0.0, 1.0])]), Err(KernelError::Shape));
	}

	#[test]
	fn casts_truncate_saturate_and_wrap() {
		let x = f32s(&[5], &[-1.7, 2.9, 300.0, -300.0, f32::NAN]);
		let cast =
			|to, x: &Tensor| run(&Op::Cast { to }, core::slice::from_ref(x)).unwrap().remove(0);
		assert_eq!(cast(ElementType::I8, &x).data, [0xff, 2, 127, 0x80, 0]);
		assert_eq!(cast(ElementType::U8, &x).data, [0, 2, 255, 0, 0]);
		let ints = Tensor::from_i32(&[3], &[300, -1, 16_777_217]).unwrap();
		assert_eq!(cast(ElementType::U8, &ints).data, [44, 255, 1]);
		assert_eq!(cast(ElementType::F32, &ints), f32s(&[3], &[300.0, -1.0, 16_777_216.0]));
		assert_eq!(run(&Op::Cast { to: ElementType::F16 }, &[ints]), Err(KernelError::ElementType));
	}
}
