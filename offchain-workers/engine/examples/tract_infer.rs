//! Runs an ONNX model with tract alone, none of HACA's wrapper around it: the baseline the
//! conformance report (`scripts/onnx-conformance.sh`) holds `haca-node infer` against.
//!
//! `tract_infer MODEL OUTPUT_DIR INPUT.pb...` reads the inputs as tract reads ONNX tensors,
//! fixes the model's inputs to their types and shapes, optimises and runs it, and writes
//! output `i` as an ONNX `TensorProto` to `OUTPUT_DIR/output_<i>.pb`.

use std::{path::PathBuf, process::ExitCode};

use prost::Message;
use tract_onnx::{
	data_resolver::FopenDataResolver,
	pb::{tensor_proto::DataType, TensorProto},
	prelude::*,
	tensor::{load_tensor, proto_from_reader},
};

fn main() -> ExitCode {
	let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
	let [model, out, inputs @ ..] = &args[..] else {
		eprintln!("usage: tract_infer MODEL OUTPUT_DIR INPUT.pb...");
		return ExitCode::from(2);
	};
	match run(model, out, inputs) {
		Ok(()) => ExitCode::SUCCESS,
		Err(error) => {
			eprintln!("{error:#}");
			ExitCode::FAILURE
		}
	}
}

fn run(model: &PathBuf, out: &PathBuf, inputs: &[PathBuf]) -> TractResult<()> {
	let inputs = inputs
		.iter()
		.map(|path| {
			let proto = proto_from_reader(std::fs::File::open(path)?)?;
			load_tensor(&FopenDataResolver, &proto, None)
		})
		.collect::<TractResult<Vec<Tensor>>>()?;
	let mut model = tract_onnx::onnx().model_for_path(model)?;
	for (index, input) in inputs.iter().enumerate() {
		model.set_input_fact(index, InferenceFact::dt_shape(input.datum_type(), input.shape()))?;
	}
	let runnable = model.into_optimized()?.into_runnable()?;
	let outputs = runnable.run(inputs.into_iter().map(TValue::from).collect())?;
	std::fs::create_dir_all(out)?;
	for (index, output) in outputs.iter().enumerate() {
		let proto = to_proto(output, &format!("output_{index}"))?;
		std::fs::write(out.join(format!("output_{index}.pb")), proto.encode_to_vec())?;
	}
	Ok(())
}

/// A tract tensor as an ONNX `TensorProto` (symbolic dimensions as int64).
fn to_proto(tensor: &Tensor, name: &str) -> TractResult<TensorProto> {
	let tensor = match tensor.datum_type() {
		DatumType::TDim => tensor.cast_to_dt(DatumType::I64)?.into_owned(),
		_ => tensor.clone(),
	};
	let data_type = match tensor.datum_type() {
		DatumType::Bool => DataType::Bool,
		DatumType::U8 => DataType::Uint8,
		DatumType::U16 => DataType::Uint16,
		DatumType::U32 => DataType::Uint32,
		DatumType::U64 => DataType::Uint64,
		DatumType::I8 => DataType::Int8,
		DatumType::I16 => DataType::Int16,
		DatumType::I32 => DataType::Int32,
		DatumType::I64 => DataType::Int64,
		DatumType::F16 => DataType::Float16,
		DatumType::F32 => DataType::Float,
		DatumType::F64 => DataType::Double,
		DatumType::String => DataType::String,
		other => return Err(TractError::msg(format!("no ONNX tensor type for tract's {other:?}"))),
	};
	let mut proto = TensorProto {
		name: name.into(),
		dims: tensor.shape().iter().map(|&dim| dim as i64).collect(),
		data_type: data_type as i32,
		..Default::default()
	};
	let view = tensor.try_as_plain_ram()?;
	if data_type == DataType::String {
		proto.string_data =
			view.as_slice::<String>()?.iter().map(|s| s.as_bytes().to_vec()).collect();
	} else {
		proto.raw_data = view.as_bytes().to_vec();
	}
	Ok(proto)
}
