//! Model bytes as registered on chain or placed in a model directory: reading them as ONNX
//! and compiling a plan gives a plan or a named error, never a crash. (The fuzzer's panic
//! hook aborts on the panics the engine would catch inside tract: each one is a finding.)

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
	if let Ok(inputs) =
		haca_engine::Plan::declared_inputs(bytes, &haca_engine::DimBounds::default())
	{
		let _ = haca_engine::Plan::discover(bytes, &inputs, haca_engine::DATA_DEPENDENT_MAX);
	}
});
