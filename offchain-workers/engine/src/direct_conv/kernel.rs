//! The convolution itself: a float32, NCHW, group-1, unit-stride, unit-dilation convolution
//! computed directly, without an im2col matrix.
//!
//! The input is copied once into a zero-padded buffer of rows `padded_w` wide. Output point
//! `(h, w)` then reads tap `(i, j)` of channel `c` at `c * plane + (h + i) * padded_w + w + j`:
//! consecutive points of a row read consecutive input elements for every tap. So the kernel
//! computes a [`Block`] of 16-lane vectors of points (one to three) of several output channels
//! at a time, each tap one load a vector and one broadcast weight a channel. The [`Layout`]
//! says which points a vector holds: 16 consecutive points of the padded rows, dropping the
//! `kernel_w - 1` points of each row that fall in the padding, or, for images at most 16
//! points wide, one output row, dropping the lanes past its end.
//!
//! Every output is `bias + Σ_c Σ_i Σ_j w * x`, summed in that order with one fused
//! multiply-add a term: [`convolve_portable`] computes the same sums in the same order, so
//! the vector kernel's outputs equal it bit for bit. An [`Epilogue`] (ReLU, 2x2 max-pooling)
//! applies as the outputs are written, with tract's operations in tract's order.

/// One image through a convolution: geometry, block and layout, epilogue, packed weights,
/// bias, image, output planes.
pub type Convolve = fn(&Geometry, (Block, Layout), Epilogue, &[f32], &[f32], &[f32], &mut [f32]);

/// What the vector kernel computes at a time: output channels by 16-lane vectors of points
/// (which points, the [`Layout`] says), 24 accumulator registers in each shape.
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

	/// Vectors of 16 points in a block.
	pub fn vectors(self) -> usize {
		24 / self.channels()
	}
}

/// Which output points a vector of 16 lanes holds.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Layout {
	/// 16 consecutive points of the padded rows: vector `k` starts at point `16 * k` (row
	/// `16 * k / padded_w`); the points of each row in the padding are computed and dropped.
	Flat,
	/// One output row a vector: vector `k` is row `k`, its lanes past the row's end computed
	/// and dropped. For images at most 16 points wide.
	Rows,
}

/// What a convolution's outputs go through as they are written: the operators that follow
/// convolutions in CNNs, fused into them.
#[derive(Debug, Clone, Copy, Default, Hash, PartialEq, Eq)]
pub struct Epilogue {
	/// ReLU: `max(x, 0)` of each output.
	pub relu: bool,
	/// Max-pooling over 2x2 windows at stride 2, without padding (a last odd row or column is
	/// dropped): the largest of each window, half the rows and columns.
	pub pool: bool,
}

impl Epilogue {
	/// Rows and columns of each output channel of a convolution of `geometry` followed by
	/// this epilogue (`None` when none are left).
	pub fn output_hw(self, geometry: &Geometry) -> Option<(usize, usize)> {
		let (rows, columns) = geometry.output_hw()?;
		let (rows, columns) = if self.pool { (rows / 2, columns / 2) } else { (rows, columns) };
		(rows > 0 && columns > 0).then_some((rows, columns))
	}
}

/// The block and layout that compute the fewest values for `geometry`, padding channels,
/// points and lanes included (of equals, the flat layout, then the widest block).
pub fn tiling(geometry: &Geometry) -> (Block, Layout) {
	let work = |(block, layout): (Block, Layout)| {
		let channels = geometry.output_channels.div_ceil(block.channels()) * block.channels();
		channels * geometry.vectors(block, layout)
	};
	[Layout::Flat, Layout::Rows]
		.into_iter()
		.filter(|layout| geometry.fits(*layout))
		.flat_map(|layout| [Block::Wide, Block::Square, Block::Tall].map(|block| (block, layout)))
		.min_by_key(|tiling| work(*tiling))
		.expect("the flat layout fits every geometry")
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

	/// Whether `layout` can hold this geometry's output rows.
	pub fn fits(&self, layout: Layout) -> bool {
		match layout {
			Layout::Flat => true,
			Layout::Rows => self.output_hw().is_some_and(|(_, output_w)| output_w <= 16),
		}
	}

	/// Vectors computed per output channel in `layout`, rounded up to whole blocks.
	fn vectors(&self, block: Block, layout: Layout) -> usize {
		let (output_h, _) = self.output_hw().expect("checked when the op was built");
		let needed = match layout {
			Layout::Flat => (output_h * self.padded().1).div_ceil(16),
			Layout::Rows => output_h,
		};
		needed.div_ceil(block.vectors()) * block.vectors()
	}

	/// In `layout`: how far apart consecutive vectors start in a padded input channel, and
	/// consecutive output rows in a channel's sums.
	fn strides(&self, layout: Layout) -> (usize, usize) {
		let padded_w = self.padded().1;
		match layout {
			Layout::Flat => (16, padded_w),
			Layout::Rows => (padded_w, 16),
		}
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

/// The input copied into zero-padded rows, with room for the last block's reads in
/// `layout`.
fn pad_input(geometry: &Geometry, block: Block, layout: Layout, image: &[f32]) -> Vec<f32> {
	let (padded_h, padded_w) = geometry.padded();
	let [top, _, left, _] = geometry.pads;
	let plane = padded_h * padded_w;
	let last_tap = (geometry.kernel_h - 1) * padded_w + geometry.kernel_w - 1;
	let last_vector = (geometry.vectors(block, layout) - 1) * geometry.strides(layout).0;
	let reach = (geometry.input_channels - 1) * plane + last_vector + last_tap + 16;
	let mut padded = vec![0.0; reach.max(geometry.input_channels * plane)];
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

/// Output channels' sums at every computed point (`16 * vectors` a channel, in `layout`),
/// into the output image: points and lanes outside it dropped, `bias` (one value, or one a
/// channel) added, then `epilogue` applied as tract would: ReLU, then each window's largest
/// value, folded from `f32::MIN` in row order.
fn write_output(
	geometry: &Geometry,
	(block, layout): (Block, Layout),
	epilogue: Epilogue,
	sums: &[f32],
	bias: &[f32],
	output: &mut [f32],
) {
	let (rows, columns) = epilogue.output_hw(geometry).expect("checked when the op was built");
	let (rounded, (_, row_stride)) =
		(16 * geometry.vectors(block, layout), geometry.strides(layout));
	let relu = |value: f32| if epilogue.relu { value.max(0.0) } else { value };
	for (channel, image) in output.chunks_exact_mut(rows * columns).enumerate() {
		let bias = if bias.len() == 1 { bias[0] } else { bias[channel] };
		let sums = &sums[channel * rounded..];
		for (row, values) in image.chunks_exact_mut(columns).enumerate() {
			if epilogue.pool {
				let at = |row: usize, column: usize| relu(sums[row * row_stride + column] + bias);
				for (column, value) in values.iter_mut().enumerate() {
					let (row, column) = (2 * row, 2 * column);
					*value = [
						(row, column),
						(row, column + 1),
						(row + 1, column),
						(row + 1, column + 1),
					]
					.into_iter()
					.fold(f32::MIN, |max, (row, column)| max.max(at(row, column)));
				}
			} else {
				let sums = &sums[row * row_stride..][..columns];
				for (value, sum) in values.iter_mut().zip(sums) {
					*value = relu(sum + bias);
				}
			}
		}
	}
}

/// What both kernels start from: the padded input, the taps' offsets in it, and the sums
/// they fill (16 points a vector, `vectors` a channel, padding channels included).
struct Frame {
	padded: Vec<f32>,
	offsets: Vec<usize>,
	/// Elements of one padded input channel.
	plane: usize,
	/// Vectors computed per output channel.
	vectors: usize,
	/// How far apart consecutive vectors start in a padded input channel.
	input_stride: usize,
	/// Packed weights of one block of output channels.
	block_weights: usize,
	sums: Vec<f32>,
}

impl Frame {
	fn new(
		geometry: &Geometry,
		(block, layout): (Block, Layout),
		packed: &[f32],
		image: &[f32],
	) -> Self {
		let offsets = tap_offsets(geometry);
		let vectors = geometry.vectors(block, layout);
		let blocks = geometry.output_channels.div_ceil(block.channels());
		let block_weights = geometry.input_channels * offsets.len() * block.channels();
		assert_eq!(packed.len(), blocks * block_weights, "weights packed for this geometry");
		Frame {
			padded: pad_input(geometry, block, layout, image),
			offsets,
			plane: geometry.padded().0 * geometry.padded().1,
			vectors,
			input_stride: geometry.strides(layout).0,
			block_weights,
			sums: vec![0.0; blocks * block.channels() * 16 * vectors],
		}
	}
}

/// One image through the convolution, with the vector kernel where this machine has
/// AVX-512, the portable one elsewhere: `output` holds `output_channels` planes.
pub fn convolve(
	geometry: &Geometry,
	tiling: (Block, Layout),
	epilogue: Epilogue,
	packed: &[f32],
	bias: &[f32],
	image: &[f32],
	output: &mut [f32],
) {
	#[cfg(target_arch = "x86_64")]
	if std::is_x86_feature_detected!("avx512f") {
		let convolve = match tiling.0 {
			Block::Wide => avx512::convolve::<8, 3>,
			Block::Square => avx512::convolve::<12, 2>,
			Block::Tall => avx512::convolve::<24, 1>,
		};
		// SAFETY: the machine has AVX-512F (checked above).
		return unsafe { convolve(geometry, tiling, epilogue, packed, bias, image, output) };
	}
	convolve_portable(geometry, tiling, epilogue, packed, bias, image, output)
}

/// Whether this machine runs the vector kernel (elsewhere tract's own convolution is
/// faster than the portable one).
pub fn vectorised() -> bool {
	#[cfg(target_arch = "x86_64")]
	return std::is_x86_feature_detected!("avx512f");
	#[allow(unreachable_code)]
	false
}

/// The same sums as the vector kernel, in the same order, one lane at a time.
pub fn convolve_portable(
	geometry: &Geometry,
	tiling: (Block, Layout),
	epilogue: Epilogue,
	packed: &[f32],
	bias: &[f32],
	image: &[f32],
	output: &mut [f32],
) {
	let Frame { padded, offsets, plane, vectors, input_stride, block_weights, mut sums } =
		Frame::new(geometry, tiling, packed, image);
	let width = tiling.0.channels();
	for (index, weights) in packed.chunks_exact(block_weights).enumerate() {
		for lane in 0..width {
			let sums = &mut sums[(index * width + lane) * 16 * vectors..][..16 * vectors];
			for (at, sum) in sums.iter_mut().enumerate() {
				let point = at / 16 * input_stride + at % 16;
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
	write_output(geometry, tiling, epilogue, &sums, bias, output);
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
	use std::arch::x86_64::*;

	use super::*;

	/// [`super::convolve`] with AVX-512, `CHANNELS` output channels by `VECTORS` vectors of
	/// points at a time (`tiling`'s block).
	///
	/// # Safety
	/// The machine has AVX-512F.
	#[target_feature(enable = "avx512f")]
	pub(super) unsafe fn convolve<const CHANNELS: usize, const VECTORS: usize>(
		geometry: &Geometry,
		tiling: (Block, Layout),
		epilogue: Epilogue,
		packed: &[f32],
		bias: &[f32],
		image: &[f32],
		output: &mut [f32],
	) {
		assert_eq!((tiling.0.channels(), tiling.0.vectors()), (CHANNELS, VECTORS));
		let Frame { padded, offsets, plane, vectors, input_stride, block_weights, mut sums } =
			Frame::new(geometry, tiling, packed, image);
		for (index, weights) in packed.chunks_exact(block_weights).enumerate() {
			for first in (0..vectors).step_by(VECTORS) {
				let mut acc = [[_mm512_setzero_ps(); VECTORS]; CHANNELS];
				for channel in 0..geometry.input_channels {
					let weights = &weights[channel * offsets.len() * CHANNELS..];
					// In bounds: `pad_input` leaves room for the last block's reads.
					let start = padded.as_ptr().add(channel * plane + first * input_stride);
					for (tap, offset) in offsets.iter().enumerate() {
						let points: [__m512; VECTORS] = std::array::from_fn(|vector| {
							_mm512_loadu_ps(start.add(vector * input_stride + offset))
						});
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
					let row = &mut sums[((index * CHANNELS + lane) * vectors + first) * 16..];
					for (vector, acc) in acc.iter().enumerate() {
						_mm512_storeu_ps(row[16 * vector..][..16].as_mut_ptr(), *acc);
					}
				}
			}
		}
		write_output(geometry, tiling, epilogue, &sums, bias, output);
	}
}
