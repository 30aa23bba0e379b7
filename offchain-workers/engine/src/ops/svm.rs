//! `ai.onnx.ml.SVMClassifier` in its one-against-one form (scikit-learn's `SVC` as skl2onnx
//! exports it, without probabilities): for each pair of classes `i < j`, the decision
//! `Σ_{v ∈ i} coefficients[j-1][v]·K(x, v) + Σ_{v ∈ j} coefficients[i][v]·K(x, v) + rho[pair]`
//! votes for `i` if positive, else for `j`; the label is the class with the most votes (the
//! first of them on a tie); the scores are the decisions, pair by pair. Kernels: `LINEAR`,
//! `POLY`, `RBF`, `SIGMOID`. Computed in f64, in a fixed order, one input row at a time.
//! Binary classifiers, probabilities and post-transforms are refused, by name.

use tract_onnx::{
	model::ParsingContext,
	pb::NodeProto,
	tract_hir::{internal::*, tract_ndarray::Array2},
};

/// The kernel and its parameters (`kernel_params`: gamma, coef0, degree).
#[derive(Debug, Clone, Copy)]
enum Kernel {
	Linear,
	Poly { gamma: f64, coef0: f64, degree: i32 },
	Rbf { gamma: f64 },
	Sigmoid { gamma: f64, coef0: f64 },
}

impl Kernel {
	/// The kernel as bits (parameters compared bit for bit, as tract compares ops).
	fn bits(self) -> (u8, [u64; 3]) {
		match self {
			Self::Linear => (0, [0; 3]),
			Self::Poly { gamma, coef0, degree } => {
				(1, [gamma.to_bits(), coef0.to_bits(), degree as u64])
			}
			Self::Rbf { gamma } => (2, [gamma.to_bits(), 0, 0]),
			Self::Sigmoid { gamma, coef0 } => (3, [gamma.to_bits(), coef0.to_bits(), 0]),
		}
	}

	fn apply(self, x: &[f64], v: &[f64]) -> f64 {
		let dot = || x.iter().zip(v).map(|(a, b)| a * b).sum::<f64>();
		match self {
			Self::Linear => dot(),
			Self::Poly { gamma, coef0, degree } => (gamma * dot() + coef0).powi(degree),
			Self::Rbf { gamma } => {
				(-gamma * x.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum::<f64>()).exp()
			}
			Self::Sigmoid { gamma, coef0 } => (gamma * dot() + coef0).tanh(),
		}
	}
}

/// The classifier: support vectors grouped by class, their coefficients and the offsets.
#[derive(Debug, Clone)]
pub(crate) struct SvmClassifier {
	kernel: Kernel,
	features: usize,
	/// Row-major, `features` values per vector, class by class.
	vectors: Vec<f64>,
	/// Per class, the range of its vectors.
	classes: Vec<std::ops::Range<usize>>,
	/// `classes - 1` rows of one coefficient per vector.
	coefficients: Vec<f64>,
	/// One per pair of classes.
	rho: Vec<f64>,
	labels: Vec<i64>,
}

/// Reads an `SVMClassifier` node.
pub(crate) fn build(
	_context: &ParsingContext,
	node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
	let refuse = |what: &str| format_err!("SVMClassifier: {what} is not supported");
	let per_class: Vec<i64> = node.get_attr_opt_vec("vectors_per_class")?.unwrap_or_default();
	if per_class.is_empty() {
		return Err(refuse("the linear form (no support vectors)"));
	}
	if per_class.len() < 3 {
		return Err(refuse("a binary classifier"));
	}
	if node.get_attr_opt_vec::<f32>("prob_a")?.is_some_and(|a| !a.is_empty()) {
		return Err(refuse("probability output (prob_a, prob_b)"));
	}
	if node.get_attr_opt::<&str>("post_transform")?.is_some_and(|t| t != "NONE") {
		return Err(refuse("a post_transform"));
	}
	// Named classes were numbered before tract read the model (`class_names`).
	let labels: Vec<i64> = node.get_attr_vec("classlabels_ints")?;
	node.expect(labels.len() == per_class.len(), "one class label per class")?;
	let params: Vec<f32> = node.get_attr_opt_vec("kernel_params")?.unwrap_or_default();
	let param = |index: usize| params.get(index).copied().unwrap_or(0.0) as f64;
	let kernel = match node.get_attr_opt::<&str>("kernel_type")?.unwrap_or("LINEAR") {
		"LINEAR" => Kernel::Linear,
		"POLY" => Kernel::Poly { gamma: param(0), coef0: param(1), degree: param(2) as i32 },
		"RBF" => Kernel::Rbf { gamma: param(0) },
		"SIGMOID" => Kernel::Sigmoid { gamma: param(0), coef0: param(1) },
		other => bail!("SVMClassifier: kernel {other}"),
	};
	let widen = |values: Vec<f32>| values.into_iter().map(f64::from).collect::<Vec<_>>();
	let vectors = widen(node.get_attr_vec("support_vectors")?);
	let coefficients = widen(node.get_attr_vec("coefficients")?);
	let rho = widen(node.get_attr_vec("rho")?);
	let count =
		per_class.iter().try_fold(0usize, |sum, &n| sum.checked_add(usize::try_from(n).ok()?));
	let count = count.ok_or_else(|| format_err!("SVMClassifier: vectors_per_class"))?;
	node.expect(count > 0 && vectors.len() % count == 0, "support vectors of one width")?;
	let classes = per_class.len();
	node.expect(coefficients.len() == (classes - 1) * count, "coefficients per class pair")?;
	node.expect(rho.len() == classes * (classes - 1) / 2, "one rho per pair of classes")?;
	let mut start = 0;
	let ranges = per_class
		.iter()
		.map(|&n| {
			let range = start..start + n as usize;
			start = range.end;
			range
		})
		.collect();
	let op = SvmClassifier {
		kernel,
		features: vectors.len() / count,
		vectors,
		classes: ranges,
		coefficients,
		rho,
		labels,
	};
	Ok((Box::new(op), vec![]))
}

impl PartialEq for SvmClassifier {
	fn eq(&self, other: &Self) -> bool {
		let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
		self.kernel.bits() == other.kernel.bits()
			&& self.features == other.features
			&& self.classes == other.classes
			&& self.labels == other.labels
			&& bits(&self.vectors) == bits(&other.vectors)
			&& bits(&self.coefficients) == bits(&other.coefficients)
			&& bits(&self.rho) == bits(&other.rho)
	}
}

impl Eq for SvmClassifier {}

impl SvmClassifier {
	/// The label and the pairwise decisions for one input row.
	fn classify(&self, x: &[f64], kernels: &mut Vec<f64>, decisions: &mut Vec<f64>) -> i64 {
		kernels.clear();
		kernels.extend(self.vectors.chunks_exact(self.features).map(|v| self.kernel.apply(x, v)));
		let count = kernels.len();
		let weighted = |row: usize, class: &std::ops::Range<usize>| {
			class.clone().map(|v| self.coefficients[row * count + v] * kernels[v]).sum::<f64>()
		};
		let mut votes = vec![0u32; self.classes.len()];
		decisions.clear();
		for i in 0..self.classes.len() {
			for j in i + 1..self.classes.len() {
				let decision = weighted(j - 1, &self.classes[i])
					+ weighted(i, &self.classes[j])
					+ self.rho[decisions.len()];
				votes[if decision > 0.0 { i } else { j }] += 1;
				decisions.push(decision);
			}
		}
		let most = votes.iter().copied().max().unwrap_or(0);
		self.labels[votes.iter().position(|&v| v == most).unwrap_or(0)]
	}

	fn pairs(&self) -> usize {
		self.classes.len() * (self.classes.len() - 1) / 2
	}
}

impl Op for SvmClassifier {
	fn name(&self) -> StaticName {
		"SVMClassifier".into()
	}

	op_as_typed_op!();
}

impl EvalOp for SvmClassifier {
	op_out_of_plan!();

	fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
		let input = args_1!(inputs);
		let input = input.cast_to::<f64>()?;
		let input = input.to_plain_array_view::<f64>()?;
		let rows = input.shape().first().copied().unwrap_or(0);
		ensure!(input.ndim() == 2 && input.shape()[1] == self.features, "SVMClassifier input");
		let (mut kernels, mut decisions) = (Vec::new(), Vec::new());
		let mut labels = Vec::with_capacity(rows);
		let mut scores = Array2::<f32>::zeros((rows, self.pairs()));
		for (row, x) in input.outer_iter().enumerate() {
			let x: Vec<f64> = x.iter().copied().collect();
			labels.push(self.classify(&x, &mut kernels, &mut decisions));
			for (pair, decision) in decisions.iter().enumerate() {
				scores[(row, pair)] = *decision as f32;
			}
		}
		Ok(tvec!(tensor1(&labels).into_tvalue(), scores.into_tvalue()))
	}
}

impl TypedOp for SvmClassifier {
	fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
		ensure!(inputs[0].rank() == 2, "SVMClassifier takes one row of features per input");
		let rows = inputs[0].shape[0].clone();
		Ok(tvec!(i64::fact([rows.clone()]), f32::fact([rows, self.pairs().into()])))
	}

	as_op!();
}

impl InferenceRulesOp for SvmClassifier {
	fn nboutputs(&self) -> TractResult<usize> {
		Ok(2)
	}

	fn rules<'r, 'p: 'r, 's: 'r>(
		&'s self,
		s: &mut Solver<'r>,
		inputs: &'p [TensorProxy],
		outputs: &'p [TensorProxy],
	) -> InferenceResult {
		check_input_arity(inputs, 1)?;
		check_output_arity(outputs, 2)?;
		s.equals(&inputs[0].rank, 2)?;
		s.equals(&outputs[0].datum_type, DatumType::I64)?;
		s.equals(&outputs[1].datum_type, DatumType::F32)?;
		s.equals(&outputs[0].rank, 1)?;
		s.equals(&outputs[1].rank, 2)?;
		s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
		s.equals(&outputs[1].shape[0], &inputs[0].shape[0])?;
		s.equals(&outputs[1].shape[1], self.pairs().to_dim())?;
		Ok(())
	}

	as_op!();
	to_typed!();
}
