//! `.npy` files handed to `haca-node infer`: any bytes give a tensor or a named error.

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
	if let Ok(tensor) = haca_engine::npy::read(bytes) {
		let written = haca_engine::npy::write(&tensor).expect("what .npy holds, .npy can hold");
		assert_eq!(haca_engine::npy::read(&written), Ok(tensor));
	}
});
