//! What `haca-node benchmark overhead` and `benchmark extrinsic` fill their blocks with:
//! transactions signed by a development account, and the inherent data of a block.

use std::{sync::Arc, time::Duration};

use frame_benchmarking_cli::ExtrinsicBuilder;
use haca_runtime::{AccountId, Balance, BalancesCall, RuntimeCall, SystemCall};
use sp_blockchain::HeaderBackend;
use sp_inherents::{InherentData, InherentDataProvider};
use sp_keyring::Sr25519Keyring;
use sp_runtime::OpaqueExtrinsic;

use crate::service::FullClient;

/// Builds `System::remark` transactions with an empty remark: the no-op whose cost is the
/// runtime's per-extrinsic base weight.
pub struct RemarkBuilder {
	client: Arc<FullClient>,
}

impl RemarkBuilder {
	/// Builds transactions for the chain of `client`.
	pub fn new(client: Arc<FullClient>) -> Self {
		Self { client }
	}
}

impl ExtrinsicBuilder for RemarkBuilder {
	fn pallet(&self) -> &str {
		"system"
	}

	fn extrinsic(&self) -> &str {
		"remark"
	}

	fn build(&self, nonce: u32) -> Result<OpaqueExtrinsic, &'static str> {
		let call = SystemCall::remark { remark: Vec::new() }.into();
		signed(&self.client, call, nonce)
	}
}

/// Builds `Balances::transfer_keep_alive` transactions of `value` to `dest`.
pub struct TransferKeepAliveBuilder {
	client: Arc<FullClient>,
	dest: AccountId,
	value: Balance,
}

impl TransferKeepAliveBuilder {
	/// Builds transfers of `value` to `dest` for the chain of `client`.
	pub fn new(client: Arc<FullClient>, dest: AccountId, value: Balance) -> Self {
		Self { client, dest, value }
	}
}

impl ExtrinsicBuilder for TransferKeepAliveBuilder {
	fn pallet(&self) -> &str {
		"balances"
	}

	fn extrinsic(&self) -> &str {
		"transfer_keep_alive"
	}

	fn build(&self, nonce: u32) -> Result<OpaqueExtrinsic, &'static str> {
		let call =
			BalancesCall::transfer_keep_alive { dest: self.dest.clone().into(), value: self.value }
				.into();
		signed(&self.client, call, nonce)
	}
}

/// `call` signed by Bob with `nonce`; Bob is endowed on every development chain.
fn signed(
	client: &FullClient,
	call: RuntimeCall,
	nonce: u32,
) -> Result<OpaqueExtrinsic, &'static str> {
	let genesis = client.hash(0).ok().flatten().ok_or("the client has no genesis block")?;
	let signer = Sr25519Keyring::Bob.pair();
	Ok(haca_runtime::signed_transaction(call, &signer, nonce, genesis).into())
}

/// The inherent data of a benchmark block: a timestamp of zero, which is slot 0, the slot
/// the genesis state expects.
pub fn inherent_benchmark_data() -> sc_cli::Result<InherentData> {
	let mut inherent_data = InherentData::new();
	let timestamp = sp_timestamp::InherentDataProvider::new(Duration::ZERO.into());
	futures::executor::block_on(timestamp.provide_inherent_data(&mut inherent_data))
		.map_err(|e| format!("creating the benchmark's inherent data: {e:?}"))?;
	Ok(inherent_data)
}
