//! tract panics on some models and inputs (an integer division by zero, for one) where it
//! could return an error. The engine runs tract through [`catch`], so that such a panic
//! fails that one model or job with a named error instead of ending the process: a
//! Substrate node's panic handler exits on any panic it was not told to let unwind.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `work`, letting a panic in it unwind (even under the node's panic handler) and
/// catching it: `work`'s result, or what the panic said.
pub(crate) fn catch<T>(work: impl FnOnce() -> T) -> Result<T, String> {
	let _unwind = sp_panic_handler::AbortGuard::force_unwind();
	// Unwind safety: callers drop whatever `work` was changing when it panicked.
	catch_unwind(AssertUnwindSafe(work)).map_err(|payload| {
		let message = payload.downcast_ref::<&str>().map(|message| message.to_string());
		message
			.or_else(|| payload.downcast_ref::<String>().cloned())
			.unwrap_or_else(|| "no message".into())
	})
}
