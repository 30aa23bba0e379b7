//! The node's own subcommands, beside Substrate's: `infer` (run a model locally, as an
//! executor would) and `replication-bench` (HACA's check against re-execution).

pub mod infer;
pub mod replication_bench;
