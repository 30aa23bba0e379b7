//! Convolution and pooling over NCHW images.

use alloc::{vec, vec::Vec};
use haca_primitives::tensor::Tensor;

use crate::{
	array::{count, output_count, sum, Array},
	input, KernelError,
};

/// The output size of one spatial axis: `size` padded by `before` and `after`, a window of
/// `window` (dilation included) moved by `stride`.
fn output_size(
	size: usize,
	before: u32,
	after: u32,
	window: usize,
	stride: u32,
) -> Result<usize, KernelError> {
	let padded = size + before as usize + after as usize;
	let stride = (stride as usize).max(1);
	match padded.checked_sub(window) {
		Some(room) if window > 0 => Ok(room / stride + 1),
		_ => Err(KernelError::Shape),
	}
}

/// The four dimensions of an NCHW tensor.
fn nchw<T>(array: &Array<T>) -> Result<[usize; 4], KernelError> {
	array.shape.as_slice().try_into().map_err(|_| KernelError::Shape)
}

/// `Conv`: each output is its bias (if any) added after the sum over the group's input
/// channels, then kernel rows, then kernel columns, of input times weight, padding skipped.
pub(crate) fn conv(
	inputs: &[Tensor],
	pads: [u32; 4],
	strides: [u32; 2],
	dilations: [u32; 2],
	group: u32,
) -> Result<Tensor, KernelError> {
	let x = Array::<f32>::read(input(inputs, 2..=3, 0)?)?;
	let w = Array::<f32>::read(input(inputs, 2..=3, 1)?)?;
	let bias = inputs.get(2).map(Array::<f32>::read).transpose()?;
	let mut y = convolve(&x, &w, pads, strides, dilations, group, 0.0, |acc, x, w| acc + x * w)?;
	if let Some(bias) = bias {
		if bias.shape[..] != y.shape[1..2] {
			return Err(KernelError::Shape);
		}
		let plane = count(&y.shape[2..]);
		for (at, value) in y.data.iter_mut().enumerate() {
			*value += bias.data[at / plane % bias.data.len()];
		}
	}
	y.into_tensor()
}

/// The 2-D convolution of NCHW `x` by MCHW `w`: each output folded by `mac` from `zero`
/// over the group's input channels, then kernel rows, then kernel columns, padding skipped.
#[allow(clippy::too_many_arguments)]
pub(crate) fn convolve<T: Copy, A: Copy>(
	x: &Array<T>,
	w: &Array<T>,
	pads: [u32; 4],
	strides: [u32; 2],
	dilations: [u32; 2],
	group: u32,
	zero: A,
	mac: impl Fn(A, T, T) -> A,
) -> Result<Array<A>, KernelError> {
	let [n, c, h, width] = nchw(x)?;
	let [m, group_channels, kh, kw] = nchw(w)?;
	let group = group as usize;
	if group == 0 || c != group_channels * group || m % group != 0 {
		return Err(KernelError::Attribute);
	}
	let [dh, dw] = dilations.map(|d| (d as usize).max(1));
	let oh = output_size(h, pads[0], pads[2], dh * kh.saturating_sub(1) + 1, strides[0])?;
	let ow = output_size(width, pads[1], pads[3], dw * kw.saturating_sub(1) + 1, strides[1])?;
	let [sh, sw] = strides.map(|s| (s as usize).max(1));
	let maps_per_group = m / group;
	let mut data = Vec::with_capacity(output_count(&[n, m, oh, ow])?);
	for image in 0..n {
		for map in 0..m {
			let first_channel = map / maps_per_group * group_channels;
			for oy in 0..oh {
				for ox in 0..ow {
					let mut acc = zero;
					for channel in 0..group_channels {
						let plane = &x.data[((image * c) + first_channel + channel) * h * width..]
							[..h * width];
						let kernel =
							&w.data[(map * group_channels + channel) * kh * kw..][..kh * kw];
						for ky in 0..kh {
							let row = (oy * sh + ky * dh).checked_sub(pads[0] as usize);
							let Some(row) = row.filter(|row| *row < h) else { continue };
							for kx in 0..kw {
								let column = (ox * sw + kx * dw).checked_sub(pads[1] as usize);
								let Some(column) = column.filter(|column| *column < width) else {
									continue;
								};
								acc = mac(acc, plane[row * width + column], kernel[ky * kw + kx]);
							}
						}
					}
					data.push(acc);
				}
			}
		}
	}
	Array::new(vec![n, m, oh, ow], data)
}

/// Each pooling window of each plane of NCHW `x` folded by `add` from `start` over its
/// elements inside the image (rows, then columns), then `finish`ed with their count.
fn pool<A: Copy>(
	x: &Array<f32>,
	kernel: [u32; 2],
	pads: [u32; 4],
	strides: [u32; 2],
	start: A,
	add: impl Fn(A, f32) -> A,
	finish: impl Fn(A, usize) -> f32,
) -> Result<Tensor, KernelError> {
	let [n, c, h, w] = nchw(x)?;
	if h == 0 || w == 0 {
		return Err(KernelError::Shape);
	}
	let [kh, kw] = kernel.map(|k| k as usize);
	let oh = output_size(h, pads[0], pads[2], kh, strides[0])?;
	let ow = output_size(w, pads[1], pads[3], kw, strides[1])?;
	let [sh, sw] = strides.map(|s| (s as usize).max(1));
	// The indices inside an axis of `len` of a window of `size` from padded index `first`.
	let inside = |first: usize, size: usize, pad: u32, len: usize| {
		let end = (first + size).saturating_sub(pad as usize).min(len);
		first.saturating_sub(pad as usize).min(end)..end
	};
	let mut data = Vec::with_capacity(output_count(&[n, c, oh, ow])?);
	for plane in x.data.chunks_exact(count(&[h, w])) {
		for oy in 0..oh {
			let rows = inside(oy * sh, kh, pads[0], h);
			for ox in 0..ow {
				let columns = inside(ox * sw, kw, pads[1], w);
				let mut acc = start;
				for y in rows.clone() {
					for &value in &plane[y * w..][columns.clone()] {
						acc = add(acc, value);
					}
				}
				data.push(finish(acc, rows.len() * columns.len()));
			}
		}
	}
	Array::new(vec![n, c, oh, ow], data)?.into_tensor()
}

/// `MaxPool`: the largest of each window's elements inside the image, NaNs skipped (a window
/// of NaNs only gives negative infinity).
pub(crate) fn max_pool(
	inputs: &[Tensor],
	kernel: [u32; 2],
	pads: [u32; 4],
	strides: [u32; 2],
) -> Result<Tensor, KernelError> {
	let x = Array::<f32>::read(input(inputs, 1..=1, 0)?)?;
	let larger = |max: f32, value: f32| if value > max { value } else { max };
	pool(&x, kernel, pads, strides, f32::NEG_INFINITY, larger, |max, _| max)
}

/// `AveragePool`: the sum of each window's elements inside the image, from zero in order,
/// divided by their count, or by the window's size if `count_include_pad`.
pub(crate) fn average_pool(
	inputs: &[Tensor],
	kernel: [u32; 2],
	pads: [u32; 4],
	strides: [u32; 2],
	count_include_pad: bool,
) -> Result<Tensor, KernelError> {
	let x = Array::<f32>::read(input(inputs, 1..=1, 0)?)?;
	// A pad as large as the window would leave windows with nothing to average.
	if pads[0].max(pads[2]) >= kernel[0] || pads[1].max(pads[3]) >= kernel[1] {
		return Err(KernelError::Attribute);
	}
	let size = kernel[0] as f32 * kernel[1] as f32;
	pool(
		&x,
		kernel,
		pads,
		strides,
		0.0f32,
		|total, value| total + value,
		|total, terms| total / if count_include_pad { size } else { terms as f32 },
	)
}

/// `GlobalAveragePool`: each channel's plane summed in order and divided by its size.
pub(crate) fn global_average_pool(inputs: &[Tensor]) -> Result<Tensor, KernelError> {
	let x = Array::<f32>::read(input(inputs, 1..=1, 0)?)?;
	if x.shape.len() < 3 {
		return Err(KernelError::Shape);
	}
	let plane = count(&x.shape[2..]);
	if plane == 0 {
		return Err(KernelError::Shape);
	}
	let data = x
		.data
		.chunks_exact(plane)
		.map(|values| sum(values.iter().copied()) / plane as f32)
		.collect();
	let mut shape = x.shape.clone();
	shape[2..].iter_mut().for_each(|dim| *dim = 1);
	Array::new(shape, data)?.into_tensor()
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{run, Op};

	fn f32s(dims: &[u32], values: &[f32]) -> Tensor {
		Tensor::from_f32(dims, values).unwrap()
	}

	fn image() -> Tensor {
		f32s(&[1, 1, 3, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
	}

	#[test]
	fn conv_pads_strides_and_adds_bias() {
		let ones = f32s(&[1, 1, 2, 2], &[1.0; 4]);
		let bias = f32s(&[1], &[0.5]);
		let plain = Op::Conv { pads: [0; 4], strides: [1, 1], dilations: [1, 1], group: 1 };
		assert_eq!(
			run(&plain, &[image(), ones.clone(), bias.clone()]).unwrap(),
			vec![f32s(&[1, 1, 2, 2], &[12.5, 16.5, 24.5, 28.5])]
		);
		let padded = Op::Conv { pads: [1, 1, 0, 0], strides: [2, 2], dilations: [1, 1], group: 1 };
		assert_eq!(
			run(&padded, &[image(), ones.clone()]).unwrap(),
			vec![f32s(&[1, 1, 2, 2], &[1.0, 5.0, 11.0, 28.0])]
		);
		let dilated = Op::Conv { pads: [0; 4], strides: [1, 1], dilations: [2, 2], group: 1 };
		assert_eq!(
			run(&dilated, &[image(), ones.clone()]).unwrap(),
			vec![f32s(&[1, 1, 1, 1], &[20.0])]
		);
		let two_groups = Op::Conv { pads: [0; 4], strides: [1, 1], dilations: [1, 1], group: 2 };
		assert_eq!(run(&two_groups, &[image(), ones]), Err(KernelError::Attribute));
	}

	#[test]
	fn pools_take_the_max_inside_the_image_and_the_mean_of_planes() {
		let op = Op::MaxPool { kernel: [2, 2], pads: [1, 1, 1, 1], strides: [2, 2] };
		assert_eq!(run(&op, &[image()]).unwrap(), vec![f32s(&[1, 1, 2, 2], &[1.0, 3.0, 7.0, 9.0])]);
		let nan = f32s(&[1, 1, 1, 2], &[f32::NAN, 2.0]);
		let whole = Op::MaxPool { kernel: [1, 2], pads: [0; 4], strides: [1, 1] };
		assert_eq!(run(&whole, &[nan]).unwrap(), vec![f32s(&[1, 1, 1, 1], &[2.0])]);
		assert_eq!(
			run(&Op::GlobalAveragePool, &[image()]).unwrap(),
			vec![f32s(&[1, 1, 1, 1], &[5.0])]
		);
	}

	#[test]
	fn average_pool_divides_by_the_elements_or_the_window() {
		let average = |count_include_pad| Op::AveragePool {
			kernel: [2, 2],
			pads: [1, 1, 0, 0],
			strides: [2, 2],
			count_include_pad,
		};
		// Windows: {1}, {2, 3}, {4, 7}, {5, 6, 8, 9}.
		assert_eq!(
			run(&average(false), &[image()]).unwrap(),
			vec![f32s(&[1, 1, 2, 2], &[1.0, 2.5, 5.5, 7.0])]
		);
		assert_eq!(
			run(&average(true), &[image()]).unwrap(),
			vec![f32s(&[1, 1, 2, 2], &[0.25, 1.25, 2.75, 7.0])]
		);
		let padded_beyond = Op::AveragePool {
			kernel: [2, 2],
			pads: [2, 0, 0, 0],
			strides: [1, 1],
			count_include_pad: false,
		};
		assert_eq!(run(&padded_beyond, &[image()]), Err(KernelError::Attribute));
	}
}
