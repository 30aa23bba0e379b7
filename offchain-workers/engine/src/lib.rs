//! # HACA inference engine
//!
//! The native side of the executor path, with no chain logic in it. An [`Engine`]:
//! - loads an ONNX model from bytes, checking its blake2-256 content hash;
//! - fixes its inputs to the registered tensor specs, optimises it once with tract and
//!   checks its outputs against their specs;
//! - caches the runnable plans by model hash (least recently used go first), each keeping
//!   tract's run state and input tensors between runs unless the model has stateful
//!   operators (a random generator would not restart);
//! - runs inputs in the canonical tensor encoding on its own bounded thread pool, with a
//!   queue that refuses work when full and a timeout per job, so callers (off-chain
//!   workers) never wait indefinitely; a model whose latest run took under half a
//!   millisecond runs on the caller's thread, where the hand-over would cost more;
//! - runs batches (an executor's jobs of one model in a block) with one plan lookup, back to
//!   back on one worker, within a time budget;
//! - turns a panic inside tract (some models panic on some inputs: an integer division by
//!   zero, for one) into that model's or job's named error, so the node carries on.
//!
//! [`lowering`] turns a model into its dispute graph: the operators the chain can re-execute
//! one by one (`haca_kernels`), whose runs (traces) settle a disputed result.
//!
//! Determinism: for a given model and input, tract's plan executes the same operations in
//! the same order, so outputs are bit-identical across runs, threads and processes on one
//! machine (tests prove it). Across CPU families tract may pick different SIMD kernels, so
//! float outputs can differ in the last bits; integer models are exact everywhere. The
//! settlement pallet compares float outputs within the model's declared ULP tolerance.

mod bfloat16;
mod convert;
mod direct_conv;
pub mod lowering;
mod metrics;
pub mod npy;
mod ops;
mod panics;
mod plan;
mod pool;
pub mod proto;
mod sample;
mod store;
mod support;

use std::{
	sync::{mpsc, Arc, Mutex},
	time::{Duration, Instant},
};

use haca_primitives::{
	dispute::GraphCommitment,
	tensor::{TensorError, TensorSpec},
};
use schnellru::{ByLength, LruMap};

pub use metrics::EngineMetrics;
pub use plan::{DimBounds, Plan, DATA_DEPENDENT_MAX};
pub use sample::sample_inputs;
pub use store::{ModelStore, StoreError, StoredModel};

/// Identifies a model to the engine: the blake2-256 hash of its ONNX bytes.
pub type ModelId = [u8; 32];

/// Why the engine could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
	/// The bytes do not hash to the model's hash.
	#[error("model bytes do not match the model hash")]
	HashMismatch,
	/// tract could not read or optimise the model.
	#[error("invalid model: {0}")]
	InvalidModel(String),
	/// The model has a random operator without a seed: its outputs would differ on every
	/// run (see [`haca_primitives::onnx`]).
	#[error("model draws random numbers without a seed ({0}): its outputs differ on every run")]
	UnseededRandom(&'static str),
	/// The model uses what the engine cannot run: an operator tract lacks (named with its
	/// node), or a graph input or output of a type HACA has no element type for.
	#[error("unsupported model: {0}")]
	Unsupported(String),
	/// The model does not lower to the dispute graph its registration records (another
	/// lowering version, no dispute graph, or other roots): disputes over its results
	/// would be about a graph this engine does not run.
	#[error("model does not match its registered dispute graph: {0}")]
	GraphMismatch(String),
	/// The model's inputs or outputs differ from the registered specs.
	#[error("model does not match its registered spec: {0}")]
	SpecMismatch(String),
	/// The model was not loaded (or was evicted from the cache).
	#[error("model not loaded")]
	NotLoaded,
	/// The input is not canonically encoded tensors matching the model's inputs.
	#[error("bad input: {0:?}")]
	BadInput(TensorError),
	/// tract failed while running the model.
	#[error("execution failed: {0}")]
	Execution(String),
	/// The job did not finish within the engine's timeout.
	#[error("inference timed out")]
	Timeout,
	/// The job queue is full, or a batch used up its time: try again later.
	#[error("engine busy: job queue full or batch out of time")]
	Busy,
}

impl EngineError {
	/// A short label for metrics.
	pub fn label(&self) -> &'static str {
		match self {
			Self::HashMismatch => "hash_mismatch",
			Self::InvalidModel(_) => "invalid_model",
			Self::UnseededRandom(_) => "unseeded_random",
			Self::Unsupported(_) => "unsupported",
			Self::SpecMismatch(_) => "spec_mismatch",
			Self::GraphMismatch(_) => "graph_mismatch",
			Self::NotLoaded => "not_loaded",
			Self::BadInput(_) => "bad_input",
			Self::Execution(_) => "execution",
			Self::Timeout => "timeout",
			Self::Busy => "busy",
		}
	}
}

/// How an engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
	/// Worker threads running inferences.
	pub threads: usize,
	/// Jobs that may wait for a worker; more are refused with [`EngineError::Busy`].
	pub queue_depth: usize,
	/// Compiled models kept in memory.
	pub cache_capacity: u32,
	/// Longest a caller waits for one inference.
	pub timeout: Duration,
	/// Where models that are not stored on chain are found, as `<hex hash>.onnx`.
	pub model_dir: Option<std::path::PathBuf>,
}

impl Default for EngineConfig {
	fn default() -> Self {
		Self {
			threads: 2,
			queue_depth: 16,
			cache_capacity: 8,
			timeout: Duration::from_secs(30),
			model_dir: None,
		}
	}
}

/// Models whose load failure an engine remembers.
pub const LOAD_FAILURES_KEPT: u32 = 64;

/// Models that ran faster than this run on the caller's thread instead of the pool.
const INLINE_BELOW: Duration = Duration::from_micros(500);

/// The inference engine. Cheap to share (`Arc`); all methods take `&self`.
pub struct Engine {
	plans: Mutex<LruMap<ModelId, Arc<Plan>, ByLength>>,
	/// Why models failed to load, until they load ([`Engine::load_failure`]).
	load_failures: Mutex<LruMap<ModelId, String, ByLength>>,
	pool: pool::Pool,
	timeout: Duration,
	model_dir: Option<std::path::PathBuf>,
	metrics: Option<EngineMetrics>,
}

impl Engine {
	/// An engine with `config`, reporting to `metrics` if given.
	pub fn new(config: EngineConfig, metrics: Option<EngineMetrics>) -> Self {
		Self {
			plans: Mutex::new(LruMap::new(ByLength::new(config.cache_capacity.max(1)))),
			load_failures: Mutex::new(LruMap::new(ByLength::new(LOAD_FAILURES_KEPT))),
			pool: pool::Pool::new(config.threads.max(1), config.queue_depth),
			timeout: config.timeout,
			model_dir: config.model_dir,
			metrics,
		}
	}

	/// Longest a caller waits for one inference (or one proof).
	pub fn timeout(&self) -> Duration {
		self.timeout
	}

	/// Whether the plan of `model` is cached.
	pub fn is_loaded(&self, model: &ModelId) -> bool {
		let hit = self.plans.lock().expect("cache lock").get(model).is_some();
		if let Some(metrics) = &self.metrics {
			metrics.cache_lookup(hit);
		}
		hit
	}

	/// Loads `bytes` as model `model` with the given specs and caches its plan. The bytes
	/// must hash to `model`; the model must match the specs.
	pub fn load(
		&self,
		model: ModelId,
		bytes: &[u8],
		inputs: &[TensorSpec],
		outputs: &[TensorSpec],
	) -> Result<(), EngineError> {
		let result = (|| {
			if sp_crypto_hashing::blake2_256(bytes) != model {
				return Err(EngineError::HashMismatch);
			}
			let plan = Plan::compile(bytes, inputs, outputs)?;
			self.plans.lock().expect("cache lock").insert(model, Arc::new(plan));
			self.load_failures.lock().expect("failures lock").remove(&model);
			Ok(())
		})();
		if let Some(metrics) = &self.metrics {
			metrics.outcome(result.as_ref().err(), None);
		}
		result
	}

	/// Remembers that loading `model` failed with `error`, for [`Engine::load_failure`].
	pub fn note_load_failure(&self, model: ModelId, error: &EngineError) {
		self.load_failures.lock().expect("failures lock").insert(model, error.to_string());
	}

	/// Why the last attempt to load `model` failed, unless it loaded since (for the
	/// [`LOAD_FAILURES_KEPT`] models that failed last).
	pub fn load_failure(&self, model: &ModelId) -> Option<String> {
		self.load_failures.lock().expect("failures lock").peek(model).cloned()
	}

	/// Checks that the model in `bytes`, with inputs up to `inputs`, lowers to the dispute
	/// graph its registration `recorded` ([`lowering::check_commitment`]): executors and verifiers serve and audit
	/// only models whose disputes would be about the graph they run.
	pub fn check_graph(
		&self,
		bytes: &[u8],
		inputs: &[TensorSpec],
		recorded: &GraphCommitment,
	) -> Result<(), EngineError> {
		let result = lowering::check_commitment(bytes, inputs, recorded);
		if let Err(error) = &result {
			log::warn!(target: "haca-engine", "model refused: {error}");
			if let Some(metrics) = &self.metrics {
				metrics.outcome(Some(error), None);
			}
		}
		result
	}

	/// The bytes of a model kept off chain in the engine's model directory, the node's
	/// [`ModelStore`] (`<model dir>/<hex hash>.onnx`).
	pub fn stored_model(&self, model: &ModelId) -> Option<Vec<u8>> {
		ModelStore::new(self.model_dir.as_ref()?, u64::MAX).get(model)
	}

	/// Runs `model` on `input` (canonical encoding) and returns its outputs (canonical
	/// encoding), on the engine's pool, waiting at most the configured timeout.
	pub fn run(&self, model: &ModelId, input: &[u8]) -> Result<Vec<u8>, EngineError> {
		let started = Instant::now();
		let result = self.plan(model).and_then(|plan| self.run_plan(&plan, input, started));
		self.record(result.as_ref().err(), started);
		result
	}

	/// Runs `model` on each of `inputs` in order, as [`Engine::run`] would one by one, with
	/// one plan lookup; fails as a whole only if the model is not loaded. A quick model runs
	/// on the caller's thread; any other runs its inputs back to back on one worker of the
	/// pool, each result coming back as it is ready. Inputs reached once the engine's timeout
	/// has passed since the batch began are not run ([`EngineError::Busy`]), nor are those
	/// after a run the caller waited for in vain: a batch keeps its caller at most about
	/// twice the timeout (the off-chain worker's task locks last 60 s, twice the node's
	/// default timeout).
	pub fn run_batch(
		&self,
		model: &ModelId,
		inputs: &[&[u8]],
	) -> Result<Vec<Result<Vec<u8>, EngineError>>, EngineError> {
		let batch_started = Instant::now();
		let plan = self.plan(model).inspect_err(|error| self.record(Some(error), batch_started))?;
		if !self.runs_inline(&plan) {
			return Ok(self.run_batch_on_pool(plan, inputs, batch_started));
		}
		// Each run starts when the one before it ended (one clock read a run), in the
		// session the run before it used (taken once, kept once).
		let (mut clock, mut session) = (batch_started, None);
		let results = inputs
			.iter()
			.map(|input| {
				let started = clock;
				let result = if started.duration_since(batch_started) < self.timeout {
					plan.run_in(&mut session, input, &mut clock)
				} else {
					Err(EngineError::Busy)
				};
				self.record(result.as_ref().err(), started);
				result
			})
			.collect();
		plan.keep(session);
		Ok(results)
	}

	/// [`Engine::run_batch`] on one worker of the pool: the inputs are copied into their
	/// sessions here, and the worker runs them without a hand-over between runs.
	fn run_batch_on_pool(
		&self,
		plan: Arc<Plan>,
		inputs: &[&[u8]],
		batch_started: Instant,
	) -> Vec<Result<Vec<u8>, EngineError>> {
		let sessions: Vec<_> = inputs.iter().map(|input| plan.session_for(input)).collect();
		let (count, timeout) = (sessions.len(), self.timeout);
		let (sender, receiver) = mpsc::channel();
		let submitted = self.pool.submit(move || {
			let mut clock = Instant::now();
			for session in sessions {
				let started = clock;
				let result = match session {
					_ if started.duration_since(batch_started) >= timeout => Err(EngineError::Busy),
					Ok(session) => {
						let (result, session) = plan.execute_timed(session, &mut clock);
						plan.keep(session);
						result
					}
					Err(error) => Err(error),
				};
				// The caller may have timed out and gone: the rest is not run.
				if sender.send((result, started)).is_err() {
					return;
				}
			}
		});
		if let Err(error) = submitted {
			self.record(Some(&error), batch_started);
			return vec![Err(error); count];
		}
		if let Some(metrics) = &self.metrics {
			metrics.queue_depth(self.pool.queued());
		}
		let mut results = Vec::with_capacity(count);
		while results.len() < count {
			let Some((result, started)) = pool::wait(&receiver, timeout) else {
				self.record(Some(&EngineError::Timeout), batch_started);
				results.push(Err(EngineError::Timeout));
				results.resize(count, Err(EngineError::Busy));
				break;
			};
			self.record(result.as_ref().err(), started);
			results.push(result);
		}
		results
	}

	/// Whether `plan` runs on the caller's thread: a model whose latest run was this quick,
	/// where handing it to a worker and back would cost a good part of its run (and a plan
	/// of fixed input shapes cannot run for long where it just ran this briefly).
	fn runs_inline(&self, plan: &Plan) -> bool {
		plan.last_run().is_some_and(|took| took < INLINE_BELOW.min(self.timeout))
	}

	/// The cached plan of `model`.
	pub fn plan(&self, model: &ModelId) -> Result<Arc<Plan>, EngineError> {
		let plan = self.plans.lock().expect("cache lock").get(model).cloned();
		plan.ok_or(EngineError::NotLoaded)
	}

	/// Reports a run's outcome (and its latency, from `started`) to the metrics, if any.
	fn record(&self, error: Option<&EngineError>, started: Instant) {
		if let Some(metrics) = &self.metrics {
			metrics.outcome(error, Some(started.elapsed()));
		}
	}

	/// Runs `plan` on `input` for a call that began at `started`.
	fn run_plan(
		&self,
		plan: &Arc<Plan>,
		input: &[u8],
		started: Instant,
	) -> Result<Vec<u8>, EngineError> {
		if self.runs_inline(plan) {
			return plan.run_since(input, started);
		}
		let session = plan.session_for(input)?;
		let plan = Arc::clone(plan);
		let receiver = self.pool.submit(move || {
			let (result, session) = plan.execute_timed(session, &mut Instant::now());
			plan.keep(session);
			result
		})?;
		if let Some(metrics) = &self.metrics {
			metrics.queue_depth(self.pool.queued());
		}
		pool::wait(&receiver, self.timeout).ok_or(EngineError::Timeout)?
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use codec::Encode;
	use std::sync::mpsc;

	fn mlp() -> (ModelId, Vec<u8>, Vec<TensorSpec>, Vec<TensorSpec>) {
		use haca_primitives::tensor::ElementType;
		let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/mlp.onnx"))
			.expect("generated model");
		let spec = |name: &str, dims: &[u32]| TensorSpec {
			name: name.as_bytes().to_vec().try_into().unwrap(),
			element_type: ElementType::F32,
			shape: dims.to_vec().try_into().unwrap(),
			variable_axes: 0,
		};
		(
			sp_crypto_hashing::blake2_256(&bytes),
			bytes,
			vec![spec("input", &[1, 4])],
			vec![spec("output", &[1, 3])],
		)
	}

	fn input() -> Vec<u8> {
		let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/mlp.input.npy"))
			.expect("generated input");
		vec![npy::read(&bytes).unwrap()].encode()
	}

	/// Occupies one worker (once it has started, so the queue is empty again) until the
	/// returned sender is dropped or used.
	fn block_a_worker(engine: &Engine) -> mpsc::Sender<()> {
		let (release, wait) = mpsc::channel::<()>();
		let (started, has_started) = mpsc::channel::<()>();
		let _ = engine.pool.submit(move || {
			let _ = started.send(());
			let _ = wait.recv();
		});
		has_started.recv().expect("the worker picks the task up");
		release
	}

	#[test]
	fn a_busy_engine_times_out_and_then_refuses_work() {
		let config = EngineConfig {
			threads: 1,
			queue_depth: 1,
			cache_capacity: 2,
			timeout: Duration::from_millis(50),
			model_dir: None,
		};
		let engine = Engine::new(config, None);
		let (hash, bytes, inputs, outputs) = mlp();
		engine.load(hash, &bytes, &inputs, &outputs).unwrap();
		let release = block_a_worker(&engine);
		// The worker is busy: the job waits in the queue past the timeout.
		assert_eq!(engine.run(&hash, &input()), Err(EngineError::Timeout));
		// The abandoned job still holds the only queue slot: back-pressure.
		assert_eq!(engine.run(&hash, &input()), Err(EngineError::Busy));
		drop(release);
		// Once free, the engine works again.
		let mut result = Err(EngineError::Busy);
		for _ in 0..100 {
			result = engine.run(&hash, &input());
			if result != Err(EngineError::Busy) {
				break;
			}
			std::thread::sleep(Duration::from_millis(10));
		}
		assert!(result.is_ok(), "{result:?}");
	}

	#[test]
	fn a_model_that_ran_quickly_runs_on_the_callers_thread() {
		let config = EngineConfig { threads: 1, queue_depth: 1, ..Default::default() };
		let engine = Engine::new(config, None);
		let (hash, bytes, inputs, outputs) = mlp();
		engine.load(hash, &bytes, &inputs, &outputs).unwrap();
		let first = engine.run(&hash, &input()).unwrap();
		let took = engine.plan(&hash).unwrap().last_run();
		assert!(took.is_some_and(|took| took < INLINE_BELOW), "{took:?}");
		// The only worker is busy and the queue empty: the pool is not used.
		let _release = block_a_worker(&engine);
		assert_eq!(engine.run(&hash, &input()), Ok(first));
		assert_eq!(engine.pool.queued(), 0);
	}

	/// The MLP's input with its first element set to `first`.
	fn input_with(first: f32) -> Vec<u8> {
		let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/mlp.input.npy"))
			.expect("generated input");
		let mut tensor = npy::read(&bytes).unwrap();
		tensor.data[..4].copy_from_slice(&first.to_le_bytes());
		vec![tensor].encode()
	}

	#[test]
	fn a_batch_gives_each_input_what_a_run_of_it_alone_gives() {
		let engine = Engine::new(Default::default(), None);
		let (hash, bytes, inputs, outputs) = mlp();
		assert_eq!(engine.run_batch(&hash, &[&input()]), Err(EngineError::NotLoaded));
		engine.load(hash, &bytes, &inputs, &outputs).unwrap();
		let (a, b) = (input_with(-3.0), input_with(5.0));
		let batch = engine.run_batch(&hash, &[&a, b"not an input", &b, &a]).unwrap();
		let expected = [a.clone(), b.clone()].map(|input| engine.run(&hash, &input).unwrap());
		assert_ne!(expected[0], expected[1]);
		assert_eq!(batch[0], Ok(expected[0].clone()));
		assert!(matches!(batch[1], Err(EngineError::BadInput(_))), "{:?}", batch[1]);
		assert_eq!(batch[2], Ok(expected[1].clone()));
		assert_eq!(batch[3], Ok(expected[0].clone()));
		// The first batch ran on the pool; the model has proved quick: now it runs inline.
		assert!(engine.runs_inline(&engine.plan(&hash).unwrap()));
		assert_eq!(engine.run_batch(&hash, &[&a, b"not an input", &b, &a]), Ok(batch));
	}

	#[test]
	fn a_batch_runs_nothing_once_its_time_is_up() {
		let config = EngineConfig { timeout: Duration::from_millis(1), ..Default::default() };
		let engine = Engine::new(config, None);
		let (hash, bytes, inputs, outputs) = mlp();
		engine.load(hash, &bytes, &inputs, &outputs).unwrap();
		let input = input();
		// Each run takes microseconds: the batch would take far longer than its millisecond.
		let batch = engine.run_batch(&hash, &vec![&input[..]; 2_000]).unwrap();
		assert_eq!(batch.last(), Some(&Err(EngineError::Busy)));
		let ran = batch.iter().filter(|result| result.is_ok()).count();
		assert!(ran < batch.len() / 2, "{ran} of {} ran", batch.len());
	}

	#[test]
	fn a_batch_whose_run_outlasts_the_timeout_leaves_the_rest_for_later() {
		let config = EngineConfig {
			threads: 1,
			queue_depth: 1,
			timeout: Duration::from_millis(50),
			..Default::default()
		};
		let engine = Engine::new(config, None);
		let (hash, bytes, inputs, outputs) = mlp();
		engine.load(hash, &bytes, &inputs, &outputs).unwrap();
		let input = input();
		// Never run: the batch goes to the pool, whose only worker is busy.
		let release = block_a_worker(&engine);
		let batch = engine.run_batch(&hash, &[&input, &input, &input]).unwrap();
		let expected = [EngineError::Timeout, EngineError::Busy, EngineError::Busy].map(Err);
		assert_eq!(batch, expected);
		drop(release);
	}

	#[test]
	fn the_plan_cache_evicts_the_least_recently_used_model() {
		let engine = Engine::new(EngineConfig { cache_capacity: 1, ..Default::default() }, None);
		let (hash, bytes, inputs, outputs) = mlp();
		engine.load(hash, &bytes, &inputs, &outputs).unwrap();
		let int_bytes =
			std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/int_matmul.onnx"))
				.unwrap();
		let int_spec = |name: &str, element_type, dims: &[u32]| TensorSpec {
			name: name.as_bytes().to_vec().try_into().unwrap(),
			element_type,
			shape: dims.to_vec().try_into().unwrap(),
			variable_axes: 0,
		};
		use haca_primitives::tensor::ElementType;
		engine
			.load(
				sp_crypto_hashing::blake2_256(&int_bytes),
				&int_bytes,
				&[int_spec("input", ElementType::U8, &[1, 8])],
				&[int_spec("output", ElementType::I32, &[1, 4])],
			)
			.unwrap();
		assert!(!engine.is_loaded(&hash));
		assert_eq!(engine.run(&hash, &input()), Err(EngineError::NotLoaded));
	}
}
