//! `synapse_client`: core's `BlockingClient` behind an opaque handle.

use crate::config::synapse_config;
use crate::error::synapse_result;
use crate::ffi::{Failure, arg_bytes, arg_ref, arg_str, check_out_buffer, opt_str, out_ptr, write_string};
use crate::panic::{ffi_result, ffi_value};
use crate::response::synapse_response;
use crate::runtime::ensure_runtime;
use std::ffi::c_char;
use std::sync::Arc;
use std::time::SystemTime;
use synapse_auth_core::{ApiRequest, BlockingClient, CircuitState, Token, split_scopes};

/// A SynapseStream client: access tokens (cached, refreshed ahead of expiry, one
/// token request shared by concurrent callers), authenticated API calls and JWT
/// verification.
///
/// Thread-safe: one client may be used from any number of threads at once, and
/// should be shared rather than created per call (it holds the token cache and the
/// connection pool). Every call blocks the calling thread until it is done; none
/// takes a callback. A client inherited by a child process after `fork()` keeps
/// working there. Release it with `synapse_client_free()`.
pub struct synapse_client {
    inner: BlockingClient,
}

impl synapse_client {
    pub(crate) fn blocking(&self) -> &BlockingClient {
        &self.inner
    }
}

/// A token's expiry in milliseconds since the Unix epoch.
pub(crate) fn expires_at_unix_ms(token: &Token) -> i64 {
    token
        .expires_at()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The circuit breaker's state in `synapse_stats`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum synapse_circuit_state {
    /// Calls pass.
    SYNAPSE_CIRCUIT_STATE_CLOSED = 0,
    /// Calls fail fast with `SYNAPSE_CIRCUIT_OPEN` until the cool-down ends.
    SYNAPSE_CIRCUIT_STATE_OPEN = 1,
    /// One probe call is let through.
    SYNAPSE_CIRCUIT_STATE_HALF_OPEN = 2,
}

/// A snapshot of a client's counters, filled by `synapse_client_stats()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct synapse_stats {
    /// HTTP requests sent to the token endpoint (retries included).
    pub token_requests: u64,
    /// Refresh-token grants among them.
    pub refresh_grants: u64,
    /// Refreshes started ahead of expiry in the background.
    pub background_refreshes: u64,
    /// Token requests served from the cache without waiting.
    pub cache_hits: u64,
    /// Token requests that had to wait for a token request.
    pub cache_misses: u64,
    /// Retries of token requests and API calls.
    pub retries: u64,
    /// Token requests that ended in an error.
    pub failures: u64,
    /// API calls sent by `synapse_client_request()` (retries included).
    pub api_requests: u64,
    /// JWKS documents fetched.
    pub jwks_fetches: u64,
    /// How often the circuit breaker has opened.
    pub circuit_opened: u64,
    /// Consecutive authentication failures so far.
    pub consecutive_auth_failures: u32,
    /// The circuit breaker's state.
    pub circuit_state: synapse_circuit_state,
}

/// Creates a client from a configuration, validating it: a bad or incomplete
/// configuration gives `SYNAPSE_CONFIG` with a message naming the field. No network
/// request is made yet. `config` is only read; it may be released or reused
/// afterwards. On success `*out` receives a handle to release with
/// `synapse_client_free()`.
///
/// # Safety
/// `config` must be NULL or a live handle not changed by another thread during the
/// call; `out` must be NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_client_new(
    config: *const synapse_config,
    out: *mut *mut synapse_client,
) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let config = unsafe { arg_ref(config, "config")? };
        let out = out_ptr(out, "out")?;
        ensure_runtime();
        let inner = BlockingClient::new(config.builder().clone().build()?)?;
        // SAFETY: checked non-NULL; valid by the caller's contract.
        unsafe { *out = Box::into_raw(Box::new(synapse_client { inner })) };
        Ok(())
    })
}

/// Releases a client. NULL is ignored. Calls still running on other threads with
/// this handle must have returned first.
///
/// # Safety
/// `client` must be NULL or a handle from this library not released before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_client_free(client: *mut synapse_client) {
    ffi_value((), || {
        if !client.is_null() {
            // SAFETY: created by Box::into_raw here and released once, by the caller's contract.
            drop(unsafe { Box::from_raw(client) });
        }
    })
}

/// Writes a valid access token for the configured scopes into `buf` as a
/// NUL-terminated string, its length (without the NUL) into `*out_len`, and, when
/// `out_expires_at_unix_ms` is not NULL, the time it stops being used (milliseconds
/// since the Unix epoch) into `*out_expires_at_unix_ms`.
///
/// A cached token is returned at once, without touching the network or any thread
/// pool; otherwise one token request is made (concurrent callers share it) and this
/// call blocks until it ends. Use the token as `Authorization: Bearer <token>`, or let
/// `synapse_client_request()` do it.
///
/// If the token (plus NUL) does not fit in `len` bytes, nothing is written to `buf`,
/// `*out_len` receives the size needed and `SYNAPSE_BUFFER_TOO_SMALL` is returned;
/// call again with a larger buffer (the token stays cached). `buf` may be NULL with
/// `len` 0 to ask for the size. Errors: `SYNAPSE_INVALID_CREDENTIALS`,
/// `SYNAPSE_RATE_LIMITED`, `SYNAPSE_CIRCUIT_OPEN`, `SYNAPSE_TRANSPORT`,
/// `SYNAPSE_PROTOCOL`, ...
///
/// # Safety
/// `client` must be NULL or a live handle; `buf` must be NULL or point to `len`
/// writable bytes; the output pointers must be NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_client_get_token(
    client: *const synapse_client,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    out_expires_at_unix_ms: *mut i64,
) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let client = unsafe { arg_ref(client, "client")? };
        check_out_buffer(buf, len, out_len, "buf")?;
        // Two atomic loads once the runtime runs (a background refresh started by
        // the cache below must also find it started with SIGPIPE blocked).
        ensure_runtime();
        // The hot path: a valid cached token, one atomic load, no runtime entry.
        let token = match client.inner.async_client().cached_token() {
            Some(token) => token,
            None => client.inner.get_token()?,
        };
        // SAFETY: the output triple was checked; the caller's contract.
        unsafe { write_token(&token, buf, len, out_len, out_expires_at_unix_ms) }
    })
}

/// Like `synapse_client_get_token()`, for other scopes than the configured ones
/// (`scopes` separated by spaces or commas). Tokens are cached per scope set.
///
/// # Safety
/// As `synapse_client_get_token()`; `scopes` must be NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_client_get_token_for_scopes(
    client: *const synapse_client,
    scopes: *const c_char,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    out_expires_at_unix_ms: *mut i64,
) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let (client, scopes) = unsafe { (arg_ref(client, "client")?, arg_str(scopes, "scopes")?) };
        check_out_buffer(buf, len, out_len, "buf")?;
        ensure_runtime();
        let token = client.inner.get_token_for(&split_scopes(scopes))?;
        // SAFETY: the output triple was checked; the caller's contract.
        unsafe { write_token(&token, buf, len, out_len, out_expires_at_unix_ms) }
    })
}

unsafe fn write_token(
    token: &Arc<Token>,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    out_expires_at_unix_ms: *mut i64,
) -> Result<(), Failure> {
    // SAFETY: the caller checked the triple.
    unsafe { write_string(token.secret().as_bytes(), buf, len, out_len, "the access token")? };
    if !out_expires_at_unix_ms.is_null() {
        // SAFETY: non-NULL; valid by the caller's contract.
        unsafe { *out_expires_at_unix_ms = expires_at_unix_ms(token) };
    }
    Ok(())
}

/// Sends an authenticated API call and, when the server answers with a status below
/// 400, stores the response in `*out` (release it with `synapse_response_free()`).
///
/// `method` is e.g. `"GET"`; `path` is relative to the base URL (`"/v1/models"`) or an
/// absolute URL on the configured host (credentials are never sent elsewhere).
/// `body` may be NULL (no body) when `body_len` is 0; `content_type` may be NULL. The client
/// attaches the token or API key, retries 429, 5xx and transport failures with
/// backoff, and on an expired token refreshes once and retries once.
///
/// A status of 400 or above is an error: 401 `SYNAPSE_INVALID_CREDENTIALS`, 403
/// `SYNAPSE_INSUFFICIENT_SCOPE`, 418 `SYNAPSE_TOKEN_EXPIRED`, 429
/// `SYNAPSE_RATE_LIMITED`, others `SYNAPSE_API` (see `synapse_last_error_status()`
/// and `synapse_last_error_body()`).
///
/// # Safety
/// `client` must be NULL or a live handle; strings must be NULL or NUL-terminated;
/// `body` must be NULL or point to `body_len` readable bytes; `out` must be NULL or
/// valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_client_request(
    client: *const synapse_client,
    method: *const c_char,
    path: *const c_char,
    body: *const u8,
    body_len: usize,
    content_type: *const c_char,
    out: *mut *mut synapse_response,
) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let (client, method, path, body_bytes, content_type) = unsafe {
            (
                arg_ref(client, "client")?,
                arg_str(method, "method")?,
                arg_str(path, "path")?,
                arg_bytes(body, body_len, "body")?,
                opt_str(content_type, "content_type")?,
            )
        };
        let out = out_ptr(out, "out")?;
        let mut request = ApiRequest::new(method, path);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if !body.is_null() {
            request = request.body(body_bytes.to_vec());
        }
        ensure_runtime();
        let response = client.inner.request(request)?;
        // SAFETY: checked non-NULL; valid by the caller's contract.
        unsafe { *out = Box::into_raw(Box::new(synapse_response::new(response))) };
        Ok(())
    })
}

/// Verifies a JWT (signature against the provider's JWKS, expiry, not-before,
/// algorithm allow-list, and the configured issuer, audience and scopes) and writes
/// its claims as a NUL-terminated JSON object into `buf`, its length into
/// `*out_len`. A token that fails gives `SYNAPSE_INVALID_TOKEN`; a short buffer
/// gives `SYNAPSE_BUFFER_TOO_SMALL` with the size needed in `*out_len`.
///
/// # Safety
/// `client` must be NULL or a live handle; `jwt` must be NULL or NUL-terminated;
/// `buf` must be NULL or point to `len` writable bytes; `out_len` must be NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_client_verify(
    client: *const synapse_client,
    jwt: *const c_char,
    claims_json_buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let (client, jwt) = unsafe { (arg_ref(client, "client")?, arg_str(jwt, "jwt")?) };
        check_out_buffer(claims_json_buf, len, out_len, "claims_json_buf")?;
        ensure_runtime();
        let claims = client.inner.verify(jwt)?;
        // SAFETY: the output triple was checked; the caller's contract.
        unsafe { write_string(claims.to_json().as_bytes(), claims_json_buf, len, out_len, "the claims") }
    })
}

/// Forgets every cached token: the next call fetches a new one.
///
/// # Safety
/// `client` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_client_invalidate(client: *const synapse_client) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        unsafe { arg_ref(client, "client")? }.inner.invalidate();
        Ok(())
    })
}

/// Replaces the client secret on a live client (credential rotation); the next
/// token request uses it. The secret is never shown in a message.
///
/// # Safety
/// `client` must be NULL or a live handle; `client_secret` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_client_set_client_secret(
    client: *const synapse_client,
    client_secret: *const c_char,
) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let (client, secret) = unsafe { (arg_ref(client, "client")?, arg_str(client_secret, "client_secret")?) };
        if secret.is_empty() {
            return Err(Failure::invalid("client_secret is empty"));
        }
        client.inner.async_client().set_client_secret(secret);
        Ok(())
    })
}

/// Replaces the API key on a live client (credential rotation). The key is never
/// shown in a message.
///
/// # Safety
/// `client` must be NULL or a live handle; `api_key` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_client_set_api_key(
    client: *const synapse_client,
    api_key: *const c_char,
) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let (client, key) = unsafe { (arg_ref(client, "client")?, arg_str(api_key, "api_key")?) };
        if key.is_empty() {
            return Err(Failure::invalid("api_key is empty"));
        }
        client.inner.async_client().set_api_key(key);
        Ok(())
    })
}

/// Fills `*out` with a snapshot of the client's counters and circuit-breaker state.
///
/// # Safety
/// `client` must be NULL or a live handle; `out` must be NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_client_stats(
    client: *const synapse_client,
    out: *mut synapse_stats,
) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let client = unsafe { arg_ref(client, "client")? };
        let out = out_ptr(out, "out")?;
        let s = client.inner.stats();
        let stats = synapse_stats {
            token_requests: s.token_requests,
            refresh_grants: s.refresh_grants,
            background_refreshes: s.background_refreshes,
            cache_hits: s.cache_hits,
            cache_misses: s.cache_misses,
            retries: s.retries,
            failures: s.failures,
            api_requests: s.api_requests,
            jwks_fetches: s.jwks_fetches,
            circuit_opened: s.circuit_opened,
            consecutive_auth_failures: s.consecutive_auth_failures,
            circuit_state: match s.circuit_state {
                CircuitState::Closed => synapse_circuit_state::SYNAPSE_CIRCUIT_STATE_CLOSED,
                CircuitState::Open => synapse_circuit_state::SYNAPSE_CIRCUIT_STATE_OPEN,
                CircuitState::HalfOpen => synapse_circuit_state::SYNAPSE_CIRCUIT_STATE_HALF_OPEN,
            },
        };
        // SAFETY: checked non-NULL; valid by the caller's contract.
        unsafe { *out = stats };
        Ok(())
    })
}
