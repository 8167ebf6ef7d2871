//! The panic boundary every entry point goes through (after rustls-ffi's
//! `ffi_panic_boundary!`): a Rust panic becomes `SYNAPSE_PANIC` (or a harmless
//! default value), never an unwind into C.

use crate::error::{clear_last_error, record_failure, synapse_result};
use crate::ffi::Failure;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The message recorded for a caught panic. The panic payload is not included: it
/// is not ours to vouch for (it could quote anything).
const PANIC_MESSAGE: &str =
    "internal error: a panic was caught at the C API boundary (a bug in libsynapse_auth; please report it)";

/// Runs a fallible entry point: clears the thread's last error, runs `f`, records
/// its failure (or a caught panic) and returns the result code.
pub(crate) fn ffi_result(f: impl FnOnce() -> Result<(), Failure>) -> synapse_result {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => synapse_result::SYNAPSE_OK,
        Ok(Err(failure)) => record_failure(failure),
        Err(payload) => {
            // Dropping a payload can itself panic; keep that inside too.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            record_failure(Failure::Binding(synapse_result::SYNAPSE_PANIC, PANIC_MESSAGE.into()))
        }
    }
}

/// Runs an infallible entry point (a getter or `_free`), returning `default` if it panics.
pub(crate) fn ffi_value<T>(default: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(payload) => {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            default
        }
    }
}

/// Not part of the API (kept out of the header): panics inside the boundary so the
/// test suite can prove that a panic comes back as `SYNAPSE_PANIC` with a message
/// and that the library keeps working afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn synapse_test_panic() -> synapse_result {
    ffi_result(|| panic!("synapse_test_panic: deliberate panic for the test suite"))
}
