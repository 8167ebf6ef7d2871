//! `synapse_token`: a token with its details (granted scopes, type, expiry).

use crate::client::{expires_at_unix_ms, synapse_client};
use crate::error::synapse_result;
use crate::ffi::{arg_ref, opt_str, out_ptr};
use crate::panic::{ffi_result, ffi_value};
use std::ffi::{CString, c_char};
use synapse_auth_core::split_scopes;

/// An access token with its details, from `synapse_client_token()`: the value, the
/// token type, the scopes the server granted and the expiry. A snapshot: it does
/// not change when the client refreshes. The value is wiped from memory by
/// `synapse_token_free()`. Immutable, so it may be read from several threads.
pub struct synapse_token {
    value: CString,
    token_type: CString,
    scopes: CString,
    expires_at_unix_ms: i64,
}

impl Drop for synapse_token {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.value).into_bytes_with_nul();
        for b in bytes.iter_mut() {
            // SAFETY: a valid, exclusively borrowed byte; volatile so the wipe is kept.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

/// Gets a valid access token (like `synapse_client_get_token()`: from the cache when
/// possible) as a `synapse_token` handle carrying its granted scopes, type and
/// expiry. `scopes` (space or comma separated) may be NULL for the configured scopes.
/// On success `*out` receives a handle to release with `synapse_token_free()`.
///
/// # Safety
/// `client` must be NULL or a live handle; `scopes` NULL or NUL-terminated; `out`
/// NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_client_token(
    client: *const synapse_client,
    scopes: *const c_char,
    out: *mut *mut synapse_token,
) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let (client, scopes) = unsafe { (arg_ref(client, "client")?, opt_str(scopes, "scopes")?) };
        let out = out_ptr(out, "out")?;
        crate::runtime::ensure_runtime();
        let token = match scopes {
            None => client.blocking().get_token()?,
            Some(scopes) => client.blocking().get_token_for(&split_scopes(scopes))?,
        };
        let handle = synapse_token {
            value: c_string(token.secret()),
            token_type: c_string(token.token_type()),
            scopes: c_string(&token.scopes().join(" ")),
            expires_at_unix_ms: expires_at_unix_ms(&token),
        };
        // SAFETY: checked non-NULL; valid by the caller's contract.
        unsafe { *out = Box::into_raw(Box::new(handle)) };
        Ok(())
    })
}

/// The access token as a NUL-terminated string owned by `token` (NULL when `token`
/// is NULL). Use it as `Authorization: Bearer <value>`; never log it.
///
/// # Safety
/// `token` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_token_value(token: *const synapse_token) -> *const c_char {
    // SAFETY: the caller's contract.
    ffi_value(std::ptr::null(), || unsafe { token.as_ref() }.map_or(std::ptr::null(), |t| t.value.as_ptr()))
}

/// The token type (`"Bearer"`), owned by `token` (NULL when `token` is NULL).
///
/// # Safety
/// `token` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_token_type(token: *const synapse_token) -> *const c_char {
    // SAFETY: the caller's contract.
    ffi_value(std::ptr::null(), || unsafe { token.as_ref() }.map_or(std::ptr::null(), |t| t.token_type.as_ptr()))
}

/// The scopes the server granted, separated by single spaces (e.g.
/// `"inference training"`), owned by `token` (NULL when `token` is NULL).
///
/// # Safety
/// `token` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_token_scopes(token: *const synapse_token) -> *const c_char {
    // SAFETY: the caller's contract.
    ffi_value(std::ptr::null(), || unsafe { token.as_ref() }.map_or(std::ptr::null(), |t| t.scopes.as_ptr()))
}

/// When the token stops being used, in milliseconds since the Unix epoch (0 when
/// `token` is NULL).
///
/// # Safety
/// `token` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_token_expires_at_unix_ms(token: *const synapse_token) -> i64 {
    // SAFETY: the caller's contract.
    ffi_value(0, || unsafe { token.as_ref() }.map_or(0, |t| t.expires_at_unix_ms))
}

/// Wipes and releases a token. NULL is ignored.
///
/// # Safety
/// `token` must be NULL or a handle from this library not released before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_token_free(token: *mut synapse_token) {
    ffi_value((), || {
        if !token.is_null() {
            // SAFETY: created by Box::into_raw and released once, by the caller's contract.
            drop(unsafe { Box::from_raw(token) });
        }
    })
}
