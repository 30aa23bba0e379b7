//! `haca-node replication-bench`: what one validator spends accepting a job's result under
//! HACA, against re-running the model itself as every validator would under full
//! replication, per model, measured side by side in one run.

use std::{
	path::PathBuf,
	time::{Duration, Instant},
};

use codec::Encode;
use haca_engine::Plan;
use haca_primitives::{
	statement::{Claim, StatementPayload},
	tensor::decode_and_check,
	ModelHash,
};
use pallet_settlement::WeightInfo;
use sp_core::{sr25519, Get, Pair, H256};

/// The settlement pallet's benchmarked weights, as the runtime uses them.
type SettlementWeights = <haca_runtime::Runtime as pallet_settlement::Config>::WeightInfo;

/// Measures, for every `*.onnx` model in a directory: re-executing the model (the
/// full-replication cost per validator) against checking an executor's signed result
/// natively (signature; output hash and outputs against the spec when the outputs are small
/// enough to be carried on chain), and against the runtime's benchmarked weight of pool
/// validation, dispatch (an attested output of the model's size, its timer slipping as far
/// as it may) and settlement of a result.
#[derive(Debug, clap::Parser)]
pub struct ReplicationBenchCmd {
	/// Directory of ONNX models with fixed input shapes: its `*.onnx` files
	/// (`scripts/gen_models.py DIR --large`) and its sub-directories' `model.onnx`, named by
	/// the sub-directory (the heavy models, `offchain-workers/models/heavy`); repeatable.
	#[arg(long, value_name = "DIR", required = true)]
	pub model_dir: Vec<PathBuf>,

	/// Timed rounds per measurement; the median round counts.
	#[arg(long, default_value_t = 5)]
	pub rounds: usize,
}

/// Median time per call of `step`, over `rounds` rounds of at least 200 ms each.
fn time_per_call(rounds: usize, mut step: impl FnMut()) -> Duration {
	let mut per_call: Vec<Duration> = (0..rounds.max(1))
		.map(|_| {
			let (mut calls, start) = (0u32, Instant::now());
			while start.elapsed() < Duration::from_millis(200) {
				step();
				calls += 1;
			}
			start.elapsed() / calls
		})
		.collect();
	per_call.sort();
	per_call[per_call.len() / 2]
}

/// The models in `dir`, sorted by name: `<name>.onnx` files and `<name>/model.onnx`.
fn models_in(dir: &std::path::Path) -> sc_cli::Result<Vec<(String, PathBuf)>> {
	let mut models: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
		.map_err(|error| format!("{}: {error}", dir.display()))?
		.filter_map(|entry| {
			let path = entry.ok()?.path();
			let name = path.file_name()?.to_string_lossy().into_owned();
			if path.extension().is_some_and(|ext| ext == "onnx") {
				Some((name, path))
			} else {
				let model = path.join("model.onnx");
				model.is_file().then_some((name, model))
			}
		})
		.collect();
	models.sort();
	Ok(models)
}

fn micros(duration: Duration) -> f64 {
	duration.as_secs_f64() * 1e6
}

impl ReplicationBenchCmd {
	/// Runs the measurements and prints one line per model.
	pub fn run(&self) -> sc_cli::Result<()> {
		let mut models = Vec::new();
		for dir in &self.model_dir {
			let found = models_in(dir)?;
			if found.is_empty() {
				return Err(format!("no .onnx models in {}", dir.display()).into());
			}
			models.extend(found);
		}
		// What a block charges for one attested result carrying `carried` bytes of outputs:
		// its authorization, the dispatch of the statement (less the signature verification
		// the authorization did), settlement at the end of its challenge window.
		let weight_time = |carried: u32| {
			let weight = SettlementWeights::check_statement(carried)
				.saturating_add(SettlementWeights::attested_statement(carried))
				.saturating_sub(SettlementWeights::verify_signature())
				.saturating_add(SettlementWeights::timer_challenge_window());
			Duration::from_nanos(weight.ref_time() / 1_000)
		};
		println!(
			"{:<18} {:>14} {:>14} {:>12} {:>14} {:>16}",
			"model", "re-execute µs", "HACA check µs", "ratio", "weights µs", "ratio (weights)"
		);
		let executor = sr25519::Pair::from_string("//Alice", None).expect("dev seed");
		let max_output_len =
			<<haca_runtime::Runtime as pallet_settlement::Config>::MaxOutputLen as Get<u32>>::get()
				as usize;
		for (name, path) in models {
			let bytes = std::fs::read(&path).map_err(|error| error.to_string())?;
			let inputs =
				Plan::declared_inputs(&bytes, &haca_engine::DimBounds::default()).map(|specs| {
					let inputs = haca_engine::sample_inputs(&specs).encode();
					(specs, inputs)
				});
			let ran = inputs.and_then(|(specs, inputs)| {
				let plan = Plan::discover(&bytes, &specs, haca_engine::DATA_DEPENDENT_MAX)?;
				let outputs = plan.run(&inputs)?;
				Ok((plan, inputs, outputs))
			});
			// A model that does not run on its sample input (a test fixture that makes tract
			// panic, say) has nothing to measure.
			let (plan, inputs, outputs) = match ran {
				Ok(ran) => ran,
				Err(error) => {
					println!("{name:<18} not measured: {error}");
					continue;
				}
			};

			// What a statement about this job signs, as the executor sends it.
			let payload = StatementPayload {
				genesis_hash: H256::repeat_byte(1),
				job: 0,
				attempt: 1,
				model: ModelHash::from(sp_crypto_hashing::blake2_256(&bytes)),
				input_hash: H256(sp_crypto_hashing::blake2_256(&inputs)),
				executor: haca_runtime::AccountId::from(executor.public()),
				claim: Claim::Output(H256(sp_crypto_hashing::blake2_256(&outputs))),
			};
			let signature = executor.sign(&payload.signing_bytes());

			let reexecute = time_per_call(self.rounds, || {
				std::hint::black_box(plan.run(&inputs).expect("ran once already"));
			});
			// Outputs too large for the chain travel as their hash only.
			let on_chain = outputs.len() <= max_output_len;
			let check = time_per_call(self.rounds, || {
				let signed = payload.signing_bytes();
				assert!(sr25519::Pair::verify(&signature, &signed, &executor.public()));
				if on_chain {
					let hash = H256(sp_crypto_hashing::blake2_256(&outputs));
					assert_eq!(Claim::Output(hash), payload.claim);
					std::hint::black_box(decode_and_check(&outputs, plan.outputs()).is_ok());
				}
			});
			let by_weight = weight_time(if on_chain { outputs.len() as u32 } else { 0 });
			println!(
				"{name:<18} {:>14.1} {:>14.1} {:>11.1}x {:>14.1} {:>15.1}x",
				micros(reexecute),
				micros(check),
				reexecute.as_secs_f64() / check.as_secs_f64(),
				micros(by_weight),
				reexecute.as_secs_f64() / by_weight.as_secs_f64(),
			);
		}
		Ok(())
	}
}
