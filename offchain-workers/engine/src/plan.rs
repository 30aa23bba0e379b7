//! A model compiled by tract into a runnable plan, checked against its tensor specs.

use haca_primitives::tensor::{Tensor, TensorSpec};
use tract_onnx::prelude::{
	Framework, InferenceFact, InferenceModelExt, IntoRunnable, TValue, TypedRunnableModel,
};

use crate::{
	convert::{datum_type, dims, from_tract, to_tract},
	EngineError,
};

/// A model ready to run: tract's optimised plan and the specs it was checked against.
pub struct Plan {
	runnable: std::sync::Arc<TypedRunnableModel>,
	inputs: Vec<TensorSpec>,
	outputs: Vec<TensorSpec>,
}

impl Plan {
	/// Reads the ONNX `bytes`, fixes the inputs to `inputs`, optimises the model and checks
	/// that its outputs are `outputs`.
	pub fn compile(
		bytes: &[u8],
		inputs: &[TensorSpec],
		outputs: &[TensorSpec],
	) -> Result<Self, EngineError> {
		let invalid = |error: tract_onnx::prelude::TractError| {
			EngineError::InvalidModel(format!("{error:#}"))
		};
		let mut model = tract_onnx::onnx().model_for_read(&mut &*bytes).map_err(invalid)?;
		let input_count = model.input_outlets().map_err(invalid)?.len();
		if input_count != inputs.len() {
			return Err(EngineError::SpecMismatch(format!(
				"the model has {input_count} inputs, the spec {}",
				inputs.len()
			)));
		}
		for (index, spec) in inputs.iter().enumerate() {
			let fact = InferenceFact::dt_shape(datum_type(spec.element_type), dims(&spec.shape));
			model.set_input_fact(index, fact).map_err(invalid)?;
		}
		let typed = model.into_optimized().map_err(invalid)?;
		let output_count = typed.output_outlets().map_err(invalid)?.len();
		if output_count != outputs.len() {
			return Err(EngineError::SpecMismatch(format!(
				"the model has {output_count} outputs, the spec {}",
				outputs.len()
			)));
		}
		for (index, spec) in outputs.iter().enumerate() {
			let fact = typed.output_fact(index).map_err(invalid)?;
			let expected = dims(&spec.shape);
			let shape_matches =
				fact.shape.as_concrete().is_some_and(|shape| shape == expected.as_slice());
			if fact.datum_type != datum_type(spec.element_type) || !shape_matches {
				return Err(EngineError::SpecMismatch(format!(
					"output {index} is {fact:?}, the spec says {:?} {expected:?}",
					spec.element_type
				)));
			}
		}
		let runnable = typed.into_runnable().map_err(invalid)?;
		Ok(Self { runnable, inputs: inputs.to_vec(), outputs: outputs.to_vec() })
	}

	/// The input specs.
	pub fn inputs(&self) -> &[TensorSpec] {
		&self.inputs
	}

	/// Runs the plan on inputs already checked against [`Plan::inputs`].
	pub fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, EngineError> {
		let values = inputs
			.iter()
			.map(|tensor| to_tract(tensor).map(TValue::from))
			.collect::<Result<tract_onnx::prelude::TVec<_>, _>>()?;
		let results = self
			.runnable
			.run(values)
			.map_err(|error| EngineError::Execution(format!("{error:#}")))?;
		results
			.iter()
			.zip(&self.outputs)
			.map(|(value, spec)| from_tract(value, spec.element_type))
			.collect()
	}
}
