//! ONNX `TensorProto` (`.pb`) files handed to `haca-node infer`: any bytes give a tensor or a
//! named error.

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
	if let Ok(tensor) = haca_engine::proto::read(bytes) {
		let written = haca_engine::proto::write(&tensor, "t");
		assert_eq!(haca_engine::proto::read(&written), Ok(tensor));
	}
});
