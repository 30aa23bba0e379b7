//! ONNX operators tract lacks, added to its ONNX front end through tract's own extension
//! point (`Onnx::op_register`): each translates an ONNX node into tract's core operators.

mod scaler;
mod tree_ensemble;

pub(crate) use tree_ensemble::check_tree_ensemble;

/// tract's ONNX front end with HACA's operators registered.
pub(crate) fn onnx() -> tract_onnx::Onnx {
	let mut onnx = tract_onnx::onnx();
	onnx.op_register.insert("Scaler", scaler::build);
	onnx.op_register.insert("TreeEnsembleRegressor", tree_ensemble::build_regressor);
	onnx
}
