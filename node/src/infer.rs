//! `haca-node infer`: run a model on local input files, as an executor would.

use std::path::PathBuf;

use codec::Encode;
use haca_engine::{npy, Plan};
use haca_primitives::tensor::{Tensor, TensorSpec};

/// Runs an ONNX model on `.npy` inputs and prints the model hash, the output tensors and
/// the output hash an executor would attest to; optionally writes the outputs as `.npy`.
#[derive(Debug, clap::Parser)]
pub struct InferCmd {
	/// The ONNX model file.
	#[arg(long, value_name = "FILE")]
	pub model: PathBuf,

	/// Input tensors in graph order, as NumPy `.npy` files.
	#[arg(long = "input", value_name = "FILE", required = true)]
	pub inputs: Vec<PathBuf>,

	/// Directory to write the outputs to, as `output_<index>.npy`.
	#[arg(long, value_name = "DIR")]
	pub output_dir: Option<PathBuf>,
}

fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
	std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
}

fn describe(tensor: &Tensor) -> String {
	format!("{:?} {:?}, {} bytes", tensor.element_type, tensor.shape.to_vec(), tensor.data.len())
}

impl InferCmd {
	/// Runs the model and reports.
	pub fn run(&self) -> sc_cli::Result<()> {
		let bytes = read(&self.model)?;
		let inputs = self
			.inputs
			.iter()
			.map(|path| {
				npy::read(&read(path)?).map_err(|error| format!("{}: {error}", path.display()))
			})
			.collect::<Result<Vec<_>, String>>()?;
		let specs: Vec<TensorSpec> = inputs
			.iter()
			.enumerate()
			.map(|(index, tensor)| TensorSpec {
				name: format!("input_{index}").into_bytes().try_into().expect("short name"),
				element_type: tensor.element_type,
				shape: tensor.shape.clone(),
			})
			.collect();
		let plan = Plan::discover(&bytes, &specs).map_err(|error| error.to_string())?;
		let outputs = plan.run(inputs.clone()).map_err(|error| error.to_string())?;

		println!("model hash:  0x{}", hex(&sp_crypto_hashing::blake2_256(&bytes)));
		println!("input hash:  0x{}", hex(&sp_crypto_hashing::blake2_256(&inputs.encode())));
		for (index, tensor) in inputs.iter().enumerate() {
			println!("input {index}:     {}", describe(tensor));
		}
		for (index, tensor) in outputs.iter().enumerate() {
			println!("output {index}:    {}", describe(tensor));
		}
		println!("output hash: 0x{}", hex(&sp_crypto_hashing::blake2_256(&outputs.encode())));
		if let Some(dir) = &self.output_dir {
			std::fs::create_dir_all(dir).map_err(|error| error.to_string())?;
			for (index, tensor) in outputs.iter().enumerate() {
				let path = dir.join(format!("output_{index}.npy"));
				std::fs::write(&path, npy::write(tensor))
					.map_err(|error| format!("cannot write {}: {error}", path.display()))?;
			}
		}
		Ok(())
	}
}
