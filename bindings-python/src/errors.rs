//! Core errors become instances of the exception classes defined in
//! `synapsestream_auth/errors.py`, looked up by core's stable string code.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};
use synapse_auth_core::Error;

/// `synapsestream_auth.errors._BY_CODE`: code -> exception class.
static CLASSES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
/// `synapsestream_auth.errors.SynapseAuthError`, for codes a newer core may add.
static BASE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The Python exception for a core error (never holds a secret: core's messages don't).
pub(crate) fn core_err(py: Python<'_>, error: &Error) -> PyErr {
    match instance(py, error) {
        Ok(value) => PyErr::from_value(value),
        // The errors module could not be imported (a broken install): still raise something useful.
        Err(_) => PyRuntimeError::new_err(error.to_string()),
    }
}

/// A `config` error raised by the binding itself (bad argument types, closed client).
pub(crate) fn config_err(py: Python<'_>, field: &'static str, message: impl std::fmt::Display) -> PyErr {
    core_err(py, &Error::config(field, message))
}

fn instance<'py>(py: Python<'py>, error: &Error) -> PyResult<Bound<'py, PyAny>> {
    let classes = CLASSES
        .get_or_try_init(py, || -> PyResult<Py<PyDict>> {
            Ok(py.import("synapsestream_auth.errors")?.getattr("_BY_CODE")?.cast_into::<PyDict>()?.unbind())
        })?
        .bind(py);
    let class = match classes.get_item(error.code())? {
        Some(class) => class,
        None => BASE.import(py, "synapsestream_auth.errors", "SynapseAuthError")?.clone().into_any(),
    };
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", error.code())?;
    kwargs.set_item("message", error.message())?;
    kwargs.set_item("status", error.status())?;
    kwargs.set_item("retry_after", error.retry_after().map(|d| d.as_secs_f64()))?;
    kwargs.set_item("required_scope", error.required_scope())?;
    kwargs.set_item("field", error.field())?;
    kwargs.set_item("body", error.body())?;
    class.call((error.to_string(),), Some(&kwargs))
}
