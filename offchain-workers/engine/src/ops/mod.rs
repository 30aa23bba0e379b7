//! ONNX operators tract lacks, added to its ONNX front end through tract's own extension
//! point (`Onnx::op_register`), and one it runs differently from onnxruntime
//! (`ArrayFeatureExtractor`), replaced there: each translates an ONNX node into tract's core
//! operators, or into an operator of its own. Classifiers of named classes, which tract
//! reads but cannot type, are rewritten before it reads them ([`index_named_classes`]).

mod array_feature_extractor;
mod class_names;
mod scaler;
mod svm;
mod tree_ensemble;

pub(crate) use class_names::index_named_classes;
pub(crate) use tree_ensemble::check_tree_ensemble;

/// tract's ONNX front end with HACA's operators registered.
pub(crate) fn onnx() -> tract_onnx::Onnx {
	let mut onnx = tract_onnx::onnx();
	onnx.op_register.insert("ArrayFeatureExtractor", array_feature_extractor::build);
	onnx.op_register.insert("Scaler", scaler::build);
	onnx.op_register.insert("SVMClassifier", svm::build);
	onnx.op_register.insert("TreeEnsembleRegressor", tree_ensemble::build_regressor);
	onnx
}
