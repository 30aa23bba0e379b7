//! The main job on one machine: a development node with the executor role runs a client's
//! job on the demo model with tract, submits the signed result by itself, and the job
//! settles after its challenge window.

#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use codec::{Decode, Encode};
use common::{prometheus_metrics, Node};
use haca_primitives::{
	runtime_api::{JobPhase, JobReport},
	tensor::{decode_tensors, tensors_agree},
	VerificationMode,
};
use haca_runtime::{
	genesis_config_presets::{demo_model_hash, DEMO_MODEL_FEE},
	AccountId, Balance, BlockNumber, RuntimeCall, SignedPayload, TxExtension, UncheckedExtrinsic,
	VERSION,
};
use jsonrpsee::{core::client::ClientT, http_client::HttpClient, rpc_params};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{generic::Era, MultiAddress, MultiSignature};

fn hex(bytes: &[u8]) -> String {
	format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn unhex(text: &str) -> Vec<u8> {
	let text = text.trim_start_matches("0x");
	(0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
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
	let extension: TxExtension = (
		frame_system::AuthorizeCall::new(),
		frame_system::CheckNonZeroSender::new(),
		frame_system::CheckSpecVersion::new(),
		frame_system::CheckTxVersion::new(),
		frame_system::CheckGenesis::new(),
		frame_system::CheckEra::from(Era::Immortal),
		frame_system::CheckNonce::from(nonce),
		frame_system::CheckWeight::new(),
		pallet_transaction_payment::ChargeTransactionPayment::from(0),
	);
	let implicit =
		((), (), VERSION.spec_version, VERSION.transaction_version, genesis, genesis, (), (), ());
	let payload = SignedPayload::from_raw(call.clone(), extension.clone(), implicit);
	let signature = payload.using_encoded(|bytes| signer.sign(bytes));
	UncheckedExtrinsic::new_signed(
		call,
		MultiAddress::Id(signer.to_account_id()),
		MultiSignature::Sr25519(signature),
		extension,
	)
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
	let call = RuntimeCall::Jobs(pallet_jobs::Call::submit {
		model: demo_model_hash(),
		input: input.try_into().unwrap(),
		mode: VerificationMode::Attested,
		max_fee: DEMO_MODEL_FEE,
	});
	let xt = signed(&rpc, Sr25519Keyring::Charlie, call).await;
	let _: String =
		rpc.request("author_submitExtrinsic", rpc_params![hex(&xt.encode())]).await.unwrap();

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
