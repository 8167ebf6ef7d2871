//! `synapse_config`: a configuration being built (core's `ConfigBuilder`).

use crate::error::synapse_result;
use crate::ffi::{Failure, arg_mut, arg_str, out_ptr};
use crate::panic::{ffi_result, ffi_value};
use std::ffi::{CString, c_char};
use std::sync::OnceLock;
use std::time::Duration;
use synapse_auth_core::{CONFIG_KEYS, ConfigBuilder};

/// A client configuration being built: credentials, scopes, endpoints, timeouts,
/// retry and refresh policies. Create it with `synapse_config_new()` or
/// `synapse_config_from_env()`, fill it with `synapse_config_set()` (or the typed
/// setters), pass it to `synapse_client_new()` (which copies what it needs) and
/// release it with `synapse_config_free()`.
///
/// Not thread-safe: do not change one config from two threads at once.
/// Secrets set on it are never shown in any message.
pub struct synapse_config {
    builder: ConfigBuilder,
}

impl synapse_config {
    pub(crate) fn builder(&self) -> &ConfigBuilder {
        &self.builder
    }

    /// Applies `key = value` through core's parser. On failure the config is left
    /// exactly as it was (core's builder would otherwise remember the bad value).
    fn set(&mut self, key: &str, value: &str) -> Result<(), Failure> {
        self.builder = self.builder.clone().set(key, value)?;
        Ok(())
    }
}

/// Creates an empty configuration with every default in place.
///
/// Returns NULL only if the allocation fails. Release it with `synapse_config_free()`.
#[unsafe(no_mangle)]
pub extern "C" fn synapse_config_new() -> *mut synapse_config {
    ffi_value(std::ptr::null_mut(), || Box::into_raw(Box::new(synapse_config { builder: ConfigBuilder::default() })))
}

/// Creates a configuration from the `SYNAPSE_*` environment variables: for every key
/// of `synapse_config_set()`, `SYNAPSE_<KEY in upper case>` (e.g. `SYNAPSE_CLIENT_ID`,
/// `SYNAPSE_CLIENT_SECRET`, `SYNAPSE_BASE_URL`, `SYNAPSE_CA_FILE`, `SYNAPSE_SCOPES`).
///
/// Unset variables keep their defaults; a malformed one makes `synapse_client_new()`
/// fail with `SYNAPSE_CONFIG` naming the field. The configuration can still be
/// changed with the setters afterwards. On success `*out` receives a new handle to
/// release with `synapse_config_free()`.
///
/// # Safety
/// `out` must be NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_config_from_env(out: *mut *mut synapse_config) -> synapse_result {
    ffi_result(|| {
        let out = out_ptr(out, "out")?;
        let config = Box::new(synapse_config { builder: ConfigBuilder::from_env() });
        // SAFETY: checked non-NULL; valid by the caller's contract.
        unsafe { *out = Box::into_raw(config) };
        Ok(())
    })
}

/// Sets one configuration value by its string key, parsed exactly as the Python and
/// Node.js bindings and the `SYNAPSE_*` environment variables parse it.
///
/// Every key of core's configuration is accepted (list them with
/// `synapse_config_key_count()` and `synapse_config_key_at()`), among them:
/// `client_id`, `client_secret`, `client_secret_file`, `api_key`, `api_key_file`,
/// `scopes` (space or comma separated), `base_url`, `token_url`, `jwks_url`,
/// `auth_method` (`oauth` | `api_key`), `client_auth` (`body` | `basic`),
/// `connect_timeout` and `timeout` (seconds), `ca_file` (a PEM file, read now),
/// `ca_pem`, `proxy`, `refresh_fraction`, `refresh_window_max`, `expiry_skew`,
/// `max_token_lifetime`, `max_attempts`, `retry_deadline`, `circuit_threshold`,
/// `circuit_cooldown`, `expired_statuses`, `max_response_bytes`, `jwt_issuer`,
/// `jwt_audience`, `jwt_algorithms`, `jwt_leeway`, `jwt_required_scopes`.
///
/// Returns `SYNAPSE_CONFIG` for an unknown key or a malformed value (the message and
/// `synapse_last_error_field()` name the field; the config is left unchanged), and
/// `SYNAPSE_INVALID_ARGUMENT` for NULL or non-UTF-8 arguments. Other problems (a
/// missing secret, conflicting settings) are reported by `synapse_client_new()`.
///
/// # Safety
/// `config` must be NULL or a live handle not used by another thread during the
/// call; `key` and `value` must be NULL or NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_config_set(
    config: *mut synapse_config,
    key: *const c_char,
    value: *const c_char,
) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let (config, key, value) =
            unsafe { (arg_mut(config, "config")?, arg_str(key, "key")?, arg_str(value, "value")?) };
        config.set(key, value)
    })
}

/// Sets OAuth 2.0 client credentials (`client_id` and `client_secret`); API calls
/// then carry `Authorization: Bearer <token>`. The secret is never shown in a message.
///
/// # Safety
/// As `synapse_config_set()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_config_set_client_credentials(
    config: *mut synapse_config,
    client_id: *const c_char,
    client_secret: *const c_char,
) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let (config, id, secret) = unsafe {
            (arg_mut(config, "config")?, arg_str(client_id, "client_id")?, arg_str(client_secret, "client_secret")?)
        };
        config.set("client_id", id)?;
        config.set("client_secret", secret)
    })
}

/// Sets an API key (`sk_live_...`); without client credentials, API calls then carry
/// `X-API-Key`. The key is never shown in a message.
///
/// # Safety
/// As `synapse_config_set()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_config_set_api_key(
    config: *mut synapse_config,
    api_key: *const c_char,
) -> synapse_result {
    // SAFETY: the caller's contract.
    unsafe { set_one(config, "api_key", api_key) }
}

/// Sets the API base URL (default `https://api.synapsestream.io`; plain `http` only
/// to loopback hosts). The token and JWKS endpoints derive from it.
///
/// # Safety
/// As `synapse_config_set()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_config_set_base_url(
    config: *mut synapse_config,
    url: *const c_char,
) -> synapse_result {
    // SAFETY: the caller's contract.
    unsafe { set_one(config, "base_url", url) }
}

/// Sets the default scopes, separated by spaces or commas (e.g. `"inference training"`).
///
/// # Safety
/// As `synapse_config_set()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_config_set_scopes(
    config: *mut synapse_config,
    scopes: *const c_char,
) -> synapse_result {
    // SAFETY: the caller's contract.
    unsafe { set_one(config, "scopes", scopes) }
}

/// Trusts the extra root CA certificate(s) in this PEM file (private deployments,
/// the reference server). The file is read now.
///
/// # Safety
/// As `synapse_config_set()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_config_set_ca_file(
    config: *mut synapse_config,
    path: *const c_char,
) -> synapse_result {
    // SAFETY: the caller's contract.
    unsafe { set_one(config, "ca_file", path) }
}

/// Sets the timeout of one HTTP exchange in milliseconds (default 30000; 0 is refused
/// by `synapse_client_new()`).
///
/// # Safety
/// `config` must be NULL or a live handle not used by another thread during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_config_set_timeout_ms(config: *mut synapse_config, timeout_ms: u64) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let config = unsafe { arg_mut(config, "config")? };
        config.builder = config.builder.clone().timeout(Duration::from_millis(timeout_ms));
        Ok(())
    })
}

unsafe fn set_one(config: *mut synapse_config, key: &'static str, value: *const c_char) -> synapse_result {
    ffi_result(|| {
        // SAFETY: the caller's contract.
        let (config, value) = unsafe { (arg_mut(config, "config")?, arg_str(value, key)?) };
        config.set(key, value)
    })
}

/// Releases a configuration. NULL is ignored. Clients created from it stay valid.
///
/// # Safety
/// `config` must be NULL or a handle from this library not released before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn synapse_config_free(config: *mut synapse_config) {
    ffi_value((), || {
        if !config.is_null() {
            // SAFETY: created by Box::into_raw here and released once, by the caller's contract.
            drop(unsafe { Box::from_raw(config) });
        }
    })
}

fn key_strings() -> &'static [CString] {
    static KEYS: OnceLock<Vec<CString>> = OnceLock::new();
    KEYS.get_or_init(|| CONFIG_KEYS.iter().map(|k| CString::new(*k).expect("keys hold no NUL")).collect())
}

/// The number of keys `synapse_config_set()` accepts.
#[unsafe(no_mangle)]
pub extern "C" fn synapse_config_key_count() -> usize {
    ffi_value(0, || key_strings().len())
}

/// The `index`-th key `synapse_config_set()` accepts (0-based) as a static
/// NUL-terminated string, or NULL when `index >= synapse_config_key_count()`.
#[unsafe(no_mangle)]
pub extern "C" fn synapse_config_key_at(index: usize) -> *const c_char {
    ffi_value(std::ptr::null(), || key_strings().get(index).map_or(std::ptr::null(), |k| k.as_ptr()))
}
