//! [`synapse_result`] and the per-thread record of the last failure.

use crate::ffi::{Failure, copy_diagnostic};
use crate::panic::ffi_value;
use std::cell::RefCell;
use std::ffi::{CStr, c_char};
use synapse_auth_core::{Error, ErrorKind};

/// The result of every fallible function.
///
/// `SYNAPSE_OK` is 0. Values 1 to 99 correspond one to one to the error codes of
/// synapse-auth-core (the same numbers and, through `synapse_result_name()`, the
/// same names as the `.code` of the Python and Node.js bindings). Values from 100
/// on are errors of this C API itself. Values are never renumbered or reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum synapse_result {
    /// Success.
    SYNAPSE_OK = 0,
    /// `invalid_credentials`: the client id, secret or API key was rejected (HTTP 401).
    SYNAPSE_INVALID_CREDENTIALS = 1,
    /// `insufficient_scope`: the token lacks a scope the call needs (HTTP 403);
    /// see `synapse_last_error_required_scope()`.
    SYNAPSE_INSUFFICIENT_SCOPE = 2,
    /// `token_expired`: the access token expired and a refresh did not help (HTTP 418).
    SYNAPSE_TOKEN_EXPIRED = 3,
    /// `rate_limited`: slow down (HTTP 429); see `synapse_last_error_retry_after_ms()`.
    SYNAPSE_RATE_LIMITED = 4,
    /// `circuit_open`: authentication keeps failing and the client fails fast for a while.
    SYNAPSE_CIRCUIT_OPEN = 5,
    /// `transport`: connect, TLS, timeout or connection reset.
    SYNAPSE_TRANSPORT = 6,
    /// `protocol`: a malformed, oversize or unexpected response.
    SYNAPSE_PROTOCOL = 7,
    /// `config`: a bad configuration value; the message names the field
    /// (see also `synapse_last_error_field()`).
    SYNAPSE_CONFIG = 8,
    /// `invalid_token`: a JWT failed verification.
    SYNAPSE_INVALID_TOKEN = 9,
    /// `api`: any other HTTP error status from the API; see `synapse_last_error_status()`
    /// and `synapse_last_error_body()`.
    SYNAPSE_API = 10,
    /// `invalid_argument`: a NULL pointer where one is not allowed, a string that is
    /// not valid UTF-8, or another argument this API cannot accept.
    SYNAPSE_INVALID_ARGUMENT = 100,
    /// `buffer_too_small`: the caller's buffer cannot hold the output; the size needed
    /// (terminating NUL included) was written to the length output.
    SYNAPSE_BUFFER_TOO_SMALL = 101,
    /// `panic`: an internal error (a Rust panic) was caught at the API boundary.
    /// This is a bug in libsynapse_auth; the handle involved may be left in an
    /// unspecified but memory-safe state.
    SYNAPSE_PANIC = 102,
    /// `not_found`: the item asked for (e.g. a response header) does not exist.
    SYNAPSE_NOT_FOUND = 103,
}

impl synapse_result {
    /// The result for a core error kind (same number as [`ErrorKind::number`]).
    pub(crate) fn from_kind(kind: ErrorKind) -> synapse_result {
        use synapse_result::*;
        match kind.number() {
            1 => SYNAPSE_INVALID_CREDENTIALS,
            2 => SYNAPSE_INSUFFICIENT_SCOPE,
            3 => SYNAPSE_TOKEN_EXPIRED,
            4 => SYNAPSE_RATE_LIMITED,
            5 => SYNAPSE_CIRCUIT_OPEN,
            6 => SYNAPSE_TRANSPORT,
            7 => SYNAPSE_PROTOCOL,
            8 => SYNAPSE_CONFIG,
            9 => SYNAPSE_INVALID_TOKEN,
            // A kind added to core later is reported as a generic API failure
            // until it gets its own value here (the unit test below catches it).
            _ => SYNAPSE_API,
        }
    }

    /// Every value, for tests and lookups.
    pub(crate) const ALL: [synapse_result; 15] = {
        use synapse_result::*;
        [
            SYNAPSE_OK,
            SYNAPSE_INVALID_CREDENTIALS,
            SYNAPSE_INSUFFICIENT_SCOPE,
            SYNAPSE_TOKEN_EXPIRED,
            SYNAPSE_RATE_LIMITED,
            SYNAPSE_CIRCUIT_OPEN,
            SYNAPSE_TRANSPORT,
            SYNAPSE_PROTOCOL,
            SYNAPSE_CONFIG,
            SYNAPSE_INVALID_TOKEN,
            SYNAPSE_API,
            SYNAPSE_INVALID_ARGUMENT,
            SYNAPSE_BUFFER_TOO_SMALL,
            SYNAPSE_PANIC,
            SYNAPSE_NOT_FOUND,
        ]
    };

    /// The stable name: core's code for core errors, e.g. `"rate_limited"`.
    pub(crate) fn name(self) -> &'static CStr {
        use synapse_result::*;
        match self {
            SYNAPSE_OK => c"ok",
            SYNAPSE_INVALID_CREDENTIALS => c"invalid_credentials",
            SYNAPSE_INSUFFICIENT_SCOPE => c"insufficient_scope",
            SYNAPSE_TOKEN_EXPIRED => c"token_expired",
            SYNAPSE_RATE_LIMITED => c"rate_limited",
            SYNAPSE_CIRCUIT_OPEN => c"circuit_open",
            SYNAPSE_TRANSPORT => c"transport",
            SYNAPSE_PROTOCOL => c"protocol",
            SYNAPSE_CONFIG => c"config",
            SYNAPSE_INVALID_TOKEN => c"invalid_token",
            SYNAPSE_API => c"api",
            SYNAPSE_INVALID_ARGUMENT => c"invalid_argument",
            SYNAPSE_BUFFER_TOO_SMALL => c"buffer_too_small",
            SYNAPSE_PANIC => c"panic",
            SYNAPSE_NOT_FOUND => c"not_found",
        }
    }
}

/// What is kept about the last failure of a call on this thread.
struct LastError {
    result: synapse_result,
    message: String,
    status: u16,
    retry_after_ms: i64,
    required_scope: Option<String>,
    field: Option<&'static str>,
    body: Option<String>,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// Forgets the last failure (every fallible call starts with this).
pub(crate) fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = None;
        }
    });
}

/// Records `failure` as this thread's last error and returns its result code.
pub(crate) fn record_failure(failure: Failure) -> synapse_result {
    let entry = match failure {
        Failure::Core(e) => from_core(&e),
        Failure::Binding(result, message) => LastError {
            result,
            message: format!("{}: {message}", result.name().to_string_lossy()),
            status: 0,
            retry_after_ms: -1,
            required_scope: None,
            field: None,
            body: None,
        },
    };
    let result = entry.result;
    let _ = LAST_ERROR.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = Some(entry);
        }
    });
    result
}

fn from_core(e: &Error) -> LastError {
    LastError {
        result: synapse_result::from_kind(e.kind()),
        // Core guarantees that no error message holds a secret.
        message: e.to_string(),
        status: e.status().unwrap_or(0),
        retry_after_ms: e.retry_after().map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(-1),
        required_scope: e.required_scope().map(str::to_string),
        field: e.field(),
        body: e.body().map(str::to_string),
    }
}

fn with_last<T>(default: T, f: impl FnOnce(&LastError) -> T) -> T {
    LAST_ERROR
        .try_with(|last| match last.try_borrow() {
            Ok(last) => last.as_ref().map(f),
            Err(_) => None,
        })
        .ok()
        .flatten()
        .unwrap_or(default)
}

/// The stable name of a result value as a static NUL-terminated string: `"ok"`,
/// core's error code for values 1 to 99 (e.g. `"rate_limited"`), or the binding's
/// own name (`"invalid_argument"`, `"buffer_too_small"`, `"panic"`, `"not_found"`).
/// Unknown values give `"unknown"`. Never NULL; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn synapse_result_name(result: u32) -> *const c_char {
    ffi_value(c"unknown".as_ptr(), || {
        synapse_result::ALL.into_iter().find(|r| *r as u32 == result).map(|r| r.name()).unwrap_or(c"unknown").as_ptr()
    })
}

/// The result of the last failed call on this thread, or `SYNAPSE_OK` when the
/// last call succeeded (every fallible call clears the record when it starts).
#[unsafe(no_mangle)]
pub extern "C" fn synapse_last_error_result() -> synapse_result {
    ffi_value(synapse_result::SYNAPSE_OK, || with_last(synapse_result::SYNAPSE_OK, |e| e.result))
}

/// Copies the message of the last failed call on this thread into `buf`, always
/// NUL-terminated when `len > 0` (an empty string when there was no failure).
///
/// The message starts with the result's name (e.g. `"rate_limited: ..."`) and never
/// contains a secret. `*out_n` receives the number of bytes written (without the NUL).
/// When the message does not fit, it is truncated on a character boundary, `*out_n`
/// receives the size needed (NUL included) and `SYNAPSE_BUFFER_TOO_SMALL` is
/// returned. `out_n` may be NULL. Calling it does not change the record.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must be NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_last_error_message(buf: *mut c_char, len: usize, out_n: *mut usize) -> synapse_result {
    let message = with_last(String::new(), |e| e.message.clone());
    // SAFETY: forwarded from the caller's contract.
    unsafe { copy_diagnostic(&message, buf, len, out_n) }
}

/// The HTTP status behind the last failure on this thread, or 0 when there was none.
#[unsafe(no_mangle)]
pub extern "C" fn synapse_last_error_status() -> u16 {
    ffi_value(0, || with_last(0, |e| e.status))
}

/// How long to wait before trying again after the last failure on this thread
/// (`SYNAPSE_RATE_LIMITED`, `SYNAPSE_CIRCUIT_OPEN`), in milliseconds; -1 when the
/// failure carried no such hint.
#[unsafe(no_mangle)]
pub extern "C" fn synapse_last_error_retry_after_ms() -> i64 {
    ffi_value(-1, || with_last(-1, |e| e.retry_after_ms))
}

/// Copies the scope the server said was missing (`SYNAPSE_INSUFFICIENT_SCOPE`) into
/// `buf`, like `synapse_last_error_message()`; returns `SYNAPSE_NOT_FOUND` (writing
/// nothing) when the last failure named no scope.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must be NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_last_error_required_scope(
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> synapse_result {
    match with_last(None, |e| e.required_scope.clone()) {
        // SAFETY: forwarded from the caller's contract.
        Some(scope) => unsafe { copy_diagnostic(&scope, buf, len, out_n) },
        None => synapse_result::SYNAPSE_NOT_FOUND,
    }
}

/// Copies the configuration field at fault (`SYNAPSE_CONFIG`, e.g. `"base_url"`) into
/// `buf`, like `synapse_last_error_message()`; returns `SYNAPSE_NOT_FOUND` (writing
/// nothing) when the last failure named no field.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must be NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_last_error_field(buf: *mut c_char, len: usize, out_n: *mut usize) -> synapse_result {
    match with_last(None, |e| e.field) {
        // SAFETY: forwarded from the caller's contract.
        Some(field) => unsafe { copy_diagnostic(field, buf, len, out_n) },
        None => synapse_result::SYNAPSE_NOT_FOUND,
    }
}

/// Copies the response body of the last `SYNAPSE_API` failure (truncated by the
/// library to a few KiB) into `buf`, like `synapse_last_error_message()`; returns
/// `SYNAPSE_NOT_FOUND` (writing nothing) when the last failure carried no body.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must be NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_last_error_body(buf: *mut c_char, len: usize, out_n: *mut usize) -> synapse_result {
    match with_last(None, |e| e.body.clone()) {
        // SAFETY: forwarded from the caller's contract.
        Some(body) => unsafe { copy_diagnostic(&body, buf, len, out_n) },
        None => synapse_result::SYNAPSE_NOT_FOUND,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_kind_has_its_own_value_and_name() {
        for kind in ErrorKind::ALL {
            let result = synapse_result::from_kind(kind);
            assert_eq!(result as u32, kind.number(), "{kind:?}");
            assert_eq!(result.name().to_str().unwrap(), kind.code());
        }
    }

    #[test]
    fn values_and_names_are_unique() {
        let mut values = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for r in synapse_result::ALL {
            assert!(values.insert(r as u32));
            assert!(names.insert(r.name()));
            let name = unsafe { CStr::from_ptr(synapse_result_name(r as u32)) };
            assert_eq!(name, r.name());
        }
        let unknown = unsafe { CStr::from_ptr(synapse_result_name(77)) };
        assert_eq!(unknown, c"unknown");
    }
}
