//! The node's JSON-RPC methods beyond Substrate's defaults (`system_*` account nonce,
//! `payment_*` fee queries) and HACA's own (`haca_checkModel`, the registration dry run).

use std::{collections::BTreeMap, sync::Arc};

use haca_engine::DimBounds;
use haca_primitives::tensor::TensorSpec;
use haca_runtime::{opaque::Block, AccountId, Balance, Nonce};
use jsonrpsee::{
	core::RpcResult, proc_macros::rpc, types::ErrorObjectOwned, Extensions, RpcModule,
};
use sc_transaction_pool_api::TransactionPool;
use serde::Serialize;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};
use sp_core::{Bytes, H256};

/// HACA's own methods.
#[rpc(server, namespace = "haca")]
pub trait HacaApi {
	/// Whether this node's engine reads and runs the ONNX model `onnx` (its bytes, hex) as an
	/// executor would, its dynamic dimensions up to the sizes `bounds` names (and every
	/// unnamed one up to `unnamed_bound`): the dry run before `models.register`. Answers
	/// with the specs to register, or with what stops executors (an operator the engine
	/// lacks, with its node; an unsupported type; a dimension without a bound). Unsafe (it
	/// runs the model): served to local callers, or with `--rpc-methods unsafe`.
	#[method(name = "checkModel", with_extensions)]
	async fn check_model(
		&self,
		onnx: Bytes,
		bounds: Option<BTreeMap<String, u32>>,
		unnamed_bound: Option<u32>,
	) -> RpcResult<ModelCheck>;
}

/// The answer of `haca_checkModel`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCheck {
	/// Whether executors can run the model.
	pub runs: bool,
	/// What stops them, when they cannot.
	pub reason: Option<String>,
	/// The model's hash (blake2-256 of its bytes), its registration key.
	pub model_hash: H256,
	/// Its size in bytes.
	pub byte_size: usize,
	/// The input specs to register (empty when it does not run).
	pub inputs: Vec<TensorSpec>,
	/// The output specs to register (empty when it does not run).
	pub outputs: Vec<TensorSpec>,
}

/// `haca_*` on this node's engine.
pub struct Haca;

#[jsonrpsee::core::async_trait]
impl HacaApiServer for Haca {
	async fn check_model(
		&self,
		ext: &Extensions,
		onnx: Bytes,
		bounds: Option<BTreeMap<String, u32>>,
		unnamed_bound: Option<u32>,
	) -> RpcResult<ModelCheck> {
		sc_rpc_api::check_if_safe(ext)?;
		let bounds = DimBounds { named: bounds.unwrap_or_default(), unnamed: unnamed_bound };
		let model_hash = H256(sp_crypto_hashing::blake2_256(&onnx));
		let byte_size = onnx.len();
		let checked = tokio::task::spawn_blocking(move || {
			crate::model_check::check_model(&onnx, &bounds, haca_engine::DATA_DEPENDENT_MAX)
		})
		.await
		.map_err(|error| ErrorObjectOwned::owned(-32603, error.to_string(), None::<()>))?;
		Ok(match checked {
			Ok(model) => ModelCheck {
				runs: true,
				reason: None,
				model_hash,
				byte_size,
				inputs: model.inputs,
				outputs: model.outputs,
			},
			Err(reason) => ModelCheck {
				runs: false,
				reason: Some(reason),
				model_hash,
				byte_size,
				inputs: Vec::new(),
				outputs: Vec::new(),
			},
		})
	}
}

/// What the RPC methods need from the node.
pub struct FullDeps<C, P> {
	/// The client, to call runtime APIs.
	pub client: Arc<C>,
	/// The transaction pool, for nonces of pending transactions.
	pub pool: Arc<P>,
}

/// Builds the RPC module with all node-specific methods.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ Send
		+ Sync
		+ 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>
		+ pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>
		+ sp_block_builder::BlockBuilder<Block>,
	P: TransactionPool + 'static,
{
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let FullDeps { client, pool } = deps;
	let mut module = RpcModule::new(());
	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client).into_rpc())?;
	module.merge(Haca.into_rpc())?;
	Ok(module)
}
