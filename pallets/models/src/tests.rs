//! Unit tests of the models pallet.

use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold};
use haca_primitives::{
	onnx,
	tensor::{ElementType, TensorSpec},
	traits::{ModelRegistry, ModelUnavailable, TensorSpecs},
	ModeSet, ModelHash,
};
use haca_proof::testing::small_circuit;
use sp_runtime::{traits::BadOrigin, BoundedVec};

use crate::{
	mock::*, Chunks, Error, Event, HoldReason, ModelSource, ModelSourceOf, ModelStatus, Models,
};

/// A 600-byte model: three chunks of 256, 256 and 88 bytes.
fn model_bytes() -> Vec<u8> {
	onnx::write::model(&[onnx::write::node("Relu", &[], &[])], Some(600))
}

fn hash_of(bytes: &[u8]) -> ModelHash {
	ModelHash::from(sp_io::hashing::blake2_256(bytes))
}

fn specs(dims: &[u32]) -> TensorSpecs {
	vec![TensorSpec::new("x", ElementType::F32, dims).unwrap()].try_into().unwrap()
}

fn register_with(
	who: AccountId,
	model: ModelHash,
	byte_size: u32,
	source: ModelSourceOf<Test>,
	inputs: TensorSpecs,
	modes: ModeSet,
) -> sp_runtime::DispatchResult {
	Registry::register(
		RuntimeOrigin::signed(who),
		model,
		byte_size,
		source,
		crate::ModelTerms {
			inputs,
			outputs: specs(&[1, 2]),
			modes,
			fee: 10,
			tolerance_ulps: 4,
			graph: None,
		},
		None,
	)
	.map(|_| ())
	.map_err(|error| error.error)
}

fn register_on_chain(who: AccountId, bytes: &[u8]) -> ModelHash {
	let model = hash_of(bytes);
	assert_ok!(register_with(
		who,
		model,
		bytes.len() as u32,
		ModelSource::OnChain,
		specs(&[1, 4]),
		ModeSet::ATTESTED_OR_QUORUM
	));
	model
}

fn upload_all(who: AccountId, model: ModelHash, bytes: &[u8]) {
	for (index, chunk) in bytes.chunks(256).enumerate() {
		assert_ok!(Registry::upload_chunk(
			RuntimeOrigin::signed(who),
			model,
			index as u32,
			chunk.to_vec().try_into().unwrap()
		));
	}
}

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::Registry(HoldReason::ModelDeposit), &who)
}

fn locators(uris: &[&[u8]]) -> ModelSourceOf<Test> {
	ModelSource::OffChain(
		uris.iter()
			.map(|uri| uri.to_vec().try_into().unwrap())
			.collect::<Vec<_>>()
			.try_into()
			.unwrap(),
	)
}

fn locator(uri: &[u8]) -> ModelSourceOf<Test> {
	locators(&[uri])
}

/// Runs `test` in fresh externalities and checks the pallet's invariants afterwards.
fn run(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		crate::Pallet::<Test>::do_try_state().expect("invariants hold");
	});
}

#[test]
fn on_chain_model_registers_uploads_and_activates() {
	run(|| {
		let bytes = model_bytes();
		let model = register_on_chain(ALICE, &bytes);
		let deposit = 100 + 2 * 600;
		assert_eq!(held(ALICE), deposit);
		System::assert_has_event(
			Event::Registered { model, owner: ALICE, byte_size: 600, deposit }.into(),
		);
		assert_eq!(Registry::job_terms(&model), Err(ModelUnavailable::NotActive));

		upload_all(ALICE, model, &bytes);
		let info = Models::<Test>::get(model).unwrap();
		assert_eq!(info.status, ModelStatus::Active);
		assert_eq!(crate::Pallet::<Test>::model_bytes(&model), Some(bytes));
		assert_eq!(Registry::off_chain_model(&model), None);
		System::assert_last_event(Event::Activated { model }.into());
		let terms = Registry::job_terms(&model).unwrap();
		assert_eq!(
			(terms.fee, terms.modes, terms.inputs),
			(10, ModeSet::ATTESTED_OR_QUORUM, specs(&[1, 4]))
		);
	});
}

#[test]
fn off_chain_model_is_active_at_once_with_base_and_locator_deposit() {
	run(|| {
		let model = hash_of(b"big model");
		let uris: [&[u8]; 2] = [b"https://models.example/big.onnx", b"http://mirror.example/b"];
		assert_ok!(register_with(
			BOB,
			model,
			50_000_000,
			locators(&uris),
			specs(&[1, 4]),
			ModeSet::ATTESTED
		));
		// Every locator's bytes are paid for.
		assert_eq!(held(BOB), 100 + 2 * (31 + 23));
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Active);
		assert!(Registry::job_terms(&model).is_ok());
		let off_chain = Registry::off_chain_model(&model).unwrap();
		assert_eq!(off_chain.size, 50_000_000);
		assert_eq!(off_chain.locators, uris.map(<[u8]>::to_vec));
	});
}

#[test]
fn registration_rejects_bad_input_without_holding_funds() {
	run(|| {
		let model = hash_of(b"m");
		let on_chain = || ModelSource::OnChain;
		assert_noop!(
			register_with(ALICE, model, 0, on_chain(), specs(&[1]), ModeSet::ATTESTED_OR_QUORUM),
			Error::<Test>::EmptyModel
		);
		assert_noop!(
			register_with(ALICE, model, 1001, on_chain(), specs(&[1]), ModeSet::ATTESTED_OR_QUORUM),
			Error::<Test>::ModelTooLarge
		);
		assert_noop!(
			register_with(
				ALICE,
				model,
				10,
				on_chain(),
				TensorSpecs::default(),
				ModeSet::ATTESTED_OR_QUORUM
			),
			Error::<Test>::InvalidTensorSpec
		);
		assert_noop!(
			register_with(
				ALICE,
				model,
				10,
				on_chain(),
				specs(&[u32::MAX, u32::MAX, u32::MAX]),
				ModeSet::ATTESTED_OR_QUORUM
			),
			Error::<Test>::InvalidTensorSpec
		);
		assert_noop!(
			register_with(ALICE, model, 10, on_chain(), specs(&[1]), ModeSet::default()),
			Error::<Test>::InvalidModes
		);
		assert_noop!(
			register_with(
				ALICE,
				model,
				10,
				locators(&[]),
				specs(&[1]),
				ModeSet::ATTESTED_OR_QUORUM
			),
			Error::<Test>::MissingLocator
		);
		// One malformed locator among well-formed ones refuses the registration.
		assert_noop!(
			register_with(
				ALICE,
				model,
				10,
				locators(&[b"https://models.example/m", b""]),
				specs(&[1]),
				ModeSet::ATTESTED_OR_QUORUM
			),
			Error::<Test>::MalformedLocator
		);
		for malformed in [
			&b"ftp://models.example/m"[..],
			b"https://",
			b"https:///m.onnx",
			b"http//models.example/m",
			b"https://models.example/a model.onnx",
			b"https://models example/m",
			b"https://models.example/m\n",
		] {
			assert_noop!(
				register_with(
					ALICE,
					model,
					10,
					locator(malformed),
					specs(&[1]),
					ModeSet::ATTESTED_OR_QUORUM
				),
				Error::<Test>::MalformedLocator
			);
		}
		for well_formed in [
			&b"https://models.example/m.onnx"[..],
			b"http://127.0.0.1:8080/models/m.onnx?v=2",
			b"https://[::1]:8443",
		] {
			assert!(crate::well_formed_locator(well_formed));
		}
		assert_noop!(
			register_with(POOR, model, 100, on_chain(), specs(&[1]), ModeSet::ATTESTED_OR_QUORUM),
			Error::<Test>::InsufficientBalance
		);
		assert_eq!(held(ALICE) + held(POOR), 0);
	});
}

#[test]
fn a_graph_of_another_lowering_size_or_step_cost_or_size_is_refused() {
	use frame_support::traits::Get;
	use haca_primitives::dispute::{GraphCommitment, LOWERING_VERSION};
	run(|| {
		let most = <Test as crate::Config>::MaxGraphNodes::get();
		let graph = |lowering, nodes| GraphCommitment {
			lowering,
			graph_root: [1; 32].into(),
			weights_root: [2; 32].into(),
			nodes,
			largest_step: <Test as crate::Config>::MaxStepWork::get(),
			largest_step_bytes: <Test as crate::Config>::MaxStepBytes::get(),
		};
		let register = |model: &[u8], graph| {
			Registry::register(
				RuntimeOrigin::signed(ALICE),
				hash_of(model),
				10,
				locator(b"https://models.example/m"),
				crate::ModelTerms {
					inputs: specs(&[1]),
					outputs: specs(&[1, 2]),
					modes: ModeSet::ATTESTED_OR_QUORUM,
					fee: 10,
					tolerance_ulps: 4,
					graph: Some(graph),
				},
				None,
			)
		};
		assert_noop!(
			register(b"m", graph(LOWERING_VERSION + 1, 4)),
			Error::<Test>::UnsupportedLowering
		);
		for nodes in [0, most + 1] {
			assert_noop!(
				register(b"m", graph(LOWERING_VERSION, nodes)),
				Error::<Test>::GraphSizeOutOfBounds
			);
		}
		let heavy = GraphCommitment { largest_step: u64::MAX, ..graph(LOWERING_VERSION, 4) };
		assert_noop!(register(b"m", heavy), Error::<Test>::StepTooHeavy);
		let bytes = <<Test as crate::Config>::MaxStepBytes as Get<u32>>::get() + 1;
		let large = GraphCommitment { largest_step_bytes: bytes, ..graph(LOWERING_VERSION, 4) };
		assert_noop!(register(b"m", large), Error::<Test>::StepTooLarge);
		assert_eq!(held(ALICE), 0);
		assert_ok!(register(b"m", graph(LOWERING_VERSION, most)));
		let recorded = Models::<Test>::get(hash_of(b"m")).unwrap().graph;
		assert_eq!(recorded, Some(graph(LOWERING_VERSION, most)));
		assert_eq!(Registry::settlement_terms(&hash_of(b"m")).unwrap().graph, recorded);
	});
}

#[test]
fn a_tolerance_beyond_the_bound_is_refused() {
	use frame_support::traits::Get;
	run(|| {
		let terms = |tolerance_ulps| crate::ModelTerms {
			inputs: specs(&[1]),
			outputs: specs(&[1, 2]),
			modes: ModeSet::ATTESTED_OR_QUORUM,
			fee: 10,
			tolerance_ulps,
			graph: None,
		};
		let register = |model: &[u8], tolerance_ulps| {
			Registry::register(
				RuntimeOrigin::signed(ALICE),
				hash_of(model),
				10,
				locator(b"https://models.example/m"),
				terms(tolerance_ulps),
				None,
			)
		};
		let most = <Test as crate::Config>::MaxToleranceUlps::get();
		// At f32's largest distance between finite values, any two outputs would agree.
		for tolerance in [0xFF00_0000, most + 1] {
			assert_noop!(register(b"m", tolerance), Error::<Test>::ToleranceTooLarge);
		}
		assert_eq!(held(ALICE), 0);
		assert_ok!(register(b"m", most));
	});
}

/// ALICE registers `model` off chain with an input of one f32, `outputs` of `element_type`
/// and `elements` elements, `modes`, a fee of 10 and a tolerance of 4.
fn register_outputs(
	model: &[u8],
	element_type: ElementType,
	elements: u32,
	modes: ModeSet,
) -> frame_support::dispatch::DispatchResultWithPostInfo {
	register_spec(model, TensorSpec::new("x", element_type, &[elements]).unwrap(), modes)
}

/// ALICE registers `model` off chain with an input of one f32, the output `output`,
/// `modes`, a fee of 10 and a tolerance of 4.
fn register_spec(
	model: &[u8],
	output: TensorSpec,
	modes: ModeSet,
) -> frame_support::dispatch::DispatchResultWithPostInfo {
	Registry::register(
		RuntimeOrigin::signed(ALICE),
		hash_of(model),
		10,
		locator(b"https://models.example/m"),
		crate::ModelTerms {
			inputs: specs(&[1]),
			outputs: vec![output].try_into().unwrap(),
			modes,
			fee: 10,
			tolerance_ulps: 4,
			graph: None,
		},
		None,
	)
}

#[test]
fn models_whose_outputs_could_not_be_published_are_refused() {
	use frame_support::traits::Get;
	run(|| {
		let register =
			|elements| register_outputs(b"m", ElementType::F32, elements, ModeSet::ATTESTED);
		let most = <Test as crate::Config>::MaxOutputBytes::get();
		let fitting = |elements: u32| {
			haca_primitives::tensor::encoded_len(&specs(&[elements])).unwrap() <= most as usize
		};
		let largest = (1..most).take_while(|&elements| fitting(elements)).last().unwrap();
		assert_noop!(register(largest + 1), Error::<Test>::OutputsTooLarge);
		assert_ok!(register(largest));
	});
}

#[test]
fn models_whose_float_outputs_a_quorum_could_only_compare_by_hash_offer_no_quorum() {
	use frame_support::traits::Get;
	run(|| {
		let most = <Test as crate::Config>::MaxInlineOutputBytes::get();
		assert_noop!(
			register_outputs(b"f", ElementType::F32, most, ModeSet::ATTESTED_OR_QUORUM),
			Error::<Test>::QuorumOutputsTooLarge
		);
		assert_ok!(register_outputs(b"f", ElementType::F32, most, ModeSet::ATTESTED));
		// Integers agree bit for bit on any hardware.
		assert_ok!(register_outputs(b"i", ElementType::I32, most, ModeSet::ATTESTED_OR_QUORUM));
		assert_ok!(register_outputs(b"s", ElementType::F32, 2, ModeSet::ATTESTED_OR_QUORUM));
	});
}

#[test]
fn variable_axes_lie_within_the_rank_and_variable_outputs_and_strings_come_with_their_result() {
	use frame_support::traits::Get;
	run(|| {
		let most = <Test as crate::Config>::MaxInlineOutputBytes::get();
		let output = |elements: u32, variable: &[usize]| {
			TensorSpec::new("y", ElementType::F32, &[elements])
				.unwrap()
				.with_variable_axes(variable)
		};
		assert_noop!(
			register_spec(b"r", output(4, &[1]), ModeSet::ATTESTED),
			Error::<Test>::InvalidTensorSpec
		);
		// At most `most` bytes as a whole encoding: `most` f32 values are four times over.
		assert_noop!(
			register_spec(b"v", output(most, &[0]), ModeSet::ATTESTED),
			Error::<Test>::VariableOutputsTooLarge
		);
		// Fixed outputs that large are published in pages.
		assert_ok!(register_spec(b"f", output(most, &[]), ModeSet::ATTESTED));
		assert_ok!(register_spec(b"v", output(most / 8, &[0]), ModeSet::ATTESTED));
		// Strings have lengths of their own, whatever the shape: at most `most` bytes too,
		// counting each at its longest (255 bytes and a two-byte length).
		let labels = |count: u32| TensorSpec::new("label", ElementType::String, &[count]).unwrap();
		assert_noop!(
			register_spec(b"l", labels(most / 256), ModeSet::ATTESTED),
			Error::<Test>::VariableOutputsTooLarge
		);
		assert_ok!(register_spec(b"l", labels(most / 512), ModeSet::ATTESTED_OR_QUORUM));
	});
}

#[test]
fn double_registration_is_rejected() {
	run(|| {
		let model = register_on_chain(ALICE, &model_bytes());
		assert_noop!(
			register_with(
				BOB,
				model,
				600,
				ModelSource::OnChain,
				specs(&[1]),
				ModeSet::ATTESTED_OR_QUORUM
			),
			Error::<Test>::AlreadyRegistered
		);
		assert_eq!(held(BOB), 0);
	});
}

#[test]
fn chunks_must_come_from_the_owner_in_order_with_exact_lengths() {
	run(|| {
		let bytes = model_bytes();
		let model = register_on_chain(ALICE, &bytes);
		let chunk = |range: core::ops::Range<usize>| -> BoundedVec<u8, _> {
			bytes[range].to_vec().try_into().unwrap()
		};
		assert_noop!(
			Registry::upload_chunk(RuntimeOrigin::signed(BOB), model, 0, chunk(0..256)),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			Registry::upload_chunk(RuntimeOrigin::signed(ALICE), model, 1, chunk(256..512)),
			Error::<Test>::UnexpectedChunk
		);
		assert_noop!(
			Registry::upload_chunk(RuntimeOrigin::signed(ALICE), model, 0, chunk(0..255)),
			Error::<Test>::WrongChunkLength
		);
		assert_noop!(
			Registry::upload_chunk(RuntimeOrigin::signed(ALICE), hash_of(b"x"), 0, chunk(0..256)),
			Error::<Test>::UnknownModel
		);
		assert_ok!(Registry::upload_chunk(RuntimeOrigin::signed(ALICE), model, 0, chunk(0..256)));
		assert_ok!(Registry::upload_chunk(RuntimeOrigin::signed(ALICE), model, 1, chunk(256..512)));
		assert_noop!(
			Registry::upload_chunk(RuntimeOrigin::signed(ALICE), model, 2, chunk(512..599)),
			Error::<Test>::WrongChunkLength
		);
		assert_ok!(Registry::upload_chunk(RuntimeOrigin::signed(ALICE), model, 2, chunk(512..600)));
		assert_noop!(
			Registry::upload_chunk(RuntimeOrigin::signed(ALICE), model, 3, chunk(0..10)),
			Error::<Test>::NotUploading
		);
	});
}

#[test]
fn bytes_that_do_not_hash_to_the_model_are_rejected() {
	run(|| {
		let bytes = model_bytes();
		let model = register_on_chain(ALICE, &bytes);
		let mut forged = bytes.clone();
		forged[599] ^= 1;
		upload_all_but_last(ALICE, model, &forged);
		assert_noop!(
			Registry::upload_chunk(
				RuntimeOrigin::signed(ALICE),
				model,
				2,
				forged[512..].to_vec().try_into().unwrap()
			),
			Error::<Test>::HashMismatch
		);
		assert_eq!(
			Models::<Test>::get(model).unwrap().status,
			ModelStatus::Uploading { chunks: 2 }
		);
		assert!(!Chunks::<Test>::contains_key(model, 2));
		// The owner starts again: retiring an unreferenced model purges it.
		assert_ok!(Registry::retire(RuntimeOrigin::signed(ALICE), model));
		assert_eq!(held(ALICE), 0);
		assert_eq!(Chunks::<Test>::iter_prefix(model).count(), 0);
	});
}

#[test]
fn models_that_would_not_run_reproducibly_are_refused_on_upload() {
	run(|| {
		let upload = |bytes: &[u8]| {
			let model = register_on_chain(ALICE, bytes);
			let result = Registry::upload_chunk(
				RuntimeOrigin::signed(ALICE),
				model,
				0,
				bytes.to_vec().try_into().unwrap(),
			);
			(model, result.map_err(|error| error.error))
		};
		let unseeded = include_bytes!("../../../offchain-workers/models/random_unseeded.onnx");
		let (model, result) = upload(unseeded);
		assert_eq!(result, Err(Error::<Test>::UnseededRandomOperator.into()));
		assert_eq!(
			Models::<Test>::get(model).unwrap().status,
			ModelStatus::Uploading { chunks: 0 }
		);
		assert!(!Chunks::<Test>::contains_key(model, 0));
		assert_ok!(Registry::retire(RuntimeOrigin::signed(ALICE), model));
		assert_eq!(held(ALICE), 0);

		let (_, result) = upload(b"not an onnx model");
		assert_eq!(result, Err(Error::<Test>::MalformedModel.into()));

		let seeded = include_bytes!("../../../offchain-workers/models/random_seeded.onnx");
		let (model, result) = upload(seeded);
		assert_ok!(result);
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Active);
	});
}

fn upload_all_but_last(who: AccountId, model: ModelHash, bytes: &[u8]) {
	upload_all(who, model, &bytes[..512]);
}

#[test]
fn retiring_an_unreferenced_model_purges_it_and_returns_the_deposit() {
	run(|| {
		let bytes = model_bytes();
		let model = register_on_chain(ALICE, &bytes);
		upload_all(ALICE, model, &bytes);
		assert_noop!(Registry::retire(RuntimeOrigin::signed(BOB), model), Error::<Test>::NotOwner);
		assert_ok!(Registry::retire(RuntimeOrigin::signed(ALICE), model));
		assert!(Models::<Test>::get(model).is_none());
		assert_eq!(Chunks::<Test>::iter_prefix(model).count(), 0);
		assert_eq!(held(ALICE), 0);
		assert_eq!(Balances::free_balance(ALICE), INITIAL_BALANCE);
		System::assert_last_event(Event::Purged { model, deposit: 1300 }.into());
	});
}

#[test]
fn a_referenced_model_is_purged_when_its_last_job_ends() {
	run(|| {
		let bytes = model_bytes();
		let model = register_on_chain(ALICE, &bytes);
		upload_all(ALICE, model, &bytes);
		Registry::add_job_references(&model, 2);
		assert_ok!(Registry::retire(RuntimeOrigin::signed(ALICE), model));
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Retired);
		assert_eq!(Registry::job_terms(&model), Err(ModelUnavailable::NotActive));
		assert_noop!(
			Registry::retire(RuntimeOrigin::signed(ALICE), model),
			Error::<Test>::AlreadyRetired
		);
		assert_eq!(held(ALICE), 1300);

		Registry::remove_job_reference(&model);
		assert_eq!(held(ALICE), 1300);
		Registry::remove_job_reference(&model);
		assert!(Models::<Test>::get(model).is_none());
		assert_eq!(held(ALICE), 0);
	});
}

#[test]
fn only_the_admin_marks_active_models_broken() {
	run(|| {
		let bytes = model_bytes();
		let model = register_on_chain(ALICE, &bytes);
		assert_noop!(Registry::mark_broken(RuntimeOrigin::root(), model), Error::<Test>::NotActive);
		upload_all(ALICE, model, &bytes);
		assert_noop!(Registry::mark_broken(RuntimeOrigin::signed(ALICE), model), BadOrigin);
		assert_noop!(
			Registry::mark_broken(RuntimeOrigin::root(), hash_of(b"x")),
			Error::<Test>::UnknownModel
		);
		assert_ok!(Registry::mark_broken(RuntimeOrigin::root(), model));
		assert_eq!(Registry::job_terms(&model), Err(ModelUnavailable::NotActive));
		System::assert_last_event(Event::MarkedBroken { model }.into());
	});
}

#[test]
fn unknown_models_have_no_terms() {
	run(|| {
		assert_eq!(Registry::job_terms(&hash_of(b"none")), Err(ModelUnavailable::Unknown));
	});
}

/// A registration of an on-chain model reserves its hash only while its upload may still
/// finish: BOB registers the hash of ALICE's model and never uploads it; once the upload
/// period is over, ALICE's registration takes its place and BOB gets his deposit back.
#[test]
fn a_stalled_upload_holds_its_hash_only_for_the_upload_period() {
	new_test_ext().execute_with(|| {
		let bytes = model_bytes();
		let model = register_on_chain(BOB, &bytes);
		let deposit = held(BOB);
		let register = |who| {
			register_with(
				who,
				model,
				bytes.len() as u32,
				ModelSource::OnChain,
				specs(&[1, 4]),
				ModeSet::ATTESTED_OR_QUORUM,
			)
		};
		assert_ok!(Registry::upload_chunk(
			RuntimeOrigin::signed(BOB),
			model,
			0,
			bytes[..256].to_vec().try_into().unwrap()
		));
		let lapses = System::block_number()
			+ u64::from(<<Test as crate::Config>::UploadPeriod as frame_support::traits::Get<
				u32,
			>>::get());
		System::set_block_number(lapses);
		assert_noop!(register(ALICE), Error::<Test>::AlreadyRegistered);

		System::set_block_number(lapses + 1);
		assert_ok!(register(ALICE));
		System::assert_has_event(Event::UploadLapsed { model, owner: BOB }.into());
		assert_eq!(held(BOB), 0);
		assert!(deposit > 0);
		assert_eq!(Models::<Test>::get(model).unwrap().owner, ALICE);
		assert_eq!(Chunks::<Test>::iter_prefix(model).count(), 0, "BOB's chunks are gone");
		upload_all(ALICE, model, &bytes);
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Active);

		// An active model holds its hash for good.
		System::set_block_number(lapses + 100);
		assert_noop!(register(BOB), Error::<Test>::AlreadyRegistered);
	});
}

/// Registers a model of `inputs` with `circuit`, its outputs `[1, 2]` f32 (as
/// `small_circuit`'s).
fn register_circuit(
	who: AccountId,
	model: ModelHash,
	modes: ModeSet,
	inputs: TensorSpecs,
	circuit: Option<Vec<u8>>,
) -> sp_runtime::DispatchResult {
	register_circuit_of(who, model, modes, (inputs, specs(&[1, 2])), circuit)
}

fn register_circuit_of(
	who: AccountId,
	model: ModelHash,
	modes: ModeSet,
	(inputs, outputs): (TensorSpecs, TensorSpecs),
	circuit: Option<Vec<u8>>,
) -> sp_runtime::DispatchResult {
	Registry::register(
		RuntimeOrigin::signed(who),
		model,
		1_000_000,
		locator(b"https://models.example/p"),
		crate::ModelTerms { inputs, outputs, modes, fee: 10, tolerance_ulps: 0, graph: None },
		circuit.map(|bytes| bytes.try_into().unwrap()),
	)
	.map(|_| ())
	.map_err(|error| error.error)
}

#[test]
fn a_provable_model_registers_its_circuit_and_pays_for_its_bytes() {
	use codec::Encode;
	run(|| {
		let model = hash_of(b"provable");
		let bytes = small_circuit().encode();
		assert_ok!(register_circuit(
			ALICE,
			model,
			ModeSet::ALL,
			specs(&[1, 4]),
			Some(bytes.clone())
		));
		let commitment = Models::<Test>::get(model).unwrap().circuit.unwrap();
		assert_eq!(commitment.hash, hash_of(&bytes));
		assert_eq!(commitment.bytes, bytes.len() as u32);
		let layout = small_circuit().layout().unwrap();
		assert_eq!(commitment.columns, layout.columns() as u32);
		assert_eq!(commitment.rows_per_sample, layout.period as u32);
		assert_eq!(Registry::circuit(&model), Some(bytes.clone()));
		let locator_bytes = b"https://models.example/p".len() as Balance;
		assert_eq!(held(ALICE), 100 + 2 * (locator_bytes + bytes.len() as Balance));
		assert!(Registry::job_terms(&model).unwrap().modes.proven);

		// Purged with the model, and its deposit returned.
		assert_ok!(Registry::retire(RuntimeOrigin::signed(ALICE), model));
		assert_eq!(Registry::circuit(&model), None);
		assert_eq!(held(ALICE), 0);
	});
}

#[test]
fn a_circuit_that_cannot_prove_the_model_is_refused_without_holding_funds() {
	use codec::Encode;
	run(|| {
		let model = hash_of(b"provable");
		let good = small_circuit().encode();
		let register =
			|modes, inputs, circuit| register_circuit(ALICE, model, modes, inputs, circuit);
		assert_noop!(register(ModeSet::ALL, specs(&[1, 4]), None), Error::<Test>::MissingCircuit);
		assert_noop!(
			register(ModeSet::ATTESTED, specs(&[1, 4]), Some(good.clone())),
			Error::<Test>::UnusedCircuit
		);
		assert_noop!(
			register(ModeSet::PROVEN, specs(&[1, 4]), Some(good[..good.len() - 1].to_vec())),
			Error::<Test>::MalformedCircuit
		);
		let mut unprovable = small_circuit();
		unprovable.layers[0].multipliers[1] = f32::NAN.to_bits();
		assert_noop!(
			register(ModeSet::PROVEN, specs(&[1, 4]), Some(unprovable.encode())),
			Error::<Test>::UnprovableCircuit
		);
		// Its input is not the model's: five elements a sample, or u8 quanta.
		assert_noop!(
			register(ModeSet::PROVEN, specs(&[1, 5]), Some(good.clone())),
			Error::<Test>::CircuitSpecMismatch
		);
		let u8_input = vec![TensorSpec::new("x", ElementType::U8, &[1, 4]).unwrap()];
		assert_noop!(
			register(ModeSet::PROVEN, u8_input.try_into().unwrap(), Some(good.clone())),
			Error::<Test>::CircuitSpecMismatch
		);
		// More samples at the largest input than a proof's trace holds.
		let many = vec![TensorSpec::new("x", ElementType::F32, &[4096, 4])
			.unwrap()
			.with_variable_axes(&[0])];
		assert_noop!(
			register(ModeSet::PROVEN, many.try_into().unwrap(), Some(good)),
			Error::<Test>::UnprovableCircuit
		);
		assert_eq!(held(ALICE), 0);
	});
}

#[test]
fn a_circuit_of_classes_gives_one_i64_a_sample() {
	use codec::Encode;
	run(|| {
		let mut classes = small_circuit();
		classes.classes = Some(haca_proof::Classes { keep_dims: false, select_last: false });
		let bytes = classes.encode();
		let register = |model: &[u8], outputs| {
			let inputs = specs(&[1, 4]);
			register_circuit_of(
				ALICE,
				hash_of(model),
				ModeSet::PROVEN,
				(inputs, outputs),
				Some(bytes.clone()),
			)
		};
		let i64s = |dims: &[u32]| -> TensorSpecs {
			vec![TensorSpec::new("y", ElementType::I64, dims).unwrap()].try_into().unwrap()
		};
		// Not the logits, not two classes a sample.
		assert_noop!(register(b"logits", specs(&[1, 2])), Error::<Test>::CircuitSpecMismatch);
		assert_noop!(register(b"two", i64s(&[1, 2])), Error::<Test>::CircuitSpecMismatch);
		assert_ok!(register(b"classes", i64s(&[1])));
		// With the axis kept: `[samples, 1]`.
		assert_ok!(register(b"kept", i64s(&[1, 1])));
	});
}
