//! # HACA inference bridge
//!
//! Runtime-interface host functions through which the off-chain workers of the runtime use
//! the node's native inference engine. The host side looks for an [`InferenceExt`]
//! externalities extension, which `haca-node` registers for off-chain workers only when it
//! runs with the executor or verifier role ([`NodeRoles`]); everywhere else the functions
//! answer [`InferenceError::NotAnExecutor`] and report no role. Every node registers the
//! host functions themselves, so every node can instantiate the runtime.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::{Decode, Encode};
use haca_primitives::tensor::TensorSpec;
use scale_info::TypeInfo;
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
	NotAnExecutor,
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
	/// The engine is overloaded; try again later.
	Busy,
}

/// A model's tensor specs, for loading it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct ModelSpecs {
	/// Input tensors, in graph order.
	pub inputs: Vec<TensorSpec>,
	/// Output tensors, in graph order.
	pub outputs: Vec<TensorSpec>,
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

	/// Runs a loaded model on `input` (canonical tensor encoding), returning its outputs.
	fn run(&self, model: &[u8; 32], input: &[u8]) -> Result<Vec<u8>, InferenceError>;
}

/// The engine of an executor or verifier node and the roles it serves in.
#[cfg(not(substrate_runtime))]
#[derive(Clone)]
pub struct NodeInference {
	/// The engine.
	pub engine: std::sync::Arc<dyn InferenceHost>,
	/// The node's roles.
	pub roles: NodeRoles,
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

	/// Loads a model (from `bytes`, or the node's model store) with its specs.
	fn load(
		&mut self,
		model: PassFatPointerAndRead<&[u8]>,
		bytes: PassFatPointerAndDecode<Option<Vec<u8>>>,
		specs: PassFatPointerAndDecode<ModelSpecs>,
	) -> AllocateAndReturnByCodec<Result<(), InferenceError>> {
		let ext = self.extension::<InferenceExt>().ok_or(InferenceError::NotAnExecutor)?;
		let model = model_hash(model).ok_or(InferenceError::ModelUnavailable)?;
		ext.0.engine.load(&model, bytes, &specs)
	}

	/// Runs a loaded model on `input` (canonical tensor encoding).
	fn run(
		&mut self,
		model: PassFatPointerAndRead<&[u8]>,
		input: PassFatPointerAndRead<&[u8]>,
	) -> AllocateAndReturnByCodec<Result<Vec<u8>, InferenceError>> {
		let ext = self.extension::<InferenceExt>().ok_or(InferenceError::NotAnExecutor)?;
		let model = model_hash(model).ok_or(InferenceError::ModelUnavailable)?;
		ext.0.engine.run(&model, input)
	}
}
