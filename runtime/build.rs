//! Builds the runtime's wasm blob (skipped with `SKIP_WASM_BUILD=1`).

fn main() {
	#[cfg(feature = "std")]
	{
		use std::path::{Path, PathBuf};

		// The target directory lives outside the work tree, where the wasm builder cannot find
		// the workspace's Cargo.lock by walking up from OUT_DIR. Point it at the workspace so
		// the wasm build uses the same locked dependency versions. Set here, not globally:
		// other crates' runtimes (benchmarking test runtimes) must not see it.
		let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
		let workspace = workspace.canonicalize().unwrap_or(workspace);
		std::env::set_var("WASM_BUILD_WORKSPACE_HINT", &workspace);

		// Compact and compress the blob in every profile (the wasm is built optimised in any
		// case), so debug and release nodes carry the same blob as the committed chain specs.
		if std::env::var_os("WASM_BUILD_TYPE").is_none() {
			std::env::set_var("WASM_BUILD_TYPE", "release");
		}

		// Source paths end up in the blob (panic locations). Map the machine-specific ones
		// to fixed names, so the same sources and toolchain give the same blob in any
		// checkout on any machine (the committed chain specs carry it).
		let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
		let dir_of = |var: &str, default: &str| {
			std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| home.join(default))
		};
		let remaps = [
			(workspace, "/haca"),
			(dir_of("CARGO_HOME", ".cargo"), "/cargo"),
			(dir_of("RUSTUP_HOME", ".rustup"), "/rustup"),
		];
		let mut builder = substrate_wasm_builder::WasmBuilder::init_with_defaults();
		for (from, to) in remaps {
			builder = builder
				.append_to_rust_flags(format!("--remap-path-prefix={}={to}", from.display()));
		}
		builder.build();
	}
}
