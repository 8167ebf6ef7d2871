//! [`AccessToken`]: the Python view of a core token, made once per token.

use pyo3::prelude::*;
use pyo3::types::{PyDateTime, PyString, PyTuple, PyTzInfo};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use synapse_auth_core::Token;

/// An OAuth 2.0 access token.
///
/// `token` is the bearer value; `authorization` is the ready-made
/// `Authorization` header value. `repr()` and `str()` never show either.
#[pyclass(frozen, module = "synapsestream_auth", name = "AccessToken")]
pub struct AccessToken {
    /// The access token itself (a secret: keep it out of logs).
    #[pyo3(get)]
    token: Py<PyString>,
    /// The token type, `"Bearer"`.
    #[pyo3(get)]
    token_type: Py<PyString>,
    /// The scopes the server granted.
    #[pyo3(get)]
    scopes: Py<PyTuple>,
    /// When the client stops using the token (an aware UTC datetime).
    #[pyo3(get)]
    expires_at: Py<PyDateTime>,
    /// `"Bearer <token>"`, for an `Authorization` header.
    #[pyo3(get)]
    authorization: Py<PyString>,
    expires_at_unix: f64,
}

fn unix(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

#[pymethods]
impl AccessToken {
    /// Seconds until `expires_at` (0.0 once past).
    #[getter]
    fn expires_in(&self) -> f64 {
        (self.expires_at_unix - unix(SystemTime::now())).max(0.0)
    }

    /// `expires_at` as seconds since the Unix epoch.
    #[getter]
    fn expires_at_timestamp(&self) -> f64 {
        self.expires_at_unix
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let scopes = self.scopes.bind(py).repr()?;
        let expires = self.expires_at.bind(py).call_method0("isoformat")?;
        Ok(format!(
            "AccessToken(token='***', token_type={}, scopes={}, expires_at='{}')",
            self.token_type.bind(py).repr()?,
            scopes,
            expires
        ))
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        self.__repr__(py)
    }
}

/// The Python object for `token`: made on first use and kept in the token's
/// extension slot, so every later call hands back the very same object.
#[inline]
pub(crate) fn py_token(py: Python<'_>, token: &Arc<Token>) -> PyResult<Py<AccessToken>> {
    if let Some(obj) = token.extension().get().and_then(|b| b.downcast_ref::<Py<AccessToken>>()) {
        return Ok(obj.clone_ref(py));
    }
    make(py, token)
}

#[cold]
fn make(py: Python<'_>, token: &Arc<Token>) -> PyResult<Py<AccessToken>> {
    let expires_at_unix = unix(token.expires_at());
    let utc = PyTzInfo::utc(py)?;
    let obj = Py::new(
        py,
        AccessToken {
            token: PyString::new(py, token.secret()).unbind(),
            token_type: PyString::new(py, token.token_type()).unbind(),
            scopes: PyTuple::new(py, token.scopes())?.unbind(),
            expires_at: PyDateTime::from_timestamp(py, expires_at_unix, Some(&utc))?.unbind(),
            authorization: PyString::new(py, &token.authorization_header()).unbind(),
            expires_at_unix,
        },
    )?;
    // Under the GIL no other Python thread can race us; the slot is only ever set here.
    let stored = token.extension().get_or_init(|| Box::new(obj.clone_ref(py)));
    Ok(stored.downcast_ref::<Py<AccessToken>>().map(|o| o.clone_ref(py)).unwrap_or(obj))
}
