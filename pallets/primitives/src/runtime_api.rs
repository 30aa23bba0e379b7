//! The runtime API of HACA for clients (job status, results, quotes) and executors and
//! verifiers (pending work, open disputes). Front-ends call it through `state_call` or
//! polkadot.js `api.call.inferenceApi.*`; its types are in the runtime metadata.

use alloc::vec::Vec;
use codec::{Codec, Decode, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;

use crate::{statement::Attestation, InferenceKey, JobId, ModelHash, VerificationMode};

/// Where a job is, as a client sees it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub enum JobPhase<BlockNumber> {
	/// Waiting for eligible executors.
	Waiting,
	/// Executors are running it; statements are due by `deadline`.
	Running {
		/// Last block for the executors' results or commitments.
		deadline: BlockNumber,
	},
	/// A quorum's reveal phase, until `until`.
	Revealing {
		/// Last block of the reveal phase.
		until: BlockNumber,
	},
	/// An attested result is readable; it settles after `challenge_until` unless challenged.
	Provisional {
		/// Last block of the challenge window.
		challenge_until: BlockNumber,
	},
	/// The attested result is disputed; a committee decides.
	Disputed,
	/// A verifier asked for the attested result's outputs, too large for its statement: the
	/// executor publishes them by `until`, and the challenge window starts afresh once they
	/// are on chain.
	Publishing {
		/// Last block for the outputs' pages.
		until: BlockNumber,
	},
	/// The attested result is disputed and the chain decides: its executor owes the trace of
	/// its run by `until`.
	TraceDue {
		/// Last block for the trace.
		until: BlockNumber,
	},
	/// The attested result is disputed and the chain decides: the executor's trace is on
	/// chain, and anyone may prove a step of it wrong until `until`.
	Proving {
		/// Last block for a proof.
		until: BlockNumber,
	},
}

/// A job that has not ended, with its provisional result if any.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct JobReport<AccountId, Balance, BlockNumber> {
	/// Who pays.
	pub client: AccountId,
	/// The model.
	pub model: ModelHash,
	/// Hash of the input.
	pub input_hash: H256,
	/// How the result is verified.
	pub mode: VerificationMode,
	/// Most the client pays.
	pub max_fee: Balance,
	/// What each run pays (the model's fee in proportion to the input's size): the job
	/// costs this times its executors, and the rest of `max_fee` is refunded.
	pub fee: Balance,
	/// What the job puts at stake of each executor's bond: the slash of a lying,
	/// dissenting or silent executor.
	pub stake: Balance,
	/// Executors of the current assignment.
	pub executors: Vec<AccountId>,
	/// Where the job is.
	pub phase: JobPhase<BlockNumber>,
	/// Hash of the provisional output tensors (attested mode).
	pub output_hash: Option<H256>,
	/// The provisional output tensors, canonically encoded, when they fit on chain.
	pub outputs: Option<Vec<u8>>,
}

/// How a job ended. `Outputs` and `Attestations` are bounded on chain, plain vectors in the
/// runtime API (the same encoding).
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub enum JobEnd<Balance, Outputs, Attestations> {
	/// A result settled: its executors and the model's owner were paid.
	Settled {
		/// Hash of the settled output tensors.
		output_hash: H256,
		/// The settled output tensors (canonical encoding), when they were on chain.
		outputs: Option<Outputs>,
		/// The signed claims of the executors paid: each checks against its session key.
		attestations: Attestations,
		/// Total paid out of the escrow.
		paid: Balance,
		/// Returned to the client.
		refunded: Balance,
	},
	/// No result could be had (after `MaxAttempts` assignments, or no executor in time);
	/// everything held was returned.
	Failed {
		/// Returned to the client.
		refunded: Balance,
	},
	/// The client cancelled the job while it waited; everything held was returned.
	Cancelled {
		/// Returned to the client.
		refunded: Balance,
	},
}

/// A job that ended, kept among the chain's most recent outcomes (`MaxOutcomes`).
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct JobOutcome<
	AccountId,
	Balance,
	BlockNumber,
	Outputs = Vec<u8>,
	Attestations = Vec<Attestation<AccountId>>,
> {
	/// Who paid.
	pub client: AccountId,
	/// The model.
	pub model: ModelHash,
	/// Hash of the input.
	pub input_hash: H256,
	/// How the result was verified.
	pub mode: VerificationMode,
	/// Block of the submission.
	pub submitted_at: BlockNumber,
	/// Block in which the job ended.
	pub ended_at: BlockNumber,
	/// How it ended.
	pub end: JobEnd<Balance, Outputs, Attestations>,
}

impl<AccountId, Balance, BlockNumber, Outputs, Attestations>
	JobOutcome<AccountId, Balance, BlockNumber, Outputs, Attestations>
where
	Outputs: Into<Vec<u8>>,
	Attestations: Into<Vec<Attestation<AccountId>>>,
{
	/// The outcome with plain vectors, as the runtime API returns it.
	pub fn unbounded(self) -> JobOutcome<AccountId, Balance, BlockNumber> {
		let end = match self.end {
			JobEnd::Settled { output_hash, outputs, attestations, paid, refunded } => {
				JobEnd::Settled {
					output_hash,
					outputs: outputs.map(Into::into),
					attestations: attestations.into(),
					paid,
					refunded,
				}
			}
			JobEnd::Failed { refunded } => JobEnd::Failed { refunded },
			JobEnd::Cancelled { refunded } => JobEnd::Cancelled { refunded },
		};
		JobOutcome {
			client: self.client,
			model: self.model,
			input_hash: self.input_hash,
			mode: self.mode,
			submitted_at: self.submitted_at,
			ended_at: self.ended_at,
			end,
		}
	}
}

/// The statement an executor owes next for a job.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub enum Due {
	/// An attested result (`Claim::Output`).
	Output,
	/// A quorum commitment (`Claim::Commitment`).
	Commitment,
	/// A quorum reveal (`Claim::Reveal`).
	Reveal,
	/// The pages of an attested result's outputs, which a verifier asked for
	/// (`Claim::OutputPage`).
	OutputPages,
	/// A proven result (`Claim::Proven`, with its proof).
	Proof,
}

/// A job an executor (or a spot checker) has to work on.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct WorkItem {
	/// The job.
	pub job: JobId,
	/// Its model.
	pub model: ModelHash,
	/// Hash of its input (the input itself is in the jobs pallet's `JobInputs`).
	pub input_hash: H256,
	/// The job's current attempt, which the statement signs.
	pub attempt: u32,
	/// What the executor owes.
	pub due: Due,
	/// Whether it is owed as the job's spot checker (a verifier), not as an executor.
	pub spot_check: bool,
	/// The first job id of the group the job is a member of, when its result is owed in one
	/// group statement with those of the group's other present members.
	pub group: Option<JobId>,
}

sp_api::decl_runtime_apis! {
	/// Job status, results, quotes and pending work.
	pub trait InferenceApi<AccountId, Balance, BlockNumber>
	where
		AccountId: Codec,
		Balance: Codec,
		BlockNumber: Codec,
	{
		/// A job that has not ended (ended ones: [`Self::outcome`]).
		fn job(job: JobId) -> Option<JobReport<AccountId, Balance, BlockNumber>>;

		/// How a job ended, for the chain's `MaxOutcomes` most recently ended jobs and the
		/// members of its `MaxGroupOutcomes` most recently settled groups; `None` for a job
		/// that has not ended, ended longer ago, or never existed (`NextJobId` tells the last
		/// apart: older outcomes are in the `Settled`, `Failed` and `Cancelled` events).
		fn outcome(job: JobId) -> Option<JobOutcome<AccountId, Balance, BlockNumber>>;

		/// The fee a job on `model` in `mode` costs (fee per run times runs), if the model
		/// takes such a job now (active, accepting the mode, and for attested jobs audited
		/// by enough verifiers).
		fn quote(model: ModelHash, mode: VerificationMode) -> Option<Balance>;

		/// What a job on `model` puts at stake of each executor's bond (the slash of an
		/// executor that lies on it), if the model takes jobs.
		fn job_stake(model: ModelHash) -> Option<Balance>;

		/// The work owed by the executor whose session key is `key`.
		fn pending_work(key: InferenceKey) -> Vec<WorkItem>;

		/// Open disputes and their committees.
		fn open_disputes() -> Vec<(JobId, Vec<AccountId>)>;

		/// Where a registered model kept off chain is fetched from (its size and locators);
		/// `None` for a model on chain or unknown.
		fn off_chain_model(model: ModelHash) -> Option<crate::traits::OffChainModel>;
	}
}
