//! A panic inside tract, under a Substrate node's panic handler (which ends the process on a
//! panic it was not told to let unwind): it fails the one job with a named error, and the
//! engine, its workers and the process carry on. A test binary of its own: the handler is
//! installed for the whole process.

use codec::Encode;
use haca_engine::{Engine, EngineConfig, EngineError};
use haca_primitives::tensor::{ElementType, Tensor, TensorSpec};

/// A [1, 4] int32 tensor list, encoded.
fn int_input(values: [i32; 4]) -> Vec<u8> {
	vec![Tensor::from_i32(&[1, 4], &values).unwrap()].encode()
}

#[test]
fn a_panic_in_tract_fails_its_job_alone() {
	sp_panic_handler::set("https://example.invalid/haca-engine-test", "0");
	// `output = input / input` (scripts/gen_models.py): tract divides integers with Rust's
	// `/`, which panics on a zero divisor.
	let bytes =
		std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/quotient.onnx")).unwrap();
	let spec = TensorSpec {
		name: b"t".to_vec().try_into().unwrap(),
		element_type: ElementType::I32,
		shape: vec![1, 4].try_into().unwrap(),
		variable_axes: 0,
	};
	let engine = Engine::new(EngineConfig { threads: 1, ..Default::default() }, None);
	let model = sp_crypto_hashing::blake2_256(&bytes);
	let specs = [spec];
	engine.load(model, &bytes, &specs, &specs).unwrap();
	let (good, zero, ones) = (int_input([1, 2, 3, 4]), int_input([1, 0, 3, 4]), int_input([1; 4]));
	let panicked = |result: &Result<Vec<u8>, EngineError>| matches!(result, Err(EngineError::Execution(message)) if message.contains("divide by zero"));
	// The model's first batch runs on the pool's only worker, which goes on after the panic.
	let batch = engine.run_batch(&model, &[&zero, &good]).unwrap();
	assert!(panicked(&batch[0]), "{batch:?}");
	assert_eq!(batch[1], Ok(ones.clone()));
	// Now known to be quick, the model runs on this thread, which goes on as well.
	let batch = engine.run_batch(&model, &[&good, &zero, &good]).unwrap();
	assert!(panicked(&batch[1]), "{batch:?}");
	assert_eq!([&batch[0], &batch[2]], [&Ok(ones.clone()); 2]);
	assert!(panicked(&engine.run(&model, &zero)));
	assert_eq!(engine.run(&model, &good), Ok(ones));
}
