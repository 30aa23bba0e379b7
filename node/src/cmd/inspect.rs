//! `haca-node inspect`: the registration dry-run. It reads a model as executors will and
//! prints what `models.register` takes, or what stops executors from running it, how
//! disputes over its results can be decided, and whether its runs can be proven.

use std::{path::PathBuf, time::Instant};

use codec::Encode;
use haca_engine::{lowering, DimBounds};
use haca_primitives::{
	dispute::GraphCommitment,
	tensor::{ulp_distance, Tensor, TensorSpec},
};
use sp_core::bytes::to_hex;

use crate::model_check::check_model;

/// Reads an ONNX model as executors will, its dynamic dimensions up to the sizes given, runs
/// it once on a sample input of the largest shapes, and prints the model hash, its size and
/// the input and output specs and dispute graph to register (JSON, as `models.register`'s
/// `inputs`, `outputs` and `graph`). A model executors could not run is refused with what stops it: an operator
/// tract lacks (with its node), an unsupported type, a dynamic dimension without a bound.
/// Then lowers the model to its dispute graph and traces the sample through it: the graph's
/// size and roots and how far the trace ends from the engine's outputs, or the node that
/// leaves disputes to a committee. Last, compiles the graph to a circuit and proves the
/// sample's run: the circuit to register for proven jobs (`circuit`, hex), its proof's size
/// and times, or what makes the model unprovable.
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
		let checked = check_model(&bytes, &bounds, self.max_output_dim)?;

		println!("model hash:  {}", to_hex(checked.hash.as_bytes(), false));
		println!("byte size:   {}", checked.byte_size);
		for (index, spec) in checked.inputs.iter().enumerate() {
			println!("input {index}:     {}", describe(spec));
		}
		for (index, spec) in checked.outputs.iter().enumerate() {
			println!("output {index}:    {}", describe(spec));
		}
		let (disputes, graph) = disputes(&bytes, &checked.sample, &checked.sample_outputs);
		println!("disputes:    {disputes}");
		let (proofs, circuit) = proofs(&bytes, &checked.sample, &checked.sample_outputs);
		println!("proofs:      {proofs}");
		let circuit = circuit.map(|circuit| to_hex(&circuit, false));
		let terms = serde_json::json!({
			"inputs": checked.inputs,
			"outputs": checked.outputs,
			"graph": graph,
			"circuit": circuit,
		});
		println!("{terms}");
		Ok(())
	}
}

/// How disputes over the model's results are decided: by the chain, over its dispute graph
/// (whose trace of `sample` ends within some ULPs of the engine's `outputs`), or by a
/// committee, and why; with the graph's commitment when the chain decides.
fn disputes(
	bytes: &[u8],
	sample: &[Tensor],
	outputs: &[Tensor],
) -> (String, Option<GraphCommitment>) {
	let committee = |reason: String| (format!("by a committee: {reason}"), None);
	let lowered = match lowering::lower(bytes) {
		Ok(lowered) => lowered,
		Err(error) => return committee(error.to_string()),
	};
	let graph = &lowered.graph;
	let trace = match graph.trace(sample) {
		Ok(trace) => trace,
		Err(error) => return committee(format!("the sample's trace fails: {error:?}")),
	};
	let Some(ulps) = largest_difference(&trace.outputs, outputs) else {
		return committee("the trace's outputs differ from the engine's in type or shape".into());
	};
	let commitment = match graph.commitment(sample) {
		Ok(commitment) => commitment,
		Err(error) => return committee(format!("the sample's trace fails: {error:?}")),
	};
	let text = format!(
		"by the chain: {} operator{} (lowering {}), graph root {:?}, weights root {:?}, \
		 largest step {} units of work, {} bytes of inputs; the sample's trace ends {ulps} ULPs \
		 from the engine at most (the model's tolerance must be at least that)",
		commitment.nodes,
		if commitment.nodes == 1 { "" } else { "s" },
		commitment.lowering,
		commitment.graph_root,
		commitment.weights_root,
		commitment.largest_step,
		commitment.largest_step_bytes,
	);
	(text, Some(commitment))
}

/// Whether the model's runs can be proven: its circuit (compiled from its dispute graph)
/// proves the `sample`'s run, the proof verifies, and the proven outputs are the engine's
/// `outputs` bit for bit; with the circuit's encoding when they can.
fn proofs(bytes: &[u8], sample: &[Tensor], outputs: &[Tensor]) -> (String, Option<Vec<u8>>) {
	let unprovable = |reason: String| (format!("not provable: {reason}"), None);
	let graph = match lowering::lower(bytes) {
		Ok(lowered) => lowered.graph,
		Err(error) => return unprovable(error.to_string()),
	};
	let [input] = sample else {
		return unprovable("the model does not take one input tensor".into());
	};
	let circuit =
		match haca_proof::compile::compile(&graph, input.shape.get(1..).unwrap_or_default()) {
			Ok(circuit) => circuit,
			Err(error) => return unprovable(format!("{error:?}")),
		};
	let layout = match circuit.layout() {
		Ok(layout) => layout,
		Err(error) => return unprovable(format!("{error:?}")),
	};
	let Some(quanta) = circuit.input_quanta(input) else {
		return unprovable("the input does not convert to the circuit's quanta".into());
	};
	let started = Instant::now();
	let (proven, proof) = match haca_proof::prover::prove(&circuit, [0; 32], &quanta) {
		Ok(proved) => proved,
		Err(error) => return unprovable(format!("the sample's proof fails: {error:?}")),
	};
	let proving = started.elapsed();
	if circuit.output_tensor(&proven).as_ref() != outputs.first() {
		return unprovable("the circuit's outputs are not the engine's bit for bit".into());
	}
	let statement = haca_proof::Statement::new(circuit.clone(), [0; 32], quanta, proven);
	let started = Instant::now();
	let verified = statement.map(|statement| haca_proof::verify(statement, &proof));
	if verified != Ok(Ok(())) {
		return unprovable(format!("the sample's proof does not verify: {verified:?}"));
	}
	let text = format!(
		"provable: {} layer{}, {} trace columns, {} rows a sample; the sample's proof: {} bytes, \
		 proven in {} ms, verified natively in {} ms, its outputs the engine's bit for bit",
		circuit.layers.len(),
		if circuit.layers.len() == 1 { "" } else { "s" },
		layout.columns(),
		layout.period,
		proof.len(),
		proving.as_millis(),
		started.elapsed().as_millis(),
	);
	(text, Some(circuit.encode()))
}

/// The largest ULP distance between the float elements of two tensor lists of the same types
/// and shapes (integers must be equal); `None` if they differ otherwise.
fn largest_difference(a: &[Tensor], b: &[Tensor]) -> Option<u64> {
	let mut largest = 0;
	for (x, y) in a.iter().zip(b) {
		if x.element_type != y.element_type || x.shape != y.shape || x.data.len() != y.data.len() {
			return None;
		}
		let (Some(format), Some(width)) = (x.element_type.float_format(), x.element_type.width())
		else {
			if x.data != y.data {
				return None;
			}
			continue;
		};
		for (p, q) in x.data.chunks_exact(width).zip(y.data.chunks_exact(width)) {
			let bits = |bytes: &[u8]| {
				let mut wide = [0u8; 8];
				wide[..width].copy_from_slice(bytes);
				u64::from_le_bytes(wide)
			};
			largest = largest.max(ulp_distance(bits(p), bits(q), format));
		}
	}
	(a.len() == b.len()).then_some(largest)
}
