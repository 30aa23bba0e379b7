//! The HACA pallets wired together in the real runtime (native execution): a model is
//! uploaded on chain, an executor bonds for it, a client's jobs are escrowed and drawn from
//! BABE's VRF randomness;
//! a signed result settles one job and pays exactly its fee, and the job nobody delivers is
//! re-assigned and finally refunded.

use codec::Encode;
use frame_support::{
	assert_ok,
	traits::{fungible::InspectHold, Hooks},
};
use haca_primitives::{
	statement::Claim,
	tensor::{ElementType, Tensor, TensorSpec},
	ModeSet, ModelHash, VerificationMode,
};
use haca_runtime::{
	AccountId, Balances, BuildStorage, Jobs, Runtime, RuntimeEvent, RuntimeGenesisConfig,
	RuntimeHoldReason, RuntimeOrigin, Settlement, System, UNIT,
};
use sp_core::{Pair, H256};
use sp_keyring::Sr25519Keyring;

fn account(keyring: Sr25519Keyring) -> AccountId {
	keyring.to_account_id()
}

fn new_ext() -> sp_io::TestExternalities {
	let mut config = RuntimeGenesisConfig::default();
	config.balances.balances =
		Sr25519Keyring::well_known().map(|k| (k.to_account_id(), 1_000_000 * UNIT)).collect();
	let mut ext = sp_io::TestExternalities::new(config.build_storage().unwrap());
	ext.execute_with(|| System::set_block_number(1));
	ext
}

fn spec(dims: &[u32]) -> TensorSpec {
	TensorSpec {
		name: b"input".to_vec().try_into().unwrap(),
		element_type: ElementType::F32,
		shape: dims.to_vec().try_into().unwrap(),
		variable_axes: 0,
	}
}

/// Runs the blocks to `n`: the pallets' hooks, then what BABE does at the end of each
/// block, record its author's VRF output (here a hash of the block number) as the
/// randomness the next block reads.
fn run_to_block(n: u32) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Jobs::on_initialize(next);
		Settlement::on_initialize(next);
		let vrf_output = sp_io::hashing::blake2_256(&(b"vrf", next).encode());
		pallet_babe::AuthorVrfRandomness::<Runtime>::put(Some(vrf_output));
	}
}

fn jobs_events() -> Vec<pallet_jobs::Event<Runtime>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Jobs(event) => Some(event),
			_ => None,
		})
		.collect()
}

#[test]
fn models_executors_jobs_and_settlement_work_together_in_the_runtime() {
	new_ext().execute_with(|| {
		let (owner, executor, client) = (
			account(Sr25519Keyring::Alice),
			account(Sr25519Keyring::Bob),
			account(Sr25519Keyring::Charlie),
		);

		// A 300 KiB model, stored on chain in two chunks.
		let node = haca_primitives::onnx::write::node("Relu", &[], &[]);
		let bytes = haca_primitives::onnx::write::model(&[node], Some(300 * 1024));
		let model = ModelHash::from(sp_io::hashing::blake2_256(&bytes));
		assert_ok!(haca_runtime::Models::register(
			RuntimeOrigin::signed(owner.clone()),
			model,
			bytes.len() as u32,
			pallet_models::ModelSource::OnChain,
			pallet_models::ModelTerms {
				inputs: vec![spec(&[1, 4])].try_into().unwrap(),
				outputs: vec![spec(&[1, 2])].try_into().unwrap(),
				modes: ModeSet::ATTESTED_OR_QUORUM,
				fee: UNIT,
				tolerance_ulps: 4,
				graph: None,
			},
			None,
		));
		for (index, chunk) in bytes.chunks(256 * 1024).enumerate() {
			assert_ok!(haca_runtime::Models::upload_chunk(
				RuntimeOrigin::signed(owner.clone()),
				model,
				index as u32,
				chunk.to_vec().try_into().unwrap(),
			));
		}
		assert_eq!(
			pallet_models::Models::<Runtime>::get(model).unwrap().status,
			pallet_models::ModelStatus::Active
		);

		// Bob bonds as its executor, enough to back two jobs' stakes.
		let stake = <haca_runtime::Executors as haca_primitives::traits::ExecutorRegistry<
			AccountId,
			haca_runtime::Balance,
		>>::job_stake(UNIT);
		assert_ok!(haca_runtime::Executors::register(
			RuntimeOrigin::signed(executor.clone()),
			pallet_executors::Roles { executor: true, verifier: false },
			Sr25519Keyring::Bob.public().into(),
			pallet_executors::testing::key_proof::<Runtime>(&executor, &Sr25519Keyring::Bob.pair()),
			2 * stake,
			4,
			vec![model].try_into().unwrap(),
		));

		// Three verifiers of the model, the least with which attested jobs on it are taken.
		for verifier in [Sr25519Keyring::Dave, Sr25519Keyring::Eve, Sr25519Keyring::Ferdie] {
			assert_ok!(haca_runtime::Executors::register(
				RuntimeOrigin::signed(account(verifier)),
				pallet_executors::Roles { executor: false, verifier: true },
				verifier.public().into(),
				pallet_executors::testing::key_proof::<Runtime>(&account(verifier), &verifier.pair()),
				haca_runtime::configs::MinVerifierBond::get(),
				0,
				vec![model].try_into().unwrap(),
			));
		}

		// Charlie submits a job; it is escrowed and assigned to Bob.
		let input = vec![Tensor::from_f32(&[1, 4], &[0.5, 1.5, -2.0, 3.25]).unwrap()].encode();
		let free_before = Balances::free_balance(&client);
		for _ in 0..2 {
			assert_ok!(Jobs::submit(
				RuntimeOrigin::signed(client.clone()),
				model,
				input.clone(),
				VerificationMode::Attested,
				2 * UNIT,
			));
		}
		let escrow = RuntimeHoldReason::Jobs(pallet_jobs::HoldReason::JobEscrow);
		let held = Balances::balance_on_hold(&escrow, &client);
		assert!(held > 4 * UNIT, "fees and deposits held: {held}");
		// Drawn two blocks later, from the VRF output of the block after the submission's.
		run_to_block(2);
		assert_eq!(pallet_jobs::PendingJobs::<Runtime>::get().len(), 2, "no VRF output yet");
		run_to_block(3);
		assert!(jobs_events().iter().any(|event| matches!(
			event,
			pallet_jobs::Event::Assigned { job: 0, executors, .. } if executors.to_vec() == vec![executor.clone()]
		)));

		// Bob delivers job 0 with a result signed by his session key; it settles after the
		// challenge window and pays exactly the model's fee.
		let output = vec![Tensor::from_f32(&[1, 2], &[7.0, -1.0]).unwrap()].encode();
		let statement = pallet_settlement::Statement::<Runtime> {
			job: 0,
			executor: executor.clone(),
			claim: Claim::Output(H256(sp_io::hashing::blake2_256(&output))),
			outputs: Some(output.try_into().unwrap()),
		};
		let payload = Settlement::signing_payload(&statement).unwrap();
		let signature = Sr25519Keyring::Bob.pair().sign(&payload.signing_bytes()).into();
		assert_ok!(Settlement::submit_statements(
			RuntimeOrigin::signed(executor.clone()),
			vec![(statement, signature)].try_into().unwrap()
		));
		let (owner_before, executor_before) =
			(Balances::free_balance(&owner), Balances::free_balance(&executor));
		let window = <Runtime as pallet_settlement::Config>::ChallengeWindow::get();
		run_to_block(3 + window + 1);
		assert!(pallet_jobs::Jobs::<Runtime>::get(0).is_none(), "job 0 settled");
		assert_eq!(Balances::free_balance(&owner), owner_before + UNIT / 10);
		assert_eq!(Balances::free_balance(&executor), executor_before + UNIT * 9 / 10);

		// Nobody delivers job 1: three assignments (MaxAttempts) time out, each drawn two
		// blocks after the last one expired, then a refund; each missed deadline costs Bob a
		// share of the job's stake, paid to the client.
		let timeout = <Runtime as pallet_jobs::Config>::ResultTimeout::get();
		run_to_block(1 + 3 * (2 + timeout + 1));
		assert!(jobs_events()
			.iter()
			.any(|event| matches!(event, pallet_jobs::Event::Failed { job: 1, .. })));
		assert_eq!(Balances::balance_on_hold(&escrow, &client), 0);
		let stake = <haca_runtime::Executors as haca_primitives::traits::ExecutorRegistry<
			AccountId,
			haca_runtime::Balance,
		>>::job_stake(UNIT);
		let lateness = haca_runtime::configs::LatenessSlash::get() * stake;
		assert!(lateness > 0);
		assert_eq!(Balances::free_balance(&client), free_before - UNIT + 3 * lateness);
		assert!(pallet_executors::Executors::<Runtime>::get(&executor).unwrap().reputation < 1000);

		pallet_models::Pallet::<Runtime>::do_try_state().unwrap();
		pallet_executors::Pallet::<Runtime>::do_try_state().unwrap();
		pallet_jobs::Pallet::<Runtime>::do_try_state().unwrap();
		pallet_settlement::Pallet::<Runtime>::do_try_state().unwrap();
	});
}

/// Merges a JSON genesis patch into a full config (objects key by key, the rest replaced).
fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
	match (base, patch) {
		(serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
			for (key, value) in patch {
				merge(base.entry(key).or_insert(serde_json::Value::Null), value);
			}
		}
		(base, patch) => *base = patch,
	}
}

/// Externalities built from a genesis preset's patch.
fn preset_ext(patch: serde_json::Value) -> sp_io::TestExternalities {
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
	merge(&mut config, patch);
	let config: RuntimeGenesisConfig = serde_json::from_value(config).unwrap();
	sp_io::TestExternalities::new(config.build_storage().unwrap())
}

#[test]
fn every_preset_has_enough_verifiers_to_challenge_a_lie() {
	use frame_support::traits::Get;
	use haca_runtime::genesis_config_presets as presets;
	let least = <Runtime as pallet_jobs::Config>::MinAttestedVerifiers::get();
	assert!(least >= 3, "a challenger and a committee of two");
	for (name, patch) in [
		("dev", presets::development_config_genesis()),
		("local", presets::local_config_genesis()),
		("testnet", presets::testnet_config_genesis()),
	] {
		preset_ext(patch).execute_with(|| {
			let verifiers =
				pallet_executors::ModelVerifiers::<Runtime>::get(presets::demo_model_hash());
			assert!(verifiers.len() as u32 >= least, "{name}: {} verifiers", verifiers.len());
			System::set_block_number(1);
			let input = vec![Tensor::from_f32(&[1, 4], &[0.5, 1.5, -2.0, 3.25]).unwrap()].encode();
			assert_ok!(Jobs::submit(
				RuntimeOrigin::signed(account(Sr25519Keyring::Ferdie)),
				presets::demo_model_hash(),
				input,
				VerificationMode::Attested,
				presets::DEMO_MODEL_FEE,
			));
		});
	}
}

#[test]
fn the_development_preset_has_the_demo_model_an_executor_and_its_verifiers() {
	let patch = haca_runtime::genesis_config_presets::development_config_genesis();
	preset_ext(patch).execute_with(|| {
		let model = haca_runtime::genesis_config_presets::demo_model_hash();
		let info = pallet_models::Models::<Runtime>::get(model).expect("demo model registered");
		assert_eq!(info.status, pallet_models::ModelStatus::Active);
		assert_eq!(
			pallet_models::Pallet::<Runtime>::model_bytes(&model).as_deref(),
			Some(haca_runtime::genesis_config_presets::DEMO_MODEL)
		);
		let alice = pallet_executors::Executors::<Runtime>::get(account(Sr25519Keyring::Alice))
			.expect("Alice executes");
		assert!(alice.models.contains(&model));
		assert_eq!(alice.key, Sr25519Keyring::Alice.public().into());
		let dev_verifiers = haca_runtime::genesis_config_presets::DEV_VERIFIERS.map(account);
		assert_eq!(pallet_executors::Verifiers::<Runtime>::get().into_inner(), dev_verifiers);
		pallet_models::Pallet::<Runtime>::do_try_state().unwrap();
		pallet_executors::Pallet::<Runtime>::do_try_state().unwrap();
	});
}

/// Every output a model may produce can be published for a verifier to compare within the
/// tolerance, and a model offering quorum mode has float outputs that its reveals carry.
#[test]
fn every_output_a_model_may_produce_can_be_compared_within_its_tolerance() {
	use frame_support::traits::Get;
	type Models = <Runtime as pallet_models::Config>::MaxOutputBytes;
	type QuorumFloats = <Runtime as pallet_models::Config>::MaxInlineOutputBytes;
	type Statement = <Runtime as pallet_settlement::Config>::MaxOutputLen;
	type Pages = <Runtime as pallet_settlement::Config>::MaxOutputPages;
	fn get<G: Get<u32>>() -> u32 {
		G::get()
	}
	let statement = get::<Statement>();
	assert!(get::<Models>() <= statement * get::<Pages>(), "outputs no executor can publish");
	assert!(get::<QuorumFloats>() <= statement, "quorum floats compared by hash");
}
