//! Engine benchmark: throughput of the executor path (canonical decoding and spec checks,
//! the bounded thread pool, tract, canonical encoding, the host function's result encoding
//! and the output hash) against raw tract running the same optimised model on the same
//! input, measured in alternating rounds of the same run. Also the first-load (optimise)
//! time and the memory a cached plan takes.
//!
//! `cargo bench -p haca-engine --bench inference -- [MODEL_DIR]` (default: the committed
//! models; `scripts/bench-engine.sh` adds the large generated ones).

use std::{
	path::{Path, PathBuf},
	time::{Duration, Instant},
};

use codec::Encode;
use haca_engine::{Engine, EngineConfig, EngineError};
use haca_primitives::tensor::{ElementType, Tensor, TensorSpec};
use tract_onnx::prelude::*;

/// A benchmarked model: its file and its input shape (float32 inputs, as generated).
struct Model {
	file: &'static str,
	input_shape: &'static [u32],
}

const MODELS: &[Model] = &[
	Model { file: "mlp.onnx", input_shape: &[1, 4] },
	Model { file: "cnn_small.onnx", input_shape: &[1, 3, 16, 16] },
	Model { file: "mlp_large.onnx", input_shape: &[1, 256] },
	Model { file: "cnn_large.onnx", input_shape: &[1, 3, 64, 64] },
];

/// Alternating rounds per path; the median round counts.
const ROUNDS: usize = 7;
/// Shortest round.
const ROUND_TIME: Duration = Duration::from_millis(300);

fn input_values(count: usize) -> Vec<f32> {
	(0..count).map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0).collect()
}

/// Resident memory of this process, in bytes.
fn resident_bytes() -> u64 {
	let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
	let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
	pages * 4096
}

/// Runs `step` in rounds of at least `ROUND_TIME`; the median throughput, per second.
fn throughput(mut step: impl FnMut()) -> f64 {
	let mut per_round = Vec::with_capacity(ROUNDS);
	for _ in 0..ROUNDS {
		let (mut runs, start) = (0u64, Instant::now());
		while start.elapsed() < ROUND_TIME {
			step();
			runs += 1;
		}
		per_round.push(runs as f64 / start.elapsed().as_secs_f64());
	}
	per_round.sort_by(f64::total_cmp);
	per_round[ROUNDS / 2]
}

fn bench(dir: &Path, model: &Model) -> Result<Option<String>, String> {
	let path = dir.join(model.file);
	let Ok(bytes) = std::fs::read(&path) else { return Ok(None) };
	let dims: Vec<usize> = model.input_shape.iter().map(|&d| d as usize).collect();
	let values = input_values(dims.iter().product());

	// Raw tract: the model optimised and run directly.
	let raw = tract_onnx::onnx()
		.model_for_read(&mut &bytes[..])
		.and_then(|m| m.with_input_fact(0, f32::fact(&dims).into()))
		.and_then(|m| m.into_optimized())
		.and_then(|m| m.into_runnable())
		.map_err(|e| format!("{}: {e}", model.file))?;
	let raw_input: TValue =
		tract_ndarray::ArrayD::from_shape_vec(dims.clone(), values.clone()).unwrap().into_tvalue();

	// The executor path.
	let spec = TensorSpec {
		name: b"input".to_vec().try_into().unwrap(),
		element_type: ElementType::F32,
		shape: model.input_shape.to_vec().try_into().unwrap(),
	};
	let outputs = haca_engine::Plan::discover(&bytes, &[spec.clone()])
		.map_err(|e| format!("{}: {e}", model.file))?
		.outputs()
		.to_vec();
	let engine = Engine::new(EngineConfig { threads: 1, ..Default::default() }, None);
	let hash = sp_crypto_hashing::blake2_256(&bytes);
	let memory_before = resident_bytes();
	let load_start = Instant::now();
	engine.load(hash, &bytes, &[spec], &outputs).map_err(|e| e.to_string())?;
	let load_time = load_start.elapsed();
	let memory = resident_bytes().saturating_sub(memory_before);
	let input = vec![Tensor {
		element_type: ElementType::F32,
		shape: model.input_shape.to_vec().try_into().unwrap(),
		data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
	}]
	.encode();

	let mut raw_rate = 0.0;
	let mut engine_rate = 0.0;
	// Alternate the two paths so that noise from the shared machine hits both alike.
	for _ in 0..2 {
		raw_rate += throughput(|| {
			std::hint::black_box(raw.run(tvec![raw_input.clone()]).expect("raw tract runs"));
		});
		engine_rate += throughput(|| {
			let result: Result<Vec<u8>, EngineError> = engine.run(&hash, &input);
			let encoded = result.as_ref().map_err(|_| ()).encode();
			let outputs = result.expect("the engine runs");
			std::hint::black_box((sp_crypto_hashing::blake2_256(&outputs), encoded));
		});
	}
	Ok(Some(format!(
		"{:<16} {:>14.1} {:>16.1} {:>7.3}x {:>12.1} {:>10.1}",
		model.file,
		raw_rate / 2.0,
		engine_rate / 2.0,
		engine_rate / raw_rate,
		load_time.as_secs_f64() * 1000.0,
		memory as f64 / (1024.0 * 1024.0),
	)))
}

fn main() {
	let dir = std::env::args()
		.skip(1)
		.find(|arg| !arg.starts_with('-'))
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"));
	println!("engine benchmark, models in {}", dir.display());
	println!(
		"{:<16} {:>14} {:>16} {:>8} {:>12} {:>10}",
		"model", "raw tract /s", "executor path /s", "ratio", "load ms", "cache MiB"
	);
	for model in MODELS {
		match bench(&dir, model) {
			Ok(Some(line)) => println!("{line}"),
			Ok(None) => {
				println!("{:<16} (not generated: scripts/bench-engine.sh makes it)", model.file)
			}
			Err(error) => {
				eprintln!("error: {error}");
				std::process::exit(1);
			}
		}
	}
}
