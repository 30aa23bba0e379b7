//! Dispatches the command line to the node service or to a subcommand.

use crate::{
	chain_spec,
	cli::{Cli, Subcommand},
	service,
};
use haca_runtime::opaque::Block;
use sc_cli::SubstrateCli;
use sc_service::{ChainType, PartialComponents};

impl SubstrateCli for Cli {
	fn impl_name() -> String {
		"HACA Node".into()
	}

	fn impl_version() -> String {
		env!("SUBSTRATE_CLI_IMPL_VERSION").into()
	}

	fn description() -> String {
		env!("CARGO_PKG_DESCRIPTION").into()
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"https://github.com/haca-chain/haca-chain/issues".into()
	}

	fn copyright_start_year() -> i32 {
		2026
	}

	fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
		Ok(match id {
			"dev" => Box::new(chain_spec::development_chain_spec()?),
			"" | "local" => Box::new(chain_spec::local_chain_spec()?),
			"testnet" => Box::new(chain_spec::testnet_chain_spec()?),
			path => Box::new(
				chain_spec::ChainSpec::from_json_file(std::path::PathBuf::from(path))
					.map_err(|e| format!("cannot load chain spec `{path}`: {e}"))?,
			),
		})
	}
}

/// Parses the command line and runs what it asks for.
pub fn run() -> sc_cli::Result<()> {
	let cli = Cli::from_args();

	match &cli.subcommand {
		Some(Subcommand::Key(cmd)) => cmd.run(&cli),
		Some(Subcommand::BuildSpec(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.chain_spec, config.network))
		}
		Some(Subcommand::ExportChainSpec(cmd)) => {
			let chain_spec = cli.load_spec(&cmd.chain)?;
			cmd.run(chain_spec)
		}
		Some(Subcommand::CheckBlock(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::ExportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.database), task_manager))
			})
		}
		Some(Subcommand::ExportState(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.chain_spec), task_manager))
			})
		}
		Some(Subcommand::ImportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::PurgeChain(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.database))
		}
		Some(Subcommand::Revert(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, backend, .. } =
					service::new_partial(&config)?;
				let aux_revert =
					Box::new(|client: std::sync::Arc<service::FullClient>, backend, blocks| {
						sc_consensus_babe::revert(client.clone(), backend, blocks)?;
						sc_consensus_grandpa::revert(client, blocks)?;
						Ok(())
					});
				Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
			})
		}
		#[cfg(feature = "runtime-benchmarks")]
		Some(Subcommand::Benchmark(cmd)) => {
			use crate::benchmarking::{
				inherent_benchmark_data, RemarkBuilder, TransferKeepAliveBuilder,
			};
			use frame_benchmarking_cli::{
				BenchmarkCmd, ExtrinsicFactory, SUBSTRATE_REFERENCE_HARDWARE,
			};
			use haca_runtime::EXISTENTIAL_DEPOSIT;
			use sp_keyring::Sr25519Keyring;
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| match cmd {
				BenchmarkCmd::Pallet(cmd) => cmd
					.run_with_spec::<sp_runtime::traits::HashingFor<Block>, haca_inference::inference::HostFunctions>(
						Some(config.chain_spec),
					),
				BenchmarkCmd::Block(cmd) => {
					let PartialComponents { client, .. } = service::new_partial(&config)?;
					cmd.run(client)
				}
				BenchmarkCmd::Storage(cmd) => {
					let PartialComponents { client, backend, .. } = service::new_partial(&config)?;
					let db = backend.expose_db();
					let storage = backend.expose_storage();
					let shared_cache = backend.expose_shared_trie_cache();
					cmd.run(config, client, db, storage, shared_cache)
				}
				BenchmarkCmd::Machine(cmd) => {
					cmd.run(&config, SUBSTRATE_REFERENCE_HARDWARE.clone())
				}
				BenchmarkCmd::Overhead(cmd) => {
					let PartialComponents { client, .. } = service::new_partial(&config)?;
					let remarks = RemarkBuilder::new(client.clone());
					cmd.run(
						config.chain_spec.name().into(),
						client,
						inherent_benchmark_data()?,
						Vec::new(),
						&remarks,
						false,
					)
				}
				BenchmarkCmd::Extrinsic(cmd) => {
					let PartialComponents { client, .. } = service::new_partial(&config)?;
					let builders = ExtrinsicFactory(vec![
						Box::new(RemarkBuilder::new(client.clone())),
						Box::new(TransferKeepAliveBuilder::new(
							client.clone(),
							Sr25519Keyring::Alice.to_account_id(),
							EXISTENTIAL_DEPOSIT,
						)),
					]);
					cmd.run(client, inherent_benchmark_data()?, Vec::new(), &builders)
				}
			})
		}
		Some(Subcommand::ChainInfo(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run::<Block>(&config))
		}
		Some(Subcommand::Infer(cmd)) => cmd.run(),
		Some(Subcommand::Inspect(cmd)) => cmd.run(),
		Some(Subcommand::Model(cmd)) => cmd.run(),
		Some(Subcommand::ReplicationBench(cmd)) => cmd.run(),
		Some(Subcommand::VerifyReceipt(cmd)) => cmd.run(&*cli.load_spec(&cmd.chain)?),
		Some(Subcommand::TrustAnchor(cmd)) => cmd.run(&*cli.load_spec(&cmd.chain)?),
		None => {
			let runner = cli.create_runner(&cli.run)?;
			let inference = cli.inference.options();
			let models = cli.models.options();
			let chain_type = runner.config().chain_spec.chain_type();
			if (cli.inference.dishonest_executor || cli.inference.dishonest_verifier)
				&& !matches!(chain_type, ChainType::Development | ChainType::Local)
			{
				return Err("--dishonest-executor and --dishonest-verifier are for test networks \
					only (development or local chains), not this chain"
					.into());
			}
			runner.run_node_until_exit(|config| async move {
				match config.network.network_backend {
					sc_network::config::NetworkBackendType::Libp2p => {
						service::new_full::<
							sc_network::NetworkWorker<
								Block,
								<Block as sp_runtime::traits::Block>::Hash,
							>,
						>(config, inference, models)
						.map_err(sc_cli::Error::Service)
					}
					sc_network::config::NetworkBackendType::Litep2p => {
						service::new_full::<sc_network::Litep2pNetworkBackend>(
							config, inference, models,
						)
						.map_err(sc_cli::Error::Service)
					}
				}
			})
		}
	}
}
