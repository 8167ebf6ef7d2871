//! # libsynapse_auth: the C API of synapsestream-auth
//!
//! A thin C layer over [`synapse_auth_core`]: it converts pointers, strings and
//! errors, and nothing else. `include/synapse_auth.h` is generated from this crate
//! by cbindgen (see `cbindgen.toml`); every doc comment here ends up in it.
//!
//! Conventions (after rustls-ffi and libcurl):
//! - Opaque handles (`synapse_config`, `synapse_client`, `synapse_response`) are
//!   created by `_new` (or another constructor) and released by their `_free`, which
//!   accepts NULL.
//! - Fallible functions return a [`synapse_result`]; details of the last failure on
//!   the calling thread are available from the `synapse_last_error_*` functions.
//! - Inputs come first, then outputs; every buffer is followed by its length;
//!   outputs are written only on success (the one exception: the size needed is
//!   reported when a buffer is too small).
//! - NULL pointers, invalid UTF-8 and short buffers are reported as results, never
//!   as crashes; no Rust panic crosses the boundary.
//! - Every function is thread-safe except where the documentation says otherwise
//!   (a `synapse_config` must not be changed from two threads at once).
#![allow(non_camel_case_types)]

mod client;
mod config;
mod error;
mod ffi;
mod panic;
mod response;
mod runtime;
mod token;

pub use client::*;
pub use config::*;
pub use error::*;
pub use response::*;
pub use token::*;

/// The major version of this library.
pub const SYNAPSE_AUTH_VERSION_MAJOR: u32 = 0;
/// The minor version of this library.
pub const SYNAPSE_AUTH_VERSION_MINOR: u32 = 1;
/// The patch version of this library.
pub const SYNAPSE_AUTH_VERSION_PATCH: u32 = 0;

/// The library's version as a static NUL-terminated string, e.g. `"0.1.0"`.
///
/// Compare it with `SYNAPSE_AUTH_VERSION_*` to detect a header/library mismatch.
#[unsafe(no_mangle)]
pub extern "C" fn synapse_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_version_constants_match_the_package() {
        assert_eq!(SYNAPSE_AUTH_VERSION_MAJOR.to_string(), env!("CARGO_PKG_VERSION_MAJOR"));
        assert_eq!(SYNAPSE_AUTH_VERSION_MINOR.to_string(), env!("CARGO_PKG_VERSION_MINOR"));
        assert_eq!(SYNAPSE_AUTH_VERSION_PATCH.to_string(), env!("CARGO_PKG_VERSION_PATCH"));
    }
}
