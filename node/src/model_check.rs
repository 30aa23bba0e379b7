//! The registration dry run: a model read as executors will read it, its dynamic dimensions
//! up to given sizes, and run once on a sample input of the largest shapes. Shared by
//! `haca-node inspect` and the `haca_checkModel` RPC.

use codec::Encode;
use haca_engine::{sample_inputs, DimBounds, Plan};
use haca_primitives::tensor::{decode_tensors, Tensor, TensorSpec};
use sp_core::H256;

/// A model this node's engine reads and runs.
#[derive(Debug)]
pub struct CheckedModel {
	/// Its hash (blake2-256 of the bytes).
	pub hash: H256,
	/// Its size in bytes.
	pub byte_size: usize,
	/// The input specs to register.
	pub inputs: Vec<TensorSpec>,
	/// The output specs to register.
	pub outputs: Vec<TensorSpec>,
	/// The sample input it ran on (the largest shapes).
	pub sample: Vec<Tensor>,
	/// What it gave.
	pub sample_outputs: Vec<Tensor>,
}

/// Reads and runs `bytes` as executors will; the error says what stops it: an operator tract
/// lacks (with its node), an unsupported type, a dynamic dimension without a bound, or the
/// sample run's failure.
pub fn check_model(
	bytes: &[u8],
	bounds: &DimBounds,
	max_output_dim: u32,
) -> Result<CheckedModel, String> {
	let inputs = Plan::declared_inputs(bytes, bounds).map_err(|error| error.to_string())?;
	let plan = Plan::discover(bytes, &inputs, max_output_dim).map_err(|error| error.to_string())?;
	let sample = sample_inputs(&inputs);
	let outputs = plan
		.run(&sample.encode())
		.map_err(|error| format!("a sample run at the largest shapes failed: {error}"))?;
	let sample_outputs = decode_tensors(&outputs).map_err(|error| format!("{error:?}"))?;
	Ok(CheckedModel {
		hash: H256(sp_crypto_hashing::blake2_256(bytes)),
		byte_size: bytes.len(),
		inputs,
		outputs: plan.outputs().to_vec(),
		sample,
		sample_outputs,
	})
}
