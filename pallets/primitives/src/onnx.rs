//! The one rule about a model's operators that both the runtime and the engine enforce:
//! a model must give the same outputs every time it runs on the same input.
//!
//! ONNX's random operators draw from the operating system's entropy unless they carry a
//! `seed` attribute (tract seeds its generator from it, so a seeded run is reproducible on
//! the same engine). A model with an unseeded one would get every honest executor that
//! serves it slashed by every honest verifier that audits it, so the models pallet refuses
//! it when its bytes are uploaded and the engine refuses to load it (for models kept off
//! chain, which the runtime never sees).
//!
//! [`check_reproducible`] reads the ONNX protobuf just far enough to see every node: the
//! main graph, every subgraph held in a node's attributes (`If`, `Loop`, `Scan` bodies) and
//! every model-local function. Large fields (weights) are skipped, not read, so the cost is
//! linear in the bytes with a small constant.

/// ONNX operators whose outputs are random draws.
pub const RANDOM_OPERATORS: [&str; 6] = [
	"RandomUniform",
	"RandomNormal",
	"RandomUniformLike",
	"RandomNormalLike",
	"Multinomial",
	"Bernoulli",
];

/// Deepest nesting of subgraphs read (a graph in a node's attribute is one level deeper
/// than the node's graph); real models nest a few levels at most.
pub const MAX_GRAPH_DEPTH: u32 = 16;

/// Why bytes are not a model that runs reproducibly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnnxError {
	/// The bytes are not a well-formed protobuf message.
	Malformed,
	/// Subgraphs nest deeper than [`MAX_GRAPH_DEPTH`].
	TooDeep,
	/// A random operator (one of [`RANDOM_OPERATORS`]) has no `seed` attribute.
	UnseededRandom(&'static str),
}

/// Checks that `model` (ONNX `ModelProto` bytes) has no unseeded random operator.
pub fn check_reproducible(model: &[u8]) -> Result<(), OnnxError> {
	for field in Fields(model) {
		match field? {
			(MODEL_GRAPH, Value::Bytes(graph)) => check_nodes(graph, GRAPH_NODE, 0)?,
			(MODEL_FUNCTIONS, Value::Bytes(function)) => check_nodes(function, FUNCTION_NODE, 0)?,
			_ => {}
		}
	}
	Ok(())
}

// Field numbers of onnx.proto's messages, as far as the check reads them.
const MODEL_GRAPH: u32 = 7;
const MODEL_FUNCTIONS: u32 = 25;
const GRAPH_NODE: u32 = 1;
const FUNCTION_NODE: u32 = 7;
const NODE_OP_TYPE: u32 = 4;
const NODE_ATTRIBUTE: u32 = 5;
const ATTRIBUTE_NAME: u32 = 1;
const ATTRIBUTE_GRAPH: u32 = 6;
const ATTRIBUTE_GRAPHS: u32 = 11;

/// Checks every node (field `node_field`) of a `GraphProto` or `FunctionProto` at `depth`.
fn check_nodes(message: &[u8], node_field: u32, depth: u32) -> Result<(), OnnxError> {
	if depth > MAX_GRAPH_DEPTH {
		return Err(OnnxError::TooDeep);
	}
	for field in Fields(message) {
		if let (number, Value::Bytes(node)) = field? {
			if number == node_field {
				check_node(node, depth)?;
			}
		}
	}
	Ok(())
}

/// Checks a `NodeProto`: its own operator, then the subgraphs in its attributes.
fn check_node(node: &[u8], depth: u32) -> Result<(), OnnxError> {
	let mut random = None;
	let mut seeded = false;
	for field in Fields(node) {
		match field? {
			(NODE_OP_TYPE, Value::Bytes(op_type)) => {
				random = RANDOM_OPERATORS.iter().find(|op| op.as_bytes() == op_type).copied()
			}
			(NODE_ATTRIBUTE, Value::Bytes(attribute)) => {
				for field in Fields(attribute) {
					match field? {
						(ATTRIBUTE_NAME, Value::Bytes(name)) => seeded |= name == b"seed",
						(ATTRIBUTE_GRAPH | ATTRIBUTE_GRAPHS, Value::Bytes(graph)) => {
							check_nodes(graph, GRAPH_NODE, depth + 1)?
						}
						_ => {}
					}
				}
			}
			_ => {}
		}
	}
	match random {
		Some(op) if !seeded => Err(OnnxError::UnseededRandom(op)),
		_ => Ok(()),
	}
}

/// A field's value, as far as the check needs it.
enum Value<'a> {
	/// A length-delimited field: a string, bytes or an embedded message.
	Bytes(&'a [u8]),
	/// A varint or fixed-width field.
	Scalar,
}

/// The fields of a protobuf message, in order: `(field number, value)`, or `Malformed` (and
/// nothing after it) where the bytes stop being protobuf.
struct Fields<'a>(&'a [u8]);

impl<'a> Iterator for Fields<'a> {
	type Item = Result<(u32, Value<'a>), OnnxError>;

	fn next(&mut self) -> Option<Self::Item> {
		if self.0.is_empty() {
			return None;
		}
		let field = self.read_field();
		if field.is_err() {
			self.0 = &[];
		}
		Some(field)
	}
}

impl<'a> Fields<'a> {
	fn read_field(&mut self) -> Result<(u32, Value<'a>), OnnxError> {
		let key = self.varint()?;
		let number = u32::try_from(key >> 3).map_err(|_| OnnxError::Malformed)?;
		if number == 0 {
			return Err(OnnxError::Malformed);
		}
		let value = match key & 7 {
			0 => {
				self.varint()?;
				Value::Scalar
			}
			1 => {
				self.take(8)?;
				Value::Scalar
			}
			2 => {
				let len = usize::try_from(self.varint()?).map_err(|_| OnnxError::Malformed)?;
				Value::Bytes(self.take(len)?)
			}
			5 => {
				self.take(4)?;
				Value::Scalar
			}
			// Groups (3, 4) are not used by onnx.proto; 6 and 7 do not exist.
			_ => return Err(OnnxError::Malformed),
		};
		Ok((number, value))
	}

	fn varint(&mut self) -> Result<u64, OnnxError> {
		let mut value = 0u64;
		for (index, &byte) in self.0.iter().enumerate().take(10) {
			value |= u64::from(byte & 0x7f) << (7 * index);
			if byte & 0x80 == 0 {
				self.0 = &self.0[index + 1..];
				return Ok(value);
			}
		}
		Err(OnnxError::Malformed)
	}

	fn take(&mut self, len: usize) -> Result<&'a [u8], OnnxError> {
		if len > self.0.len() {
			return Err(OnnxError::Malformed);
		}
		let (taken, rest) = self.0.split_at(len);
		self.0 = rest;
		Ok(taken)
	}
}

/// Writes ONNX protobuf bytes, for tests and benchmarks that need models of a given shape
/// or size without a model exporter.
#[cfg(any(feature = "std", feature = "runtime-benchmarks"))]
pub mod write {
	use super::*;
	use alloc::vec::Vec;

	/// A `NodeProto` running `op_type`, with attributes named `attributes` (integers) and
	/// one subgraph attribute per entry of `subgraphs` (each a list of `NodeProto`s).
	pub fn node(op_type: &str, attributes: &[&str], subgraphs: &[&[Vec<u8>]]) -> Vec<u8> {
		let mut node = Vec::new();
		field(&mut node, NODE_OP_TYPE, op_type.as_bytes());
		for name in attributes {
			let mut attribute = Vec::new();
			field(&mut attribute, ATTRIBUTE_NAME, name.as_bytes());
			field(&mut node, NODE_ATTRIBUTE, &attribute);
		}
		for nodes in subgraphs {
			let mut attribute = Vec::new();
			field(&mut attribute, ATTRIBUTE_NAME, b"body");
			field(&mut attribute, ATTRIBUTE_GRAPH, &graph(nodes));
			field(&mut node, NODE_ATTRIBUTE, &attribute);
		}
		node
	}

	/// A `ModelProto` whose graph is `nodes`, padded with doc strings to exactly `len` bytes
	/// when `len` is given (at least two bytes more than the unpadded model).
	pub fn model(nodes: &[Vec<u8>], len: Option<usize>) -> Vec<u8> {
		const MODEL_DOC_STRING: u32 = 6;
		let mut model = Vec::new();
		field(&mut model, MODEL_GRAPH, &graph(nodes));
		let Some(len) = len else { return model };
		assert!(len >= model.len() + 2, "a model of {len} bytes cannot hold these nodes");
		while model.len() < len {
			let room = len - model.len();
			// A doc string of `text` bytes takes 1 + varint length + `text` bytes; some sizes
			// just above a varint boundary cannot be hit at once: pad with an empty one first.
			let fits = (0..room).rev().take(6).find(|text| 1 + varint_len(*text) + text == room);
			let text = fits.unwrap_or(0);
			field(&mut model, MODEL_DOC_STRING, &alloc::vec![b' '; text]);
		}
		model
	}

	fn graph(nodes: &[Vec<u8>]) -> Vec<u8> {
		let mut graph = Vec::new();
		for node in nodes {
			field(&mut graph, GRAPH_NODE, node);
		}
		graph
	}

	fn field(message: &mut Vec<u8>, number: u32, bytes: &[u8]) {
		varint(message, u64::from(number) << 3 | 2);
		varint(message, bytes.len() as u64);
		message.extend_from_slice(bytes);
	}

	fn varint(out: &mut Vec<u8>, mut value: u64) {
		while value >= 0x80 {
			out.push(value as u8 | 0x80);
			value >>= 7;
		}
		out.push(value as u8);
	}

	fn varint_len(value: usize) -> usize {
		let mut out = Vec::new();
		varint(&mut out, value as u64);
		out.len()
	}
}

#[cfg(test)]
mod tests {
	use super::{write::*, *};

	fn model_file(name: &str) -> Vec<u8> {
		let path = format!("{}/../../offchain-workers/models/{name}", env!("CARGO_MANIFEST_DIR"));
		std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
	}

	#[test]
	fn exported_models_are_read_as_the_exporter_wrote_them() {
		for name in ["mlp.onnx", "int_matmul.onnx", "cnn_small.onnx", "quotient.onnx"] {
			assert_eq!(check_reproducible(&model_file(name)), Ok(()), "{name}");
		}
		assert_eq!(check_reproducible(&model_file("random_seeded.onnx")), Ok(()));
		assert_eq!(
			check_reproducible(&model_file("random_unseeded.onnx")),
			Err(OnnxError::UnseededRandom("RandomNormal"))
		);
	}

	#[test]
	fn every_random_operator_needs_a_seed() {
		for op in RANDOM_OPERATORS {
			let unseeded = model(&[node("Relu", &[], &[]), node(op, &["dtype"], &[])], None);
			assert_eq!(check_reproducible(&unseeded), Err(OnnxError::UnseededRandom(op)));
			let seeded = model(&[node(op, &["dtype", "seed"], &[])], None);
			assert_eq!(check_reproducible(&seeded), Ok(()));
		}
	}

	#[test]
	fn each_of_onnxs_random_operators_is_refused_unseeded() {
		// The operators of the ONNX specification that draw random numbers, named here
		// rather than read from the list under test.
		let specified = [
			"RandomUniform",
			"RandomNormal",
			"RandomUniformLike",
			"RandomNormalLike",
			"Multinomial",
			"Bernoulli",
		];
		for op in specified {
			let unseeded = model(&[node(op, &["dtype"], &[])], None);
			assert!(check_reproducible(&unseeded).is_err(), "{op} unseeded accepted");
		}
	}

	#[test]
	fn random_operators_are_found_in_subgraphs() {
		let body = [node("RandomUniform", &[], &[])];
		let nested = node("If", &[], &[&[node("Loop", &[], &[&body])]]);
		assert_eq!(
			check_reproducible(&model(&[nested], None)),
			Err(OnnxError::UnseededRandom("RandomUniform"))
		);
	}

	#[test]
	fn nesting_and_malformed_bytes_are_refused() {
		let mut deep = node("Relu", &[], &[]);
		for _ in 0..=MAX_GRAPH_DEPTH {
			deep = node("If", &[], &[&[deep]]);
		}
		assert_eq!(check_reproducible(&model(&[deep], None)), Err(OnnxError::TooDeep));

		let valid = model(&[node("Relu", &[], &[])], None);
		for cut in 1..valid.len() {
			assert_eq!(check_reproducible(&valid[..cut]), Err(OnnxError::Malformed), "{cut}");
		}
		assert_eq!(check_reproducible(&[0x0b, 0x00]), Err(OnnxError::Malformed));
		assert_eq!(check_reproducible(&[0xff; 11]), Err(OnnxError::Malformed));
	}

	#[test]
	fn padding_hits_every_length() {
		let nodes = [node("Relu", &[], &[])];
		let bare = model(&nodes, None).len();
		for len in (bare + 2..bare + 300).chain(16_370..16_400) {
			let padded = model(&nodes, Some(len));
			assert_eq!(padded.len(), len);
			assert_eq!(check_reproducible(&padded), Ok(()));
		}
	}
}
