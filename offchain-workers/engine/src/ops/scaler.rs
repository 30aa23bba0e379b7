//! `ai.onnx.ml.Scaler` (scikit-learn's `StandardScaler` as skl2onnx exports it):
//! `Y = (X - offset) * scale`, per feature (the last axis), in float32.

use tract_onnx::{
	model::ParsingContext,
	pb::NodeProto,
	tract_hir::{
		internal::*,
		tract_core::ops::{cast::cast, math},
	},
};

/// The scaler's constants, each one value or one per feature.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub(crate) struct Scaler {
	offset: Arc<Tensor>,
	scale: Arc<Tensor>,
}

/// Reads a `Scaler` node.
pub(crate) fn build(
	_context: &ParsingContext,
	node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
	let offset: Vec<f32> = node.get_attr_opt_vec("offset")?.unwrap_or_else(|| vec![0.0]);
	let scale: Vec<f32> = node.get_attr_opt_vec("scale")?.unwrap_or_else(|| vec![1.0]);
	node.expect(!offset.is_empty() && !scale.is_empty(), "offset and scale not empty")?;
	Ok((expand(Scaler { offset: rctensor1(&offset), scale: rctensor1(&scale) }), vec![]))
}

impl Expansion for Scaler {
	fn name(&self) -> StaticName {
		"Scaler".into()
	}

	fn rules<'r, 'p: 'r, 's: 'r>(
		&'s self,
		s: &mut Solver<'r>,
		inputs: &'p [TensorProxy],
		outputs: &'p [TensorProxy],
	) -> InferenceResult {
		check_input_arity(inputs, 1)?;
		check_output_arity(outputs, 1)?;
		s.equals(&outputs[0].datum_type, DatumType::F32)?;
		s.equals(&outputs[0].shape, &inputs[0].shape)?;
		Ok(())
	}

	fn wire(
		&self,
		prefix: &str,
		model: &mut TypedModel,
		inputs: &[OutletId],
	) -> TractResult<TVec<OutletId>> {
		let mut x = inputs[0];
		let fact = model.outlet_fact(x)?.clone();
		let features = fact.shape.last().cloned().unwrap_or_else(|| 1.to_dim());
		for (name, values) in [("offset", &self.offset), ("scale", &self.scale)] {
			ensure!(
				values.len() == 1 || features == values.len().to_dim(),
				"Scaler: {name} has {} values for {features} features",
				values.len()
			);
		}
		if fact.datum_type != DatumType::F32 {
			x = model.wire_node(format!("{prefix}.to_f32"), cast(DatumType::F32), &[x])?[0];
		}
		let rank = fact.rank();
		let offset = (*self.offset).clone().broadcast_into_rank(rank)?.into_arc_tensor();
		let offset = model.add_const(format!("{prefix}.offset"), offset)?;
		let scale = (*self.scale).clone().broadcast_into_rank(rank)?.into_arc_tensor();
		let scale = model.add_const(format!("{prefix}.scale"), scale)?;
		let centred = model.wire_node(format!("{prefix}.centre"), math::sub(), &[x, offset])?;
		model.wire_node(format!("{prefix}.scaled"), math::mul(), &[centred[0], scale])
	}
}
