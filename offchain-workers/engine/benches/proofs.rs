//! Proof benchmark: a proven job against an attested one, in the same run, on the project's
//! provable int8 models (the digits-size MLP and CNN). For batches of 1, 4 and 8 samples
//! (8 fill the largest trace a proof holds), the executor's work for each mode through the
//! host side of its host function: attested, the engine's run and output hash
//! (`run_and_hash`); proven, the circuit compiled from the model, checked against its hash
//! and proven (`InferenceHost::prove`). Also the proof's size, its verification natively
//! (the runtime's is weighed by the settlement pallet's `verify_proof` benchmark), and the
//! most heap the proving took above what the process held before it.
//!
//! `cargo bench -p haca-engine --bench proofs` (release profile).

use std::{
	alloc::{GlobalAlloc, Layout, System},
	sync::atomic::{AtomicUsize, Ordering},
	time::{Duration, Instant},
};

use codec::Encode;
use haca_engine::{Engine, EngineConfig};
use haca_inference::InferenceHost;
use haca_primitives::tensor::{ElementType, Tensor, TensorSpec};
use haca_proof::{compile::compile, verify, Statement};

/// Heap bytes allocated now, and the most since [`Counting::reset`].
struct Counting {
	current: AtomicUsize,
	peak: AtomicUsize,
}

impl Counting {
	/// Starts a new peak from what is allocated now; that amount.
	fn reset(&self) -> usize {
		let now = self.current.load(Ordering::SeqCst);
		self.peak.store(now, Ordering::SeqCst);
		now
	}

	fn grew(&self, by: usize) {
		let now = self.current.fetch_add(by, Ordering::SeqCst) + by;
		self.peak.fetch_max(now, Ordering::SeqCst);
	}
}

// SAFETY: every call is the system allocator's; the counters only observe them.
unsafe impl GlobalAlloc for Counting {
	unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
		let pointer = System.alloc(layout);
		if !pointer.is_null() {
			self.grew(layout.size());
		}
		pointer
	}

	unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
		System.dealloc(pointer, layout);
		self.current.fetch_sub(layout.size(), Ordering::SeqCst);
	}

	unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, size: usize) -> *mut u8 {
		let moved = System.realloc(pointer, layout, size);
		if !moved.is_null() {
			self.current.fetch_sub(layout.size(), Ordering::SeqCst);
			self.grew(size);
		}
		moved
	}
}

#[global_allocator]
static HEAP: Counting = Counting { current: AtomicUsize::new(0), peak: AtomicUsize::new(0) };

/// The benchmarked exports: name, one sample's shape, outputs a sample.
const MODELS: [(&str, &[u32], u32); 2] = [("int8_mlp", &[64], 10), ("int8_qcnn", &[1, 8, 8], 10)];
/// Samples a job's input holds.
const SAMPLES: [u32; 3] = [1, 4, 8];
/// Timed runs of each kind; medians count.
const RUNS: usize = 7;
/// Targets of a proven digits-size model of one sample.
const PROVE_TARGET: Duration = Duration::from_secs(1);
const PROOF_TARGET_BYTES: usize = 200 * 1024;

/// The median of `RUNS` timings of `step`, after one untimed.
fn timed(mut step: impl FnMut()) -> Duration {
	step();
	let mut times: Vec<Duration> = (0..RUNS)
		.map(|_| {
			let start = Instant::now();
			step();
			start.elapsed()
		})
		.collect();
	times.sort();
	times[RUNS / 2]
}

/// Pseudo-random f32s in `0..8`, the quantisers' range (xorshift, fixed seed).
fn uniform(count: usize) -> Vec<f32> {
	let mut state = 0x9e37_79b9_7f4a_7c15u64;
	(0..count)
		.map(|_| {
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			8.0 * ((state >> 40) as f32 / (1u64 << 24) as f32)
		})
		.collect()
}

fn milliseconds(duration: Duration) -> f64 {
	duration.as_secs_f64() * 1000.0
}

/// One line of the table for `samples` samples of the export `name`; the proven time and
/// the proof's size.
fn bench(name: &str, sample: &[u32], outputs: u32, samples: u32) -> (String, Duration, usize) {
	let path = format!("{}/../models/exports/{name}/model.onnx", env!("CARGO_MANIFEST_DIR"));
	let bytes = std::fs::read(&path).expect("the generated export");
	let dims = |per_sample: &[u32]| [&[samples][..], per_sample].concat();
	let spec = |per_sample: &[u32]| TensorSpec::new("t", ElementType::F32, &dims(per_sample));
	let (inputs, output_specs) = (vec![spec(sample).unwrap()], vec![spec(&[outputs]).unwrap()]);
	let engine = Engine::new(EngineConfig { threads: 1, ..Default::default() }, None);
	let model = sp_crypto_hashing::blake2_256(&bytes);
	engine.load(model, &bytes, &inputs, &output_specs).expect("the engine loads the export");
	let width = sample.iter().product::<u32>() * samples;
	let tensor = Tensor::from_f32(&dims(sample), &uniform(width as usize)).unwrap();
	let input = vec![tensor.clone()].encode();

	let graph = haca_engine::lowering::lower(&bytes).expect("the export lowers").graph;
	let circuit = compile(&graph, sample).expect("the export is provable");
	let layout = circuit.layout().expect("its circuit has a layout");
	let hash = sp_crypto_hashing::blake2_256(&circuit.encode()).into();
	let prove = || engine.prove(&model, Some(bytes.clone()), &hash, [0; 32], &input);

	let attested = timed(|| {
		let runs = haca_inference::run_and_hash(&engine, &model, &[&input[..]]);
		assert!(runs.is_ok_and(|runs| runs.0.iter().all(Result::is_ok)));
	});
	let proven = timed(|| {
		std::hint::black_box(prove().expect("the run proves"));
	});
	let before = HEAP.reset();
	let proved = prove().expect("the run proves");
	let peak = HEAP.peak.load(Ordering::SeqCst) - before;

	let signed = circuit.output.signed;
	let quanta: Vec<i32> = proved
		.quanta
		.iter()
		.map(|&byte| if signed { (byte as i8).into() } else { byte.into() })
		.collect();
	let input_quanta = circuit.input_quanta(&tensor).expect("the input converts");
	let statement = Statement::new(circuit.clone(), [0; 32], input_quanta, quanta)
		.expect("a statement of the proven run");
	let verified = timed(|| assert_eq!(verify(statement.clone(), &proved.proof), Ok(())));
	let line = format!(
		"{name:<10} {samples:>7} {:>6} {:>7} {:>11.2} {:>9.1} {:>9.0}x {:>8.1} {:>9.2} {:>10.1}",
		samples as usize * layout.period,
		layout.columns(),
		milliseconds(attested),
		milliseconds(proven),
		proven.as_secs_f64() / attested.as_secs_f64(),
		proved.proof.len() as f64 / 1000.0,
		milliseconds(verified),
		peak as f64 / 1e6,
	);
	(line, proven, proved.proof.len())
}

fn main() {
	println!("proof benchmark: a proven job's executor work against an attested one's, same run");
	println!(
		"{:<10} {:>7} {:>6} {:>7} {:>11} {:>9} {:>10} {:>8} {:>9} {:>10}",
		"model",
		"samples",
		"rows",
		"columns",
		"attested ms",
		"proven ms",
		"proven/att",
		"proof KB",
		"verify ms",
		"heap MB"
	);
	let mut targets = Vec::new();
	for (name, sample, outputs) in MODELS {
		for samples in SAMPLES {
			let (line, proven, proof_bytes) = bench(name, sample, outputs, samples);
			println!("{line}");
			if samples == 1 {
				let met = proven <= PROVE_TARGET && proof_bytes <= PROOF_TARGET_BYTES;
				targets.push(format!(
					"{name}: {} (≤ {} ms to prove, ≤ {} KB)",
					if met { "met" } else { "missed" },
					PROVE_TARGET.as_millis(),
					PROOF_TARGET_BYTES / 1024
				));
			}
		}
	}
	println!("targets for one sample: {}", targets.join("; "));
	println!("verification weight: the settlement pallet's verify_proof(rows) in its weights.rs");
}
