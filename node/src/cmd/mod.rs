//! The node's own subcommands, beside Substrate's: `infer` (run a model locally, as an
//! executor would), `inspect` (the registration dry-run: a model's specs, or what stops
//! executors from running it), `model` (the store of models kept off chain),
//! `replication-bench` (HACA's check against re-execution), and `verify-receipt` and
//! `trust-anchor` (checking a job's receipt without trusting a node).

pub mod infer;
pub mod inspect;
pub mod model;
pub mod receipt;
pub mod replication_bench;
