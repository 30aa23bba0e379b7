//! A model compiled by tract into a runnable plan, checked against its tensor specs.

use std::{
	sync::atomic::{AtomicU64, Ordering},
	time::{Duration, Instant},
};

use haca_primitives::tensor::{decode_and_check, Layout, TensorError, TensorSpec};
use tract_onnx::prelude::{
	Framework, InferenceFact, InferenceModelExt, IntoRunnable, OutletId, TValue, TVec,
	Tensor as TractTensor, TypedModel, TypedRunnableModel,
};

use crate::{
	convert::{datum_type, dims, element_type, elements, to_tract},
	EngineError,
};

/// tract's errors as the engine reports them.
fn invalid(error: tract_onnx::prelude::TractError) -> EngineError {
	EngineError::InvalidModel(format!("{error:#}"))
}

/// A model ready to run: tract's optimised plan and the specs it was checked against.
pub struct Plan {
	runnable: std::sync::Arc<TypedRunnableModel>,
	inputs: Vec<TensorSpec>,
	outputs: Vec<TensorSpec>,
	/// The canonical encoding of the inputs, read in place.
	input_layout: Layout,
	/// The canonical encoding of the outputs, written straight from tract's tensors.
	output_layout: Layout,
	/// How long the latest run took, in nanoseconds (`u64::MAX` before the first).
	last_run_nanos: AtomicU64,
}

impl Plan {
	/// Reads the ONNX `bytes`, fixes the inputs to `inputs`, optimises the model and checks
	/// that its outputs are `outputs`.
	pub fn compile(
		bytes: &[u8],
		inputs: &[TensorSpec],
		outputs: &[TensorSpec],
	) -> Result<Self, EngineError> {
		let typed = Self::optimise(bytes, inputs)?;
		let found = Self::output_specs(&typed)?;
		let matches = found.len() == outputs.len()
			&& found.iter().zip(outputs).all(|(found, spec)| {
				found.element_type == spec.element_type && found.shape == spec.shape
			});
		if !matches {
			return Err(EngineError::SpecMismatch(format!(
				"the model's outputs are {:?}, the spec says {:?}",
				summary(&found),
				summary(outputs)
			)));
		}
		Self::finish(typed, inputs, outputs.to_vec())
	}

	/// As [`Plan::compile`], with the output specs read from the model itself (for
	/// operators trying a model before registering it).
	pub fn discover(bytes: &[u8], inputs: &[TensorSpec]) -> Result<Self, EngineError> {
		let typed = Self::optimise(bytes, inputs)?;
		let outputs = Self::output_specs(&typed)?;
		Self::finish(typed, inputs, outputs)
	}

	/// The model read from `bytes`, its inputs fixed to `inputs`, optimised.
	fn optimise(bytes: &[u8], inputs: &[TensorSpec]) -> Result<TypedModel, EngineError> {
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
		model.into_optimized().map_err(invalid)
	}

	/// The input specs the model itself declares (fixed shapes only): for trying or
	/// benchmarking a model before its specs are registered.
	pub fn declared_inputs(bytes: &[u8]) -> Result<Vec<TensorSpec>, EngineError> {
		let typed = tract_onnx::onnx()
			.model_for_read(&mut &*bytes)
			.and_then(|model| model.into_typed())
			.map_err(invalid)?;
		Self::specs(&typed, typed.input_outlets().map_err(invalid)?, "input")
	}

	/// The output specs of an optimised model (names as in the graph).
	fn output_specs(typed: &TypedModel) -> Result<Vec<TensorSpec>, EngineError> {
		Self::specs(typed, typed.output_outlets().map_err(invalid)?, "output")
	}

	/// The specs of the tensors at `outlets` (`what`: input or output, for errors).
	fn specs(
		typed: &TypedModel,
		outlets: &[OutletId],
		what: &str,
	) -> Result<Vec<TensorSpec>, EngineError> {
		outlets
			.iter()
			.enumerate()
			.map(|(index, outlet)| {
				let fact = typed.outlet_fact(*outlet).map_err(invalid)?;
				let unsupported =
					|why: &str| EngineError::SpecMismatch(format!("{what} {index}: {why}"));
				let shape =
					fact.shape.as_concrete().ok_or_else(|| unsupported("no fixed shape"))?;
				let element_type = element_type(fact.datum_type)
					.ok_or_else(|| unsupported("unsupported element type"))?;
				let name: Vec<u8> =
					typed.node(outlet.node).name.as_bytes().iter().take(64).copied().collect();
				Ok(TensorSpec {
					name: name.try_into().map_err(|_| unsupported("name"))?,
					element_type,
					shape: shape
						.iter()
						.map(|dim| *dim as u32)
						.collect::<Vec<_>>()
						.try_into()
						.map_err(|_| unsupported("rank above the bound"))?,
				})
			})
			.collect()
	}

	fn finish(
		typed: TypedModel,
		inputs: &[TensorSpec],
		outputs: Vec<TensorSpec>,
	) -> Result<Self, EngineError> {
		let layout = |specs: &[TensorSpec]| {
			Layout::new(specs).ok_or_else(|| {
				EngineError::SpecMismatch(format!("tensors too large: {:?}", summary(specs)))
			})
		};
		let (input_layout, output_layout) = (layout(inputs)?, layout(&outputs)?);
		let runnable = typed.into_runnable().map_err(invalid)?;
		Ok(Self {
			runnable,
			inputs: inputs.to_vec(),
			outputs,
			input_layout,
			output_layout,
			last_run_nanos: AtomicU64::new(u64::MAX),
		})
	}

	/// The input specs.
	pub fn inputs(&self) -> &[TensorSpec] {
		&self.inputs
	}

	/// The output specs the plan was checked against.
	pub fn outputs(&self) -> &[TensorSpec] {
		&self.outputs
	}

	/// How long the latest run took (`None` before the first run).
	pub fn last_run(&self) -> Option<Duration> {
		match self.last_run_nanos.load(Ordering::Relaxed) {
			u64::MAX => None,
			nanos => Some(Duration::from_nanos(nanos)),
		}
	}

	/// Runs the plan on `input`, a tensor list in the canonical encoding matching
	/// [`Plan::inputs`]; its outputs in the canonical encoding.
	pub fn run(&self, input: &[u8]) -> Result<Vec<u8>, EngineError> {
		self.execute(self.input_tensors(input)?)
	}

	/// `input` checked against the input specs and copied into tract's tensors.
	pub(crate) fn input_tensors(&self, input: &[u8]) -> Result<TVec<TractTensor>, EngineError> {
		let Some(elements) = self.input_layout.elements(input) else {
			// Decoding names what is wrong (it accepts nothing the layout refuses).
			let error = decode_and_check(input, &self.inputs).err();
			return Err(EngineError::BadInput(error.unwrap_or(TensorError::Malformed)));
		};
		self.inputs.iter().zip(elements).map(|(spec, data)| to_tract(spec, data)).collect()
	}

	/// Runs tract on inputs from [`Plan::input_tensors`]; the outputs, encoded.
	pub(crate) fn execute(&self, inputs: TVec<TractTensor>) -> Result<Vec<u8>, EngineError> {
		let values = inputs.into_iter().map(TValue::from).collect();
		let started = Instant::now();
		let results = self
			.runnable
			.run(values)
			.map_err(|error| EngineError::Execution(format!("{error:#}")))?;
		let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
		self.last_run_nanos.store(nanos, Ordering::Relaxed);
		let outputs = results
			.iter()
			.zip(&self.outputs)
			.map(|(value, spec)| elements(value, spec))
			.collect::<Result<TVec<_>, _>>()?;
		self.output_layout.encode(outputs).ok_or_else(|| {
			EngineError::Execution("the model's outputs differ from its specs".into())
		})
	}
}

/// Element types and shapes, for error messages.
fn summary(specs: &[TensorSpec]) -> Vec<String> {
	specs.iter().map(|spec| format!("{:?}{:?}", spec.element_type, spec.shape.to_vec())).collect()
}
