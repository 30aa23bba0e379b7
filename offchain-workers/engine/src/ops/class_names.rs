//! Classifiers whose classes are named (`classlabels_strings`: scikit-learn trained on string
//! labels): tract reads them, but cannot type their string label output. Before tract reads
//! a model, [`index_named_classes`] numbers the classes of each such classifier 0, 1, ... and
//! maps the numbers back to the names with an `ai.onnx.ml.CategoryMapper` on the label
//! output, which tract runs on strings. The scores output is unchanged.

use tract_onnx::pb::{attribute_proto::AttributeType, AttributeProto, GraphProto, NodeProto};

/// The classifier operators, and the attribute holding their classes as integers.
const CLASSIFIERS: [(&str, &str); 3] = [
	("LinearClassifier", "classlabels_ints"),
	("SVMClassifier", "classlabels_ints"),
	("TreeEnsembleClassifier", "classlabels_int64s"),
];

/// The name ONNX gives a class the mapper does not know (none here: the numbers come from
/// the classifier's own class count).
const UNKNOWN_CLASS: &str = "_Unused";

/// Rewrites the classifiers of named classes in `graph` and its subgraphs (see the module's
/// documentation).
pub(crate) fn index_named_classes(graph: &mut GraphProto) {
	let mut nodes = Vec::with_capacity(graph.node.len());
	for mut node in std::mem::take(&mut graph.node) {
		for attribute in &mut node.attribute {
			if let Some(subgraph) = attribute.g.as_mut() {
				index_named_classes(subgraph);
			}
			attribute.graphs.iter_mut().for_each(index_named_classes);
		}
		let mapper = number_classes(&mut node);
		nodes.push(node);
		nodes.extend(mapper);
	}
	graph.node = nodes;
}

/// Numbers the classes of `node` if it is a classifier of named classes, its label output
/// renamed; the `CategoryMapper` that names them again under the label output's name.
fn number_classes(node: &mut NodeProto) -> Option<NodeProto> {
	if node.domain != "ai.onnx.ml" {
		return None;
	}
	let (_, ints_attribute) = CLASSIFIERS.iter().find(|(op, _)| *op == node.op_type)?;
	let at = node.attribute.iter().position(|a| a.name == "classlabels_strings")?;
	let label = node.output.first()?.clone();
	let names = node.attribute.remove(at).strings;
	let numbers: Vec<i64> = (0..names.len() as i64).collect();
	node.attribute.push(ints(ints_attribute, numbers.clone()));
	let index = format!("{label}.class_index");
	node.output[0] = index.clone();
	Some(NodeProto {
		name: format!("{}.class_names", node.name),
		op_type: "CategoryMapper".into(),
		domain: "ai.onnx.ml".into(),
		input: vec![index],
		output: vec![label],
		attribute: vec![
			ints("cats_int64s", numbers),
			AttributeProto {
				name: "cats_strings".into(),
				r#type: AttributeType::Strings as i32,
				strings: names,
				..Default::default()
			},
			AttributeProto {
				name: "default_string".into(),
				r#type: AttributeType::String as i32,
				s: UNKNOWN_CLASS.into(),
				..Default::default()
			},
		],
		..Default::default()
	})
}

fn ints(name: &str, values: Vec<i64>) -> AttributeProto {
	AttributeProto {
		name: name.into(),
		r#type: AttributeType::Ints as i32,
		ints: values,
		..Default::default()
	}
}
