//! The error-body parser never panics and keeps its texts short.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = synapse_auth_core::parse_error_body(data);
    assert!(body.error.as_ref().is_none_or(|e| e.len() <= 256));
    assert!(body.description.as_ref().is_none_or(|d| d.len() <= 256));
});
