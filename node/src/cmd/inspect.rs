//! `haca-node inspect`: the registration dry-run. It reads a model as executors will and
//! prints what `models.register` takes, or what stops executors from running it.

use std::path::PathBuf;

use codec::Encode;
use haca_engine::{sample_inputs, DimBounds, Plan};
use haca_primitives::tensor::TensorSpec;
use sp_core::bytes::to_hex;

/// Reads an ONNX model as executors will, its dynamic dimensions up to the sizes given, runs
/// it once on a sample input of the largest shapes, and prints the model hash, its size and
/// the input and output specs to register (JSON, as `models.register`'s `inputs` and
/// `outputs`). A model executors could not run is refused with what stops it: an operator
/// tract lacks (with its node), an unsupported type, a dynamic dimension without a bound.
#[derive(Debug, clap::Parser)]
pub struct InspectCmd {
	/// The ONNX model file.
	#[arg(long, value_name = "FILE")]
	pub model: PathBuf,

	/// Largest size of a dimension the graph names, as `NAME=SIZE` (`--bound batch=8` for a
	/// batch exported as `batch`); repeatable.
	#[arg(long = "bound", value_name = "NAME=SIZE", value_parser = parse_bound)]
	pub bounds: Vec<(String, u32)>,

	/// Largest size of every dynamic input dimension the graph leaves unnamed (as skl2onnx
	/// leaves the batch).
	#[arg(long, value_name = "SIZE")]
	pub unnamed_bound: Option<u32>,

	/// Largest size of an output axis the data sets (the count of `NonZero`'s indices, say).
	#[arg(long, value_name = "SIZE", default_value_t = haca_engine::DATA_DEPENDENT_MAX)]
	pub max_output_dim: u32,
}

fn parse_bound(text: &str) -> Result<(String, u32), String> {
	let (name, size) = text.split_once('=').ok_or("expected NAME=SIZE")?;
	let size = size.parse().map_err(|_| format!("{size}: not a size"))?;
	Ok((name.to_owned(), size))
}

/// A spec as people read it: `x: F32[≤8, 6]`.
fn describe(spec: &TensorSpec) -> String {
	format!("{}: {spec}", String::from_utf8_lossy(&spec.name))
}

impl InspectCmd {
	/// Reads and tries the model, and reports.
	pub fn run(&self) -> sc_cli::Result<()> {
		let bytes = std::fs::read(&self.model)
			.map_err(|error| format!("cannot read {}: {error}", self.model.display()))?;
		let bounds =
			DimBounds { named: self.bounds.iter().cloned().collect(), unnamed: self.unnamed_bound };
		let inputs = Plan::declared_inputs(&bytes, &bounds).map_err(|error| error.to_string())?;
		let plan = Plan::discover(&bytes, &inputs, self.max_output_dim)
			.map_err(|error| error.to_string())?;
		plan.run(&sample_inputs(&inputs).encode())
			.map_err(|error| format!("a sample run at the largest shapes failed: {error}"))?;

		println!("model hash:  {}", to_hex(&sp_crypto_hashing::blake2_256(&bytes), false));
		println!("byte size:   {}", bytes.len());
		for (index, spec) in inputs.iter().enumerate() {
			println!("input {index}:     {}", describe(spec));
		}
		for (index, spec) in plan.outputs().iter().enumerate() {
			println!("output {index}:    {}", describe(spec));
		}
		let specs = serde_json::json!({ "inputs": inputs, "outputs": plan.outputs() });
		println!("{specs}");
		Ok(())
	}
}
