//! Proven results: an executor's statement with a proof of the job's output quanta
//! (`haca_proof`), verified in the runtime while the transaction is authorized; the job
//! settles in the block that includes it, with no window and no committee.
//!
//! The runtime converts the job's input to quanta and the proven output quanta to the
//! model's output tensors itself (the circuit's conversions, `haca_kernels`' kernels), so
//! what the proof proves and what the client is paid for are the same outputs.

use alloc::vec::Vec;
use codec::Encode;
use frame_support::{ensure, pallet_prelude::*};
use haca_primitives::{
	statement::{Claim, PROOF_DOMAIN},
	tensor::{decode_and_check, decode_tensors},
	traits::{ExecutorDirectory, JobLedger, ModelRegistry},
	InferenceSignature, JobId, ModelHash,
};
use haca_proof::{Circuit, ProofError};
use sp_core::H256;

use crate::{statements::JobOf, *};

/// What checking a proven statement found: its job, and the output tensors it settles with.
pub(crate) struct CheckedProof<T: Config> {
	pub(crate) job: JobOf<T>,
	pub(crate) outputs: OutputBytes<T>,
}

impl<T: Config> Pallet<T> {
	/// What a proof for `attempt` of `job` on `model` by `executor` is bound to: the
	/// blake2-256 of (the proof domain tag, the genesis hash, `job`, `attempt`, `model`,
	/// `executor`). A proof made for anything else does not verify.
	pub fn proof_binding(
		job: JobId,
		attempt: u32,
		model: &ModelHash,
		executor: &T::AccountId,
	) -> [u8; 32] {
		let bound = (PROOF_DOMAIN, Self::genesis_hash(), job, attempt, model, executor);
		sp_io::hashing::blake2_256(&bound.encode())
	}

	/// The circuit `model` registered, decoded.
	pub(crate) fn registered_circuit(model: &ModelHash) -> Result<Circuit, Error<T>> {
		let bytes = T::Models::circuit(model).ok_or(Error::<T>::NotProvable)?;
		Circuit::from_encoded(&bytes).ok_or(Error::<T>::NotProvable)
	}

	/// Checks a proven statement (claim [`Claim::Proven`], carrying the output quanta, one
	/// byte each) and its `proof`: the statement as any other, the proof's hash, the output
	/// tensors the quanta convert to against the claimed hash and the model's spec, and,
	/// unless `proof_check` says the authorization of the same transaction did, the proof.
	pub(crate) fn check_proof(
		statement: &Statement<T>,
		signature: &InferenceSignature,
		proof: &[u8],
		check: SignatureCheck,
	) -> Result<CheckedProof<T>, Error<T>> {
		let Claim::Proven { output_hash, proof: proof_hash } = statement.claim else {
			return Err(Error::<T>::WrongClaim);
		};
		ensure!(sp_io::hashing::blake2_256(proof) == proof_hash.0, Error::<T>::ProofHashMismatch);
		let job = Self::check(statement, signature, check)?;
		let terms = T::Models::settlement_terms(&job.model).ok_or(Error::<T>::UnknownModel)?;
		let circuit = Self::registered_circuit(&job.model)?;
		let input = T::Jobs::input(statement.job).ok_or(Error::<T>::UnknownJob)?;
		let input = match decode_tensors(&input).as_deref() {
			Ok([input]) => circuit.input_quanta(input),
			_ => None,
		};
		let input = input.ok_or(Error::<T>::InputNotProvable)?;
		let carried = statement.outputs.as_ref().ok_or(Error::<T>::OutputQuantaMismatch)?;
		let signed = circuit.output.signed;
		let quanta: Vec<i32> = carried
			.iter()
			.map(|&byte| if signed { i32::from(byte as i8) } else { i32::from(byte) })
			.collect();
		let samples = input.len() / circuit.input_len().max(1);
		ensure!(quanta.len() == samples * circuit.output_len(), Error::<T>::OutputQuantaMismatch);
		let outputs = circuit
			.output_tensor(&quanta)
			.map(|tensor| alloc::vec![tensor].encode())
			.ok_or(Error::<T>::OutputQuantaMismatch)?;
		ensure!(
			sp_io::hashing::blake2_256(&outputs) == output_hash.0,
			Error::<T>::OutputHashMismatch
		);
		decode_and_check(&outputs, &terms.outputs).map_err(|_| Error::<T>::OutputSpecMismatch)?;
		let outputs =
			OutputBytes::<T>::try_from(outputs).map_err(|_| Error::<T>::OutputsTooLarge)?;
		if check == SignatureCheck::Verify {
			let binding =
				Self::proof_binding(statement.job, job.attempt, &job.model, &statement.executor);
			let proven = haca_proof::Statement::new(circuit, binding, input, quanta)
				.map_err(|_| Error::<T>::InputNotProvable)?;
			haca_proof::verify(proven, proof).map_err(|error| match error {
				ProofError::Malformed => Error::<T>::MalformedProof,
				_ => Error::<T>::ProofRejected,
			})?;
		}
		Ok(CheckedProof { job, outputs })
	}

	/// Applies a proven statement that checked out: the executor delivered, and the job
	/// settles with the proven outputs.
	pub(crate) fn apply_proof(
		statement: Statement<T>,
		signature: InferenceSignature,
		checked: CheckedProof<T>,
	) -> DispatchResult {
		let key = T::Executors::session_key(&statement.executor).ok_or(Error::<T>::NoSessionKey)?;
		let Claim::Proven { output_hash, .. } = statement.claim else {
			return Err(Error::<T>::WrongClaim.into());
		};
		let CheckedProof { job: view, outputs } = checked;
		let (job, executor) = (statement.job, statement.executor);
		T::Jobs::note_delivered(job, &executor);
		Self::deposit_event(Event::ResultProven {
			job,
			executor: executor.clone(),
			output_hash,
			outputs: outputs.clone(),
		});
		let signed = SessionSignature { key, signature };
		Self::pay(
			job,
			&view,
			alloc::vec![(executor, statement.claim, signed, None)],
			output_hash,
			Some(outputs),
		);
		Ok(())
	}

	/// The most authorizing a proven result with `proof` weighs: verifying a proof of the
	/// trace rows its header states (it is refused unless they are its statement's), and
	/// checking and applying the statement.
	pub(crate) fn proof_weight(proof: &[u8]) -> Weight {
		let most = haca_proof::circuit::MAX_TRACE_ROWS;
		let log_rows = haca_proof::stated_log_rows(proof).map_or(0, u32::from);
		let rows = 1u32.checked_shl(log_rows).unwrap_or(most).min(most);
		T::WeightInfo::verify_proof(rows).saturating_add(T::WeightInfo::apply_proof())
	}

	/// The claim of a statement of `output_hash` proven by `proof`.
	pub fn proven_claim(output_hash: H256, proof: &[u8]) -> Claim {
		Claim::Proven { output_hash, proof: H256(sp_io::hashing::blake2_256(proof)) }
	}
}
