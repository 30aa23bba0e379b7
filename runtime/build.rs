//! Builds the runtime's wasm blob (skipped with `SKIP_WASM_BUILD=1`).

fn main() {
	#[cfg(feature = "std")]
	{
		// The target directory lives outside the work tree, where the wasm builder cannot find
		// the workspace's Cargo.lock by walking up from OUT_DIR. Point it at the workspace so
		// the wasm build uses the same locked dependency versions. Set here, not globally:
		// other crates' runtimes (benchmarking test runtimes) must not see it.
		// Read when the script runs, not baked in when it is compiled: checkouts at other
		// paths that share the target directory reuse this script's binary.
		let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it");
		let workspace = std::path::Path::new(&manifest_dir).join("..");
		std::env::set_var("WASM_BUILD_WORKSPACE_HINT", workspace);

		// Compact and compress the blob in every profile (the wasm is built optimised in any
		// case): debug and release nodes carry the same, small blob.
		if std::env::var_os("WASM_BUILD_TYPE").is_none() {
			std::env::set_var("WASM_BUILD_TYPE", "release");
		}

		substrate_wasm_builder::WasmBuilder::build_using_defaults();
	}
}
