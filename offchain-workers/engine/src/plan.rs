//! A model compiled by tract into a runnable plan, checked against its tensor specs.

use std::{
	sync::{
		atomic::{AtomicU64, Ordering},
		Arc, Mutex,
	},
	time::{Duration, Instant},
};

use haca_primitives::{
	onnx::{self, OnnxError},
	tensor::{
		decode_and_check, ElementType, Layout, TensorError, TensorName, TensorSpec, TensorView,
	},
};
use tract_onnx::prelude::{
	Framework, InferenceFact, InferenceModel, InferenceModelExt, IntoRunnable, OutletId,
	SymbolValues, TDim, TValue, TVec, Tensor as TractTensor, TypedModel, TypedRunnableModel,
	TypedSimpleState,
};
use tract_onnx::tract_hir::infer::Factoid;

use crate::{
	bfloat16::{self, Widened},
	convert::{datum_type, element_type, elements, overwrite, to_tract},
	direct_conv, ops, panics, support, EngineError,
};

/// What tract's analysis of a model says of the size of one axis of an input or output.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum AxisSize {
	/// The same on every run.
	Fixed(u32),
	/// Set by the inputs' variable axes: at most this when they are at their largest.
	UpTo(u32),
	/// Set by the data (the number of non-zero elements, say): no bound follows from the
	/// specs.
	DataDependent,
}

/// A graph input or output as tract's analysis sees it.
struct Analysed {
	name: TensorName,
	element_type: ElementType,
	axes: Vec<AxisSize>,
}

impl Analysed {
	/// Its spec, data-dependent axes taking at most `data_dependent_max`.
	fn spec(&self, data_dependent_max: u32) -> TensorSpec {
		let mut variable = Vec::new();
		let sizes: Vec<u32> = (self.axes.iter().enumerate())
			.map(|(axis, size)| match size {
				AxisSize::Fixed(size) => *size,
				AxisSize::UpTo(size) => {
					variable.push(axis);
					*size
				}
				AxisSize::DataDependent => {
					variable.push(axis);
					data_dependent_max
				}
			})
			.collect();
		TensorSpec {
			name: self.name.clone(),
			element_type: self.element_type,
			shape: sizes.try_into().expect("rank checked by the analysis"),
			variable_axes: 0,
		}
		.with_variable_axes(&variable)
	}

	/// Whether `spec` fits: same type and rank, each fixed axis of the same size (or
	/// variable up to at least it), each axis the inputs set variable up to at least its
	/// largest size, each data-dependent axis variable.
	fn fits(&self, spec: &TensorSpec) -> bool {
		self.element_type == spec.element_type
			&& self.axes.len() == spec.shape.len()
			&& self.axes.iter().zip(&spec.shape).enumerate().all(|(axis, (size, &declared))| {
				match *size {
					AxisSize::Fixed(size) => {
						size == declared || (spec.is_variable(axis) && size <= declared)
					}
					AxisSize::UpTo(size) => spec.is_variable(axis) && size <= declared,
					AxisSize::DataDependent => spec.is_variable(axis),
				}
			})
	}

	/// The shape as people read it: `[≤4, ?, 3]`.
	fn describe(&self) -> String {
		let axes: Vec<String> = (self.axes.iter())
			.map(|size| match size {
				AxisSize::Fixed(size) => size.to_string(),
				AxisSize::UpTo(size) => format!("≤{size}"),
				AxisSize::DataDependent => "?".into(),
			})
			.collect();
		format!("{:?}[{}]", self.element_type, axes.join(", "))
	}
}

/// The largest size [`Plan::discover`] gives an output axis set by the data, unless told
/// another: a few thousand elements, as the most non-zero indices or detected boxes of a
/// small model.
pub const DATA_DEPENDENT_MAX: u32 = 4096;

/// The largest sizes of a model's dynamic input dimensions, for reading its input specs
/// ([`Plan::declared_inputs`]): by the name the graph gives a dimension (`batch`, as
/// torch.onnx writes a dynamic batch), and one for those it leaves unnamed (as skl2onnx
/// does).
#[derive(Clone, Debug, Default)]
pub struct DimBounds {
	/// Largest size of each named dimension.
	pub named: std::collections::BTreeMap<String, u32>,
	/// Largest size of every unnamed dynamic dimension.
	pub unnamed: Option<u32>,
}

/// Idle sessions a plan keeps at most (one per thread that ran it at once, in practice).
const KEPT_SESSIONS: usize = 8;

/// tract's errors while reading a model, as the engine reports them.
fn invalid_model(error: tract_onnx::prelude::TractError) -> EngineError {
	EngineError::InvalidModel(format!("{error:#}"))
}

/// tract's errors while running, as the engine reports them.
fn execution_failed(error: tract_onnx::prelude::TractError) -> EngineError {
	EngineError::Execution(format!("{error:#}"))
}

/// Reads a model with tract (`work`), a panic in tract counting as an invalid model.
fn with_panic_guard<T>(work: impl FnOnce() -> Result<T, EngineError>) -> Result<T, EngineError> {
	panics::catch(work).unwrap_or_else(|message| {
		Err(EngineError::InvalidModel(format!("tract panicked: {message}")))
	})
}

/// tract's state for running a plan once, with its input tensors: kept for the plan's next
/// runs, since making them anew costs more than a small model's whole run. Handed around
/// boxed: tract's state is a few hundred bytes, moved several times a run.
pub(crate) struct Session {
	state: TypedSimpleState,
	inputs: TVec<Arc<TractTensor>>,
}

impl Session {
	/// Writes the input `tensors` (checked against `specs`) into the session's input
	/// tensors, in place where the previous run's tensors are free again and of the same
	/// shape.
	fn set_inputs(
		&mut self,
		specs: &[TensorSpec],
		tensors: Vec<TensorView>,
	) -> Result<(), EngineError> {
		for (index, (spec, tensor)) in specs.iter().zip(tensors).enumerate() {
			let (element_type, dims, data) = (spec.element_type, &*tensor.dims, tensor.data);
			let kept = self.inputs.get_mut(index).and_then(Arc::get_mut);
			if kept.is_some_and(|kept| overwrite(kept, element_type, dims, data)) {
				continue;
			}
			let fresh = Arc::new(to_tract(element_type, dims, data)?);
			match self.inputs.get_mut(index) {
				Some(tensor) => *tensor = fresh,
				None => self.inputs.push(fresh),
			}
		}
		Ok(())
	}
}

/// A model ready to run: tract's optimised plan and the specs it was checked against.
pub struct Plan {
	runnable: Arc<TypedRunnableModel>,
	inputs: Vec<TensorSpec>,
	outputs: Vec<TensorSpec>,
	/// The canonical encoding of the inputs, read in place.
	input_layout: Layout,
	/// The canonical encoding of the outputs, written straight from tract's tensors.
	output_layout: Layout,
	/// How long the latest run took, in nanoseconds (`u64::MAX` before the first).
	last_run_nanos: AtomicU64,
	/// Sessions of finished runs, for the next; `None` if the plan has stateful operators
	/// (random generators, scans): a state they ran in would make the next run differ.
	#[allow(
		clippy::vec_box,
		reason = "sessions leave the vector for each run: boxed, they move as a pointer"
	)]
	idle_sessions: Option<Mutex<Vec<Box<Session>>>>,
}

impl Plan {
	/// Reads the ONNX `bytes`, fixes the inputs to `inputs`, optimises the model and checks
	/// that its outputs are `outputs`.
	pub fn compile(
		bytes: &[u8],
		inputs: &[TensorSpec],
		outputs: &[TensorSpec],
	) -> Result<Self, EngineError> {
		with_panic_guard(|| Self::compile_checked(bytes, inputs, outputs))
	}

	/// [`Plan::compile`], on tract's side of the panic guard.
	fn compile_checked(
		bytes: &[u8],
		inputs: &[TensorSpec],
		outputs: &[TensorSpec],
	) -> Result<Self, EngineError> {
		let (typed, widened, bounds) = Self::optimise(bytes, inputs)?;
		let found = Self::analyse_outputs(&typed, &widened, &bounds)?;
		let matches = found.len() == outputs.len()
			&& found.iter().zip(outputs).all(|(found, spec)| found.fits(spec));
		if !matches {
			let found: Vec<String> = found.iter().map(Analysed::describe).collect();
			return Err(EngineError::SpecMismatch(format!(
				"the model's outputs are {found:?}, the spec says {:?}",
				summary(outputs)
			)));
		}
		Self::finish(typed, inputs, outputs.to_vec())
	}

	/// As [`Plan::compile`], with the output specs read from the model itself (for
	/// operators trying a model before registering it): an output axis the inputs' variable
	/// axes set is variable up to its size with the inputs at their largest, and an axis
	/// the data sets is variable up to `data_dependent_max`.
	pub fn discover(
		bytes: &[u8],
		inputs: &[TensorSpec],
		data_dependent_max: u32,
	) -> Result<Self, EngineError> {
		with_panic_guard(|| {
			let (typed, widened, bounds) = Self::optimise(bytes, inputs)?;
			let found = Self::analyse_outputs(&typed, &widened, &bounds)?;
			let outputs = found.iter().map(|output| output.spec(data_dependent_max)).collect();
			Self::finish(typed, inputs, outputs)
		})
	}

	/// The model read from `bytes`, its inputs set to `inputs`, optimised; which of its
	/// inputs and outputs are bfloat16 computed as f32; the largest values of the symbols
	/// of the inputs' variable axes. Refused if it would not run reproducibly.
	fn optimise(
		bytes: &[u8],
		inputs: &[TensorSpec],
	) -> Result<(TypedModel, Widened, SymbolValues), EngineError> {
		onnx::check_reproducible(bytes).map_err(|error| match error {
			OnnxError::UnseededRandom(op) => EngineError::UnseededRandom(op),
			OnnxError::Malformed => EngineError::InvalidModel("not an ONNX protobuf".into()),
			OnnxError::TooDeep => EngineError::InvalidModel(format!(
				"subgraphs nested deeper than {}",
				onnx::MAX_GRAPH_DEPTH
			)),
		})?;
		let (mut model, widened) = Self::read(bytes)?;
		let mut bounds = SymbolValues::default();
		let input_count = model.input_outlets().map_err(invalid_model)?.len();
		if input_count != inputs.len() {
			return Err(EngineError::SpecMismatch(format!(
				"the model has {input_count} inputs, the spec {}",
				inputs.len()
			)));
		}
		for (index, spec) in inputs.iter().enumerate() {
			let model_bf16 = widened.inputs.get(index).copied().unwrap_or(false);
			if model_bf16 != (spec.element_type == ElementType::BF16) {
				return Err(EngineError::SpecMismatch(format!(
					"input {index}: the model's is {}bfloat16, the spec's {:?}",
					if model_bf16 { "" } else { "not " },
					spec.element_type
				)));
			}
			let shape = Self::input_shape(&model, index, spec, &mut bounds)?;
			let fact = InferenceFact::dt_shape(datum_type(spec.element_type), shape);
			model.set_input_fact(index, fact).map_err(invalid_model)?;
		}
		let mut typed =
			model.into_typed().and_then(TypedModel::into_decluttered).map_err(invalid_model)?;
		direct_conv::rewrite(&mut typed).map_err(invalid_model)?;
		Ok((typed.into_optimized().map_err(invalid_model)?, widened, bounds))
	}

	/// The shape tract is to assume for input `index` of `model`, of `spec`: its fixed axes'
	/// sizes, and for each variable axis the symbol the model names it with (`batch`, say:
	/// the same symbol on every input that shares it), or a new one where the model leaves
	/// it unnamed. Each symbol's largest value goes into `bounds`.
	fn input_shape(
		model: &InferenceModel,
		index: usize,
		spec: &TensorSpec,
		bounds: &mut SymbolValues,
	) -> Result<Vec<TDim>, EngineError> {
		let declared = model.input_fact(index).map_err(invalid_model)?;
		let declared: Vec<Option<TDim>> =
			declared.shape.dims().map(|dim| dim.concretize()).collect();
		(spec.shape.iter().enumerate())
			.map(|(axis, &size)| {
				if !spec.is_variable(axis) {
					return Ok(TDim::from(size as usize));
				}
				let symbol = match declared.get(axis).cloned().flatten() {
					Some(TDim::Sym(symbol)) => symbol,
					Some(TDim::Val(fixed)) => {
						return Err(EngineError::SpecMismatch(format!(
							"input {index} axis {axis}: the model fixes it at {fixed}, the spec \
							 makes it variable"
						)))
					}
					Some(other) => {
						return Err(EngineError::Unsupported(format!(
							"input {index} axis {axis}: a dimension declared as \"{other}\" \
							 (only a plain name or a number)"
						)))
					}
					None => model.symbols.new_with_prefix(&format!("input{index}_axis{axis}")),
				};
				match bounds.get(&symbol) {
					Some(bound) if bound != i64::from(size) => {
						Err(EngineError::SpecMismatch(format!(
							"input {index} axis {axis}: \"{symbol}\" is at most {bound} on \
							 another input, {size} here"
						)))
					}
					_ => {
						bounds.set(&symbol, i64::from(size));
						Ok(TDim::Sym(symbol))
					}
				}
			})
			.collect()
	}

	/// The model in `bytes` as tract reads it: bfloat16 widened to f32, named classes
	/// numbered.
	fn read(bytes: &[u8]) -> Result<(InferenceModel, Widened), EngineError> {
		let onnx = ops::onnx();
		let mut proto = onnx.proto_model_for_read(&mut &*bytes).map_err(invalid_model)?;
		support::check(&proto, &onnx.op_register)?;
		if let Some(graph) = proto.graph.as_mut() {
			ops::index_named_classes(graph);
		}
		let widened = bfloat16::widen(&mut proto);
		Ok((onnx.model_for_proto_model(&proto).map_err(invalid_model)?, widened))
	}

	/// The input specs the model itself declares, its dynamic dimensions variable up to
	/// their `bounds`: for trying, benchmarking or registering a model. A dynamic dimension
	/// without a bound is an error that names it.
	pub fn declared_inputs(
		bytes: &[u8],
		bounds: &DimBounds,
	) -> Result<Vec<TensorSpec>, EngineError> {
		with_panic_guard(|| {
			let (model, widened) = Self::read(bytes)?;
			let outlets = model.input_outlets().map_err(invalid_model)?;
			(outlets.iter().enumerate())
				.map(|(index, outlet)| {
					let fact = model.outlet_fact(*outlet).map_err(invalid_model)?;
					let node = &model.node(outlet.node).name;
					let refuse = |why: String| {
						EngineError::SpecMismatch(format!("input {index} (\"{node}\"): {why}"))
					};
					let datum_type = fact.datum_type.concretize();
					let element_type = match datum_type.and_then(element_type) {
						Some(ElementType::F32) if widened.inputs.get(index) == Some(&true) => {
							ElementType::BF16
						}
						Some(element_type) => element_type,
						None => return Err(refuse(format!("element type {datum_type:?}"))),
					};
					if fact.shape.is_open() {
						return Err(refuse("the model declares no shape".into()));
					}
					let mut variable = Vec::new();
					let sizes = (fact.shape.dims().enumerate())
						.map(|(axis, dim)| {
							let bound = match dim.concretize() {
								Some(TDim::Val(size)) => {
									return u32::try_from(size)
										.map_err(|_| refuse(format!("axis {axis} too large")))
								}
								Some(TDim::Sym(symbol)) => {
									let name = symbol.to_string();
									bounds.named.get(&name).copied().ok_or_else(|| {
										refuse(format!(
											"axis {axis} is dynamic (\"{name}\"): give its \
											 largest size"
										))
									})
								}
								Some(other) => Err(refuse(format!(
									"axis {axis} is \"{other}\" (only a name or a number)"
								))),
								None => bounds.unnamed.ok_or_else(|| {
									refuse(format!(
										"axis {axis} is dynamic and unnamed: give unnamed axes \
										 a largest size"
									))
								}),
							}?;
							variable.push(axis);
							Ok(bound)
						})
						.collect::<Result<Vec<u32>, _>>()?;
					Ok(TensorSpec {
						name: tensor_name(node),
						element_type,
						shape: sizes
							.try_into()
							.map_err(|_| refuse("rank above the bound".into()))?,
						variable_axes: 0,
					}
					.with_variable_axes(&variable))
				})
				.collect()
		})
	}

	/// The outputs of an optimised model (names as in the graph), their axes' sizes
	/// bounded with the inputs' symbols at their largest (`bounds`).
	fn analyse_outputs(
		typed: &TypedModel,
		widened: &Widened,
		bounds: &SymbolValues,
	) -> Result<Vec<Analysed>, EngineError> {
		let outlets = typed.output_outlets().map_err(invalid_model)?;
		Self::analyse(typed, outlets, &widened.outputs, "output", bounds)
	}

	/// The tensors at `outlets`, named as in the graph, bfloat16 where `bf16` says the model
	/// had it (`what`: input or output, for errors), their axes' sizes bounded by `bounds`.
	fn analyse(
		typed: &TypedModel,
		outlets: &[OutletId],
		bf16: &[bool],
		what: &str,
		bounds: &SymbolValues,
	) -> Result<Vec<Analysed>, EngineError> {
		outlets
			.iter()
			.enumerate()
			.map(|(index, outlet)| {
				let fact = typed.outlet_fact(*outlet).map_err(invalid_model)?;
				// The tensor's name in the graph (the node's, where tract kept none).
				let node = typed.outlet_label(*outlet).unwrap_or(&typed.node(outlet.node).name);
				let unsupported = |why: &str| {
					EngineError::SpecMismatch(format!("{what} {index} (\"{node}\"): {why}"))
				};
				let element_type = match element_type(fact.datum_type) {
					Some(ElementType::F32) if bf16.get(index) == Some(&true) => ElementType::BF16,
					Some(element_type) => element_type,
					None => return Err(unsupported("unsupported element type")),
				};
				if fact.shape.len() > haca_primitives::tensor::MAX_RANK as usize {
					return Err(unsupported("rank above the bound"));
				}
				let size = |dim: i64| u32::try_from(dim).map_err(|_| unsupported("axis too large"));
				let axes = (fact.shape.iter())
					.map(|dim| match dim.to_i64() {
						Ok(fixed) => size(fixed).map(AxisSize::Fixed),
						Err(_) => match dim.eval(bounds).to_i64() {
							Ok(largest) => size(largest).map(AxisSize::UpTo),
							Err(_) => Ok(AxisSize::DataDependent),
						},
					})
					.collect::<Result<_, _>>()?;
				Ok(Analysed { name: tensor_name(node), element_type, axes })
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
		let runnable = typed.into_runnable().map_err(invalid_model)?;
		let state = runnable.spawn().map_err(invalid_model)?;
		let stateless = state.op_states.iter().all(Option::is_none);
		let idle_sessions =
			stateless.then(|| Mutex::new(vec![Box::new(Session { state, inputs: TVec::new() })]));
		Ok(Self {
			runnable,
			inputs: inputs.to_vec(),
			outputs,
			input_layout,
			output_layout,
			last_run_nanos: AtomicU64::new(u64::MAX),
			idle_sessions,
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

	/// tract's runnable plan: for running the very same plan with tract alone (the engine
	/// benchmark's baseline).
	pub fn runnable(&self) -> &Arc<TypedRunnableModel> {
		&self.runnable
	}

	/// How long the latest run took (`None` before one).
	pub(crate) fn last_run(&self) -> Option<Duration> {
		match self.last_run_nanos.load(Ordering::Relaxed) {
			u64::MAX => None,
			nanos => Some(Duration::from_nanos(nanos)),
		}
	}

	/// Notes the time from `started` to `finished` as the latest run's.
	fn note_run(&self, started: Instant, finished: Instant) {
		let took = finished.duration_since(started).as_nanos();
		self.last_run_nanos.store(u64::try_from(took).unwrap_or(u64::MAX - 1), Ordering::Relaxed);
	}

	/// Runs the plan on `input`, a tensor list in the canonical encoding matching
	/// [`Plan::inputs`]; its outputs in the canonical encoding.
	pub fn run(&self, input: &[u8]) -> Result<Vec<u8>, EngineError> {
		self.run_since(input, Instant::now())
	}

	/// [`Plan::run`] for a call that began at `started` (the run's time counts from there).
	pub(crate) fn run_since(&self, input: &[u8], started: Instant) -> Result<Vec<u8>, EngineError> {
		let mut session = None;
		let result = self.run_in(&mut session, input, &mut { started });
		self.keep(session);
		result
	}

	/// A session with `input` set in it.
	pub(crate) fn session_for(&self, input: &[u8]) -> Result<Box<Session>, EngineError> {
		let mut session = self.session()?;
		self.set_input(&mut session, input)?;
		Ok(session)
	}

	/// A session to run the plan in: an idle one if the plan keeps them, else a fresh one.
	fn session(&self) -> Result<Box<Session>, EngineError> {
		let idle = self.idle_sessions.as_ref();
		match idle.and_then(|idle| idle.lock().expect("sessions lock").pop()) {
			Some(session) => Ok(session),
			None => {
				let state = self.runnable.spawn().map_err(execution_failed)?;
				Ok(Box::new(Session { state, inputs: TVec::new() }))
			}
		}
	}

	/// Checks `input` against the input specs and copies it into the session's input
	/// tensors. The session stays usable if the input is refused.
	fn set_input(&self, session: &mut Session, input: &[u8]) -> Result<(), EngineError> {
		let Some(elements) = self.input_layout.elements(input) else {
			// Decoding names what is wrong (it accepts nothing the layout refuses).
			let error = decode_and_check(input, &self.inputs).err();
			return Err(EngineError::BadInput(error.unwrap_or(TensorError::Malformed)));
		};
		session.set_inputs(&self.inputs, elements)
	}

	/// Runs tract in `session` on the input set in it; the outputs, encoded. A session
	/// whose run failed (a panic in tract included) may hold values of it: it must be
	/// dropped, not kept.
	fn execute(&self, session: &mut Session) -> Result<Vec<u8>, EngineError> {
		let values = session.inputs.iter().cloned().map(TValue::from_const).collect();
		// The results may share tensors with the inputs: they are released on return, before
		// the session's next input is written.
		let results = panics::catch(|| session.state.run(values))
			.map_err(|message| EngineError::Execution(format!("tract panicked: {message}")))?
			.map_err(execution_failed)?;
		let outputs = results
			.iter()
			.zip(&self.outputs)
			.map(|(value, spec)| elements(value, spec))
			.collect::<Result<TVec<_>, _>>()?;
		let views = outputs.iter().map(|(dims, data)| TensorView { dims: *dims, data });
		self.output_layout.encode(views).ok_or_else(|| {
			EngineError::Execution("the model's outputs differ from its specs".into())
		})
	}

	/// Runs a session (its input set), timing the run from `clock` and moving `clock` to its
	/// end: the outputs, and the session for the next run unless this one failed or the
	/// plan's runs each need a fresh state.
	pub(crate) fn execute_timed(
		&self,
		mut session: Box<Session>,
		clock: &mut Instant,
	) -> (Result<Vec<u8>, EngineError>, Option<Box<Session>>) {
		let result = self.execute(&mut session);
		let finished = Instant::now();
		self.note_run(*clock, finished);
		*clock = finished;
		let reusable = result.is_ok() && self.idle_sessions.is_some();
		(result, reusable.then_some(session))
	}

	/// Runs `input` in `session` (a new one if there is none), timed as by
	/// [`Plan::execute_timed`], which decides whether the session stays for the next input
	/// (it does if the input is refused).
	pub(crate) fn run_in(
		&self,
		session: &mut Option<Box<Session>>,
		input: &[u8],
		clock: &mut Instant,
	) -> Result<Vec<u8>, EngineError> {
		let mut current = match session.take() {
			Some(current) => current,
			None => self.session()?,
		};
		if let Err(error) = self.set_input(&mut current, input) {
			*session = Some(current);
			return Err(error);
		}
		let (result, current) = self.execute_timed(current, clock);
		*session = current;
		result
	}

	/// Keeps `session` (if any: one [`Plan::execute_timed`] handed on) for the plan's next
	/// runs, unless the plan has as many as it keeps at most.
	pub(crate) fn keep(&self, session: Option<Box<Session>>) {
		if let (Some(session), Some(idle)) = (session, &self.idle_sessions) {
			let mut idle = idle.lock().expect("sessions lock");
			if idle.len() < KEPT_SESSIONS {
				idle.push(session);
			}
		}
	}
}

/// A graph tensor's name as a spec holds it: its first `MAX_NAME_LEN` bytes.
fn tensor_name(name: &str) -> TensorName {
	TensorName::truncate_from(name.as_bytes().to_vec())
}

/// Element types and shapes, for error messages.
fn summary(specs: &[TensorSpec]) -> Vec<String> {
	specs.iter().map(ToString::to_string).collect()
}
