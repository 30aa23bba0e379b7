//! Engine benchmark: throughput of the executor path (the host side of the inference host
//! function the executor's worker calls with a batch of jobs of one model: canonical
//! decoding and spec checks, the bounded thread pool or the caller's thread, tract,
//! canonical encoding, the output hashes and the host function's result encoding) against
//! raw tract running the same optimised model on the same input in one state kept across
//! runs (tract at its fastest: its one-call `run` makes a state per run), in rounds of the
//! two back to back (the median of the per-pair ratios counts), in calls of [`BATCH`] jobs
//! and of one, with glibc's allocator held to one regime ([`steady_allocator`]). Also the
//! output hashes' share of the batched path (timed in pairs with it) and the ratio it would
//! have without them, the first-load (optimise) time, and how many times one run's time a
//! trace of the same input through the model's dispute graph takes (what committing a trace
//! with every result would cost). Last, which models the batched path keeps within the
//! target (0.95x of raw tract) and how far apart in compute those are.
//!
//! `cargo bench -p haca-engine --bench inference -- [MODEL_DIR]` (default: the committed
//! models; `scripts/bench-engine.sh` adds the large generated ones).

use std::{
	path::{Path, PathBuf},
	time::{Duration, Instant},
};

use codec::Encode;
use haca_engine::{Engine, EngineConfig};
use haca_primitives::tensor::ElementType;
use tract_onnx::prelude::*;

/// The benchmarked models (float32, one input, as `scripts/gen_models.py` makes them).
const MODELS: &[&str] =
	&["mlp.onnx", "cnn_small.onnx", "mlp_large.onnx", "cnn_large.onnx", "transformer.onnx"];

/// Inputs per executor-path call, as the executor's worker hands a block's jobs of one
/// model to the engine (up to 64 at a time); raw tract runs as many one after another.
const BATCH: usize = 16;
/// Round pairs (one round of each path, back to back); medians count.
const ROUNDS: usize = 61;
/// Shortest round.
const ROUND_TIME: Duration = Duration::from_millis(50);

/// Runs `step` for at least `ROUND_TIME`; its throughput, per second.
fn round(step: &mut impl FnMut()) -> f64 {
	let (mut runs, start) = (0u64, Instant::now());
	while start.elapsed() < ROUND_TIME {
		step();
		runs += 1;
	}
	runs as f64 / start.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
	values.sort_by(f64::total_cmp);
	values[values.len() / 2]
}

/// Rounds of `raw` and `executor` back to back, so that the shared machine's noise hits
/// both alike: the median throughputs, per second, and the median of the per-pair ratios.
fn compare(mut raw: impl FnMut(), mut executor: impl FnMut()) -> (f64, f64, f64) {
	let pairs: Vec<(f64, f64)> =
		(0..ROUNDS).map(|_| (round(&mut raw), round(&mut executor))).collect();
	(
		median(pairs.iter().map(|pair| pair.0).collect()),
		median(pairs.iter().map(|pair| pair.1).collect()),
		median(pairs.iter().map(|(raw, executor)| executor / raw).collect()),
	)
}

/// The executor path's target, as a share of raw tract's throughput.
const TARGET: f64 = 0.95;

/// One model's figures: its table line, and what the summary needs.
struct Measured {
	line: String,
	/// Executor path against raw tract, in batches.
	ratio: f64,
	/// Raw tract's runs per second.
	raw_rate: f64,
}

fn bench(dir: &Path, file: &str) -> Result<Option<Measured>, String> {
	let Ok(bytes) = std::fs::read(dir.join(file)) else { return Ok(None) };
	let specs = haca_engine::Plan::declared_inputs(&bytes, &haca_engine::DimBounds::default())
		.map_err(|e| format!("{file}: {e}"))?;
	let [spec] = &specs[..] else { return Err(format!("{file}: one input expected")) };
	if spec.element_type != ElementType::F32 {
		return Err(format!("{file}: a float32 input expected"));
	}
	let dims: Vec<usize> = spec.shape.iter().map(|&d| d as usize).collect();
	let input = haca_engine::sample_inputs(&specs);
	let values: Vec<f32> = input[0]
		.data
		.chunks_exact(4)
		.map(|bytes| f32::from_le_bytes(bytes.try_into().expect("4 bytes")))
		.collect();

	// The executor path.
	let outputs = haca_engine::Plan::discover(&bytes, &specs, haca_engine::DATA_DEPENDENT_MAX)
		.map_err(|e| format!("{file}: {e}"))?
		.outputs()
		.to_vec();
	let engine = Engine::new(EngineConfig { threads: 1, ..Default::default() }, None);
	let hash = sp_crypto_hashing::blake2_256(&bytes);
	let load_start = Instant::now();
	engine.load(hash, &bytes, &specs, &outputs).map_err(|e| e.to_string())?;
	let load_time = load_start.elapsed();

	// Raw tract: the engine's very plan (the same optimised operators and weights in the
	// same memory, so that only the path around it differs), run directly in one state.
	let plan = engine.plan(&hash).map_err(|e| e.to_string())?;
	let mut raw = plan.runnable().spawn().map_err(|e| format!("{file}: {e}"))?;
	let raw_input: TValue =
		tract_ndarray::ArrayD::from_shape_vec(dims.clone(), values.clone()).unwrap().into_tvalue();

	let input = input.encode();
	let batch = vec![&input[..]; BATCH];
	let mut raw_runs = |count: usize| {
		for _ in 0..count {
			std::hint::black_box(raw.run(tvec![raw_input.clone()]).expect("raw tract runs"));
		}
	};
	let executor = |inputs: &[&[u8]]| {
		let results = haca_inference::run_and_hash(&engine, &hash, inputs);
		assert!(results.as_ref().is_ok_and(|runs| runs.0.iter().all(Result::is_ok)));
		std::hint::black_box(results.encode());
	};
	let (raw_rate, engine_rate, ratio) = compare(|| raw_runs(BATCH), || executor(&batch));
	let (_, _, single_ratio) = compare(|| raw_runs(1), || executor(&batch[..1]));
	let (raw_rate, engine_rate) = (raw_rate * BATCH as f64, engine_rate * BATCH as f64);
	// The output hashes alone, against the path, to tell them from the rest of it: their
	// share of the path's time, and the ratio the path would have without them.
	let outputs = engine.run(&hash, &input).expect("the engine runs");
	let outputs = vec![&outputs[..]; BATCH];
	let (_, _, hash_speed) = compare(
		|| executor(&batch),
		|| {
			std::hint::black_box(haca_inference::output_hashes(&outputs));
		},
	);
	let hash_share = 1.0 / hash_speed;
	// A dispute's trace of the same input through the model's dispute graph (lowered once),
	// against one run on the executor path: what committing a trace with every result
	// would cost.
	let graph = haca_engine::lowering::lower(&bytes).ok().map(|lowered| lowered.graph);
	let tensors = haca_engine::sample_inputs(&specs);
	let trace = graph.as_ref().map(|graph| {
		let (_, _, trace_speed) = compare(
			|| executor(&batch[..1]),
			|| {
				std::hint::black_box(graph.trace(&tensors).expect("the graph runs"));
			},
		);
		format!("{:>8.1}x", 1.0 / trace_speed)
	});
	let line = format!(
		"{:<16} {:>14.1} {:>16.1} {:>7.3}x {:>9.3}x {:>7.1}% {:>9.3}x {:>10.1} {:>9}",
		file,
		raw_rate,
		engine_rate,
		ratio,
		single_ratio,
		hash_share * 100.0,
		ratio / (1.0 - hash_share),
		load_time.as_secs_f64() * 1000.0,
		trace.unwrap_or_else(|| "-".into()),
	);
	Ok(Some(Measured { line, ratio, raw_rate }))
}

/// Which models the executor path keeps within [`TARGET`] of raw tract (in batches), and
/// how far apart in compute (raw tract's run time) they are.
fn summary(measured: &[(&str, Measured)]) -> String {
	let (met, missed): (Vec<_>, Vec<_>) =
		measured.iter().partition(|(_, measured)| measured.ratio >= TARGET);
	let names = |models: &[&(&str, Measured)]| {
		models.iter().map(|(file, _)| file.trim_end_matches(".onnx")).collect::<Vec<_>>().join(", ")
	};
	let rates = met.iter().map(|(_, measured)| measured.raw_rate);
	let span = rates.clone().fold(0.0, f64::max) / rates.fold(f64::INFINITY, f64::min);
	let mut summary = format!(
		"target {TARGET}x of raw tract (batched): met by {} of {} models ({}), {span:.0}x apart \
		 in raw tract's run time",
		met.len(),
		measured.len(),
		names(&met)
	);
	if !missed.is_empty() {
		summary += &format!("; not by {}", names(&missed));
	}
	summary
}

/// Fixes the thresholds at which glibc's allocator hands memory back to the system, which it
/// otherwise adapts as a process runs: raw tract then ran at one of two speeds up to 28%
/// apart (cnn_large), varying from one run of the bench to the next, as its megabytes of
/// intermediate tensors were mapped and faulted in anew each run or kept. Fixed, raw tract
/// and the executor path run under the same allocator, at their faster speed.
fn steady_allocator() {
	#[cfg(all(target_os = "linux", target_env = "gnu"))]
	// SAFETY: `mallopt` only sets allocator parameters; nothing is allocated yet.
	unsafe {
		libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
		libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
	}
}

fn main() {
	steady_allocator();
	let dir = std::env::args()
		.skip(1)
		.find(|arg| !arg.starts_with('-'))
		.map(PathBuf::from)
		.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"));
	println!("engine benchmark, models in {}", dir.display());
	println!(
		"{:<16} {:>14} {:>16} {:>8} {:>10} {:>8} {:>10} {:>10} {:>9}",
		"model",
		"raw tract /s",
		"executor path /s",
		"ratio",
		"1 per call",
		"hash",
		"w/o hash",
		"load ms",
		"trace"
	);
	let mut measured = Vec::new();
	for file in MODELS {
		match bench(&dir, file) {
			Ok(Some(model)) => {
				println!("{}", model.line);
				measured.push((*file, model));
			}
			Ok(None) => println!("{file:<16} (not generated: scripts/bench-engine.sh makes it)"),
			Err(error) => {
				eprintln!("error: {error}");
				std::process::exit(1);
			}
		}
	}
	println!("{}", summary(&measured));
}
