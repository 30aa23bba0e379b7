//! The runtime API of the disputes the chain decides: the runtime's own run of one operator
//! of a dispute graph, which parties check their native kernels against before they stake
//! on a step (and the node's tests check every kernel against, on the project's models).

use alloc::vec::Vec;
use codec::{Decode, Encode};
use haca_kernels::{KernelError, Op};
use haca_primitives::tensor::Tensor;
use scale_info::TypeInfo;

/// Why the runtime did not run an operator.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub enum OperatorRunError {
	/// The run takes more work than a step may (`MaxStepWork`): a node this heavy is never
	/// re-executed by the chain.
	TooHeavy { work: u64, limit: u64 },
	/// The operator's kernel refuses its inputs.
	Kernel(KernelError),
}

sp_api::decl_runtime_apis! {
	/// The runtime's side of the dispute game.
	pub trait DisputeApi {
		/// The outputs the runtime computes for `op` on `inputs`: what it compares a proven
		/// step with.
		fn run_operator(op: Op, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, OperatorRunError>;
	}
}

/// Runs `op` on `inputs` as [`DisputeApi::run_operator`] answers, unless its work is over
/// `limit`.
pub fn run_operator(
	op: &Op,
	inputs: &[Tensor],
	limit: u64,
) -> Result<Vec<Tensor>, OperatorRunError> {
	let work = haca_kernels::work(op, inputs);
	if work > limit {
		return Err(OperatorRunError::TooHeavy { work, limit });
	}
	haca_kernels::run(op, inputs).map_err(OperatorRunError::Kernel)
}
