//! How much computing an operator's run takes at most, in units of work: one unit is about
//! one multiply-add, or one element read, written or passed through a function. The runtime
//! charges a re-executed operator by it, so it bounds every kernel's loops from above.

use haca_primitives::tensor::Tensor;

use crate::Op;

/// Passes over the data the element-wise and normalising kernels make at most (softmax and
/// layer normalisation read their input three times and write once).
const PASSES: u64 = 4;

/// Units an element of `libm`'s `exp`, `tanh` or `erf` counts for: one such call costs
/// about as much as this many multiply-adds.
const FUNCTION: u64 = 32;

/// Units a requantised output counts for (`QLinearMatMul` and `QLinearConv` round each sum
/// exactly).
const REQUANTISE: u64 = 8;

// Besides: each output of a windowed operator or a matrix product counts `PASSES` units
// (its window's bounds, its bias), each row a layer normalisation normalises a `FUNCTION`
// (its square root and division), each element an index walk moves one unit per axis, so
// that no kernel takes more time per unit than the matrix product the weights measure, even
// on its thinnest shapes (a 1x1 window, rows of one).

/// The work [`crate::run`] does at most for `op` on `inputs` (saturating): the elements it
/// reads, the multiply-adds or passes it makes, and the elements it writes.
pub fn work(op: &Op, inputs: &[Tensor]) -> u64 {
	let shape = |index: usize| inputs.get(index).map_or(&[][..], |tensor| &tensor.shape[..]);
	let elements_of = |index: usize| elements(shape(index));
	// Size of axis `from_end` counted from the last (1 if there is none).
	let dim = |index: usize, from_end: usize| {
		let shape = shape(index);
		shape.len().checked_sub(from_end).map_or(1, |axis| u64::from(shape[axis]))
	};
	let largest_dim = |index: usize| u64::from(shape(index).iter().copied().max().unwrap_or(1));
	let read: u64 = (0..inputs.len()).map(elements_of).fold(0, u64::saturating_add);
	let (computed, written) = match op {
		// Each row of `a` against each column of `b`, whichever side broadcasts.
		Op::MatMul | Op::MatMulInteger | Op::QLinearMatMul => {
			// `b` is input 3 of `QLinearMatMul`, after `a`'s scale and zero point.
			let (a, b) = if *op == Op::QLinearMatMul { (0, 3) } else { (0, 1) };
			let batch = |index: usize| {
				let shape = shape(index);
				elements(&shape[..shape.len().saturating_sub(2)])
			};
			let by_a = elements_of(a).saturating_mul(dim(b, 1));
			let by_b = elements_of(b).saturating_mul(dim(a, 2));
			let outputs =
				batch(a).max(batch(b)).saturating_mul(dim(a, 2)).saturating_mul(dim(b, 1));
			let per_output = if *op == Op::QLinearMatMul { REQUANTISE + PASSES } else { PASSES };
			(by_a.max(by_b).saturating_add(outputs.saturating_mul(per_output)), outputs)
		}
		Op::Gemm { .. } => {
			let outputs = largest_dim(0).saturating_mul(largest_dim(1));
			let products = elements_of(0).saturating_mul(largest_dim(1));
			(products.saturating_add(outputs.saturating_mul(PASSES)), outputs)
		}
		// Every weight at every output position, which padding may put beyond the input.
		Op::Conv { pads, .. } | Op::ConvInteger { pads, .. } | Op::QLinearConv { pads, .. } => {
			// `w` is input 3 of `QLinearConv`, after `x`'s scale and zero point.
			let (w, per_output) = match op {
				Op::QLinearConv { .. } => (3, REQUANTISE + PASSES),
				_ => (1, PASSES),
			};
			let positions = padded_plane(inputs.first(), pads);
			let outputs = positions.saturating_mul(dim(w, 4));
			let products = elements_of(w).saturating_mul(positions);
			(products.saturating_add(outputs.saturating_mul(per_output)), outputs)
		}
		Op::MaxPool { kernel, pads, .. } | Op::AveragePool { kernel, pads, .. } => {
			let planes = elements(shape(0).get(..2).unwrap_or_default());
			let window = u64::from(kernel[0]).saturating_mul(u64::from(kernel[1]));
			let outputs = planes.saturating_mul(padded_plane(inputs.first(), pads));
			(outputs.saturating_mul(window.saturating_add(PASSES)), outputs)
		}
		Op::LayerNormalization { axis, .. } => {
			let rows = elements_but(shape(0), |at| at >= resolved(*axis, shape(0)));
			(read.saturating_mul(PASSES).saturating_add(rows.saturating_mul(FUNCTION)), read)
		}
		Op::Transpose { .. } | Op::Slice => {
			let rank = shape(0).len() as u64;
			(read.saturating_mul(PASSES + rank), read.max(1))
		}
		Op::Add | Op::Sub | Op::Mul | Op::Div => {
			let outputs = broadcast(inputs);
			(outputs.saturating_mul(PASSES), outputs)
		}
		Op::Sigmoid | Op::Tanh | Op::Erf | Op::Softmax { .. } => {
			(read.saturating_mul(FUNCTION), read)
		}
		// Each index copies the input's entry: everything but the axis.
		Op::Gather { axis } => {
			let outputs = elements_but(shape(0), |at| at == resolved(*axis, shape(0)))
				.saturating_mul(elements_of(1));
			(outputs.saturating_mul(PASSES), outputs)
		}
		// A mean for each index of the kept axes, even over an empty axis.
		Op::ReduceMean { axes, .. } => {
			let reduced =
				|at| axes.is_empty() || axes.iter().any(|&axis| resolved(axis, shape(0)) == at);
			(read.saturating_mul(PASSES), read.max(elements_but(shape(0), reduced)))
		}
		// The rest write at most as many elements as they read (a reduction to a scalar: one).
		_ => (read.saturating_mul(PASSES), read.max(1)),
	};
	read.saturating_add(computed).saturating_add(written)
}

/// `axis` of `shape` counted from the last if negative (out of range if it is).
fn resolved(axis: i8, shape: &[u32]) -> usize {
	let axis = if axis < 0 { shape.len() as i64 + i64::from(axis) } else { axis.into() };
	usize::try_from(axis).unwrap_or(usize::MAX)
}

/// Elements of `shape` without the axes `skipped` picks.
fn elements_but(shape: &[u32], skipped: impl Fn(usize) -> bool) -> u64 {
	shape
		.iter()
		.enumerate()
		.filter(|(at, _)| !skipped(*at))
		.fold(1, |product, (_, &dim)| product.saturating_mul(u64::from(dim)))
}

fn elements(shape: &[u32]) -> u64 {
	shape.iter().map(|&dim| u64::from(dim)).fold(1, u64::saturating_mul)
}

/// Positions of an NCHW input's plane with its padding, times its batch (0 for another
/// rank).
fn padded_plane(input: Option<&Tensor>, pads: &[u32; 4]) -> u64 {
	let Some(input) = input.filter(|input| input.shape.len() == 4) else { return 0 };
	let height = u64::from(input.shape[2]) + u64::from(pads[0]) + u64::from(pads[2]);
	let width = u64::from(input.shape[3]) + u64::from(pads[1]) + u64::from(pads[3]);
	u64::from(input.shape[0]).saturating_mul(height).saturating_mul(width)
}

/// Elements of the broadcast of the inputs' shapes (each axis its largest size).
fn broadcast(inputs: &[Tensor]) -> u64 {
	let rank = inputs.iter().map(|tensor| tensor.shape.len()).max().unwrap_or(0);
	(0..rank)
		.map(|from_end| {
			inputs
				.iter()
				.filter_map(|tensor| {
					tensor.shape.len().checked_sub(from_end + 1).map(|axis| tensor.shape[axis])
				})
				.max()
				.map_or(1, u64::from)
		})
		.fold(1, u64::saturating_mul)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn zeros(dims: &[u32]) -> Tensor {
		Tensor::from_f32(dims, &alloc::vec![0.0; elements(dims) as usize]).unwrap()
	}

	#[test]
	fn products_are_charged_every_multiply_add() {
		// [2, 3] x [3, 4]: 24 multiply-adds, 18 elements read.
		assert!(work(&Op::MatMul, &[zeros(&[2, 3]), zeros(&[3, 4])]) >= 24 + 18);
		// A batch of 5 on one side: 5 · 24.
		assert!(work(&Op::MatMul, &[zeros(&[2, 3]), zeros(&[5, 3, 4])]) >= 5 * 24);
		assert!(work(&Op::MatMul, &[zeros(&[5, 2, 3]), zeros(&[3, 4])]) >= 5 * 24);
		// 8 filters of 3x3 over 4 channels on a 6x6 plane padded by one: 36 positions of
		// 8 · 4 · 9 multiply-adds.
		let conv = Op::Conv { pads: [1; 4], strides: [1; 2], dilations: [1; 2], group: 1 };
		let inputs = [zeros(&[1, 4, 6, 6]), zeros(&[8, 4, 3, 3])];
		let output = &crate::run(&conv, &inputs).unwrap()[0];
		assert_eq!(&output.shape[..], &[1, 8, 6, 6]);
		assert!(work(&conv, &inputs) >= 36 * 8 * 4 * 9);
	}
}
