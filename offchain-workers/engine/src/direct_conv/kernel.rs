//! The convolution itself: a float32, NCHW, group-1, unit-stride, unit-dilation convolution
//! computed directly, without an im2col matrix.
//!
//! The input is copied once into a zero-padded buffer of rows `padded_w` wide. Output point
//! `(h, w)` then reads tap `(i, j)` of channel `c` at `c * plane + (h + i) * padded_w + w + j`:
//! numbering output points `q = h * padded_w + w`, consecutive points read consecutive input
//! elements for every tap. So the kernel computes a [`Block`] of consecutive points (one to
//! three 16-lane vectors) of several output channels at a time, each tap one load a vector
//! and one broadcast weight a channel, and drops the `kernel_w - 1` points of each row that
//! fall in the padding.
//!
//! Every output is `bias + Σ_c Σ_i Σ_j w * x`, summed in that order with one fused
//! multiply-add a term: [`convolve_portable`] computes the same sums in the same order, so
//! the vector kernel's outputs equal it bit for bit.

/// One image through a convolution: geometry, block, packed weights, bias, image, output
/// planes.
pub type Convolve = fn(&Geometry, Block, &[f32], &[f32], &[f32], &mut [f32]);

/// What the vector kernel computes at a time: output channels by vectors of 16 consecutive
/// points, 24 accumulator registers in each shape.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Block {
	/// 8 channels by 3 vectors: wide images.
	Wide,
	/// 12 channels by 2 vectors.
	Square,
	/// 24 channels by 1 vector: small images.
	Tall,
}

impl Block {
	/// Output channels in a block.
	pub fn channels(self) -> usize {
		match self {
			Block::Wide => 8,
			Block::Square => 12,
			Block::Tall => 24,
		}
	}

	/// Consecutive output points in a block.
	pub fn points(self) -> usize {
		16 * 24 / self.channels()
	}

	/// The block that computes the fewest values for `geometry`, padding channels and
	/// points included (the widest of equals).
	pub fn for_geometry(geometry: &Geometry) -> Self {
		let work = |block: Block| {
			let channels = geometry.output_channels.div_ceil(block.channels()) * block.channels();
			channels * geometry.points(block).1
		};
		[Block::Wide, Block::Square, Block::Tall]
			.into_iter()
			.min_by_key(|block| work(*block))
			.expect("three blocks")
	}
}

/// The shape of one convolution, for one image of a batch.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub struct Geometry {
	pub input_channels: usize,
	pub output_channels: usize,
	pub input_h: usize,
	pub input_w: usize,
	pub kernel_h: usize,
	pub kernel_w: usize,
	/// Zero rows above and below, columns left and right of the input.
	pub pads: [usize; 4],
}

impl Geometry {
	fn padded(&self) -> (usize, usize) {
		let [top, bottom, left, right] = self.pads;
		(self.input_h + top + bottom, self.input_w + left + right)
	}

	/// Rows and columns of each output channel (`None` when the kernel outgrows the padded
	/// input).
	pub fn output_hw(&self) -> Option<(usize, usize)> {
		let (padded_h, padded_w) = self.padded();
		Some((
			(padded_h + 1).checked_sub(self.kernel_h).filter(|h| *h > 0)?,
			(padded_w + 1).checked_sub(self.kernel_w).filter(|w| *w > 0)?,
		))
	}

	/// Output points computed per channel (`padded_w` a row, padding columns included), and
	/// those rounded up to whole blocks.
	fn points(&self, block: Block) -> (usize, usize) {
		let (output_h, _) = self.output_hw().expect("checked when the op was built");
		let points = output_h * self.padded().1;
		(points, points.div_ceil(block.points()) * block.points())
	}

	fn taps(&self) -> usize {
		self.kernel_h * self.kernel_w
	}
}

/// Weights laid out for the kernel: per block's output channels, per input channel, per
/// tap, the block's channels side by side (zeros past the last channel).
pub fn pack(geometry: &Geometry, block: Block, oihw: &[f32]) -> Vec<f32> {
	let (channels, taps, width) = (geometry.input_channels, geometry.taps(), block.channels());
	let blocks = geometry.output_channels.div_ceil(width);
	let mut packed = vec![0.0; blocks * channels * taps * width];
	for (index, weight) in oihw.iter().enumerate() {
		let (output, rest) = (index / (channels * taps), index % (channels * taps));
		let (block, lane) = (output / width, output % width);
		packed[(block * channels * taps + rest) * width + lane] = *weight;
	}
	packed
}

/// The input copied into zero-padded rows, with room for the last block's reads.
fn pad_input(geometry: &Geometry, block: Block, image: &[f32]) -> Vec<f32> {
	let (padded_h, padded_w) = geometry.padded();
	let [top, _, left, _] = geometry.pads;
	let (points, rounded) = geometry.points(block);
	let plane = padded_h * padded_w;
	let mut padded =
		vec![0.0; geometry.input_channels * plane + (rounded - points) + geometry.kernel_w];
	for (channel, rows) in image.chunks_exact(geometry.input_h * geometry.input_w).enumerate() {
		for (row, values) in rows.chunks_exact(geometry.input_w).enumerate() {
			let start = channel * plane + (row + top) * padded_w + left;
			padded[start..start + geometry.input_w].copy_from_slice(values);
		}
	}
	padded
}

/// The offset of each tap from an output point's first input element, in the padded input.
fn tap_offsets(geometry: &Geometry) -> Vec<usize> {
	let padded_w = geometry.padded().1;
	(0..geometry.kernel_h)
		.flat_map(|i| (0..geometry.kernel_w).map(move |j| i * padded_w + j))
		.collect()
}

/// Output channels' sums at every computed point (`rounded` a channel), into the output
/// image: padding columns dropped, `bias` (one value, or one a channel) added.
fn write_output(geometry: &Geometry, block: Block, sums: &[f32], bias: &[f32], output: &mut [f32]) {
	let (output_h, output_w) = geometry.output_hw().expect("checked when the op was built");
	let (padded_w, (_, rounded)) = (geometry.padded().1, geometry.points(block));
	for (channel, image) in output.chunks_exact_mut(output_h * output_w).enumerate() {
		let bias = if bias.len() == 1 { bias[0] } else { bias[channel] };
		for (row, values) in image.chunks_exact_mut(output_w).enumerate() {
			let sums = &sums[channel * rounded + row * padded_w..][..output_w];
			for (value, sum) in values.iter_mut().zip(sums) {
				*value = sum + bias;
			}
		}
	}
}

/// What both kernels start from: the padded input, the taps' offsets in it, and the sums
/// they fill (`rounded` points of each block's channels, padding channels included).
struct Frame {
	padded: Vec<f32>,
	offsets: Vec<usize>,
	/// Elements of one padded input channel.
	plane: usize,
	/// Points computed per channel, before and after rounding up to whole blocks.
	points: usize,
	rounded: usize,
	/// Packed weights of one block of output channels.
	block_weights: usize,
	sums: Vec<f32>,
}

impl Frame {
	fn new(geometry: &Geometry, block: Block, packed: &[f32], image: &[f32]) -> Self {
		let (offsets, (points, rounded)) = (tap_offsets(geometry), geometry.points(block));
		let blocks = geometry.output_channels.div_ceil(block.channels());
		let block_weights = geometry.input_channels * offsets.len() * block.channels();
		assert_eq!(packed.len(), blocks * block_weights, "weights packed for this geometry");
		Frame {
			padded: pad_input(geometry, block, image),
			offsets,
			plane: geometry.padded().0 * geometry.padded().1,
			points,
			rounded,
			block_weights,
			sums: vec![0.0; blocks * block.channels() * rounded],
		}
	}
}

/// One image through the convolution, with the vector kernel where this machine has
/// AVX-512, the portable one elsewhere: `output` holds `output_channels` planes.
pub fn convolve(
	geometry: &Geometry,
	block: Block,
	packed: &[f32],
	bias: &[f32],
	image: &[f32],
	output: &mut [f32],
) {
	#[cfg(target_arch = "x86_64")]
	if std::is_x86_feature_detected!("avx512f") {
		let convolve = match block {
			Block::Wide => avx512::convolve::<8, 3>,
			Block::Square => avx512::convolve::<12, 2>,
			Block::Tall => avx512::convolve::<24, 1>,
		};
		// SAFETY: the machine has AVX-512F (checked above).
		return unsafe { convolve(geometry, block, packed, bias, image, output) };
	}
	convolve_portable(geometry, block, packed, bias, image, output)
}

/// Whether this machine runs the vector kernel (elsewhere tract's own convolution is
/// faster than the portable one).
pub fn vectorised() -> bool {
	#[cfg(target_arch = "x86_64")]
	return std::is_x86_feature_detected!("avx512f");
	#[allow(unreachable_code)]
	false
}

/// The same sums as the vector kernel, in the same order, one point at a time.
pub fn convolve_portable(
	geometry: &Geometry,
	block: Block,
	packed: &[f32],
	bias: &[f32],
	image: &[f32],
	output: &mut [f32],
) {
	let Frame { padded, offsets, plane, points, rounded, block_weights, mut sums } =
		Frame::new(geometry, block, packed, image);
	let width = block.channels();
	for (index, weights) in packed.chunks_exact(block_weights).enumerate() {
		for lane in 0..width {
			let sums = &mut sums[(index * width + lane) * rounded..][..points];
			for (point, sum) in sums.iter_mut().enumerate() {
				let mut acc = 0.0f32;
				for channel in 0..geometry.input_channels {
					let input = &padded[channel * plane + point..];
					for (tap, offset) in offsets.iter().enumerate() {
						let weight = weights[(channel * offsets.len() + tap) * width + lane];
						acc = weight.mul_add(input[*offset], acc);
					}
				}
				*sum = acc;
			}
		}
	}
	write_output(geometry, block, &sums, bias, output);
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
	use std::arch::x86_64::*;

	use super::*;

	/// [`super::convolve`] with AVX-512, `CHANNELS` output channels by `VECTORS` vectors of
	/// points at a time (`block`'s).
	///
	/// # Safety
	/// The machine has AVX-512F.
	#[target_feature(enable = "avx512f")]
	pub(super) unsafe fn convolve<const CHANNELS: usize, const VECTORS: usize>(
		geometry: &Geometry,
		block: Block,
		packed: &[f32],
		bias: &[f32],
		image: &[f32],
		output: &mut [f32],
	) {
		assert_eq!((block.channels(), block.points()), (CHANNELS, 16 * VECTORS));
		let Frame { padded, offsets, plane, rounded, block_weights, mut sums, .. } =
			Frame::new(geometry, block, packed, image);
		for (index, weights) in packed.chunks_exact(block_weights).enumerate() {
			for first in (0..rounded).step_by(16 * VECTORS) {
				let mut acc = [[_mm512_setzero_ps(); VECTORS]; CHANNELS];
				for channel in 0..geometry.input_channels {
					let weights = &weights[channel * offsets.len() * CHANNELS..];
					for (tap, offset) in offsets.iter().enumerate() {
						// In bounds: `pad_input` leaves room for the last block's reads.
						let input = padded.as_ptr().add(channel * plane + first + offset);
						let points: [__m512; VECTORS] =
							std::array::from_fn(|vector| _mm512_loadu_ps(input.add(16 * vector)));
						let weights = &weights[tap * CHANNELS..][..CHANNELS];
						for (acc, weight) in acc.iter_mut().zip(weights) {
							let weight = _mm512_set1_ps(*weight);
							for (acc, points) in acc.iter_mut().zip(points) {
								*acc = _mm512_fmadd_ps(weight, points, *acc);
							}
						}
					}
				}
				for (lane, acc) in acc.iter().enumerate() {
					let row = &mut sums[(index * CHANNELS + lane) * rounded + first..];
					for (vector, acc) in acc.iter().enumerate() {
						_mm512_storeu_ps(row[16 * vector..][..16].as_mut_ptr(), *acc);
					}
				}
			}
		}
		write_output(geometry, block, &sums, bias, output);
	}
}
