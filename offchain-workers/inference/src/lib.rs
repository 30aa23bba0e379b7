//! # HACA inference bridge
//!
//! Runtime-interface host functions through which the off-chain workers of the runtime use
//! the node's native inference engine. The host side looks for an [`InferenceExt`]
//! externalities extension, which `haca-node` registers for off-chain workers only when it
//! runs with the executor or verifier role ([`NodeRoles`]); everywhere else the functions
//! answer [`InferenceError::NoInferenceRole`] and report no role. Every node registers the
//! host functions themselves, so every node can instantiate the runtime. With the `engine`
//! feature, [`haca_engine::Engine`] implements [`InferenceHost`].

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "engine")]
mod dispute;
#[cfg(feature = "engine")]
mod native;
#[cfg(feature = "engine")]
mod proofs;

use alloc::vec::Vec;
use codec::{Decode, Encode};
use haca_kernels::graph::{Header, Node};
use haca_primitives::{
	dispute::GraphCommitment,
	statement::{ExecutionFailure, MAX_FAILURE_DETAIL},
	tensor::TensorSpec,
};
use scale_info::TypeInfo;
use sp_core::H256;
#[cfg(not(substrate_runtime))]
use sp_externalities::ExternalitiesExt;
use sp_runtime_interface::{
	pass_by::{AllocateAndReturnByCodec, PassFatPointerAndDecode, PassFatPointerAndRead},
	runtime_interface,
};

/// The inference roles a node was started with.
#[derive(Clone, Copy, PartialEq, Eq, Default, Encode, Decode, TypeInfo, Debug)]
pub struct NodeRoles {
	/// Runs the jobs assigned to its executor keys.
	pub executor: bool,
	/// Audits attested results and votes in disputes with its verifier keys.
	pub verifier: bool,
	/// Share of other executors' attested results a verifier re-runs, in parts per million.
	pub audit_ppm: u32,
}

/// Why the engine could not run a job, as the runtime sees it.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub enum InferenceError {
	/// This node does not run inference (neither executor nor verifier role).
	NoInferenceRole,
	/// The model's bytes are not available to this node (not on chain, not in its model
	/// directory).
	ModelUnavailable,
	/// The model's bytes do not hash to its hash, cannot be read, or do not match its specs.
	InvalidModel,
	/// The input does not match the model.
	BadInput,
	/// The model failed while running.
	Execution,
	/// The engine did not finish in time.
	Timeout,
	/// The engine is overloaded, or a batch ran out of time: try again later.
	Busy,
	/// The model argument is not a 32-byte model hash (a bug in the caller).
	BadModelHash,
	/// The model does not lower to the dispute graph its registration records: the node
	/// neither serves nor audits it.
	GraphMismatch,
}

impl From<InferenceError> for ExecutionFailure {
	/// The reason an executor reports on chain for a run that failed with `error`.
	fn from(error: InferenceError) -> Self {
		match error {
			InferenceError::ModelUnavailable => Self::ModelUnavailable,
			InferenceError::InvalidModel | InferenceError::GraphMismatch => Self::InvalidModel,
			InferenceError::BadInput => Self::BadInput,
			InferenceError::Timeout => Self::Timeout,
			InferenceError::Execution
			| InferenceError::NoInferenceRole
			| InferenceError::Busy
			| InferenceError::BadModelHash => Self::Execution,
		}
	}
}

/// Where a model kept off chain stands on this node.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub enum ModelAvailability {
	/// In the node's model store: the engine loads it from there.
	Stored,
	/// Being fetched: ask again later.
	Fetching,
	/// Every source failed (peers and locators, each within the node's limits); asked for
	/// again after a pause, it is fetched again.
	Unavailable,
}

/// What a model's registration records that the engine checks when loading it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct ModelSpecs {
	/// Input tensors, in graph order.
	pub inputs: Vec<TensorSpec>,
	/// Output tensors, in graph order.
	pub outputs: Vec<TensorSpec>,
	/// Its dispute graph, when disputes over its results are the chain's to decide.
	pub graph: Option<GraphCommitment>,
}

/// One input's run: the model's outputs (canonical tensor encoding) and their blake2-256
/// hash, the statement's commitment.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct Executed {
	/// The outputs.
	pub outputs: Vec<u8>,
	/// `blake2_256(outputs)`.
	pub output_hash: [u8; 32],
}

/// A job's run through its model's dispute graph (`haca_kernels`), as a disputed executor
/// submits it: the graph's header with its Merkle proof against the graph root, each node's
/// output hash, and the graph's outputs (canonical tensor encoding).
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct TraceRun {
	/// The graph's header (leaf 0 of the graph root).
	pub header: Header,
	/// Its Merkle proof.
	pub header_proof: Vec<H256>,
	/// Each node's output hash, in node order.
	pub leaves: Vec<H256>,
	/// The graph's outputs.
	pub outputs: Vec<u8>,
}

/// One step of a job's run through its model's dispute graph, as a prover submits it: the
/// node with its Merkle proof against the graph root, its inputs (canonical tensor
/// encoding) and the constants' proofs against the weights root, and the work it takes.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct StepRun {
	/// The node's index.
	pub index: u32,
	/// The node.
	pub node: Node,
	/// Its Merkle proof.
	pub node_proof: Vec<H256>,
	/// Its inputs.
	pub inputs: Vec<u8>,
	/// The Merkle proof of each input that is a constant, in input order.
	pub constant_proofs: Vec<Vec<H256>>,
	/// `haca_kernels::work` of the step.
	pub work: u64,
}

/// A proven run of a job: its output quanta (one byte each, as the circuit's type holds
/// them), the blake2-256 of the output tensors they convert to (canonical encoding), and the
/// proof (`haca_proof`).
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct Proved {
	/// The output quanta.
	pub quanta: Vec<u8>,
	/// Hash of the output tensors.
	pub output_hash: [u8; 32],
	/// The proof.
	pub proof: Vec<u8>,
}

/// The runs of a batch, in input order. Encoded as the list it holds, with a size hint that
/// covers the encoding: the host function's result is encoded into one buffer allocated
/// once (a list's own hint counts its elements' size in memory, which for outputs on the
/// heap makes the buffer grow, and be copied, several times).
#[derive(Clone, PartialEq, Eq, Decode, Debug)]
pub struct Runs(pub Vec<Result<Executed, InferenceError>>);

impl Encode for Runs {
	fn size_hint(&self) -> usize {
		let runs = self.0.iter().map(Encode::size_hint).sum::<usize>();
		codec::Compact(self.0.len() as u32).encoded_size() + runs
	}

	fn encode_to<W: codec::Output + ?Sized>(&self, dest: &mut W) {
		self.0.encode_to(dest)
	}
}

/// What an executor node's engine offers the host functions.
#[cfg(not(substrate_runtime))]
pub trait InferenceHost: Send + Sync {
	/// Whether the model's plan is ready.
	fn is_loaded(&self, model: &[u8; 32]) -> bool;

	/// Loads a model from `bytes`, or from the node's own model store when `None`.
	fn load(
		&self,
		model: &[u8; 32],
		bytes: Option<Vec<u8>>,
		specs: &ModelSpecs,
	) -> Result<(), InferenceError>;

	/// Why the last attempt to load `model` failed, in the engine's words, unless it loaded
	/// since.
	fn load_failure(&self, model: &[u8; 32]) -> Option<String>;

	/// Runs a loaded model on each of `inputs` (canonical tensor encoding), in order; the
	/// outputs of each. Fails as a whole only when the model is not loaded.
	fn run_batch(
		&self,
		model: &[u8; 32],
		inputs: &[&[u8]],
	) -> Result<Vec<Result<Vec<u8>, InferenceError>>, InferenceError>;

	/// Runs `input` through the model's dispute graph (the model from `bytes`, or from the
	/// node's own model store when `None`).
	fn trace(
		&self,
		model: &[u8; 32],
		bytes: Option<Vec<u8>>,
		input: &[u8],
	) -> Result<TraceRun, InferenceError>;

	/// The first step of `input`'s run through the model's dispute graph whose output does
	/// not hash to the `claimed` trace's leaf, with what proves it; `None` if every step
	/// agrees.
	fn wrong_step(
		&self,
		model: &[u8; 32],
		bytes: Option<Vec<u8>>,
		input: &[u8],
		claimed: &[H256],
	) -> Result<Option<StepRun>, InferenceError>;

	/// Proves the run on `input` of the circuit of the model (from `bytes`, or the node's
	/// model store) for `binding`, if the circuit compiles to the registered `circuit` hash
	/// (else [`InferenceError::GraphMismatch`]).
	fn prove(
		&self,
		model: &[u8; 32],
		bytes: Option<Vec<u8>>,
		circuit: &H256,
		binding: [u8; 32],
		input: &[u8],
	) -> Result<Proved, InferenceError>;
}

/// What a node's model fetcher offers the host functions: models kept off chain, fetched
/// by content hash into the node's model store, which the engine loads them from.
#[cfg(not(substrate_runtime))]
pub trait ModelFetcher: Send + Sync {
	/// Where `model` (registered with `size` bytes and `locators`) stands; one neither
	/// stored nor being fetched starts being fetched in the background.
	fn request(&self, model: &[u8; 32], size: u64, locators: Vec<Vec<u8>>) -> ModelAvailability;

	/// The models the node serves: kept in the store however long ago they were used.
	fn keep(&self, models: Vec<[u8; 32]>);
}

/// An engine whose every output goes through `map` before the worker sees it: for engines
/// that stand for a lying executor or for other hardware on test networks and in tests.
#[cfg(not(substrate_runtime))]
pub struct MappedOutputs {
	/// The engine that runs the models.
	pub engine: std::sync::Arc<dyn InferenceHost>,
	/// What is done to each run's outputs (canonical tensor encoding).
	pub map: fn(&mut Vec<u8>),
}

#[cfg(not(substrate_runtime))]
impl InferenceHost for MappedOutputs {
	fn is_loaded(&self, model: &[u8; 32]) -> bool {
		self.engine.is_loaded(model)
	}

	fn load(
		&self,
		model: &[u8; 32],
		bytes: Option<Vec<u8>>,
		specs: &ModelSpecs,
	) -> Result<(), InferenceError> {
		self.engine.load(model, bytes, specs)
	}

	fn load_failure(&self, model: &[u8; 32]) -> Option<String> {
		self.engine.load_failure(model)
	}

	fn run_batch(
		&self,
		model: &[u8; 32],
		inputs: &[&[u8]],
	) -> Result<Vec<Result<Vec<u8>, InferenceError>>, InferenceError> {
		let mut results = self.engine.run_batch(model, inputs)?;
		results.iter_mut().flatten().for_each(self.map);
		Ok(results)
	}

	/// The engine's trace with its outputs mapped, and their leaves hashed again: the trace
	/// an executor would submit to stand by its mapped results.
	fn trace(
		&self,
		model: &[u8; 32],
		bytes: Option<Vec<u8>>,
		input: &[u8],
	) -> Result<TraceRun, InferenceError> {
		let mut run = self.engine.trace(model, bytes, input)?;
		(self.map)(&mut run.outputs);
		let outputs = haca_primitives::tensor::decode_tensors(&run.outputs)
			.map_err(|_| InferenceError::Execution)?;
		for (&value, output) in run.header.outputs.iter().zip(&outputs) {
			let node = run.header.node_of(value);
			if let Some(leaf) = node.and_then(|node| run.leaves.get_mut(node as usize)) {
				*leaf = haca_primitives::merkle::leaf_hash(&output.encode());
			}
		}
		Ok(run)
	}

	fn wrong_step(
		&self,
		model: &[u8; 32],
		bytes: Option<Vec<u8>>,
		input: &[u8],
		claimed: &[H256],
	) -> Result<Option<StepRun>, InferenceError> {
		self.engine.wrong_step(model, bytes, input, claimed)
	}

	/// The engine's proof with its output quanta mapped: what a lying executor would send
	/// (its proof then proves other quanta, and is refused).
	fn prove(
		&self,
		model: &[u8; 32],
		bytes: Option<Vec<u8>>,
		circuit: &H256,
		binding: [u8; 32],
		input: &[u8],
	) -> Result<Proved, InferenceError> {
		let mut proved = self.engine.prove(model, bytes, circuit, binding, input)?;
		(self.map)(&mut proved.quanta);
		Ok(proved)
	}
}

/// The host side of [`inference::run_batch`]: runs `inputs` on `engine` and hashes the
/// outputs with [`output_hashes`].
#[cfg(not(substrate_runtime))]
pub fn run_and_hash(
	engine: &dyn InferenceHost,
	model: &[u8; 32],
	inputs: &[&[u8]],
) -> Result<Runs, InferenceError> {
	let results = engine.run_batch(model, inputs)?;
	let outputs: Vec<&[u8]> = results.iter().flatten().map(Vec::as_slice).collect();
	let mut hashes = output_hashes(&outputs).into_iter();
	Ok(Runs(
		results
			.into_iter()
			.map(|result| {
				result.map(|outputs| Executed {
					outputs,
					output_hash: hashes.next().expect("one hash per output"),
				})
			})
			.collect(),
	))
}

/// The blake2-256 hashes of `outputs`, four at a time where the CPU has the lanes for it
/// (blake2b's SIMD over many messages hashes small outputs about twice as fast as one by
/// one); the rest one by one.
#[cfg(not(substrate_runtime))]
pub fn output_hashes(outputs: &[&[u8]]) -> Vec<[u8; 32]> {
	use blake2b_simd::many::{hash_many, HashManyJob, MAX_DEGREE};
	let bytes = |hash: blake2b_simd::Hash| -> [u8; 32] {
		hash.as_bytes().try_into().expect("32-byte hashes")
	};
	let mut params = blake2b_simd::Params::new();
	params.hash_length(32);
	let mut hashes = Vec::with_capacity(outputs.len());
	let mut lanes = outputs.chunks_exact(MAX_DEGREE);
	for group in &mut lanes {
		// On the stack: a job list on the heap would cost a large allocation per batch.
		let mut jobs: [HashManyJob; MAX_DEGREE] =
			core::array::from_fn(|lane| HashManyJob::new(&params, group[lane]));
		hash_many(jobs.iter_mut());
		hashes.extend(jobs.iter().map(|job| bytes(job.to_hash())));
	}
	hashes.extend(lanes.remainder().iter().map(|outputs| bytes(params.hash(outputs))));
	hashes
}

/// The engine of an executor or verifier node and the roles it serves in.
#[cfg(not(substrate_runtime))]
#[derive(Clone)]
pub struct NodeInference {
	/// The engine.
	pub engine: std::sync::Arc<dyn InferenceHost>,
	/// The node's roles.
	pub roles: NodeRoles,
	/// Fetches the off-chain models the node needs; without it the node has only the models
	/// on chain.
	pub fetcher: Option<std::sync::Arc<dyn ModelFetcher>>,
}

#[cfg(not(substrate_runtime))]
sp_externalities::decl_extension! {
	/// The engine of an executor or verifier node, for its off-chain workers.
	pub struct InferenceExt(NodeInference);
}

#[cfg(not(substrate_runtime))]
fn model_hash(model: &[u8]) -> Option<[u8; 32]> {
	model.try_into().ok()
}

/// The bytes of `text`, cut to at most `max` at a character boundary.
#[cfg(not(substrate_runtime))]
fn clip_utf8(mut text: String, max: usize) -> Vec<u8> {
	if text.len() > max {
		let end = (0..=max).rev().find(|&end| text.is_char_boundary(end)).unwrap_or(0);
		text.truncate(end);
	}
	text.into_bytes()
}

/// Inference for off-chain workers.
#[runtime_interface]
pub trait Inference {
	/// The roles this node runs inference for (none without the extension).
	fn roles(&mut self) -> AllocateAndReturnByCodec<NodeRoles> {
		self.extension::<InferenceExt>().map(|ext| ext.0.roles).unwrap_or_default()
	}

	/// Whether the model's plan is ready on this node.
	fn is_loaded(&mut self, model: PassFatPointerAndRead<&[u8]>) -> bool {
		match (self.extension::<InferenceExt>(), model_hash(model)) {
			(Some(ext), Some(model)) => ext.0.engine.is_loaded(&model),
			_ => false,
		}
	}

	/// Where `model`, kept off chain (`size` bytes at `locators`), stands in this node's
	/// model store; one neither stored nor being fetched starts being fetched in the
	/// background. [`ModelAvailability::Unavailable`] on a node that fetches nothing.
	fn request_model(
		&mut self,
		model: PassFatPointerAndRead<&[u8]>,
		size: u64,
		locators: PassFatPointerAndDecode<Vec<Vec<u8>>>,
	) -> AllocateAndReturnByCodec<ModelAvailability> {
		let fetcher = self.extension::<InferenceExt>().and_then(|ext| ext.0.fetcher.clone());
		match (fetcher, model_hash(model)) {
			(Some(fetcher), Some(model)) => fetcher.request(&model, size, locators),
			_ => ModelAvailability::Unavailable,
		}
	}

	/// Keeps `models`, the ones this node serves, in its model store however long ago they
	/// were used.
	fn keep_models(&mut self, models: PassFatPointerAndDecode<Vec<[u8; 32]>>) {
		if let Some(fetcher) =
			self.extension::<InferenceExt>().and_then(|ext| ext.0.fetcher.clone())
		{
			fetcher.keep(models);
		}
	}

	/// Loads a model (from `bytes`, or the node's model store) with its specs.
	fn load(
		&mut self,
		model: PassFatPointerAndRead<&[u8]>,
		bytes: PassFatPointerAndDecode<Option<Vec<u8>>>,
		specs: PassFatPointerAndDecode<ModelSpecs>,
	) -> AllocateAndReturnByCodec<Result<(), InferenceError>> {
		let ext = self.extension::<InferenceExt>().ok_or(InferenceError::NoInferenceRole)?;
		let model = model_hash(model).ok_or(InferenceError::BadModelHash)?;
		ext.0.engine.load(&model, bytes, &specs)
	}

	/// Why this node's last attempt to load `model` failed, in its engine's words (UTF-8,
	/// cut to [`MAX_FAILURE_DETAIL`] bytes at a character boundary): which operator or type
	/// stopped it, for instance. `None` if it did not fail, or loaded since.
	fn load_failure(
		&mut self,
		model: PassFatPointerAndRead<&[u8]>,
	) -> AllocateAndReturnByCodec<Option<Vec<u8>>> {
		let ext = self.extension::<InferenceExt>()?;
		let message = ext.0.engine.load_failure(&model_hash(model)?)?;
		Some(clip_utf8(message, MAX_FAILURE_DETAIL as usize))
	}

	/// Runs `input` (canonical tensor encoding) through the model's dispute graph (from
	/// `bytes`, or the node's model store): what a disputed executor submits.
	fn trace(
		&mut self,
		model: PassFatPointerAndRead<&[u8]>,
		bytes: PassFatPointerAndDecode<Option<Vec<u8>>>,
		input: PassFatPointerAndRead<&[u8]>,
	) -> AllocateAndReturnByCodec<Result<TraceRun, InferenceError>> {
		let ext = self.extension::<InferenceExt>().ok_or(InferenceError::NoInferenceRole)?;
		let model = model_hash(model).ok_or(InferenceError::BadModelHash)?;
		ext.0.engine.trace(&model, bytes, input)
	}

	/// The first step of `input`'s run through the model's dispute graph whose output does
	/// not hash to the `claimed` trace's leaf, with its proof; `None` if every step agrees.
	fn wrong_step(
		&mut self,
		model: PassFatPointerAndRead<&[u8]>,
		bytes: PassFatPointerAndDecode<Option<Vec<u8>>>,
		input: PassFatPointerAndRead<&[u8]>,
		claimed: PassFatPointerAndDecode<Vec<H256>>,
	) -> AllocateAndReturnByCodec<Result<Option<StepRun>, InferenceError>> {
		let ext = self.extension::<InferenceExt>().ok_or(InferenceError::NoInferenceRole)?;
		let model = model_hash(model).ok_or(InferenceError::BadModelHash)?;
		ext.0.engine.wrong_step(&model, bytes, input, &claimed)
	}

	/// Proves the run on `input` (canonical tensor encoding) of the model's circuit (the
	/// model from `bytes`, or the node's model store), bound to `binding`, if the circuit the
	/// node compiles from the model hashes to `circuit` (the registered one).
	fn prove(
		&mut self,
		model: PassFatPointerAndRead<&[u8]>,
		bytes: PassFatPointerAndDecode<Option<Vec<u8>>>,
		circuit: PassFatPointerAndDecode<H256>,
		binding: PassFatPointerAndDecode<[u8; 32]>,
		input: PassFatPointerAndRead<&[u8]>,
	) -> AllocateAndReturnByCodec<Result<Proved, InferenceError>> {
		let ext = self.extension::<InferenceExt>().ok_or(InferenceError::NoInferenceRole)?;
		let model = model_hash(model).ok_or(InferenceError::BadModelHash)?;
		ext.0.engine.prove(&model, bytes, &circuit, binding, input)
	}

	/// Runs a loaded model on each of `inputs` (canonical tensor encoding), in order: the
	/// outputs of each with their blake2-256 hash. Inputs after the engine's timeout has
	/// passed are not run ([`InferenceError::Busy`]: try again later).
	fn run_batch(
		&mut self,
		model: PassFatPointerAndRead<&[u8]>,
		inputs: PassFatPointerAndDecode<Vec<Vec<u8>>>,
	) -> AllocateAndReturnByCodec<Result<Runs, InferenceError>> {
		let ext = self.extension::<InferenceExt>().ok_or(InferenceError::NoInferenceRole)?;
		let model = model_hash(model).ok_or(InferenceError::BadModelHash)?;
		let inputs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
		run_and_hash(&*ext.0.engine, &model, &inputs)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn explanations_are_cut_at_a_character_boundary() {
		assert_eq!(clip_utf8("short".into(), 8), b"short");
		// "é" is two bytes: cutting at 4 would split the second one.
		assert_eq!(clip_utf8("aéé".into(), 4), "aé".as_bytes());
		assert_eq!(clip_utf8("aéé".into(), 5), "aéé".as_bytes());
	}

	#[test]
	fn runs_encode_as_their_list_within_their_size_hint() {
		let run = |len: usize| Ok(Executed { outputs: vec![7; len], output_hash: [len as u8; 32] });
		for count in [0, 1, 5, 70] {
			let mut runs: Vec<_> = (0..count).map(|index| run(index * 37)).collect();
			if count > 1 {
				runs[1] = Err(InferenceError::BadInput);
			}
			let list = runs.encode();
			let runs = Runs(runs);
			let encoded = runs.encode();
			assert_eq!(encoded, list);
			// At most four bytes over per outputs' length (a length's widest compact form).
			let hint = runs.size_hint();
			assert!((encoded.len()..=encoded.len() + 4 * count).contains(&hint), "{hint}");
			assert_eq!(Runs::decode(&mut &encoded[..]), Ok(runs));
		}
	}
}
