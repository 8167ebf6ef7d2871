//! The token-endpoint response parser never panics, and what it accepts is sane.
#![no_main]

use libfuzzer_sys::fuzz_target;
use synapse_auth_core::{ErrorKind, parse_token_response};

fuzz_target!(|data: &[u8]| {
    match parse_token_response(data, &["inference".to_string()]) {
        Ok(r) => {
            assert!(!r.access_token.expose().trim().is_empty());
            assert!(r.expires_in.as_secs() >= 1 && r.expires_in.as_secs() <= synapse_auth_core::MAX_EXPIRES_IN);
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::Protocol),
    }
});
