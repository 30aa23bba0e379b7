//! The node service: client, database (ParityDB), networking, BABE block authoring,
//! GRANDPA finality, off-chain workers and RPC.

use std::{sync::Arc, time::Duration};

use futures::FutureExt;
use haca_runtime::{apis::RuntimeApi, opaque::Block};
use sc_client_api::{Backend, BlockBackend};
use sc_consensus_babe::{BabeParams, ImportQueueParams, SlotProportion};
use sc_consensus_grandpa::SharedVoterState;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager, WarpSyncConfig};
use sc_telemetry::{Telemetry, TelemetryWorker};
use sc_transaction_pool_api::OffchainTransactionPoolFactory;

/// The host functions the runtime may call: Substrate's and HACA's inference bridge.
#[cfg(not(feature = "runtime-benchmarks"))]
pub type HostFunctions = (sp_io::SubstrateHostFunctions, haca_inference::inference::HostFunctions);

/// The host functions the runtime may call: Substrate's, HACA's inference bridge, and the
/// benchmarking ones a runtime built with `runtime-benchmarks` imports.
#[cfg(feature = "runtime-benchmarks")]
pub type HostFunctions = (
	sp_io::SubstrateHostFunctions,
	haca_inference::inference::HostFunctions,
	frame_benchmarking::benchmarking::HostFunctions,
);

/// The full client, executing the wasm runtime.
pub type FullClient =
	sc_service::TFullClient<Block, RuntimeApi, sc_executor::WasmExecutor<HostFunctions>>;
type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;

/// Blocks between GRANDPA justifications that are stored and served: every finalized
/// round's target keeps its justification (in the block's `justifications`), so that a job's
/// receipt proves its block final with the next one (a few hundred bytes per round).
const GRANDPA_JUSTIFICATION_PERIOD: u32 = 1;

type GrandpaBlockImport =
	sc_consensus_grandpa::GrandpaBlockImport<FullBackend, Block, FullClient, FullSelectChain>;

/// The inherent data of a block: the BABE slot and the time.
type SlotAndTimestamp =
	(sp_consensus_babe::inherents::InherentDataProvider, sp_timestamp::InherentDataProvider);

/// What creates a block's inherent data, for authoring and for checking imported blocks.
type InherentsFactory =
	fn(
		<Block as sp_runtime::traits::Block>::Hash,
		(),
	) -> std::future::Ready<Result<SlotAndTimestamp, Box<dyn std::error::Error + Send + Sync>>>;

/// Imports blocks through BABE (slot claims, epochs) and then GRANDPA (finality).
type BlockImport = sc_consensus_babe::BabeBlockImport<
	Block,
	FullClient,
	GrandpaBlockImport,
	InherentsFactory,
	FullSelectChain,
>;

/// The parts of the service that subcommands (check-block, export-blocks, ...) need too.
pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	sc_consensus::DefaultImportQueue<Block>,
	sc_transaction_pool::TransactionPoolHandle<Block, FullClient>,
	(
		BlockImport,
		sc_consensus_babe::BabeLink<Block>,
		sc_consensus_babe::BabeWorkerHandle<Block>,
		sc_consensus_grandpa::LinkHalf<Block, FullClient, FullSelectChain>,
		Option<Telemetry>,
	),
>;

/// Inherent data for a new block: the current time and the BABE slot it falls in.
fn slot_and_timestamp(
	_parent: <Block as sp_runtime::traits::Block>::Hash,
	(): (),
) -> std::future::Ready<Result<SlotAndTimestamp, Box<dyn std::error::Error + Send + Sync>>> {
	let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
	let slot = sp_consensus_babe::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
		*timestamp,
		sp_consensus_babe::SlotDuration::from_millis(haca_runtime::SLOT_DURATION),
	);
	std::future::ready(Ok((slot, timestamp)))
}

/// Builds the client, database, transaction pool and import queue.
pub fn new_partial(config: &Configuration) -> Result<Service, ServiceError> {
	let telemetry = config
		.telemetry_endpoints
		.clone()
		.filter(|x| !x.is_empty())
		.map(|endpoints| -> Result<_, sc_telemetry::Error> {
			let worker = TelemetryWorker::new(16)?;
			let telemetry = worker.handle().new_telemetry(endpoints);
			Ok((worker, telemetry))
		})
		.transpose()?;

	let executor = sc_service::new_wasm_executor::<HostFunctions>(&config.executor);
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(
			config,
			telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
			executor,
			Vec::new(),
		)?;
	let client = Arc::new(client);

	let telemetry = telemetry.map(|(worker, telemetry)| {
		task_manager.spawn_handle().spawn("telemetry", None, worker.run());
		telemetry
	});

	let select_chain = sc_consensus::LongestChain::new(backend.clone());

	let transaction_pool = Arc::from(
		sc_transaction_pool::Builder::new(
			task_manager.spawn_essential_handle(),
			client.clone(),
			config.role.is_authority().into(),
		)
		.with_options(config.transaction_pool.clone())
		.with_prometheus(config.prometheus_registry())
		.build(),
	);

	let (grandpa_block_import, grandpa_link) = sc_consensus_grandpa::block_import(
		client.clone(),
		GRANDPA_JUSTIFICATION_PERIOD,
		&client,
		select_chain.clone(),
		telemetry.as_ref().map(|x| x.handle()),
	)?;

	let (block_import, babe_link) = sc_consensus_babe::block_import(
		sc_consensus_babe::configuration(&*client)?,
		grandpa_block_import.clone(),
		client.clone(),
		slot_and_timestamp as InherentsFactory,
		select_chain.clone(),
		OffchainTransactionPoolFactory::new(transaction_pool.clone()),
	)?;
	let slot_duration = babe_link.config().slot_duration();
	let (import_queue, babe_worker) = sc_consensus_babe::import_queue(ImportQueueParams {
		link: babe_link.clone(),
		block_import: block_import.clone(),
		justification_import: Some(Box::new(grandpa_block_import)),
		client: client.clone(),
		slot_duration,
		spawner: &task_manager.spawn_essential_handle(),
		registry: config.prometheus_registry(),
		telemetry: telemetry.as_ref().map(|x| x.handle()),
	})?;

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (block_import, babe_link, babe_worker, grandpa_link, telemetry),
	})
}

/// Builds and starts the full node; returns its task manager. With `inference` roles the node
/// runs the inference engine for its off-chain workers.
/// Puts the development verifiers' `infr` keys into the keystore, so that a development
/// node started with `--verifier` audits its own chain, challenger and committee alike.
fn hold_dev_verifier_keys(keystore: &sp_keystore::KeystorePtr) -> Result<(), ServiceError> {
	use sp_keystore::Keystore;
	for verifier in haca_runtime::genesis_config_presets::DEV_VERIFIERS {
		keystore
			.sr25519_generate_new(haca_primitives::INFERENCE_KEY_TYPE, Some(&verifier.to_seed()))
			.map_err(|error| ServiceError::Other(format!("dev verifier key: {error}")))?;
	}
	Ok(())
}

pub fn new_full<
	N: sc_network::NetworkBackend<Block, <Block as sp_runtime::traits::Block>::Hash>,
>(
	mut config: Configuration,
	inference: Option<crate::roles::InferenceOptions>,
	models: crate::fetch::ModelOptions,
) -> Result<TaskManager, ServiceError> {
	if inference.is_some() {
		// Executors and verifiers work from their off-chain workers, authority or not.
		config.offchain_worker.enabled = true;
	}

	let sc_service::PartialComponents {
		client,
		backend,
		mut task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (block_import, babe_link, babe_worker, grandpa_link, mut telemetry),
	} = new_partial(&config)?;

	// The BABE worker (epoch data for the import queue) runs while its handle lives.
	task_manager.spawn_handle().spawn("babe-worker-handle", None, async move {
		let _handle = babe_worker;
		futures::future::pending::<()>().await
	});

	if inference.as_ref().is_some_and(|node| node.roles.verifier)
		&& config.chain_spec.chain_type() == sc_service::ChainType::Development
	{
		hold_dev_verifier_keys(&keystore_container.keystore())?;
	}

	let mut net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as sp_runtime::traits::Block>::Hash,
		N,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = N::register_notification_metrics(config.prometheus_registry());

	let peer_store_handle = net_config.peer_store_handle();
	let grandpa_protocol_name = sc_consensus_grandpa::protocol_standard_name(
		&client.block_hash(0).ok().flatten().expect("Genesis block exists; qed"),
		&config.chain_spec,
	);
	let (grandpa_protocol_config, grandpa_notification_service) =
		sc_consensus_grandpa::grandpa_peers_set_config::<_, N>(
			grandpa_protocol_name.clone(),
			metrics.clone(),
			peer_store_handle,
		);
	net_config.add_notification_protocol(grandpa_protocol_config);

	// Models shared with peers: served from the store (unless turned off), fetched into it.
	let store = models.store(&config.data_path);
	let held = store.list().unwrap_or_default();
	log::info!(
		"model store: {} ({} models, {} bytes of at most {}){}",
		store.dir().display(),
		held.len(),
		held.iter().map(|model| model.size).sum::<u64>(),
		store.capacity(),
		if models.serving { ", served to peers" } else { "" },
	);
	let models_protocol = crate::fetch::protocol_name(
		client.block_hash(0).ok().flatten().expect("Genesis block exists; qed").as_ref(),
	);
	let (model_server, models_protocol_config) =
		crate::fetch::PeerServer::new::<N>(models_protocol.clone(), store.clone(), models.serving);
	net_config.add_request_response_protocol(models_protocol_config);

	let warp_sync = Arc::new(sc_consensus_grandpa::warp_proof::NetworkProvider::new(
		backend.clone(),
		grandpa_link.shared_authority_set().clone(),
		Vec::default(),
	));

	let (network, system_rpc_tx, tx_handler_controller, sync_service, _bitswap) =
		sc_service::build_network(sc_service::BuildNetworkParams {
			config: &config,
			net_config,
			client: client.clone(),
			transaction_pool: transaction_pool.clone(),
			spawn_handle: task_manager.spawn_handle(),
			spawn_essential_handle: task_manager.spawn_essential_handle(),
			import_queue,
			block_announce_validator_builder: None,
			warp_sync_config: Some(WarpSyncConfig::WithProvider(warp_sync)),
			block_relay: None,
			metrics,
			gap_sync_body_policy: None,
		})?;

	if let Some(server) = model_server {
		task_manager.spawn_handle().spawn("haca-model-server", Some("haca"), server.run());
	}
	let peers = crate::fetch::PeerSource {
		network: network.clone(),
		sync: sync_service.clone(),
		protocol: models_protocol,
		timeout: models.policy.timeout,
	};
	let inference = inference
		.map(|options| {
			let spawner = task_manager.spawn_handle();
			options.start(config.prometheus_registry(), store, peers, models.policy, spawner)
		})
		.transpose()?;

	if config.offchain_worker.enabled {
		let offchain_workers =
			sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
				runtime_api_provider: client.clone(),
				is_validator: config.role.is_authority(),
				keystore: Some(keystore_container.keystore()),
				offchain_db: backend.offchain_storage(),
				transaction_pool: Some(OffchainTransactionPoolFactory::new(
					transaction_pool.clone(),
				)),
				network_provider: Arc::new(network.clone()),
				enable_http_requests: true,
				custom_extensions: move |_| match &inference {
					Some(node) => {
						vec![Box::new(haca_inference::InferenceExt(node.clone())) as Box<_>]
					}
					None => vec![],
				},
			})?;
		task_manager.spawn_handle().spawn(
			"offchain-workers-runner",
			"offchain-worker",
			offchain_workers.run(client.clone(), task_manager.spawn_handle()).boxed(),
		);
	}

	let role = config.role;
	let force_authoring = config.force_authoring;
	let name = config.network.node_name.clone();
	let enable_grandpa = !config.disable_grandpa;
	let prometheus_registry = config.prometheus_registry().cloned();

	let rpc_builder = {
		let client = client.clone();
		let pool = transaction_pool.clone();
		Box::new(move |_| {
			let deps = crate::rpc::FullDeps { client: client.clone(), pool: pool.clone() };
			crate::rpc::create_full(deps).map_err(Into::into)
		})
	};

	sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network: Arc::new(network.clone()),
		client: client.clone(),
		keystore: keystore_container.keystore(),
		task_manager: &mut task_manager,
		transaction_pool: transaction_pool.clone(),
		rpc_builder,
		backend,
		system_rpc_tx,
		tx_handler_controller,
		sync_service: sync_service.clone(),
		config,
		telemetry: telemetry.as_mut(),
		tracing_execute_block: None,
	})?;

	if role.is_authority() {
		let proposer_factory = sc_basic_authorship::ProposerFactory::new(
			task_manager.spawn_handle(),
			client.clone(),
			transaction_pool.clone(),
			prometheus_registry.as_ref(),
			telemetry.as_ref().map(|x| x.handle()),
		);

		let babe = sc_consensus_babe::start_babe(BabeParams {
			keystore: keystore_container.keystore(),
			client,
			select_chain,
			env: proposer_factory,
			block_import,
			sync_oracle: sync_service.clone(),
			justification_sync_link: sync_service.clone(),
			create_inherent_data_providers: slot_and_timestamp as InherentsFactory,
			force_authoring,
			backoff_authoring_blocks: Option::<()>::None,
			babe_link,
			block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
			max_block_proposal_slot_portion: None,
			telemetry: telemetry.as_ref().map(|x| x.handle()),
		})?;
		// Authoring is essential: if it fails, the node stops.
		task_manager.spawn_essential_handle().spawn_blocking("babe", Some("block-authoring"), babe);
	}

	if enable_grandpa {
		// Only authorities vote, so only they need the keystore.
		let keystore = role.is_authority().then(|| keystore_container.keystore());
		let grandpa_config = sc_consensus_grandpa::Config {
			gossip_duration: Duration::from_millis(333),
			justification_generation_period: GRANDPA_JUSTIFICATION_PERIOD,
			name: Some(name),
			observer_enabled: false,
			keystore,
			local_role: role,
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			protocol_name: grandpa_protocol_name,
		};
		let grandpa_params = sc_consensus_grandpa::GrandpaParams {
			config: grandpa_config,
			link: grandpa_link,
			network,
			sync: Arc::new(sync_service),
			notification_service: grandpa_notification_service,
			voting_rule: sc_consensus_grandpa::VotingRulesBuilder::default().build(),
			prometheus_registry,
			shared_voter_state: SharedVoterState::empty(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
		};
		// The voter is essential: if it fails, the node stops.
		task_manager.spawn_essential_handle().spawn_blocking(
			"grandpa-voter",
			None,
			sc_consensus_grandpa::run_grandpa_voter(grandpa_params)?,
		);
	}

	Ok(task_manager)
}
