//! [`Response`]: a successful API response (core turns statuses >= 400 into errors).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString};
use synapse_auth_core::ApiResponse;

static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `json.loads`, imported once.
pub(crate) fn json_loads<'py>(py: Python<'py>, text: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let loads = JSON_LOADS
        .get_or_try_init(py, || -> PyResult<Py<PyAny>> { Ok(py.import("json")?.getattr("loads")?.unbind()) })?;
    loads.bind(py).call1((PyBytes::new(py, text),))
}

/// The response to `Client.request()`: `status`, `headers` (lower-case names),
/// `content` (bytes), `text` and `json()`.
#[pyclass(frozen, module = "synapsestream_auth", name = "Response")]
pub struct Response {
    /// The HTTP status code.
    #[pyo3(get)]
    status: u16,
    /// The response headers; names in lower case, repeated headers joined with ", ".
    #[pyo3(get)]
    headers: Py<PyDict>,
    /// The body.
    #[pyo3(get)]
    content: Py<PyBytes>,
}

impl Response {
    pub(crate) fn from_core(py: Python<'_>, response: ApiResponse) -> PyResult<Response> {
        let headers = PyDict::new(py);
        for (name, value) in &response.headers {
            match headers.get_item(name)? {
                Some(prev) => {
                    let joined = format!("{}, {value}", prev.cast::<PyString>()?.to_cow()?);
                    headers.set_item(name, joined)?;
                }
                None => headers.set_item(name, value)?,
            }
        }
        Ok(Response {
            status: response.status,
            headers: headers.unbind(),
            content: PyBytes::new(py, &response.body).unbind(),
        })
    }
}

#[pymethods]
impl Response {
    /// The body decoded as UTF-8 (invalid bytes replaced).
    #[getter]
    fn text(&self, py: Python<'_>) -> String {
        String::from_utf8_lossy(self.content.bind(py).as_bytes()).into_owned()
    }

    /// Always true: error statuses raise instead of returning a response.
    #[getter]
    fn ok(&self) -> bool {
        self.status < 400
    }

    /// The body parsed as JSON.
    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_loads(py, self.content.bind(py).as_bytes())
    }

    /// A header's value by case-insensitive name, or `default`.
    #[pyo3(signature = (name, default=None))]
    fn header(&self, py: Python<'_>, name: &str, default: Option<Py<PyAny>>) -> PyResult<Option<Py<PyAny>>> {
        match self.headers.bind(py).get_item(name.to_ascii_lowercase())? {
            Some(v) => Ok(Some(v.unbind())),
            None => Ok(default),
        }
    }

    fn __repr__(&self) -> String {
        format!("<Response [{}]>", self.status)
    }
}
