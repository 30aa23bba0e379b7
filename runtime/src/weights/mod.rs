//! The runtime's base weights, measured on a release node by `scripts/benchmark-pallets.sh`
//! (`haca-node benchmark overhead`): executing an empty block, and the per-extrinsic cost of
//! a no-op (`System::remark`) beyond its call.

pub mod block_weights;
pub mod extrinsic_weights;

pub use block_weights::BlockExecutionWeight;
pub use extrinsic_weights::ExtrinsicBaseWeight;
