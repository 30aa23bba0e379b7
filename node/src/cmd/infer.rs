//! `haca-node infer`: run a model on local input files, as an executor would.

use std::path::{Path, PathBuf};

use codec::Encode;
use haca_engine::{npy, proto, Plan};
use haca_primitives::tensor::{decode_tensors, Tensor, TensorSpec};
use sp_core::bytes::to_hex;

/// Runs an ONNX model on local input files and prints the model hash, the output tensors
/// and the output hash an executor would attest to; optionally writes the outputs.
#[derive(Debug, clap::Parser)]
pub struct InferCmd {
	/// The ONNX model file.
	#[arg(long, value_name = "FILE")]
	pub model: PathBuf,

	/// Input tensors in graph order: NumPy `.npy` or ONNX `TensorProto` `.pb` files (none
	/// for a model without inputs).
	#[arg(long = "input", value_name = "FILE")]
	pub inputs: Vec<PathBuf>,

	/// Directory to write the outputs to, as `output_<index>.<npy|pb>`.
	#[arg(long, value_name = "DIR")]
	pub output_dir: Option<PathBuf>,

	/// Format of the written outputs.
	#[arg(long, value_enum, default_value_t = TensorFormat::Npy)]
	pub output_format: TensorFormat,

	/// Largest size of an output axis the data sets (the count of `NonZero`'s indices, say):
	/// a run whose output is larger fails, naming it.
	#[arg(long, value_name = "SIZE", default_value_t = haca_engine::DATA_DEPENDENT_MAX)]
	pub max_output_dim: u32,
}

/// File formats for tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TensorFormat {
	/// NumPy `.npy`.
	Npy,
	/// ONNX `TensorProto` (`.pb`).
	Pb,
}

impl TensorFormat {
	/// The format of a file, by its extension.
	fn of(path: &Path) -> Result<Self, String> {
		match path.extension().and_then(|ext| ext.to_str()) {
			Some("npy") => Ok(Self::Npy),
			Some("pb") => Ok(Self::Pb),
			_ => Err(format!("{}: unknown tensor format (use .npy or .pb)", path.display())),
		}
	}

	fn extension(self) -> &'static str {
		match self {
			Self::Npy => "npy",
			Self::Pb => "pb",
		}
	}

	fn read(self, bytes: &[u8]) -> Result<Tensor, String> {
		match self {
			Self::Npy => npy::read(bytes).map_err(|error| error.to_string()),
			Self::Pb => proto::read(bytes).map_err(|error| error.to_string()),
		}
	}

	fn write(self, tensor: &Tensor, name: &str) -> Result<Vec<u8>, String> {
		match self {
			Self::Npy => npy::write(tensor).map_err(|error| format!("{name}: {error}")),
			Self::Pb => Ok(proto::write(tensor, name)),
		}
	}
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
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
				TensorFormat::of(path)?
					.read(&read(path)?)
					.map_err(|error| format!("{}: {error}", path.display()))
			})
			.collect::<Result<Vec<_>, String>>()?;
		let specs: Vec<TensorSpec> = inputs
			.iter()
			.enumerate()
			.map(|(index, tensor)| TensorSpec {
				name: format!("input_{index}").into_bytes().try_into().expect("short name"),
				element_type: tensor.element_type,
				shape: tensor.shape.clone(),
				variable_axes: 0,
			})
			.collect();
		let plan = Plan::discover(&bytes, &specs, self.max_output_dim)
			.map_err(|error| error.to_string())?;
		let outputs = plan.run(&inputs.encode()).map_err(|error| error.to_string())?;
		let outputs = decode_tensors(&outputs).map_err(|error| format!("outputs: {error:?}"))?;

		println!("model hash:  {}", to_hex(&sp_crypto_hashing::blake2_256(&bytes), false));
		println!(
			"input hash:  {}",
			to_hex(&sp_crypto_hashing::blake2_256(&inputs.encode()), false)
		);
		for (index, tensor) in inputs.iter().enumerate() {
			println!("input {index}:     {}", describe(tensor));
		}
		for (index, tensor) in outputs.iter().enumerate() {
			println!("output {index}:    {}", describe(tensor));
		}
		println!(
			"output hash: {}",
			to_hex(&sp_crypto_hashing::blake2_256(&outputs.encode()), false)
		);
		if let Some(dir) = &self.output_dir {
			std::fs::create_dir_all(dir).map_err(|error| error.to_string())?;
			for (index, tensor) in outputs.iter().enumerate() {
				let name = format!("output_{index}");
				let format = self.output_format;
				let path = dir.join(format!("{name}.{}", format.extension()));
				std::fs::write(&path, format.write(tensor, &name)?)
					.map_err(|error| format!("cannot write {}: {error}", path.display()))?;
			}
		}
		Ok(())
	}
}
