//! The main job on one machine: a development node with the executor role runs a client's
//! job on the demo model with tract, submits the signed result by itself, and the job
//! settles after its challenge window. A job that makes tract panic fails alone. And a lie
//! on the dev chain is challenged by a verifier node holding the dev verifiers' keys, proven
//! wrong by re-executing one operator of the liar's trace, and slashed; a challenger that
//! lies loses its bond to the honest executor.

#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use codec::{Decode, Encode};
use common::{prometheus_metrics, Node};
use haca_primitives::{
	dispute::GraphCommitment,
	runtime_api::{JobPhase, JobReport},
	tensor::{decode_tensors, tensors_agree, ElementType, Tensor, TensorSpec},
	ModeSet, ModelHash, VerificationMode,
};
use haca_runtime::{
	genesis_config_presets::{demo_model_hash, DEMO_MODEL_FEE, DEV_VERIFIERS},
	AccountId, Balance, BlockNumber, RuntimeCall, UncheckedExtrinsic,
};
use jsonrpsee::{core::client::ClientT, http_client::HttpClient, rpc_params};
use sp_keyring::Sr25519Keyring;
use sp_runtime::traits::Get;

fn hex(bytes: &[u8]) -> String {
	sp_core::bytes::to_hex(bytes, false)
}

fn unhex(text: &str) -> Vec<u8> {
	sp_core::bytes::from_hex(text).expect("hex from the node")
}

fn models_dir() -> std::path::PathBuf {
	std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../offchain-workers/models")
}

/// A transaction signed by `signer` (nonce from the node), as a wallet would build it.
async fn signed(rpc: &HttpClient, signer: Sr25519Keyring, call: RuntimeCall) -> UncheckedExtrinsic {
	let genesis: String = rpc.request("chain_getBlockHash", rpc_params![0]).await.unwrap();
	let genesis = haca_runtime::Hash::from_slice(&unhex(&genesis));
	let nonce: u32 = rpc
		.request("system_accountNextIndex", rpc_params![signer.to_account_id().to_string()])
		.await
		.unwrap();
	haca_runtime::signed_transaction(call, &signer.pair(), nonce, genesis)
}

/// Sends `call`, signed by `signer`, to the node's pool.
async fn send(rpc: &HttpClient, signer: Sr25519Keyring, call: RuntimeCall) {
	let xt = signed(rpc, signer, call).await;
	let _: String =
		rpc.request("author_submitExtrinsic", rpc_params![hex(&xt.encode())]).await.unwrap();
}

/// Charlie's attested job on `model` with `input` (encoded tensors), sent to the pool.
async fn submit_job(rpc: &HttpClient, model: ModelHash, input: Vec<u8>, max_fee: Balance) {
	let input = input.try_into().unwrap();
	let submit =
		pallet_jobs::Call::submit { model, input, mode: VerificationMode::Attested, max_fee };
	send(rpc, Sr25519Keyring::Charlie, RuntimeCall::Jobs(submit)).await;
}

async fn job_report(
	rpc: &HttpClient,
	job: u64,
) -> Option<JobReport<AccountId, Balance, BlockNumber>> {
	let raw: String = rpc
		.request("state_call", rpc_params!["InferenceApi_job", hex(&job.encode())])
		.await
		.unwrap();
	Decode::decode(&mut &unhex(&raw)[..]).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_executor_node_runs_jobs_by_itself_and_they_settle() {
	let node = Node::start_dev_with("executor", &["--executor"]);
	node.wait_for_finalized(1, Duration::from_secs(120)).await;
	let rpc = node.rpc();

	let input = std::fs::read(models_dir().join("mlp.input.npy")).unwrap();
	let input = vec![haca_engine::npy::read(&input).unwrap()].encode();
	submit_job(&rpc, demo_model_hash(), input, DEMO_MODEL_FEE).await;

	// Running -> Provisional (the executor's result) -> settled (the job ends).
	let start = Instant::now();
	let mut provisional = None;
	loop {
		let report = job_report(&rpc, 0).await;
		match &report {
			Some(report) if matches!(report.phase, JobPhase::Provisional { .. }) => {
				provisional = report.outputs.clone()
			}
			None if provisional.is_some() => break,
			_ => {}
		}
		assert!(
			start.elapsed() < Duration::from_secs(240),
			"job did not settle; last report {report:?}; node log:\n{}",
			node.log()
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}

	let outputs = decode_tensors(&provisional.unwrap()).unwrap();
	let reference = std::fs::read(models_dir().join("mlp.output.npy")).unwrap();
	let reference = vec![haca_engine::npy::read(&reference).unwrap()];
	assert!(tensors_agree(&outputs, &reference, 8), "{outputs:?}");

	let metrics = prometheus_metrics(node.prometheus_port);
	let runs = metrics
		.lines()
		.find(|line| line.starts_with("haca_inference_runs_total"))
		.unwrap_or_else(|| panic!("no engine metrics:\n{metrics}"));
	assert!(runs.ends_with(" 1"), "one inference run: {runs}");
	assert!(node.stop().success());
}

/// The runtime API's price of a job on `model` in `mode` (`None` unless the model is active
/// and accepts the mode).
async fn quote(rpc: &HttpClient, model: ModelHash, mode: VerificationMode) -> Option<Balance> {
	let raw: String = rpc
		.request("state_call", rpc_params!["InferenceApi_quote", hex(&(model, mode).encode())])
		.await
		.unwrap();
	Decode::decode(&mut &unhex(&raw)[..]).unwrap()
}

/// Waits (a minute at most) until `model` is quoted in `mode`.
async fn wait_for_quote(rpc: &HttpClient, node: &Node, model: ModelHash, mode: VerificationMode) {
	let start = Instant::now();
	while quote(rpc, model, mode).await.is_none() {
		assert!(start.elapsed() < Duration::from_secs(60), "no quote; log:\n{}", node.log());
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// A [1, 4] int32 tensor list, encoded.
fn int_input(values: [i32; 4]) -> Vec<u8> {
	vec![Tensor::from_i32(&[1, 4], &values).unwrap()].encode()
}

/// Eve registers the model `bytes` on chain in every mode for `DEMO_MODEL_FEE` a run, with
/// `inputs`, `outputs`, `tolerance_ulps` and `graph`, and uploads it. Returns its hash once
/// it is active.
async fn register_model(
	rpc: &HttpClient,
	node: &Node,
	bytes: Vec<u8>,
	inputs: Vec<TensorSpec>,
	outputs: Vec<TensorSpec>,
	tolerance_ulps: u32,
	graph: Option<GraphCommitment>,
) -> ModelHash {
	let model = sp_crypto_hashing::blake2_256(&bytes).into();
	let register = pallet_models::Call::register {
		model,
		byte_size: bytes.len() as u32,
		source: pallet_models::ModelSource::OnChain,
		terms: pallet_models::ModelTerms {
			inputs: inputs.try_into().unwrap(),
			outputs: outputs.try_into().unwrap(),
			modes: ModeSet::ALL,
			fee: DEMO_MODEL_FEE,
			tolerance_ulps,
			graph,
		},
	};
	send(rpc, Sr25519Keyring::Eve, RuntimeCall::Models(register)).await;
	let upload =
		pallet_models::Call::upload_chunk { model, index: 0, bytes: bytes.try_into().unwrap() };
	send(rpc, Sr25519Keyring::Eve, RuntimeCall::Models(upload)).await;
	// Executors serve, and verifiers audit, active models only: a quorum quote tells when
	// the model is.
	wait_for_quote(rpc, node, model, VerificationMode::Quorum { agree: 2, of: 2 }).await;
	model
}

/// Alice, the dev chain's executor, serves `models` besides the demo model, and the dev
/// verifiers audit them; returns once attested jobs on each are quoted.
async fn serve(rpc: &HttpClient, node: &Node, models: &[ModelHash]) {
	for account in [Sr25519Keyring::Alice].into_iter().chain(DEV_VERIFIERS) {
		let models = [demo_model_hash()].iter().chain(models).copied().collect::<Vec<_>>();
		let models = models.try_into().unwrap();
		send(rpc, account, RuntimeCall::Executors(pallet_executors::Call::set_models { models }))
			.await;
	}
	for model in models {
		wait_for_quote(rpc, node, *model, VerificationMode::Attested).await;
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_that_makes_tract_panic_fails_alone_and_the_executor_runs_on() {
	let node = Node::start_dev_with("panicking-job", &["--executor"]);
	node.wait_for_finalized(1, Duration::from_secs(120)).await;
	let rpc = node.rpc();

	// `output = input / input` (scripts/gen_models.py): tract divides integers with Rust's
	// `/`, which panics on a zero divisor. Eve registers it on chain; Alice, the dev chain's
	// executor, serves it.
	let bytes = std::fs::read(models_dir().join("quotient.onnx")).unwrap();
	let spec = |name| TensorSpec::new(name, ElementType::I32, &[1, 4]).unwrap();
	let model =
		register_model(&rpc, &node, bytes, vec![spec("input")], vec![spec("output")], 0, None)
			.await;
	serve(&rpc, &node, &[model]).await;
	let fee = DEMO_MODEL_FEE;

	// Job 0 divides by zero; job 1 does not. They wait until Alice serves the model.
	for input in [int_input([1, 0, 3, 4]), int_input([1, 2, 3, 4])] {
		submit_job(&rpc, model, input, fee).await;
	}

	// Job 0: its executor reports the failure each time, and it is re-run up to the chain's
	// limit of attempts, then fails (refunded) without a result. Job 1: Running ->
	// Provisional -> settled, on the same executor node meanwhile.
	let start = Instant::now();
	let (mut zero_ran, mut zero_had_result, mut provisional) = (false, false, None);
	loop {
		let (zero, good) = (job_report(&rpc, 0).await, job_report(&rpc, 1).await);
		if let Some(zero) = &zero {
			zero_ran |= matches!(zero.phase, JobPhase::Running { .. });
			zero_had_result |= zero.output_hash.is_some();
		}
		if let Some(good) = good.as_ref().filter(|good| good.outputs.is_some()) {
			provisional = good.outputs.clone();
		}
		if zero.is_none() && good.is_none() && zero_ran && provisional.is_some() {
			break;
		}
		assert!(
			start.elapsed() < Duration::from_secs(240),
			"jobs 0 and 1: {zero:?}, {good:?}; node log:\n{}",
			node.log()
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	assert!(!zero_had_result, "job 0 got a result");
	assert_eq!(provisional, Some(int_input([1; 4])));
	let attempts: u32 = <haca_runtime::Runtime as pallet_jobs::Config>::MaxAttempts::get();
	let metrics = prometheus_metrics(node.prometheus_port);
	let failures = metrics
		.lines()
		.find(|line| line.starts_with("haca_inference_failures_total{reason=\"execution\""))
		.unwrap_or_else(|| panic!("no execution failures:\n{metrics}"));
	assert!(failures.ends_with(&format!(" {attempts}")), "one per attempt: {failures}");
	assert!(node.stop().success());
}

/// The value of the Prometheus sample `name` with `labels` (each `key="value"`) among its
/// labels, 0 if absent.
fn metric(metrics: &str, name: &str, labels: &[&str]) -> f64 {
	let line = metrics.lines().find(|line| {
		line.strip_prefix(name).is_some_and(|rest| rest.starts_with(['{', ' ']))
			&& labels.iter().all(|label| line.contains(label))
	});
	line.and_then(|line| line.rsplit(' ').next()?.parse().ok()).unwrap_or(0.0)
}

/// Eve registers `bytes` off chain at `locators` in every mode for `DEMO_MODEL_FEE` a run,
/// with `inputs` and `outputs` (floats within 4,096 ULPs agree); Alice serves it. Returns its
/// hash once jobs on it are quoted.
async fn register_off_chain(
	rpc: &HttpClient,
	node: &Node,
	bytes: &[u8],
	locators: &[String],
	inputs: Vec<TensorSpec>,
	outputs: Vec<TensorSpec>,
) -> ModelHash {
	let model: ModelHash = sp_crypto_hashing::blake2_256(bytes).into();
	let locators: Vec<_> =
		locators.iter().map(|uri| uri.as_bytes().to_vec().try_into().unwrap()).collect();
	let register = pallet_models::Call::register {
		model,
		byte_size: bytes.len() as u32,
		source: pallet_models::ModelSource::OffChain(locators.try_into().unwrap()),
		terms: pallet_models::ModelTerms {
			inputs: inputs.try_into().unwrap(),
			outputs: outputs.try_into().unwrap(),
			modes: ModeSet::ALL,
			fee: DEMO_MODEL_FEE,
			tolerance_ulps: 4096,
			graph: None,
		},
	};
	send(rpc, Sr25519Keyring::Eve, RuntimeCall::Models(register)).await;
	wait_for_quote(rpc, node, model, VerificationMode::Quorum { agree: 2, of: 2 }).await;
	serve(rpc, node, &[model]).await;
	model
}

/// Waits until job `job` has settled (four minutes at most); its provisional outputs and
/// when they were first seen.
async fn settled_outputs(rpc: &HttpClient, node: &Node, job: u64) -> (Vec<u8>, Instant) {
	let start = Instant::now();
	let mut provisional = None;
	loop {
		let report = job_report(rpc, job).await;
		match (&report, &provisional) {
			(Some(report), None) if report.outputs.is_some() => {
				provisional = report.outputs.clone().map(|outputs| (outputs, Instant::now()))
			}
			(None, Some(_)) => return provisional.unwrap(),
			_ => {}
		}
		assert!(
			start.elapsed() < Duration::from_secs(240),
			"job {job} did not settle; last report {report:?}; node log:\n{}",
			node.log()
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// A heavy model generated by the set-up (`scripts/gen_heavy_models.py`): its bytes, its
/// input and onnxruntime's outputs for it.
fn heavy_model(name: &str) -> (Vec<u8>, Vec<Tensor>, Vec<Tensor>) {
	let dir = models_dir().join("heavy").join(name);
	let bytes = std::fs::read(dir.join("model.onnx"))
		.unwrap_or_else(|error| panic!("{name}: {error} (scripts/setup.sh generates it)"));
	let read = |file: &str| {
		let path = dir.join("test_data_set_0").join(file);
		vec![haca_engine::proto::read(&std::fs::read(path).unwrap()).unwrap()]
	};
	(bytes, read("input_0.pb"), read("output_0.pb"))
}

/// The specs of tensors, named and shaped as they are.
fn specs_of(name: &str, tensors: &[Tensor]) -> Vec<TensorSpec> {
	tensors
		.iter()
		.map(|tensor| TensorSpec::new(name, tensor.element_type, &tensor.shape).unwrap())
		.collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_executor_fetches_a_heavy_model_from_its_locators_and_its_job_settles() {
	let node = Node::start_dev_with("off-chain-model", &["--executor"]);
	node.wait_for_finalized(1, Duration::from_secs(120)).await;
	let rpc = node.rpc();

	// Eve registers a ResNet-18 (45 MB) off chain: its first locator serves wrong bytes, its
	// second the model. No node holds it yet.
	let (bytes, input, reference) = heavy_model("resnet18");
	let server = common::http::serve(bytes.clone());
	let locators = [format!("{server}/wrong"), format!("{server}/good")];
	let (inputs, outputs) = (specs_of("image", &input), specs_of("logits", &reference));
	let registered = Instant::now();
	let model = register_off_chain(&rpc, &node, &bytes, &locators, inputs, outputs).await;

	submit_job(&rpc, model, input.encode(), DEMO_MODEL_FEE).await;
	let (outputs, result_at) = settled_outputs(&rpc, &node, 0).await;
	eprintln!("resnet18: registration to first result {:?}", result_at - registered);
	let outputs = decode_tensors(&outputs).unwrap();
	assert!(tensors_agree(&outputs, &reference, 4096), "not onnxruntime's outputs: {outputs:?}");

	// The wrong locator was dropped for its hash; the model came over HTTP into the store.
	let metrics = prometheus_metrics(node.prometheus_port);
	let (http, wrong) = (r#"source="http""#, r#"reason="hash_mismatch""#);
	assert_eq!(metric(&metrics, "haca_model_fetch_failures_total", &[http, wrong]), 1.0);
	let fetched = metric(&metrics, "haca_model_fetch_bytes_total", &[http]);
	assert_eq!(fetched, bytes.len() as f64, "{metrics}");
	assert_eq!(metric(&metrics, "haca_model_store_bytes", &[]), bytes.len() as f64);
	let log = node.log();
	assert!(log.contains("/wrong dropped: wrong bytes"), "the dropped locator is logged");
	assert!(log.contains(&format!("fetched {} bytes from http", bytes.len())), "{log}");

	// An operator fetches it by hash alone: the size and locators come from the chain.
	let store = common::scratch_dir("operator-store");
	let output = std::process::Command::new(common::NODE_BINARY)
		.args(["model", "fetch", &hex(model.as_ref())])
		.args(["--rpc-url", &format!("http://127.0.0.1:{}", node.rpc_port)])
		.arg("--model-dir")
		.arg(&store)
		.output()
		.unwrap();
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(output.status.success(), "{stderr}");
	assert!(stderr.contains("/wrong: wrong bytes"), "{stderr}");
	assert_eq!(haca_engine::ModelStore::new(&store, u64::MAX).get(&model.0), Some(bytes));
	let unknown = std::process::Command::new(common::NODE_BINARY)
		.args(["model", "fetch", &hex(&[7; 32])])
		.args(["--rpc-url", &format!("http://127.0.0.1:{}", node.rpc_port)])
		.arg("--model-dir")
		.arg(&store)
		.output()
		.unwrap();
	let stderr = String::from_utf8_lossy(&unknown.stderr);
	assert!(!unknown.status.success() && stderr.contains("not registered off chain"), "{stderr}");
	assert!(node.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_executor_fetches_a_model_its_locators_lost_from_a_peer_that_holds_it() {
	// A full node of the dev chain holds a BERT-tiny (17 MB) in its store; its locator is
	// gone.
	let (bytes, input, reference) = heavy_model("bert_tiny");
	let holder_store = common::scratch_dir("holder-store");
	let added = std::process::Command::new(common::NODE_BINARY)
		.args(["model", "add"])
		.arg(models_dir().join("heavy/bert_tiny/model.onnx"))
		.arg("--model-dir")
		.arg(&holder_store)
		.status()
		.unwrap();
	assert!(added.success());
	let executor = Node::start_dev_with("peer-fetcher", &["--executor"]);
	executor.wait_for_finalized(1, Duration::from_secs(120)).await;
	let rpc = executor.rpc();
	let peer_id: String = rpc.request("system_localPeerId", rpc_params![]).await.unwrap();
	let bootnode = format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer_id}", executor.p2p_port);
	let store = holder_store.to_str().unwrap();
	let holder = Node::start(
		"model-holder",
		&["--chain", "dev", "--bootnodes", &bootnode, "--model-dir", store],
	);
	holder.wait_for_best(2, Duration::from_secs(120)).await;

	let server = common::http::serve(Vec::new());
	let (inputs, outputs) = (specs_of("input_ids", &input), specs_of("logits", &reference));
	let locators = [format!("{server}/gone")];
	let model = register_off_chain(&rpc, &executor, &bytes, &locators, inputs, outputs).await;
	submit_job(&rpc, model, input.encode(), DEMO_MODEL_FEE).await;
	let (outputs, _) = settled_outputs(&rpc, &executor, 0).await;
	let outputs = decode_tensors(&outputs).unwrap();
	assert!(tensors_agree(&outputs, &reference, 4096), "not onnxruntime's outputs: {outputs:?}");
	let log = executor.log();
	assert!(log.contains(&format!("fetched {} bytes from peer", bytes.len())), "{log}");

	// The bytes came from the peer; the locator was never needed.
	let metrics = prometheus_metrics(executor.prometheus_port);
	let fetched = metric(&metrics, "haca_model_fetch_bytes_total", &[r#"source="peer""#]);
	assert_eq!(fetched, bytes.len() as f64, "{metrics}");
	assert_eq!(metric(&metrics, "haca_model_fetch_failures_total", &[r#"source="http""#]), 0.0);
	assert!(holder.stop().success());
	assert!(executor.stop().success());
}

/// Alice's registration as the node's state holds it.
async fn alice_registration(
	rpc: &HttpClient,
) -> pallet_executors::ExecutorInfo<haca_runtime::Runtime> {
	let key = pallet_executors::Executors::<haca_runtime::Runtime>::hashed_key_for(
		Sr25519Keyring::Alice.to_account_id(),
	);
	let raw: Option<String> =
		rpc.request("state_getStorage", rpc_params![hex(&key)]).await.unwrap();
	Decode::decode(&mut &unhex(&raw.expect("Alice is registered"))[..]).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lie_on_the_dev_chain_is_challenged_by_a_dev_verifier_node_and_slashed() {
	// The main job's chain with its executor lying, and a second node on it with the
	// verifier role, which on a development chain holds the dev verifiers' keys: one of
	// them challenges the lie. The demo model has a dispute graph, so the chain decides: the
	// liar's node submits a trace that ends at its lie, and a verifier proves the step that
	// got it wrong, which the runtime re-executes. No committee votes. (A lying engine cannot
	// audit, so the verifier is another node.)
	const NODE_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";
	const PEER_ID: &str = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp";
	let executor = Node::start_dev_with(
		"dev-lie-executor",
		&["--executor", "--dishonest-executor", "--node-key", NODE_KEY],
	);
	let bootnode = format!("/ip4/127.0.0.1/tcp/{}/p2p/{PEER_ID}", executor.p2p_port);
	let verifier = Node::start(
		"dev-lie-verifier",
		&["--chain", "dev", "--verifier", "--audit-percent", "100", "--bootnodes", &bootnode],
	);
	executor.wait_for_finalized(1, Duration::from_secs(120)).await;
	verifier.wait_for_finalized(1, Duration::from_secs(120)).await;
	let rpc = executor.rpc();
	let bond = alice_registration(&rpc).await.bond;

	let input = std::fs::read(models_dir().join("mlp.input.npy")).unwrap();
	let input = vec![haca_engine::npy::read(&input).unwrap()].encode();
	submit_job(&rpc, demo_model_hash(), input, DEMO_MODEL_FEE).await;

	let first = best_block(&rpc).await;
	let start = Instant::now();
	let (mut stake, mut disputed) = (None, false);
	loop {
		if let Some(report) = job_report(&rpc, 0).await {
			stake = Some(report.stake);
			disputed |=
				matches!(report.phase, JobPhase::TraceDue { .. } | JobPhase::Proving { .. });
		}
		let now = alice_registration(&rpc).await.bond;
		if now < bond {
			assert!(disputed, "slashed after a dispute");
			assert_eq!(Some(bond - now), stake, "Alice lost the job's stake");
			break;
		}
		assert!(
			start.elapsed() < Duration::from_secs(240),
			"the lie was not slashed; executor log:\n{}\nverifier log:\n{}",
			executor.log(),
			verifier.log()
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	let events = events(&rpc, first..=best_block(&rpc).await).await;
	let settlement = |event: &haca_runtime::RuntimeEvent| match event {
		haca_runtime::RuntimeEvent::Settlement(event) => Some(event.clone()),
		_ => None,
	};
	let events: Vec<_> = events.iter().filter_map(settlement).collect();
	assert!(
		events
			.iter()
			.any(|event| matches!(event, pallet_settlement::Event::StepProvenWrong { job: 0, .. })),
		"the lie was not proven wrong by a step: {events:?}"
	);
	assert!(
		!events.iter().any(|event| matches!(event, pallet_settlement::Event::VoteCommitted { .. })),
		"a committee voted: {events:?}"
	);
	assert!(verifier.stop().success());
	assert!(executor.stop().success());
}

/// The runtime's events in the best chain's blocks `blocks`.
async fn events(
	rpc: &HttpClient,
	blocks: std::ops::RangeInclusive<BlockNumber>,
) -> Vec<haca_runtime::RuntimeEvent> {
	// `System::Events`, whose storage item frame-system keeps private.
	let key =
		[sp_crypto_hashing::twox_128(b"System"), sp_crypto_hashing::twox_128(b"Events")].concat();
	let mut events = Vec::new();
	for number in blocks {
		let hash: Option<String> =
			rpc.request("chain_getBlockHash", rpc_params![number]).await.unwrap();
		let Some(hash) = hash else { break };
		let raw: Option<String> =
			rpc.request("state_getStorage", rpc_params![hex(&key), hash]).await.unwrap();
		let records: Vec<frame_system::EventRecord<haca_runtime::RuntimeEvent, sp_core::H256>> =
			raw.map(|raw| Decode::decode(&mut &unhex(&raw)[..]).unwrap()).unwrap_or_default();
		events.extend(records.into_iter().map(|record| record.event));
	}
	events
}

/// The best block's number.
async fn best_block(rpc: &HttpClient) -> BlockNumber {
	let header: serde_json::Value = rpc.request("chain_getHeader", rpc_params![]).await.unwrap();
	let number = header["number"].as_str().expect("a header number");
	BlockNumber::from_str_radix(number.trim_start_matches("0x"), 16).unwrap()
}

/// A proof of the last step of the demo model's dispute graph on `input`, as a prover would
/// make it natively.
fn last_step(input: &[Tensor]) -> pallet_settlement::StepProof<haca_runtime::Runtime> {
	let bytes = haca_runtime::genesis_config_presets::DEMO_MODEL;
	let graph = haca_engine::lowering::lower(bytes).unwrap().graph;
	let values = graph.values(input).unwrap();
	let step = graph.step(&values, graph.nodes.len() - 1).unwrap();
	let constant_proofs: Vec<_> =
		step.constant_proofs.into_iter().map(|proof| proof.try_into().unwrap()).collect();
	pallet_settlement::StepProof {
		index: step.index,
		node: step.node,
		node_proof: step.node_proof.try_into().unwrap(),
		inputs: step.inputs.encode().try_into().unwrap(),
		constant_proofs: constant_proofs.try_into().unwrap(),
		work: step.work,
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn a_challenger_that_lies_loses_its_bond_and_the_honest_result_settles() {
	// The main job's chain, honest, and a verifier node that audits with wrong outputs
	// (`--dishonest-verifier`) and holds the dev verifiers' keys: one of them challenges the
	// right result. The chain decides: the executor's node submits its trace, no step of it
	// can be proven wrong, and when the proof window closes the challenger's bond goes (half
	// to the executor) and the result settles. Meanwhile Ferdie tries to prove the trace's
	// last step wrong: the runtime's kernels, in wasm, give the output the executor's node
	// computed natively, bit for bit, and refuse the proof (`StepHolds`).
	const NODE_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000002";
	const PEER_ID: &str = "12D3KooWHdiAxVd8uMQR1hGWXccidmfCwLqcMpGwR6QcTP6QRMuD";
	let executor =
		Node::start_dev_with("lying-challenger-executor", &["--executor", "--node-key", NODE_KEY]);
	let bootnode = format!("/ip4/127.0.0.1/tcp/{}/p2p/{PEER_ID}", executor.p2p_port);
	let verifier = Node::start(
		"lying-challenger-verifier",
		&[
			"--chain",
			"dev",
			"--verifier",
			"--dishonest-verifier",
			"--audit-percent",
			"100",
			"--bootnodes",
			&bootnode,
		],
	);
	executor.wait_for_finalized(1, Duration::from_secs(120)).await;
	verifier.wait_for_finalized(1, Duration::from_secs(120)).await;
	let rpc = executor.rpc();
	let bond = alice_registration(&rpc).await.bond;

	let first = best_block(&rpc).await;
	let input = std::fs::read(models_dir().join("mlp.input.npy")).unwrap();
	let input = vec![haca_engine::npy::read(&input).unwrap()];
	submit_job(&rpc, demo_model_hash(), input.encode(), DEMO_MODEL_FEE).await;
	let start = Instant::now();
	let mut proving = false;
	while job_report(&rpc, 0).await.is_some() || !proving {
		if let Some(report) = job_report(&rpc, 0).await {
			if !proving && matches!(report.phase, JobPhase::Proving { .. }) {
				proving = true;
				let prove_step =
					pallet_settlement::Call::prove_step { job: 0, proof: last_step(&input) };
				send(&rpc, Sr25519Keyring::Ferdie, RuntimeCall::Settlement(prove_step)).await;
			}
		}
		assert!(
			start.elapsed() < Duration::from_secs(240),
			"the job did not settle after a game; executor log:\n{}\nverifier log:\n{}",
			executor.log(),
			verifier.log()
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	let events = events(&rpc, first..=best_block(&rpc).await).await;
	let settlement: Vec<_> = events
		.iter()
		.filter_map(|event| match event {
			haca_runtime::RuntimeEvent::Settlement(event) => Some(event.clone()),
			_ => None,
		})
		.collect();
	let has = |wanted: fn(&pallet_settlement::Event<haca_runtime::Runtime>) -> bool| {
		settlement.iter().any(wanted)
	};
	assert!(
		has(|e| matches!(e, pallet_settlement::Event::Challenged { job: 0, .. })),
		"{settlement:?}"
	);
	assert!(has(|e| matches!(e, pallet_settlement::Event::TraceSubmitted { job: 0, .. })));
	assert!(!has(|e| matches!(e, pallet_settlement::Event::StepProvenWrong { .. })));
	assert!(has(|e| matches!(
		e,
		pallet_settlement::Event::DisputeResolved { job: 0, executor_was_right: true }
	)));
	assert!(has(|e| matches!(e, pallet_settlement::Event::Settled { job: 0, .. })));
	assert_eq!(alice_registration(&rpc).await.bond, bond, "Alice kept her bond");
	let step_holds = sp_runtime::DispatchError::from(
		pallet_settlement::Error::<haca_runtime::Runtime>::StepHolds,
	);
	let refused = events.iter().any(|event| match (event, step_holds) {
		(
			haca_runtime::RuntimeEvent::System(frame_system::Event::ExtrinsicFailed {
				dispatch_error: sp_runtime::DispatchError::Module(error),
				..
			}),
			sp_runtime::DispatchError::Module(expected),
		) => error.index == expected.index && error.error == expected.error,
		_ => false,
	});
	assert!(refused, "Ferdie's proof of a right step was not refused with StepHolds: {events:?}");
	assert!(verifier.stop().success());
	assert!(executor.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn models_no_executor_will_run_fail_their_jobs_by_name_with_a_full_refund() {
	use haca_primitives::statement::ExecutionFailure;
	use haca_runtime::RuntimeEvent;
	let node = Node::start_dev_with("unrunnable-model", &["--executor"]);
	node.wait_for_finalized(1, Duration::from_secs(120)).await;
	let rpc = node.rpc();

	// A binary SVC as skl2onnx exports it: the engine refuses binary SVMClassifiers (see
	// `haca-node inspect`), but nothing stops Eve registering it, or Alice serving it.
	let dir = models_dir().join("exports/svc_binary");
	let bytes = std::fs::read(dir.join("model.onnx")).unwrap();
	let read = |file: &str| {
		haca_engine::proto::read(&std::fs::read(dir.join("test_data_set_0").join(file)).unwrap())
			.unwrap()
	};
	let (input, label, probabilities) =
		(read("input_0.pb"), read("output_0.pb"), read("output_1.pb"));
	let spec = |name, tensor: &Tensor| TensorSpec::new(name, tensor.element_type, &tensor.shape);
	let inputs = vec![spec("X", &input).unwrap()];
	let outputs =
		vec![spec("label", &label).unwrap(), spec("probabilities", &probabilities).unwrap()];
	let svc = register_model(&rpc, &node, bytes, inputs, outputs, 256, None).await;

	// A small CNN registered with a dispute graph it does not lower to (one bit of its
	// weights root flipped): the executor lowers it before serving it, and refuses.
	let bytes = std::fs::read(models_dir().join("cnn_small.onnx")).unwrap();
	let spec = |name, dims: &[u32]| TensorSpec::new(name, ElementType::F32, dims).unwrap();
	let (inputs, outputs) = (vec![spec("input", &[1, 3, 16, 16])], vec![spec("output", &[1, 10])]);
	let mut graph = haca_engine::lowering::commitment(&bytes, &inputs).unwrap();
	graph.weights_root.0[0] ^= 1;
	let cnn = register_model(&rpc, &node, bytes, inputs, outputs, 64, Some(graph)).await;
	serve(&rpc, &node, &[svc, cnn]).await;
	let fee = DEMO_MODEL_FEE;

	let first = best_block(&rpc).await;
	let job_inputs = [
		vec![input].encode(),
		vec![Tensor::from_f32(&[1, 3, 16, 16], &[0.5; 768]).unwrap()].encode(),
	];
	for (model, input) in [svc, cnn].into_iter().zip(&job_inputs) {
		submit_job(&rpc, model, input.clone(), fee).await;
	}
	let (start, mut seen) = (Instant::now(), [false; 2]);
	loop {
		let open = [job_report(&rpc, 0).await.is_some(), job_report(&rpc, 1).await.is_some()];
		if seen == [true; 2] && open == [false; 2] {
			break;
		}
		seen = [seen[0] | open[0], seen[1] | open[1]];
		assert!(start.elapsed() < Duration::from_secs(300), "jobs open {open:?}\n{}", node.log());
		tokio::time::sleep(Duration::from_millis(500)).await;
	}

	// Each attempt's executor said why it could not run the job; then the job failed and
	// Charlie, who submitted it, got everything back.
	let events = events(&rpc, first..=best_block(&rpc).await).await;
	let attempts: u32 = <haca_runtime::Runtime as pallet_jobs::Config>::MaxAttempts::get();
	for (id, input) in job_inputs.iter().enumerate() {
		let id = id as u64;
		let reasons: Vec<ExecutionFailure> = (events.iter())
			.filter_map(|event| match event {
				RuntimeEvent::Settlement(pallet_settlement::Event::ExecutionFailed {
					job,
					reason,
					..
				}) if *job == id => Some(*reason),
				_ => None,
			})
			.collect();
		assert_eq!(reasons, vec![ExecutionFailure::InvalidModel; attempts as usize], "job {id}");
		let deposit = pallet_jobs::Pallet::<haca_runtime::Runtime>::deposit_for(input.len() as u32);
		assert!(
			events.iter().any(|event| matches!(
				event,
				RuntimeEvent::Jobs(pallet_jobs::Event::Failed { job, refunded })
					if *job == id && *refunded == fee + deposit
			)),
			"no full refund of job {id} in {events:?}"
		);
	}
	// The CNN's refusals were for its graph.
	let metrics = prometheus_metrics(node.prometheus_port);
	let refusals = metrics
		.lines()
		.find(|line| line.starts_with("haca_inference_failures_total{reason=\"graph_mismatch\""))
		.unwrap_or_else(|| panic!("no graph refusals:\n{metrics}"));
	assert!(refusals.ends_with(&format!(" {attempts}")), "one per attempt: {refusals}");
	assert!(node.stop().success());
}
