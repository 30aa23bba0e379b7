//! `haca-node`: the HACA chain node binary.

#![warn(missing_docs)]

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod chain_spec;
mod cli;
mod cmd;
mod command;
mod fetch;
mod model_check;
mod receipt;
mod roles;
mod rpc;
mod service;

fn main() {
	if let Err(error) = command::run() {
		// One line for operators; no panic trace for bad input such as a missing chain spec.
		eprintln!("Error: {error}");
		std::process::exit(1);
	}
}
