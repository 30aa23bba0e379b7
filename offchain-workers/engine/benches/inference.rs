//! Engine benchmark: throughput of the executor path (the host side of the inference host
//! function the executor's worker calls with a batch of jobs of one model: canonical
//! decoding and spec checks, the bounded thread pool or the caller's thread, tract,
//! canonical encoding, the output hashes and the host function's result encoding) against
//! two baselines in the same run:
//! - raw tract running the same optimised model on the same input in one state kept across
//!   runs (tract at its fastest: its one-call `run` makes a state per run);
//! - onnxruntime (the Python wheel, one intra-op thread, all graph optimisations), driven by
//!   `scripts/onnxruntime_bench.py` on the same model file and input, whose outputs tract's
//!   must match within [`ORT_TOLERANCE`].
//!
//! Each comparison runs in rounds of the two back to back (the median of the per-pair ratios
//! counts), in calls of [`BATCH`] jobs and of one, with glibc's allocator held to one regime
//! ([`steady_allocator`]). Also the output hashes' share of the batched path (timed in pairs
//! with it) and the ratio it would have without them, the first-load (optimise) time, and how
//! many times one run's time a trace of the same input through the model's dispute graph
//! takes (what committing a trace with every result would cost). Last, which models the
//! batched path keeps within its targets: [`TARGET`] of raw tract, and, for the
//! convolutional models, [`ORT_TARGET`] of onnxruntime.
//!
//! `cargo bench -p haca-engine --bench inference -- [MODEL_DIR ...]` (default: the committed
//! models; `scripts/bench-engine.sh` adds the large generated ones and the heavy ones, and
//! names the Python that runs onnxruntime in `HACA_BENCH_PYTHON`; without it the onnxruntime
//! columns read `-`).

use std::{
	io::{BufRead, BufReader, Write},
	path::{Path, PathBuf},
	process::{Child, ChildStdout, Command, Stdio},
	time::{Duration, Instant},
};

use codec::Encode;
use haca_engine::{Engine, EngineConfig};
use haca_primitives::tensor::{ElementType, Tensor};
use tract_onnx::prelude::*;

/// The benchmarked models (one input each), as `scripts/gen_models.py` (float32) and
/// `scripts/gen_heavy_models.py` (a ResNet-18 on u8 images, a BERT-tiny on i64 token ids)
/// make them, with whether each is convolutional.
const MODELS: &[(&str, bool)] = &[
	("mlp.onnx", false),
	("cnn_small.onnx", true),
	("mlp_large.onnx", false),
	("cnn_large.onnx", true),
	("cnn_mnist.onnx", true),
	("transformer.onnx", false),
	("resnet18/model.onnx", true),
	("bert_tiny/model.onnx", false),
];

/// Inputs per executor-path call, as the executor's worker hands a block's jobs of one
/// model to the engine (up to 64 at a time); raw tract runs as many one after another.
const BATCH: usize = 16;
/// Round pairs (one round of each path, back to back); medians count.
const ROUNDS: usize = 61;
/// Fewest round pairs, for the models whose batch alone outlasts [`ROUND_TIME`].
const MIN_ROUNDS: usize = 9;
/// About how long one comparison may take, which sets the round pairs of slow models.
const COMPARISON_TIME: Duration = Duration::from_secs(12);
/// Shortest round.
const ROUND_TIME: Duration = Duration::from_millis(50);
/// Slowest run (raw tract) whose dispute-graph trace is timed: slower models' traces take
/// minutes a comparison.
const TRACE_MAX_RUN: Duration = Duration::from_millis(20);

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

/// `rounds` rounds of `base` and `other` back to back (each gives its throughput), so that
/// the shared machine's noise hits both alike: the median throughputs, per second, and the
/// median of the per-pair ratios (other / base).
fn compare(
	rounds: usize,
	mut base: impl FnMut() -> f64,
	mut other: impl FnMut() -> f64,
) -> (f64, f64, f64) {
	let pairs: Vec<(f64, f64)> = (0..rounds).map(|_| (base(), other())).collect();
	(
		median(pairs.iter().map(|pair| pair.0).collect()),
		median(pairs.iter().map(|pair| pair.1).collect()),
		median(pairs.iter().map(|(base, other)| other / base).collect()),
	)
}

/// Round pairs for a model whose batch takes `batch_time`: [`ROUNDS`], fewer (odd, at least
/// [`MIN_ROUNDS`]) when that would outlast [`COMPARISON_TIME`].
fn rounds_for(batch_time: Duration) -> usize {
	let round = batch_time.max(ROUND_TIME).as_secs_f64() * 2.0;
	let rounds = (COMPARISON_TIME.as_secs_f64() / round) as usize;
	(rounds.clamp(MIN_ROUNDS, ROUNDS) - 1) | 1
}

/// The executor path's target, as a share of raw tract's throughput.
const TARGET: f64 = 0.95;
/// The executor path's target on convolutional models, as a share of onnxruntime's.
const ORT_TARGET: f64 = 0.8;
/// The largest difference between tract's and onnxruntime's outputs, as a share of the
/// largest of onnxruntime's output values (float32 in a different order of operations).
const ORT_TOLERANCE: f64 = 1e-4;

/// onnxruntime in `scripts/onnxruntime_bench.py`, answering one command a line.
struct Onnxruntime {
	process: Child,
	answers: BufReader<ChildStdout>,
}

impl Onnxruntime {
	/// Starts the script with the Python in `HACA_BENCH_PYTHON`, if set.
	fn start() -> Option<Self> {
		let python = std::env::var_os("HACA_BENCH_PYTHON")?;
		let script =
			PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/onnxruntime_bench.py");
		let mut process = Command::new(python)
			.arg(script)
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.spawn()
			.expect("HACA_BENCH_PYTHON runs scripts/onnxruntime_bench.py");
		let answers = BufReader::new(process.stdout.take().expect("piped stdout"));
		Some(Self { process, answers })
	}

	fn ask(&mut self, command: &str) -> Result<String, String> {
		let stdin = self.process.stdin.as_mut().expect("piped stdin");
		writeln!(stdin, "{command}").map_err(|e| format!("onnxruntime: {e}"))?;
		let mut answer = String::new();
		self.answers.read_line(&mut answer).map_err(|e| format!("onnxruntime: {e}"))?;
		match answer.trim().strip_prefix("error") {
			Some(error) => Err(format!("onnxruntime: {}", error.trim())),
			None if answer.is_empty() => Err("onnxruntime: the script exited".into()),
			None => Ok(answer.trim().to_string()),
		}
	}

	/// Loads `model` and runs it once on `input`: its outputs, cast to f32, one after another.
	fn load(&mut self, model: &Path, input: &Tensor) -> Result<Vec<f32>, String> {
		let scratch = std::env::temp_dir().join(format!("haca-bench-{}", std::process::id()));
		let (input_path, outputs_path) =
			(scratch.with_extension("in.npy"), scratch.with_extension("out.npy"));
		let npy = haca_engine::npy::write(input).map_err(|e| e.to_string())?;
		std::fs::write(&input_path, npy).map_err(|e| e.to_string())?;
		let answer = self.ask(&format!(
			"load {} {} {}",
			model.display(),
			input_path.display(),
			outputs_path.display()
		));
		let outputs = answer.and_then(|_| std::fs::read(&outputs_path).map_err(|e| e.to_string()));
		let _ = (std::fs::remove_file(input_path), std::fs::remove_file(outputs_path));
		let outputs = haca_engine::npy::read(&outputs?).map_err(|e| e.to_string())?;
		Ok(outputs
			.data
			.chunks_exact(4)
			.map(|bytes| f32::from_le_bytes(bytes.try_into().expect("4 bytes")))
			.collect())
	}

	/// One round of `runs` runs at a time, at least [`ROUND_TIME`] long: runs per second.
	fn round(&mut self, runs: usize) -> f64 {
		let answer = self.ask(&format!("round {} {runs}", ROUND_TIME.as_secs_f64()));
		answer.and_then(|rate| rate.parse().map_err(|_| rate)).expect("onnxruntime runs")
	}
}

impl Drop for Onnxruntime {
	fn drop(&mut self) {
		// Closing its input ends the script; then it is waited for.
		drop(self.process.stdin.take());
		let _ = self.process.wait();
	}
}

/// The largest difference between `outputs` and onnxruntime's, as a share of the largest
/// of onnxruntime's values.
fn difference(outputs: &[f32], reference: &[f32]) -> f64 {
	if outputs.len() != reference.len() {
		return f64::INFINITY;
	}
	let scale = reference.iter().fold(f64::MIN_POSITIVE, |max, value| max.max(value.abs().into()));
	let largest = outputs
		.iter()
		.zip(reference)
		.fold(0.0, |max: f64, (output, reference)| max.max((output - reference).abs().into()));
	largest / scale
}

/// A canonical tensor as tract's input (the element types the bench models take).
fn tract_input(tensor: &Tensor) -> Result<TValue, String> {
	fn array<T: Datum, const N: usize>(
		dims: &[usize],
		data: &[u8],
		from_le: fn([u8; N]) -> T,
	) -> Result<TValue, String> {
		let values = data.chunks_exact(N).map(|bytes| from_le(bytes.try_into().expect("N bytes")));
		tract_ndarray::ArrayD::from_shape_vec(dims, values.collect())
			.map(|array| array.into_tvalue())
			.map_err(|e| e.to_string())
	}
	let dims: Vec<usize> = tensor.shape.iter().map(|&d| d as usize).collect();
	match tensor.element_type {
		ElementType::F32 => array(&dims, &tensor.data, f32::from_le_bytes),
		ElementType::I64 => array(&dims, &tensor.data, i64::from_le_bytes),
		ElementType::U8 => array(&dims, &tensor.data, u8::from_le_bytes),
		other => Err(format!("a {other:?} input is not benchmarked")),
	}
}

/// tract's outputs, cast to f32, one after another.
fn flat_outputs(outputs: &[TValue]) -> Vec<f32> {
	outputs
		.iter()
		.flat_map(|output| {
			let output = output.cast_to::<f32>().expect("numeric outputs");
			output.to_plain_array_view::<f32>().expect("f32").iter().copied().collect::<Vec<_>>()
		})
		.collect()
}

/// One model's figures: its table line, and what the summary needs.
struct Measured {
	line: String,
	/// Whether the model is convolutional.
	convolutional: bool,
	/// Executor path against raw tract, in batches.
	ratio: f64,
	/// Executor path against onnxruntime, in batches, and how far their outputs differ.
	ort: Option<(f64, f64)>,
	/// Raw tract's runs per second.
	raw_rate: f64,
}

fn bench(
	path: &Path,
	convolutional: bool,
	ort: Option<&mut Onnxruntime>,
) -> Result<Measured, String> {
	let name = path.display();
	let bytes = std::fs::read(path).map_err(|e| format!("{name}: {e}"))?;
	let specs = haca_engine::Plan::declared_inputs(&bytes, &haca_engine::DimBounds::default())
		.map_err(|e| format!("{name}: {e}"))?;
	let [_] = &specs[..] else { return Err(format!("{name}: one input expected")) };
	let tensors = haca_engine::sample_inputs(&specs);
	let raw_input = tract_input(&tensors[0]).map_err(|e| format!("{name}: {e}"))?;

	// The executor path.
	let outputs = haca_engine::Plan::discover(&bytes, &specs, haca_engine::DATA_DEPENDENT_MAX)
		.map_err(|e| format!("{name}: {e}"))?
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
	let mut raw = plan.runnable().spawn().map_err(|e| format!("{name}: {e}"))?;
	let mut raw_runs = |count: usize| {
		let mut outputs = tvec![];
		for _ in 0..count {
			outputs = raw.run(tvec![raw_input.clone()]).expect("raw tract runs");
		}
		std::hint::black_box(outputs)
	};
	let tract_outputs = flat_outputs(&raw_runs(1));

	let input = tensors.encode();
	let batch = vec![&input[..]; BATCH];
	let executor = |inputs: &[&[u8]]| {
		let results = haca_inference::run_and_hash(&engine, &hash, inputs);
		assert!(results.as_ref().is_ok_and(|runs| runs.0.iter().all(Result::is_ok)));
		std::hint::black_box(results.encode());
	};
	let batch_start = Instant::now();
	executor(&batch);
	let rounds = rounds_for(batch_start.elapsed());
	let (raw_rate, engine_rate, ratio) = compare(
		rounds,
		|| round(&mut || drop(raw_runs(BATCH))),
		|| round(&mut || executor(&batch)),
	);
	let (_, _, single_ratio) = compare(
		rounds,
		|| round(&mut || drop(raw_runs(1))),
		|| round(&mut || executor(&batch[..1])),
	);
	let (raw_rate, engine_rate) = (raw_rate * BATCH as f64, engine_rate * BATCH as f64);

	// onnxruntime on the same model file and input, against the batched executor path.
	let ort = match ort {
		Some(ort) => {
			let reference = ort.load(path, &tensors[0]).map_err(|e| format!("{name}: {e}"))?;
			let (ort_rate, _, ratio) = compare(
				rounds,
				|| ort.round(BATCH),
				|| round(&mut || executor(&batch)) * BATCH as f64,
			);
			Some((ort_rate, ratio, difference(&tract_outputs, &reference)))
		}
		None => None,
	};

	// The output hashes alone, against the path, to tell them from the rest of it: their
	// share of the path's time, and the ratio the path would have without them.
	let outputs = engine.run(&hash, &input).expect("the engine runs");
	let outputs = vec![&outputs[..]; BATCH];
	let (_, _, hash_speed) = compare(
		rounds,
		|| round(&mut || executor(&batch)),
		|| {
			round(&mut || {
				std::hint::black_box(haca_inference::output_hashes(&outputs));
			})
		},
	);
	let hash_share = 1.0 / hash_speed;
	// A dispute's trace of the same input through the model's dispute graph (lowered once),
	// against one run on the executor path: what committing a trace with every result
	// would cost.
	let fast = Duration::from_secs_f64(1.0 / raw_rate) <= TRACE_MAX_RUN;
	let graph = fast.then(|| haca_engine::lowering::lower(&bytes).ok()).flatten();
	let trace = graph.map(|lowered| {
		let (_, _, trace_speed) = compare(
			rounds,
			|| round(&mut || executor(&batch[..1])),
			|| {
				round(&mut || {
					std::hint::black_box(lowered.graph.trace(&tensors).expect("the graph runs"));
				})
			},
		);
		format!("{:>8.1}x", 1.0 / trace_speed)
	});
	let (ort_rate, ort_ratio, ort_difference) = match ort {
		Some((rate, ratio, difference)) => (
			format!("{rate:.1}"),
			format!("{ratio:.3}x"),
			format!("{difference:.0e}{}", if difference > ORT_TOLERANCE { " (over)" } else { "" }),
		),
		None => ("-".into(), "-".into(), "-".into()),
	};
	let line = format!(
		"{:<16} {:>12.1} {:>13.1} {:>7.3}x {:>9.3}x {:>12} {:>9} {:>10} {:>6.1}% {:>8.3}x \
		 {:>8.1} {:>8}",
		short_name(path),
		raw_rate,
		engine_rate,
		ratio,
		single_ratio,
		ort_rate,
		ort_ratio,
		ort_difference,
		hash_share * 100.0,
		ratio / (1.0 - hash_share),
		load_time.as_secs_f64() * 1000.0,
		trace.unwrap_or_else(|| "-".into()),
	);
	let ort = ort.map(|(_, ratio, difference)| (ratio, difference));
	Ok(Measured { line, convolutional, ratio, ort, raw_rate })
}

/// A model's name in the table: its file's, or its directory's for `<name>/model.onnx`.
fn short_name(path: &Path) -> String {
	let stem = path.file_stem().unwrap_or_default();
	let name = match stem == "model" {
		true => path.parent().and_then(Path::file_name).unwrap_or(stem),
		false => stem,
	};
	name.to_string_lossy().into_owned()
}

/// Which models the executor path keeps within [`TARGET`] of raw tract (in batches), and
/// how far apart in compute (raw tract's run time) they are; which convolutional models it
/// keeps within [`ORT_TARGET`] of onnxruntime, and whether every output is within
/// [`ORT_TOLERANCE`] of onnxruntime's.
fn summary(measured: &[(String, Measured)]) -> String {
	let names = |models: &[&(String, Measured)]| {
		models.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(", ")
	};
	let (met, missed): (Vec<_>, Vec<_>) =
		measured.iter().partition(|(_, measured)| measured.ratio >= TARGET);
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
	let convolutional: Vec<_> = measured
		.iter()
		.filter(|(_, measured)| measured.convolutional && measured.ort.is_some())
		.collect();
	if !convolutional.is_empty() {
		let (met, missed): (Vec<_>, Vec<_>) = convolutional
			.iter()
			.partition(|(_, measured)| measured.ort.is_some_and(|(ratio, _)| ratio >= ORT_TARGET));
		summary += &format!(
			"\ntarget {ORT_TARGET}x of onnxruntime on CNNs (batched): met by {} of {} ({})",
			met.len(),
			convolutional.len(),
			names(&met)
		);
		if !missed.is_empty() {
			summary += &format!("; not by {}", names(&missed));
		}
	}
	let differing: Vec<_> = measured
		.iter()
		.filter(|(_, measured)| {
			measured.ort.is_some_and(|(_, difference)| difference > ORT_TOLERANCE)
		})
		.collect();
	if measured.iter().any(|(_, measured)| measured.ort.is_some()) {
		summary += &match differing.is_empty() {
			true => format!("\noutputs within {ORT_TOLERANCE:.0e} of onnxruntime's: all"),
			false => format!(
				"\noutputs over {ORT_TOLERANCE:.0e} from onnxruntime's: {}",
				names(&differing)
			),
		};
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
	let mut dirs: Vec<PathBuf> =
		std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).map(PathBuf::from).collect();
	if dirs.is_empty() {
		dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"));
	}
	let shown: Vec<String> = dirs.iter().map(|dir| dir.display().to_string()).collect();
	println!("engine benchmark, models in {}", shown.join(", "));
	let mut ort = Onnxruntime::start();
	if ort.is_none() {
		println!(
			"(HACA_BENCH_PYTHON unset: no onnxruntime baseline; scripts/bench-engine.sh sets it)"
		);
	}
	println!(
		"{:<16} {:>12} {:>13} {:>8} {:>10} {:>12} {:>9} {:>10} {:>7} {:>9} {:>8} {:>8}",
		"model",
		"raw tract /s",
		"executor /s",
		"ratio",
		"1 per call",
		"onnxrt /s",
		"vs onnxrt",
		"diff",
		"hash",
		"w/o hash",
		"load ms",
		"trace"
	);
	let mut measured = Vec::new();
	for (file, convolutional) in MODELS {
		let Some(path) = dirs.iter().map(|dir| dir.join(file)).find(|path| path.exists()) else {
			println!(
				"{file:<16} (not generated: scripts/bench-engine.sh or scripts/setup.sh makes it)"
			);
			continue;
		};
		match bench(&path, *convolutional, ort.as_mut()) {
			Ok(model) => {
				println!("{}", model.line);
				measured.push((short_name(&path), model));
			}
			Err(error) => {
				eprintln!("error: {error}");
				std::process::exit(1);
			}
		}
	}
	println!("{}", summary(&measured));
}
