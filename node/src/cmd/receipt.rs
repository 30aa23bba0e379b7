//! `haca-node verify-receipt` (check a job's receipt against the chain spec alone) and
//! `haca-node trust-anchor` (what receipts are checked against, for other verifiers).

use std::path::PathBuf;

use crate::receipt::{verify, Receipt, TrustAnchor};

/// Verify a job's receipt (written by the JS client or the web page) without any node: its
/// block's GRANDPA finality, the job's outcome in the block's state, the outputs' hash and
/// the executors' signatures. Prints what it proves as JSON; fails with the reason.
#[derive(Debug, clap::Parser)]
pub struct VerifyReceiptCmd {
	/// The receipt file (JSON).
	pub file: PathBuf,

	/// The chain the receipt is of: `dev`, `local`, `testnet` or a chain spec file.
	#[arg(long, default_value = "dev")]
	pub chain: String,
}

/// Print the trust anchor of a chain: its genesis hash and GRANDPA authority set, derived
/// from the chain spec (what the JS client's `verifyReceipt` takes).
#[derive(Debug, clap::Parser)]
pub struct TrustAnchorCmd {
	/// The chain: `dev`, `local`, `testnet` or a chain spec file.
	#[arg(long, default_value = "dev")]
	pub chain: String,
}

impl VerifyReceiptCmd {
	/// Verifies the receipt against the anchor of `spec`.
	pub fn run(&self, spec: &dyn sc_service::ChainSpec) -> sc_cli::Result<()> {
		let text = std::fs::read_to_string(&self.file)
			.map_err(|error| format!("cannot read {}: {error}", self.file.display()))?;
		let receipt: Receipt = serde_json::from_str(&text)
			.map_err(|error| format!("{} is not a receipt: {error}", self.file.display()))?;
		let anchor = TrustAnchor::from_chain_spec(spec)?;
		let verified = verify(&receipt, &anchor)
			.map_err(|error| format!("the receipt does not verify: {error}"))?;
		println!("{}", serde_json::to_string_pretty(&verified).expect("serializable"));
		Ok(())
	}
}

impl TrustAnchorCmd {
	/// Prints the anchor of `spec`.
	pub fn run(&self, spec: &dyn sc_service::ChainSpec) -> sc_cli::Result<()> {
		let anchor = TrustAnchor::from_chain_spec(spec)?;
		println!("{}", serde_json::to_string_pretty(&anchor).expect("serializable"));
		Ok(())
	}
}
