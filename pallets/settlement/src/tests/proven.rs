//! Proven mode: a proof the runtime verifies while authorizing its transaction settles the
//! job in that block; a proof for another job, attempt, executor, input, output or model, a
//! malformed one, or a proven claim outside `submit_proof`, is refused with its error and
//! moves nothing.

use codec::Encode;
use haca_primitives::{tensor::decode_tensors, InferenceSignature, ModeSet, ModelHash};
use haca_proof::{prover::prove, testing::small_circuit as circuit};

use super::*;
use crate::statements::SignatureCheck;

/// The provable model: `circuit()`'s.
fn proven_model() -> ModelHash {
	ModelHash::repeat_byte(3)
}

fn input() -> Vec<u8> {
	f32_tensors(&[1, 4], &[1.0, 2.0, 3.0, 4.0])
}

/// Registers the provable model and lets every executor serve it too.
fn register_proven_model() {
	let mut proven_terms = terms(&[1, 2]);
	proven_terms.modes = ModeSet::ALL;
	assert_ok!(Models::register(
		RuntimeOrigin::signed(OWNER),
		proven_model(),
		1_000_000,
		pallet_models::ModelSource::OffChain(
			vec![b"https://models.example/p".to_vec().try_into().unwrap()].try_into().unwrap()
		),
		proven_terms,
		Some(circuit().encode().try_into().unwrap()),
	));
	for who in EXECUTORS {
		assert_ok!(Executors::set_models(
			RuntimeOrigin::signed(who),
			vec![model(), proven_model()].try_into().unwrap()
		));
	}
}

/// Submits a proven job as CLIENT and runs to its draw: the job and its executor.
fn proven_job() -> (u64, AccountId) {
	register_proven_model();
	let job = pallet_jobs::NextJobId::<Test>::get();
	assert_ok!(Jobs::submit(
		RuntimeOrigin::signed(CLIENT),
		proven_model(),
		input(),
		VerificationMode::Proven,
		500,
	));
	drawn();
	(job, Jobs::job(job).unwrap().executors[0])
}

/// What a proof for `job`'s current attempt by `executor` is bound to.
fn binding(job: u64, executor: AccountId) -> [u8; 32] {
	let attempt = Jobs::job(job).unwrap().attempt;
	Settlement::proof_binding(job, attempt, &proven_model(), &executor)
}

/// A proven result: the statement (signed by `executor`, carrying the output quanta), its
/// signature, and the proof of the run on `values` bound to `binding`.
fn proven(
	job: u64,
	executor: AccountId,
	binding: [u8; 32],
	values: &[f32],
) -> (crate::Statement<Test>, InferenceSignature, Vec<u8>) {
	let circuit = circuit();
	let tensor = decode_tensors(&f32_tensors(&[1, 4], values)).unwrap().remove(0);
	let quanta = circuit.input_quanta(&tensor).unwrap();
	let (outputs, proof) = prove(&circuit, binding, &quanta).unwrap();
	let bytes = vec![circuit.output_tensor(&outputs).unwrap()].encode();
	let claim = Settlement::proven_claim(hash_of(&bytes), &proof);
	let carried = outputs.iter().map(|&quantum| quantum as u8).collect();
	let (statement, signature) = signed(job, executor, claim, Some(carried));
	(statement, signature, proof)
}

/// What checking a proven result finds (the proof verified, as authorization does).
fn check(
	statement: &crate::Statement<Test>,
	signature: &InferenceSignature,
	proof: &[u8],
) -> Result<(), DispatchError> {
	Settlement::check_proof(statement, signature, proof, SignatureCheck::Verify)
		.map(|_| ())
		.map_err(DispatchError::from)
}

#[test]
fn a_verified_proof_settles_its_job_in_the_block_that_includes_it() {
	ExtBuilder::default().build_and_execute(|| {
		let client_before = Balances::balance(&CLIENT);
		let (job, executor) = proven_job();
		let (statement, signature, proof) =
			proven(job, executor, binding(job, executor), &[1.0, 2.0, 3.0, 4.0]);
		let bounded: crate::ProofBytes<Test> = proof.clone().try_into().unwrap();
		let authorized = |bounded: &crate::ProofBytes<Test>| {
			Settlement::authorize_proof(
				TransactionSource::External,
				&statement,
				&signature,
				bounded,
			)
		};
		assert!(authorized(&bounded).is_ok());
		let executor_before = Balances::balance(&executor);
		let owner_before = Balances::balance(&OWNER);
		assert_ok!(Settlement::submit_proof(
			frame_system::RawOrigin::Authorized.into(),
			statement.clone(),
			signature.clone(),
			bounded.clone(),
		));
		let Claim::Proven { output_hash, .. } = statement.claim else { unreachable!() };
		let outputs = {
			let circuit = circuit();
			let quanta: Vec<i32> =
				statement.outputs.as_ref().unwrap().iter().map(|&q| i32::from(q)).collect();
			vec![circuit.output_tensor(&quanta).unwrap()].encode()
		};
		assert_eq!(hash_of(&outputs), output_hash);
		System::assert_has_event(
			Event::ResultProven {
				job,
				executor,
				output_hash,
				outputs: outputs.clone().try_into().unwrap(),
			}
			.into(),
		);
		let deposit = pallet_jobs::Pallet::<Test>::deposit_for(input().len() as u32);
		System::assert_has_event(
			Event::Settled {
				job,
				output_hash,
				outputs: Some(outputs.try_into().unwrap()),
				executors: vec![executor].try_into().unwrap(),
				paid: MODEL_FEE,
				refunded: 500 - MODEL_FEE + deposit,
			}
			.into(),
		);
		// Ended at once: no window, no result waiting.
		assert!(Jobs::job(job).is_none());
		assert!(Results::<Test>::get(job).is_none());
		// The same proof again (a replay, by anyone) is refused and pays nobody twice.
		assert_eq!(check(&statement, &signature, &proof), Err(Error::<Test>::UnknownJob.into()));
		assert!(authorized(&bounded).is_err());
		assert_eq!(Balances::balance(&executor), executor_before + 90);
		assert_eq!(Balances::balance(&OWNER), owner_before + 10);
		assert_eq!(Balances::balance(&CLIENT), client_before - MODEL_FEE);
	});
}

#[test]
fn proofs_of_anything_else_are_refused_and_move_nothing() {
	ExtBuilder::default().build_and_execute(|| {
		let (job, executor) = proven_job();
		let values = [1.0, 2.0, 3.0, 4.0];
		let other = EXECUTORS.into_iter().find(|who| *who != executor).unwrap();
		let balances: Vec<_> = [CLIENT, OWNER, executor].iter().map(Balances::balance).collect();

		// Bound to another job, attempt or executor: it proves nothing about this one.
		for wrong in [
			Settlement::proof_binding(job + 1, 1, &proven_model(), &executor),
			Settlement::proof_binding(job, 2, &proven_model(), &executor),
			binding(job, other),
		] {
			let (statement, signature, proof) = proven(job, executor, wrong, &values);
			assert_eq!(
				check(&statement, &signature, &proof),
				Err(Error::<Test>::ProofRejected.into())
			);
		}
		// Another input's run, claimed for this job.
		let (statement, signature, proof) =
			proven(job, executor, binding(job, executor), &[4.0, 3.0, 2.0, 1.0]);
		assert_eq!(check(&statement, &signature, &proof), Err(Error::<Test>::ProofRejected.into()));

		let (statement, signature, proof) = proven(job, executor, binding(job, executor), &values);
		// Other output quanta, signed as claimed.
		let mut quanta = statement.outputs.clone().unwrap().into_inner();
		quanta[0] = quanta[0].wrapping_add(1);
		let lied_outputs = {
			let values: Vec<i32> = quanta.iter().map(|&q| i32::from(q)).collect();
			vec![circuit().output_tensor(&values).unwrap()].encode()
		};
		let (lie, lie_signature) = signed(
			job,
			executor,
			Settlement::proven_claim(hash_of(&lied_outputs), &proof),
			Some(quanta),
		);
		assert_eq!(check(&lie, &lie_signature, &proof), Err(Error::<Test>::ProofRejected.into()));
		// A proof that is not the one signed, cut short, or noise.
		let mut flipped = proof.clone();
		flipped[proof.len() / 2] ^= 1;
		assert_eq!(
			check(&statement, &signature, &flipped),
			Err(Error::<Test>::ProofHashMismatch.into())
		);
		for bad in [proof[..proof.len() / 2].to_vec(), vec![7; proof.len()]] {
			let claim = match statement.claim {
				Claim::Proven { output_hash, .. } => Settlement::proven_claim(output_hash, &bad),
				_ => unreachable!(),
			};
			let (resigned, resignature) =
				signed(job, executor, claim, statement.outputs.clone().map(|o| o.into_inner()));
			assert_eq!(
				check(&resigned, &resignature, &bad),
				Err(Error::<Test>::MalformedProof.into())
			);
		}
		// Signed by another key.
		let (forged, forged_signature) = signed_by(
			other,
			job,
			executor,
			statement.claim,
			statement.outputs.clone().map(|o| o.into_inner()),
		);
		assert_eq!(
			check(&forged, &forged_signature, &proof),
			Err(Error::<Test>::BadSignature.into())
		);
		// A proven claim in a batch has no proof: refused there.
		submit(vec![(statement.clone(), signature.clone())]);
		System::assert_last_event(rejected(job, executor, Error::ProofRequired));
		assert!(crate::Pallet::<Test>::authorize_statements(
			TransactionSource::External,
			&vec![(statement.clone(), signature.clone())].try_into().unwrap(),
		)
		.is_err());

		// Nothing moved, the job still waits for its proof.
		let after: Vec<_> = [CLIENT, OWNER, executor].iter().map(Balances::balance).collect();
		assert_eq!(after, balances);
		assert_eq!(Jobs::job(job).unwrap().executors, vec![executor]);
		// The honest proof still settles it.
		assert_eq!(check(&statement, &signature, &proof), Ok(()));
	});
}

#[test]
fn a_proof_settles_only_a_proven_job() {
	ExtBuilder::default().build_and_execute(|| {
		register_proven_model();
		let job = pallet_jobs::NextJobId::<Test>::get();
		assert_ok!(Jobs::submit(
			RuntimeOrigin::signed(CLIENT),
			proven_model(),
			input(),
			VerificationMode::Attested,
			500,
		));
		drawn();
		let executor = Jobs::job(job).unwrap().executors[0];
		let (statement, signature, proof) =
			proven(job, executor, binding(job, executor), &[1.0, 2.0, 3.0, 4.0]);
		assert_eq!(check(&statement, &signature, &proof), Err(Error::<Test>::WrongClaim.into()));
		// And a model without a circuit takes no proven job.
		assert_noop!(
			Jobs::submit(
				RuntimeOrigin::signed(CLIENT),
				model(),
				input(),
				VerificationMode::Proven,
				500
			),
			pallet_jobs::Error::<Test>::ModeNotAccepted
		);
	});
}
