//! Command-line interface of `haca-node`.

use std::path::PathBuf;

use haca_engine::EngineConfig;

/// `haca-node [SUBCOMMAND] [OPTIONS]`: without a subcommand it runs the node.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// A subcommand; none runs the node.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// Options of the running node (the standard Substrate `run` options).
	#[clap(flatten)]
	pub run: sc_cli::RunCmd,

	/// The inference roles: executor and verifier.
	#[clap(flatten)]
	pub inference: InferenceParams,

	/// The model store: where off-chain models are kept, fetched and served from.
	#[clap(flatten)]
	pub models: ModelParams,
}

/// Options of the inference roles: running assigned jobs (executor), auditing results and
/// voting in disputes (verifier).
#[derive(Debug, Clone, clap::Args)]
pub struct InferenceParams {
	/// Run inference for jobs assigned to the executor session keys (key type `infr`) in this
	/// node's keystore, and submit their signed results. Enables off-chain workers.
	#[arg(long)]
	pub executor: bool,

	/// Audit other executors' attested results with the verifier session keys (key type
	/// `infr`) in this node's keystore: re-run a sample, challenge wrong results, vote in
	/// disputes. Enables off-chain workers. On a development chain (`--dev`) the node also
	/// holds the development verifiers' keys (Bob, Charlie, Dave).
	#[arg(long)]
	pub verifier: bool,

	/// Test networks only (refused on live chains): as an executor, report wrong outputs, to
	/// exercise challenges and slashing. Not with `--verifier`: the node's engine lies, so
	/// its audits would agree with its lies; run the verifier as another node.
	#[arg(long, requires = "executor", conflicts_with = "verifier")]
	pub dishonest_executor: bool,

	/// Test networks only (refused on live chains): as a verifier, audit with wrong outputs,
	/// so that it challenges right results, to exercise disputes a challenger loses. Not
	/// with `--executor`.
	#[arg(long, requires = "verifier", conflicts_with = "executor")]
	pub dishonest_verifier: bool,

	/// Percentage of attested results a verifier re-runs (drawn at random per result), at
	/// least the chain's minimum of 1.
	#[arg(long, value_name = "PERCENT", default_value_t = 10,
		value_parser = clap::value_parser!(u32)
			.range(i64::from(haca_primitives::MIN_AUDIT_PERCENT)..=100))]
	pub audit_percent: u32,

	/// Threads running inference.
	#[arg(long, value_name = "COUNT", default_value_t = EngineConfig::default().threads)]
	pub inference_threads: usize,

	/// Inferences that may wait for a thread; more are refused and retried later.
	#[arg(long, value_name = "COUNT", default_value_t = EngineConfig::default().queue_depth)]
	pub inference_queue: usize,

	/// Compiled models kept in memory (their plans; the model files are in the store).
	#[arg(long, value_name = "COUNT", default_value_t = EngineConfig::default().cache_capacity)]
	pub model_cache: u32,

	/// Longest one inference may take, in seconds.
	#[arg(long, value_name = "SECONDS", default_value_t = EngineConfig::default().timeout.as_secs())]
	pub inference_timeout: u64,
}

impl InferenceParams {
	/// The inference the node runs; `None` without the executor and verifier roles.
	pub fn options(&self) -> Option<crate::roles::InferenceOptions> {
		(self.executor || self.verifier).then(|| crate::roles::InferenceOptions {
			roles: haca_inference::NodeRoles {
				executor: self.executor,
				verifier: self.verifier,
				audit_ppm: self.audit_percent * 10_000,
			},
			engine: self.engine_config(),
			dishonest: self.dishonest_executor || self.dishonest_verifier,
		})
	}

	/// The engine configuration these options describe.
	fn engine_config(&self) -> EngineConfig {
		EngineConfig {
			threads: self.inference_threads,
			queue_depth: self.inference_queue,
			cache_capacity: self.model_cache,
			timeout: std::time::Duration::from_secs(self.inference_timeout),
			// The node's model store, set when the node starts.
			model_dir: None,
		}
	}
}

/// Options of the model store: the models kept off chain, under their content hash, that
/// the node fetches when its executor or verifier keys need them and serves to its peers.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelParams {
	/// The model store's directory: models as `<hex blake2-256 hash>.onnx` (`haca-node model
	/// add|list|fetch` manage it). Defaults to `models` in the chain's directory under the
	/// base path.
	#[arg(long, value_name = "DIR")]
	pub model_dir: Option<PathBuf>,

	/// Most bytes of models the store holds; the least recently used leave first, never one
	/// the node's keys serve or audit.
	#[arg(long, value_name = "BYTES", default_value_t = crate::fetch::DEFAULT_STORE_BYTES)]
	pub model_cache_size: u64,

	/// Longest one attempt at fetching a model from one of its locators, or one peer's
	/// serving of it, may take, in seconds.
	#[arg(long, value_name = "SECONDS", default_value_t = 300)]
	pub model_fetch_timeout: u64,

	/// Do not serve the store's models to peers (the node still fetches from them).
	#[arg(long)]
	pub no_model_serving: bool,
}

impl ModelParams {
	/// The store and fetching these options describe.
	pub fn options(&self) -> crate::fetch::ModelOptions {
		crate::fetch::ModelOptions {
			dir: self.model_dir.clone(),
			capacity: self.model_cache_size,
			policy: crate::fetch::FetchPolicy {
				timeout: std::time::Duration::from_secs(self.model_fetch_timeout),
				retries: 3,
				backoff: std::time::Duration::from_secs(1),
			},
			serving: !self.no_model_serving,
		}
	}
}

/// The subcommands operators use besides running the node.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management: generate, inspect and insert keys into the keystore.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Build a chain specification (`--chain dev|local|<file>`, `--raw` for raw storage).
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Export the chain specification of `--chain` (plain or raw).
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain database.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Benchmarks of runtime pallets and of the machine (build with
	/// `--features runtime-benchmarks`).
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),

	/// Database meta columns information.
	ChainInfo(sc_cli::ChainInfoCmd),

	/// Run a model on local input files, as an executor would, and print the outputs and
	/// their hash: what a model owner or operator checks before registering a model.
	Infer(crate::cmd::infer::InferCmd),

	/// Read a model as executors will, its dynamic dimensions bounded, try it once and print
	/// the specs to register it with: the registration dry-run.
	Inspect(crate::cmd::inspect::InspectCmd),

	/// Manage the models this node keeps off chain (its `--model-dir`): add a local file,
	/// list them, fetch a registered one from its locators.
	#[command(subcommand)]
	Model(crate::cmd::model::ModelCmd),

	/// Measure what a validator spends accepting a result (signature, hash, spec checks;
	/// and the runtime's weights) against re-running each model, as full replication would.
	ReplicationBench(crate::cmd::replication_bench::ReplicationBenchCmd),

	/// Verify a job's receipt against the chain spec alone (finality, state, signatures).
	VerifyReceipt(crate::cmd::receipt::VerifyReceiptCmd),

	/// Print a chain's trust anchor (genesis hash, GRANDPA authorities) for receipt
	/// verifiers.
	TrustAnchor(crate::cmd::receipt::TrustAnchorCmd),
}
