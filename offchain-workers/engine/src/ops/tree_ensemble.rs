//! Tree ensembles: `ai.onnx.ml.TreeEnsembleRegressor`, which tract lacks, on tract's own
//! evaluator; and both kinds checked for the structure that evaluator takes for granted. tract walks the trees without bounds
//! checks: a leaf's class beyond the class count writes outside its score buffer, and node
//! ids that are not `0..n` within each tree send branches into other trees. A model from
//! the chain is anyone's upload, so these are refused before tract reads the model.

use std::collections::BTreeMap;

use tract_onnx::{
	model::ParsingContext,
	pb::{attribute_proto::AttributeType, NodeProto},
	tract_hir::{internal::*, tract_core::ops::math},
};
use tract_onnx_opl::ml::{
	tree::{Cmp, TreeEnsemble, TreeEnsembleData},
	tree_ensemble_classifier::{parse_aggregate, TreeEnsembleClassifier as Scores},
};

/// Checks the tree ensemble `node` (classifier or regressor); why not, if it is malformed.
pub(crate) fn check_tree_ensemble(node: &NodeProto) -> Result<(), String> {
	let (leaf, outputs) = match node.op_type.as_str() {
		"TreeEnsembleClassifier" => (
			"class",
			ints(node, "classlabels_int64s").len().max(strings(node, "classlabels_strings")),
		),
		_ => ("target", usize::try_from(int(node, "n_targets").unwrap_or(1)).unwrap_or(0)),
	};
	let classifier = node.op_type == "TreeEnsembleClassifier";
	let greater_equal = attribute(node, "nodes_modes")
		.is_some_and(|modes| modes.strings.iter().any(|mode| mode == b"BRANCH_GTE"));
	if classifier && greater_equal {
		return Err("BRANCH_GTE nodes, which tract's classifier would read as leaves".into());
	}
	let tree_ids = ints(node, "nodes_treeids");
	let node_ids = ints(node, "nodes_nodeids");
	let true_ids = ints(node, "nodes_truenodeids");
	let false_ids = ints(node, "nodes_falsenodeids");
	let count = tree_ids.len();
	if [node_ids.len(), true_ids.len(), false_ids.len()].iter().any(|&len| len != count) {
		return Err("nodes_* attributes of different lengths".into());
	}
	// Per tree, its node ids: they must be 0..n, and every branch must stay within them.
	let mut trees: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
	for (&tree, &id) in tree_ids.iter().zip(node_ids) {
		trees.entry(tree).or_default().push(id);
	}
	for ids in trees.values_mut() {
		ids.sort_unstable();
		if ids.iter().enumerate().any(|(index, &id)| id != index as i64) {
			return Err("node ids of a tree are not 0, 1, ... without gaps or repeats".into());
		}
	}
	let tree_size = |tree: &i64| trees.get(tree).map_or(0, Vec::len) as i64;
	let branches_inside =
		tree_ids.iter().zip(true_ids.iter().zip(false_ids)).all(|(tree, (&on_true, &on_false))| {
			let size = tree_size(tree);
			(0..size).contains(&on_true) && (0..size).contains(&on_false)
		});
	if !branches_inside {
		return Err("a branch leads to a node outside its tree".into());
	}
	let leaf_trees = ints(node, &format!("{leaf}_treeids"));
	let leaf_nodes = ints(node, &format!("{leaf}_nodeids"));
	let leaf_outputs = ints(node, &format!("{leaf}_ids"));
	if leaf_trees.len() != leaf_nodes.len() || leaf_nodes.len() != leaf_outputs.len() {
		return Err(format!("{leaf}_* attributes of different lengths"));
	}
	if leaf_outputs.iter().any(|&output| !(0..outputs as i64).contains(&output)) {
		return Err(format!("a leaf adds to {leaf} beyond the {outputs} the node has"));
	}
	if leaf_trees.iter().zip(leaf_nodes).any(|(tree, &id)| !(0..tree_size(tree)).contains(&id)) {
		return Err("a leaf is not a node of its tree".into());
	}
	Ok(())
}

fn attribute<'a>(node: &'a NodeProto, name: &str) -> Option<&'a tract_onnx::pb::AttributeProto> {
	node.attribute.iter().find(|attribute| attribute.name == name)
}

fn ints<'a>(node: &'a NodeProto, name: &str) -> &'a [i64] {
	attribute(node, name).map_or(&[], |attribute| &attribute.ints[..])
}

fn strings(node: &NodeProto, name: &str) -> usize {
	attribute(node, name).map_or(0, |attribute| attribute.strings.len())
}

fn int(node: &NodeProto, name: &str) -> Option<i64> {
	attribute(node, name)
		.filter(|attribute| attribute.r#type == AttributeType::Int as i32)
		.map(|attribute| attribute.i)
}

/// `ai.onnx.ml.TreeEnsembleRegressor` (scikit-learn's tree and boosting regressors as
/// skl2onnx exports them): the targets' aggregate over the trees' leaves, plus base values,
/// on tract's tree-ensemble evaluator.
#[derive(Debug, Clone, Hash)]
pub(crate) struct TreeEnsembleRegressor {
	ensemble: TreeEnsemble,
	base_values: Option<Arc<Tensor>>,
}

/// Reads a `TreeEnsembleRegressor` node (checked by [`check_tree_ensemble`] first).
pub(crate) fn build_regressor(
	_context: &ParsingContext,
	node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
	check_tree_ensemble(node).map_err(TractError::msg)?;
	let targets = usize::try_from(int(node, "n_targets").unwrap_or(1))?;
	let aggregate = parse_aggregate(node.get_attr_opt("aggregate_function")?.unwrap_or("SUM"))?;
	let post_transform: &str = node.get_attr_opt("post_transform")?.unwrap_or("NONE");
	node.expect(post_transform == "NONE", "post_transform NONE (the others are not supported)")?;
	let base_values: Option<Vec<f32>> = node.get_attr_opt_vec("base_values")?;
	if let Some(values) = &base_values {
		node.expect(values.len() == targets, "one base value per target")?;
	}
	let features = ints(node, "nodes_featureids");
	node.expect(features.iter().all(|&f| f >= 0), "feature ids not negative")?;
	let max_used_feature = features.iter().max().map_or(0, |&f| f as usize);
	let ensemble = TreeEnsemble::build(pack(node)?, max_used_feature, targets, aggregate)?;
	let base_values = base_values.map(|values| rctensor1(&values));
	Ok((expand(TreeEnsembleRegressor { ensemble, base_values }), vec![]))
}

/// The trees of `node` in the layout of tract's evaluator ([`TreeEnsembleData`]): per tree
/// the row of its root; per node a row of five words (a branch: feature, the rows of its
/// true and false children, the threshold's bits, the comparison with 0x100 if NaN goes
/// the true way; a leaf: the range of its entries in the leaves); per leaf entry its target
/// and weight. A node's row is its tree's first row plus its id (ids are `0..n` per tree).
fn pack(node: &NodeProto) -> TractResult<TreeEnsembleData> {
	let tree_ids = ints(node, "nodes_treeids");
	let node_ids = ints(node, "nodes_nodeids");
	let features = ints(node, "nodes_featureids");
	let (on_true, on_false) = (ints(node, "nodes_truenodeids"), ints(node, "nodes_falsenodeids"));
	let values: Vec<f32> = node.get_attr_vec("nodes_values")?;
	let modes: Vec<&str> = node.get_attr_vec("nodes_modes")?;
	let nan_true = ints(node, "nodes_missing_value_tracks_true");
	let count = tree_ids.len();
	node.expect(values.len() == count && modes.len() == count, "one value and mode per node")?;
	node.expect(nan_true.is_empty() || nan_true.len() == count, "one NaN rule per node")?;

	let mut first_rows: BTreeMap<i64, u32> = BTreeMap::new();
	for &tree in tree_ids {
		*first_rows.entry(tree).or_default() += 1;
	}
	let mut rows_before = 0;
	for first in first_rows.values_mut() {
		(*first, rows_before) = (rows_before, rows_before + *first);
	}

	let mut entries: BTreeMap<(i64, i64), Vec<[u32; 2]>> = BTreeMap::new();
	let (leaf_trees, leaf_nodes) = (ints(node, "target_treeids"), ints(node, "target_nodeids"));
	let weights: Vec<f32> = node.get_attr_vec("target_weights")?;
	node.expect(weights.len() == leaf_trees.len(), "one weight per leaf entry")?;
	for (index, &target) in ints(node, "target_ids").iter().enumerate() {
		let entry = [target as u32, weights[index].to_bits()];
		entries.entry((leaf_trees[index], leaf_nodes[index])).or_default().push(entry);
	}

	let mut rows = vec![[0u32; 5]; count];
	let mut leaves: Vec<u32> = Vec::new();
	for index in 0..count {
		let first = first_rows[&tree_ids[index]];
		let row = &mut rows[(first + node_ids[index] as u32) as usize];
		let (cmp, swapped) = match modes[index] {
			"LEAF" => {
				let start = leaves.len() as u32 / 2;
				let own = entries.get(&(tree_ids[index], node_ids[index]));
				leaves.extend(own.into_iter().flatten().flatten());
				*row = [start, leaves.len() as u32 / 2, 0, 0, 0];
				continue;
			}
			"BRANCH_LEQ" => (Cmp::LessEqual, false),
			"BRANCH_LT" => (Cmp::Less, false),
			"BRANCH_GT" => (Cmp::Greater, false),
			"BRANCH_EQ" => (Cmp::Equal, false),
			"BRANCH_NEQ" => (Cmp::NotEqual, false),
			// `x >= v` is `!(x < v)`: children swapped (tract's evaluator reads no `>=`).
			"BRANCH_GTE" => (Cmp::Less, true),
			other => bail!("node mode {other}"),
		};
		let nan_goes_true = nan_true.get(index).is_some_and(|&flag| flag != 0) != swapped;
		let (mut yes, mut no) = (on_true[index] as u32 + first, on_false[index] as u32 + first);
		if swapped {
			(yes, no) = (no, yes);
		}
		*row = [
			features[index] as u32,
			yes,
			no,
			values[index].to_bits(),
			cmp as u32 | if nan_goes_true { 0x100 } else { 0 },
		];
	}
	let trees: Vec<u32> = first_rows.into_values().collect();
	let flat: Vec<u32> = rows.into_iter().flatten().collect();
	Ok(TreeEnsembleData {
		trees: rctensor1(&trees),
		nodes: tensor1(&flat).into_shape(&[count, 5])?.into_arc_tensor(),
		leaves: tensor1(&leaves).into_shape(&[leaves.len() / 2, 2])?.into_arc_tensor(),
	})
}

impl Expansion for TreeEnsembleRegressor {
	fn name(&self) -> StaticName {
		"TreeEnsembleRegressor".into()
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
		s.equals(&outputs[0].rank, 2)?;
		s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
		s.equals(&outputs[0].shape[1], self.ensemble.n_classes().to_dim())?;
		Ok(())
	}

	fn wire(
		&self,
		prefix: &str,
		model: &mut TypedModel,
		inputs: &[OutletId],
	) -> TractResult<TVec<OutletId>> {
		let features = model.outlet_fact(inputs[0])?.shape.last().cloned();
		if let Some(features) = features.and_then(|dim| dim.to_usize().ok()) {
			self.ensemble.check_n_features(features)?;
		}
		// tract's tree-ensemble scores: one row per input, one column per target.
		let scores = Scores { ensemble: self.ensemble.clone() };
		let mut outputs = model.wire_node(format!("{prefix}.trees"), scores, inputs)?;
		if let Some(base) = &self.base_values {
			let base = (**base).clone().broadcast_into_rank(2)?.into_arc_tensor();
			let base = model.add_const(format!("{prefix}.base_values"), base)?;
			outputs =
				model.wire_node(format!("{prefix}.plus_base"), math::add(), &[outputs[0], base])?;
		}
		Ok(outputs)
	}
}
