//! Tensors as arrays of their elements: read from the canonical encoding, computed on, and
//! written back.

use alloc::vec::Vec;
use haca_primitives::tensor::{check_elements, ElementType, Tensor};

use crate::{KernelError, MAX_ELEMENTS};

/// An element type the kernels compute on.
pub(crate) trait Element: Copy {
	/// The tensor element type of these values.
	const TYPE: ElementType;
	/// The value of its little-endian bytes.
	fn read(bytes: &[u8]) -> Self;
	/// Appends its little-endian bytes.
	fn write(self, out: &mut Vec<u8>);
}

macro_rules! element {
	($type:ty, $element:ident, $canonical:expr) => {
		impl Element for $type {
			const TYPE: ElementType = ElementType::$element;

			fn read(bytes: &[u8]) -> Self {
				let mut le = [0u8; core::mem::size_of::<$type>()];
				le.copy_from_slice(bytes);
				<$type>::from_le_bytes(le)
			}

			fn write(self, out: &mut Vec<u8>) {
				let canonical: fn($type) -> $type = $canonical;
				out.extend_from_slice(&canonical(self).to_le_bytes());
			}
		}
	};
}

// A NaN's bits are not the same on every machine (WebAssembly leaves them open): every NaN
// is written as the one quiet NaN, `0x7fc00000`.
element!(f32, F32, |x| if x.is_nan() { f32::NAN } else { x });
element!(i32, I32, |x| x);
element!(i64, I64, |x| x);
element!(u8, U8, |x| x);
element!(i8, I8, |x| x);

/// A tensor's shape and elements, row-major.
#[derive(Clone, PartialEq, Debug)]
pub(crate) struct Array<T> {
	pub shape: Vec<usize>,
	pub data: Vec<T>,
}

impl<T: Element> Array<T> {
	/// The elements of `tensor`, which must be of `T`'s type and hold as many as its shape.
	pub fn read(tensor: &Tensor) -> Result<Self, KernelError> {
		if tensor.element_type != T::TYPE {
			return Err(KernelError::ElementType);
		}
		let count = tensor.element_count().ok_or(KernelError::Shape)?;
		check_elements(T::TYPE, count, &tensor.data).map_err(|_| KernelError::Shape)?;
		let width = core::mem::size_of::<T>();
		Ok(Self {
			shape: tensor.shape.iter().map(|&dim| dim as usize).collect(),
			data: tensor.data.chunks_exact(width).map(T::read).collect(),
		})
	}

	/// The tensor of these elements.
	pub fn into_tensor(self) -> Result<Tensor, KernelError> {
		let dims: Vec<u32> = self
			.shape
			.iter()
			.map(|&dim| u32::try_from(dim).map_err(|_| KernelError::TooLarge))
			.collect::<Result<_, _>>()?;
		let mut data = Vec::with_capacity(self.data.len() * core::mem::size_of::<T>());
		self.data.into_iter().for_each(|value| value.write(&mut data));
		Ok(Tensor {
			element_type: T::TYPE,
			shape: dims.try_into().map_err(|_| KernelError::TooLarge)?,
			data,
		})
	}
}

impl<T> Array<T> {
	/// An array of `shape` holding `data`, which must have as many elements.
	pub fn new(shape: Vec<usize>, data: Vec<T>) -> Result<Self, KernelError> {
		match shape.iter().try_fold(1usize, |count, &dim| count.checked_mul(dim)) {
			Some(count) if count == data.len() => Ok(Self { shape, data }),
			_ => Err(KernelError::Shape),
		}
	}
}

/// Number of elements of `shape`, saturating: exact for a part of a tensor's shape, and too
/// large to match anything where a part of an empty tensor's shape overflows.
pub(crate) fn count(shape: &[usize]) -> usize {
	shape.iter().fold(1usize, |count, &dim| count.saturating_mul(dim))
}

/// Number of elements of an output of `shape`, if at most [`MAX_ELEMENTS`]: checked before
/// anything is allocated for it.
pub(crate) fn output_count(shape: &[usize]) -> Result<usize, KernelError> {
	shape
		.iter()
		.try_fold(1usize, |count, &dim| count.checked_mul(dim))
		.filter(|&count| count <= MAX_ELEMENTS)
		.ok_or(KernelError::TooLarge)
}

/// Row-major strides of `shape`.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
	let mut strides = alloc::vec![1usize; shape.len()];
	for axis in (0..shape.len().saturating_sub(1)).rev() {
		strides[axis] = strides[axis + 1].saturating_mul(shape[axis + 1]);
	}
	strides
}

/// The shape `a` and `b` broadcast to (NumPy's rule, aligned on the last axis).
pub(crate) fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, KernelError> {
	let rank = a.len().max(b.len());
	let dim = |shape: &[usize], axis: usize| {
		let offset = rank - shape.len();
		if axis < offset {
			1
		} else {
			shape[axis - offset]
		}
	};
	(0..rank)
		.map(|axis| match (dim(a, axis), dim(b, axis)) {
			(x, y) if x == y || y == 1 => Ok(x),
			(1, y) => Ok(y),
			_ => Err(KernelError::Shape),
		})
		.collect()
}

/// The strides with which an array of `shape` is read when broadcast to `out`: zero along
/// the axes it is repeated on.
pub(crate) fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
	let offset = out.len() - shape.len();
	let own = strides(shape);
	(0..out.len())
		.map(|axis| match axis.checked_sub(offset) {
			Some(at) if shape[at] != 1 => own[at],
			_ => 0,
		})
		.collect()
}

/// `f` of the elements of `a` and `b` broadcast together.
pub(crate) fn zip_broadcast<T: Copy, U>(
	a: &Array<T>,
	b: &Array<T>,
	mut f: impl FnMut(T, T) -> Result<U, KernelError>,
) -> Result<Array<U>, KernelError> {
	let shape = broadcast_shape(&a.shape, &b.shape)?;
	let (a_strides, b_strides) =
		(broadcast_strides(&a.shape, &shape), broadcast_strides(&b.shape, &shape));
	let total = output_count(&shape)?;
	let mut data = Vec::with_capacity(total);
	let mut index = alloc::vec![0usize; shape.len()];
	let (mut at_a, mut at_b) = (0usize, 0usize);
	for _ in 0..total {
		data.push(f(a.data[at_a], b.data[at_b])?);
		for axis in (0..shape.len()).rev() {
			index[axis] += 1;
			at_a += a_strides[axis];
			at_b += b_strides[axis];
			if index[axis] < shape[axis] {
				break;
			}
			at_a -= a_strides[axis] * shape[axis];
			at_b -= b_strides[axis] * shape[axis];
			index[axis] = 0;
		}
	}
	Ok(Array { shape, data })
}

/// `values` summed from the first to the last, starting at zero.
pub(crate) fn sum(values: impl IntoIterator<Item = f32>) -> f32 {
	values.into_iter().fold(0.0, |total, value| total + value)
}
