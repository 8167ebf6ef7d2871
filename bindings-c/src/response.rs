//! `synapse_response`: a successful API response (core's `ApiResponse`).

use crate::error::synapse_result;
use crate::ffi::{Failure, arg_ref, arg_str, out_ptr};
use crate::panic::{ffi_result, ffi_value};
use std::ffi::{CString, c_char};
use synapse_auth_core::ApiResponse;

/// A successful (status below 400) API response from `synapse_client_request()`:
/// status, headers and body. Immutable, so it may be read from several threads at
/// once. Pointers obtained from it stay valid until `synapse_response_free()`.
pub struct synapse_response {
    status: u16,
    /// The body followed by one NUL byte (not counted in its length).
    body: Vec<u8>,
    /// Header names (lower case) and values as C strings.
    headers: Vec<(CString, CString)>,
}

fn c_string(s: &str) -> CString {
    // HTTP header values cannot hold NUL; drop any rather than fail.
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

impl synapse_response {
    pub(crate) fn new(response: ApiResponse) -> synapse_response {
        let mut body = response.body;
        body.push(0);
        let headers = response.headers.iter().map(|(k, v)| (c_string(k), c_string(v))).collect();
        synapse_response { status: response.status, body, headers }
    }
}

/// The HTTP status (e.g. 200 or 202), or 0 when `response` is NULL.
///
/// # Safety
/// `response` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_response_status(response: *const synapse_response) -> u16 {
    // SAFETY: the caller's contract.
    ffi_value(0, || unsafe { response.as_ref() }.map_or(0, |r| r.status))
}

/// The response body: returns a pointer to its bytes (followed by a NUL byte not
/// counted in the length, so a text body can be used as a C string) and writes its
/// length to `*out_len` when `out_len` is not NULL. The bytes belong to the
/// response. Returns NULL (and a length of 0) when `response` is NULL.
///
/// # Safety
/// `response` must be NULL or a live handle; `out_len` must be NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_response_body(response: *const synapse_response, out_len: *mut usize) -> *const u8 {
    ffi_value(std::ptr::null(), || {
        // SAFETY: the caller's contract.
        let response = unsafe { response.as_ref() };
        let (ptr, len) = response.map_or((std::ptr::null(), 0), |r| (r.body.as_ptr(), r.body.len() - 1));
        if !out_len.is_null() {
            // SAFETY: non-NULL; valid by the caller's contract.
            unsafe { *out_len = len };
        }
        ptr
    })
}

/// The number of response headers, or 0 when `response` is NULL.
///
/// # Safety
/// `response` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_response_header_count(response: *const synapse_response) -> usize {
    // SAFETY: the caller's contract.
    ffi_value(0, || unsafe { response.as_ref() }.map_or(0, |r| r.headers.len()))
}

/// The `index`-th response header (0-based): `*out_name` receives its name (lower
/// case) and `*out_value` its value, both NUL-terminated strings owned by the
/// response. `SYNAPSE_NOT_FOUND` when `index >= synapse_response_header_count()`.
///
/// # Safety
/// `response` must be NULL or a live handle; the output pointers must be NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_response_header_at(
    response: *const synapse_response,
    index: usize,
    out_name: *mut *const c_char,
    out_value: *mut *const c_char,
) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let response = unsafe { arg_ref(response, "response")? };
        let (out_name, out_value) = (out_ptr(out_name, "out_name")?, out_ptr(out_value, "out_value")?);
        let (name, value) =
            response.headers.get(index).ok_or_else(|| Failure::not_found(format!("no header at index {index}")))?;
        // SAFETY: checked non-NULL; valid by the caller's contract.
        unsafe {
            *out_name = name.as_ptr();
            *out_value = value.as_ptr();
        }
        Ok(())
    })
}

/// The value of the first response header called `name` (case-insensitive):
/// `*out_value` receives a NUL-terminated string owned by the response.
/// `SYNAPSE_NOT_FOUND` when there is no such header.
///
/// # Safety
/// `response` must be NULL or a live handle; `name` NULL or NUL-terminated;
/// `out_value` NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_response_header(
    response: *const synapse_response,
    name: *const c_char,
    out_value: *mut *const c_char,
) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let (response, name) = unsafe { (arg_ref(response, "response")?, arg_str(name, "name")?) };
        let out_value = out_ptr(out_value, "out_value")?;
        let (_, value) = response
            .headers
            .iter()
            .find(|(k, _)| k.to_bytes().eq_ignore_ascii_case(name.as_bytes()))
            .ok_or_else(|| Failure::not_found(format!("no header {name:?}")))?;
        // SAFETY: checked non-NULL; valid by the caller's contract.
        unsafe { *out_value = value.as_ptr() };
        Ok(())
    })
}

/// Releases a response. NULL is ignored.
///
/// # Safety
/// `response` must be NULL or a handle from this library not released before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_response_free(response: *mut synapse_response) {
    ffi_value((), || {
        if !response.is_null() {
            // SAFETY: created by Box::into_raw and released once, by the caller's contract.
            drop(unsafe { Box::from_raw(response) });
        }
    })
}
