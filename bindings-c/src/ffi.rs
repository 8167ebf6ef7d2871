//! Checked conversions of C arguments (after rustls-ffi's `ffi.rs`): NULL pointers,
//! invalid UTF-8 and short buffers become [`Failure`]s instead of crashes.

use crate::error::synapse_result;
use crate::panic::ffi_value;
use std::ffi::{CStr, c_char};
use synapse_auth_core::Error;

/// Why an entry point failed, before it is recorded as the thread's last error.
pub(crate) enum Failure {
    /// An error from core.
    Core(Error),
    /// An error of this C layer (never one of core's results).
    Binding(synapse_result, String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

impl Failure {
    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::Binding(synapse_result::SYNAPSE_INVALID_ARGUMENT, message.into())
    }
    fn null(name: &str) -> Failure {
        Failure::invalid(format!("{name} is NULL"))
    }
    pub(crate) fn not_found(message: impl Into<String>) -> Failure {
        Failure::Binding(synapse_result::SYNAPSE_NOT_FOUND, message.into())
    }
}

/// A shared reference from a `const T *` argument that must not be NULL.
///
/// # Safety
/// `p` must be NULL or point to a live `T` for `'a`.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller's contract.
    unsafe { p.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// A mutable reference from a `T *` argument that must not be NULL.
///
/// # Safety
/// `p` must be NULL or point to a live `T`, not aliased, for `'a`.
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller's contract.
    unsafe { p.as_mut() }.ok_or_else(|| Failure::null(name))
}

/// Checks that an output pointer is not NULL (before any work is done).
pub(crate) fn out_ptr<T>(p: *mut T, name: &str) -> Result<*mut T, Failure> {
    if p.is_null() { Err(Failure::null(name)) } else { Ok(p) }
}

/// A `&str` from a NUL-terminated UTF-8 string that must not be NULL.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string live for `'a`.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map_err(|_| Failure::invalid(format!("{name} is not valid UTF-8")))
}

/// Like [`arg_str`] but NULL gives `None`.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn opt_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: the caller's contract.
        unsafe { arg_str(p, name) }.map(Some)
    }
}

/// A byte slice from a pointer and length; NULL is allowed only with length 0.
///
/// # Safety
/// `p` must be NULL or point to `len` readable bytes live for `'a`.
pub(crate) unsafe fn arg_bytes<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a [u8], Failure> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::invalid(format!("{name} is NULL but its length is {len}")))
        };
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!("{name}: length {len} is too large")));
    }
    // SAFETY: the caller's contract; the length fits in isize.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Checks a `(char *buf, size_t len, size_t *out_len)` output triple before any
/// work is done: `out_len` must not be NULL, and `buf` may be NULL only with `len` 0
/// (a size query).
pub(crate) fn check_out_buffer(buf: *mut c_char, len: usize, out_len: *mut usize, name: &str) -> Result<(), Failure> {
    out_ptr(out_len, "out_len")?;
    if buf.is_null() && len != 0 {
        return Err(Failure::invalid(format!("{name} is NULL but its length is {len}")));
    }
    Ok(())
}

/// Copies `value` and a terminating NUL into a checked output buffer and stores its
/// length (without the NUL) in `*out_len`. When it does not fit, nothing is written
/// to `buf`, `*out_len` receives the size needed (NUL included) and the result is
/// `SYNAPSE_BUFFER_TOO_SMALL`.
///
/// # Safety
/// The triple must have passed [`check_out_buffer`] and `buf` must point to `len`
/// writable bytes.
pub(crate) unsafe fn write_string(
    value: &[u8],
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    what: &str,
) -> Result<(), Failure> {
    let needed = value.len() + 1;
    if needed > len {
        // SAFETY: checked non-NULL by check_out_buffer.
        unsafe { *out_len = needed };
        return Err(Failure::Binding(
            synapse_result::SYNAPSE_BUFFER_TOO_SMALL,
            format!("{what} needs a buffer of {needed} bytes; {len} given"),
        ));
    }
    // SAFETY: `buf` holds at least `needed` bytes; the regions cannot overlap
    // (ours is owned by Rust).
    unsafe {
        std::ptr::copy_nonoverlapping(value.as_ptr(), buf.cast::<u8>(), value.len());
        *buf.add(value.len()) = 0;
        *out_len = value.len();
    }
    Ok(())
}

/// Copies a diagnostic string into `buf`, truncated on a character boundary when
/// needed, always NUL-terminated when `len > 0`; see `synapse_last_error_message`.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must be NULL or valid.
pub(crate) unsafe fn copy_diagnostic(value: &str, buf: *mut c_char, len: usize, out_n: *mut usize) -> synapse_result {
    ffi_value(synapse_result::SYNAPSE_PANIC, || {
        if buf.is_null() && len != 0 {
            return synapse_result::SYNAPSE_INVALID_ARGUMENT;
        }
        let needed = value.len() + 1;
        if len == 0 {
            if !out_n.is_null() {
                // SAFETY: non-NULL by the check above; valid by the caller's contract.
                unsafe { *out_n = needed };
            }
            return synapse_result::SYNAPSE_BUFFER_TOO_SMALL;
        }
        let mut n = value.len().min(len - 1);
        while !value.is_char_boundary(n) {
            n -= 1;
        }
        // SAFETY: `buf` holds `len > n` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(value.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
        let fits = n == value.len();
        if !out_n.is_null() {
            // SAFETY: as above.
            unsafe { *out_n = if fits { n } else { needed } };
        }
        if fits { synapse_result::SYNAPSE_OK } else { synapse_result::SYNAPSE_BUFFER_TOO_SMALL }
    })
}
