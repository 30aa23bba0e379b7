//! Built-in chain specifications, generated from the runtime's genesis presets.

use haca_runtime::WASM_BINARY;
use sc_service::{ChainType, Properties};

/// The chain specification type of HACA chain.
pub type ChainSpec = sc_service::GenericChainSpec;

/// Token properties that wallets and polkadot.js read from the chain spec.
fn properties() -> Properties {
	let mut properties = Properties::new();
	properties.insert("tokenSymbol".into(), "HACA".into());
	properties.insert("tokenDecimals".into(), 12.into());
	properties.insert("ss58Format".into(), 42.into());
	properties
}

/// A chain spec built from the runtime preset `preset`.
fn from_preset(
	name: &str,
	id: &str,
	chain_type: ChainType,
	preset: &str,
) -> Result<ChainSpec, String> {
	let wasm = WASM_BINARY.ok_or_else(|| {
		"the runtime's wasm blob was not built (SKIP_WASM_BUILD was set?)".to_string()
	})?;
	Ok(ChainSpec::builder(wasm, None)
		.with_name(name)
		.with_id(id)
		.with_chain_type(chain_type)
		.with_protocol_id("haca")
		.with_genesis_config_preset_name(preset)
		.with_properties(properties())
		.build())
}

/// Single-validator development chain (`--dev`, `--chain dev`).
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	from_preset(
		"HACA Development",
		"haca_dev",
		ChainType::Development,
		sp_genesis_builder::DEV_RUNTIME_PRESET,
	)
}

/// Two-validator local test network (`--chain local`).
pub fn local_chain_spec() -> Result<ChainSpec, String> {
	from_preset(
		"HACA Local Testnet",
		"haca_local",
		ChainType::Local,
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET,
	)
}

/// Multi-node test network template with separate validator, executor and verifier nodes
/// (`--chain testnet`).
pub fn testnet_chain_spec() -> Result<ChainSpec, String> {
	from_preset(
		"HACA Testnet",
		"haca_testnet",
		ChainType::Local,
		haca_runtime::genesis_config_presets::TESTNET_PRESET,
	)
}

#[cfg(test)]
mod tests {
	use haca_primitives::tensor::{ElementType, TensorSpec};
	use haca_runtime::genesis_config_presets::{demo_model_graph, DEMO_MODEL};

	#[test]
	fn the_demo_model_registers_the_graph_it_lowers_to() {
		let input = TensorSpec::new("input", ElementType::F32, &[1, 4]).unwrap();
		let lowered = haca_engine::lowering::commitment(DEMO_MODEL, &[input]);
		assert_eq!(Ok(demo_model_graph()), lowered);
	}
}
