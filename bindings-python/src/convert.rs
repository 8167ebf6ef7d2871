//! Python values -> core configuration strings and types. Never echoes a value
//! in an error message (it may be a secret): only keys and type names.

use crate::errors::config_err;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};
use std::time::Duration;
use synapse_auth_core::split_scopes;

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".to_string())
}

/// A configuration value as the string core's `ConfigBuilder::set` parses:
/// str as is, bool as true/false, numbers via str(), os.PathLike via
/// os.fspath(), and a list/tuple/set of those joined with spaces.
pub(crate) fn option_value(py: Python<'_>, key: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.to_string());
    }
    if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        return Ok(value.str()?.to_cow()?.into_owned());
    }
    if value.hasattr("__fspath__")? {
        let path = py.import("os")?.getattr("fspath")?.call1((value,))?;
        if let Ok(s) = path.cast::<PyString>() {
            return Ok(s.to_cow()?.into_owned());
        }
    }
    if !value.is_instance_of::<PyBytes>()
        && !value.is_instance_of::<PyDict>()
        && !value.is_none()
        && let Ok(items) = value.try_iter()
    {
        let mut parts = Vec::new();
        for item in items {
            let item = item?;
            if item.is_instance_of::<PyString>() || item.is_instance_of::<PyInt>() || item.is_instance_of::<PyFloat>() {
                parts.push(option_value(py, key, &item)?);
            } else {
                return Err(type_error(key, &item));
            }
        }
        return Ok(parts.join(" "));
    }
    Err(type_error(key, value))
}

fn type_error(key: &str, value: &Bound<'_, PyAny>) -> PyErr {
    pyo3::exceptions::PyTypeError::new_err(format!(
        "synapsestream_auth: option {key:?} cannot be a {}; pass a str, number, bool, path or a list of those",
        type_name(value)
    ))
}

/// Scopes from a str ("inference training", commas allowed) or an iterable of str.
pub(crate) fn scopes(value: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(split_scopes(&s.to_cow()?));
    }
    let mut out = Vec::new();
    for item in value.try_iter()? {
        let item = item?;
        match item.cast::<PyString>() {
            Ok(s) => out.push(s.to_cow()?.into_owned()),
            Err(_) => {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "synapsestream_auth: scopes must be strings, got a {}",
                    type_name(&item)
                )));
            }
        }
    }
    Ok(out)
}

/// A timeout in seconds as a Duration, or a `config` error naming `field`.
pub(crate) fn seconds(py: Python<'_>, field: &'static str, secs: f64) -> PyResult<Duration> {
    if !secs.is_finite() || secs <= 0.0 {
        return Err(config_err(py, field, "must be a positive number of seconds"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| config_err(py, field, "is out of range"))
}
