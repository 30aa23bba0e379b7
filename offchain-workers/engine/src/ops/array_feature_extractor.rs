//! `ai.onnx.ml.ArrayFeatureExtractor` as onnxruntime runs it, which the exporters rely on:
//! the indices, of any rank, are one list, so the output is the input with its last axis
//! replaced by as many elements as there are indices. tract's own version takes the
//! indices' shape instead, so a scalar index drops the last axis (skl2onnx's SVC and
//! one-vs-rest graphs then fail to concatenate their columns).

use tract_onnx::{
	model::ParsingContext,
	pb::NodeProto,
	tract_hir::{internal::*, tract_core::ops::array::Gather},
};

/// The operator (no attributes).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(crate) struct ArrayFeatureExtractor;

/// Reads an `ArrayFeatureExtractor` node.
pub(crate) fn build(
	_context: &ParsingContext,
	_node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
	Ok((expand(ArrayFeatureExtractor), vec![]))
}

impl Expansion for ArrayFeatureExtractor {
	fn name(&self) -> StaticName {
		"ArrayFeatureExtractor".into()
	}

	fn rules<'r, 'p: 'r, 's: 'r>(
		&'s self,
		s: &mut Solver<'r>,
		inputs: &'p [TensorProxy],
		outputs: &'p [TensorProxy],
	) -> InferenceResult {
		check_input_arity(inputs, 2)?;
		check_output_arity(outputs, 1)?;
		s.equals(&inputs[0].datum_type, &outputs[0].datum_type)?;
		s.equals(&inputs[1].datum_type, i64::datum_type())?;
		s.equals(&inputs[0].rank, &outputs[0].rank)?;
		s.given_2(&inputs[0].shape, &inputs[1].shape, move |s, input, indices| {
			let mut shape: TVec<TDim> =
				input.iter().take(input.len().saturating_sub(1)).cloned().collect();
			shape.push(indices.iter().product());
			s.equals(&outputs[0].shape, shape)
		})
	}

	fn wire(
		&self,
		prefix: &str,
		model: &mut TypedModel,
		inputs: &[OutletId],
	) -> TractResult<TVec<OutletId>> {
		let last_axis = model.outlet_fact(inputs[0])?.rank() - 1;
		let indices = model.outlet_fact(inputs[1])?.clone();
		let count: TDim = indices.shape.iter().product();
		let flat = AxisOp::Reshape(0, indices.shape.to_tvec(), tvec![count]);
		let list = model.wire_node(format!("{prefix}.indices"), flat, &[inputs[1]])?;
		let gather = Gather { axis: last_axis, output_type: None };
		model.wire_node(prefix, gather, &[inputs[0], list[0]])
	}
}
