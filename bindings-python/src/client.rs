//! [`Client`]: the native base class of `synapsestream_auth.Client` and the
//! engine behind `synapsestream_auth.AsyncClient`.

use crate::asyncio::{self, Ready};
use crate::convert;
use crate::errors::{config_err, core_err};
use crate::response::{Response, json_loads};
use crate::token::{AccessToken, py_token};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use synapse_auth_core::{ApiRequest, AuthMethod, Claims, ConfigBuilder, Stats};

/// A SynapseStream client: cached, auto-refreshed tokens, authenticated API
/// calls and JWT validation. Thread-safe; share one per process.
#[pyclass(frozen, subclass, module = "synapsestream_auth._native", name = "Client")]
pub struct Client {
    inner: synapse_auth_core::Client,
    closed: AtomicBool,
}

type Headers = Vec<(String, String)>;

impl Client {
    #[inline]
    fn check_open(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(config_err(py, "client", "the client is closed"));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn api_request(
        &self,
        py: Python<'_>,
        method: String,
        path: String,
        body: Option<&Bound<'_, PyBytes>>,
        headers: Option<Headers>,
        scopes: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<ApiRequest> {
        let mut request = ApiRequest::new(method, path);
        request.headers = headers.unwrap_or_default();
        request.body = body.map(|b| b.as_bytes().to_vec());
        if let Some(scopes) = scopes {
            request.scopes = Some(convert::scopes(scopes)?);
        }
        if let Some(secs) = timeout {
            request.timeout = Some(convert::seconds(py, "timeout", secs)?);
        }
        Ok(request)
    }
}

fn token_obj(py: Python<'_>, token: std::sync::Arc<synapse_auth_core::Token>) -> PyResult<Py<PyAny>> {
    Ok(py_token(py, &token)?.into_any())
}

fn response_obj(py: Python<'_>, response: synapse_auth_core::ApiResponse) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, Response::from_core(py, response)?)?.into_any())
}

fn claims_obj(py: Python<'_>, claims: Claims) -> PyResult<Py<PyAny>> {
    Ok(json_loads(py, claims.to_json().as_bytes())?.unbind())
}

fn stats_dict<'py>(py: Python<'py>, s: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("token_requests", s.token_requests)?;
    d.set_item("refresh_grants", s.refresh_grants)?;
    d.set_item("background_refreshes", s.background_refreshes)?;
    d.set_item("cache_hits", s.cache_hits)?;
    d.set_item("cache_misses", s.cache_misses)?;
    d.set_item("retries", s.retries)?;
    d.set_item("failures", s.failures)?;
    d.set_item("api_requests", s.api_requests)?;
    d.set_item("jwks_fetches", s.jwks_fetches)?;
    d.set_item("circuit_state", s.circuit_state.as_str())?;
    d.set_item("consecutive_auth_failures", s.consecutive_auth_failures)?;
    d.set_item("circuit_opened", s.circuit_opened)?;
    Ok(d)
}

#[pymethods]
impl Client {
    /// Builds a client. Typed keyword arguments, plus any core configuration key
    /// (see `CONFIG_KEYS`) as a keyword option. `_from_env` starts from the
    /// `SYNAPSE_*` environment variables (use `Client.from_env()`).
    #[new]
    #[pyo3(signature = (
        *, client_id=None, client_secret=None, scopes=None, base_url=None, api_key=None,
        ca_file=None, timeout=None, _from_env=false, **options
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        client_id: Option<String>,
        client_secret: Option<String>,
        scopes: Option<Bound<'_, PyAny>>,
        base_url: Option<String>,
        api_key: Option<String>,
        ca_file: Option<PathBuf>,
        timeout: Option<f64>,
        _from_env: bool,
        options: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut builder = if _from_env { ConfigBuilder::from_env() } else { ConfigBuilder::default() };
        let set =
            |builder: ConfigBuilder, key: &str, value: &str| builder.set(key, value).map_err(|e| core_err(py, &e));
        if let Some(v) = client_id {
            builder = builder.client_id(v);
        }
        if let Some(v) = client_secret {
            builder = builder.client_secret(v);
        }
        if let Some(v) = &scopes {
            builder = builder.scopes(convert::scopes(v)?);
        }
        if let Some(v) = base_url {
            builder = builder.base_url(v);
        }
        if let Some(v) = api_key {
            builder = builder.api_key(v);
        }
        if let Some(path) = ca_file {
            let path = path.to_str().ok_or_else(|| config_err(py, "ca_file", "the path is not valid UTF-8"))?;
            builder = set(builder, "ca_file", path)?;
        }
        if let Some(secs) = timeout {
            builder = builder.timeout(convert::seconds(py, "timeout", secs)?);
        }
        if let Some(options) = options {
            for (key, value) in options.iter() {
                let key = key.cast::<PyString>()?.to_cow()?.into_owned();
                if value.is_none() {
                    continue;
                }
                let value = convert::option_value(py, &key, &value)?;
                builder = set(builder, &key, &value)?;
            }
        }
        let config = builder.build().map_err(|e| core_err(py, &e))?;
        // Building the HTTP client parses the root store: no GIL needed for that.
        let inner = py.detach(move || synapse_auth_core::Client::new(config)).map_err(|e| core_err(py, &e))?;
        Ok(Client { inner, closed: AtomicBool::new(false) })
    }

    /// A valid access token for the default scopes (`AccessToken`).
    ///
    /// A cache hit keeps the GIL, never touches the async runtime and returns the
    /// same object for as long as the token is current. A miss releases the GIL
    /// while one shared token request (for all threads and tasks) runs.
    fn get_token(&self, py: Python<'_>) -> PyResult<Py<AccessToken>> {
        self.check_open(py)?;
        if let Some(token) = self.inner.cached_token() {
            return py_token(py, &token);
        }
        let client = self.inner.clone();
        let token = asyncio::wait(py, async move { client.get_token().await })?;
        py_token(py, &token)
    }

    /// A valid access token for `scopes` (cached separately per scope set).
    fn get_token_for(&self, py: Python<'_>, scopes: &Bound<'_, PyAny>) -> PyResult<Py<AccessToken>> {
        self.check_open(py)?;
        let scopes = convert::scopes(scopes)?;
        let client = self.inner.clone();
        let token = asyncio::wait(py, async move { client.get_token_for(&scopes).await })?;
        py_token(py, &token)
    }

    /// Awaitable twin of `get_token()`; a cache hit is an already-complete awaitable.
    fn get_token_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.check_open(py)?;
        if let Some(token) = self.inner.cached_token() {
            let value = py_token(py, &token)?.into_any();
            return Ok(Bound::new(py, Ready::new(value))?.into_any());
        }
        let client = self.inner.clone();
        asyncio::spawn(py, async move { client.get_token().await }, token_obj)
    }

    /// Awaitable twin of `get_token_for()`.
    fn get_token_for_async<'py>(&self, py: Python<'py>, scopes: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.check_open(py)?;
        let scopes = convert::scopes(scopes)?;
        let client = self.inner.clone();
        asyncio::spawn(py, async move { client.get_token_for(&scopes).await }, token_obj)
    }

    /// Sends an authenticated API call (use `Client.request`, which encodes json/data).
    #[pyo3(signature = (method, path, body=None, headers=None, scopes=None, timeout=None))]
    #[allow(clippy::too_many_arguments)]
    fn _request(
        &self,
        py: Python<'_>,
        method: String,
        path: String,
        body: Option<Bound<'_, PyBytes>>,
        headers: Option<Headers>,
        scopes: Option<Bound<'_, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Response> {
        self.check_open(py)?;
        let request = self.api_request(py, method, path, body.as_ref(), headers, scopes.as_ref(), timeout)?;
        let client = self.inner.clone();
        let response = asyncio::wait(py, async move { client.request(request).await })?;
        Response::from_core(py, response)
    }

    /// Awaitable twin of `_request()`.
    #[pyo3(signature = (method, path, body=None, headers=None, scopes=None, timeout=None))]
    #[allow(clippy::too_many_arguments)]
    fn _request_async<'py>(
        &self,
        py: Python<'py>,
        method: String,
        path: String,
        body: Option<Bound<'py, PyBytes>>,
        headers: Option<Headers>,
        scopes: Option<Bound<'py, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.check_open(py)?;
        let request = self.api_request(py, method, path, body.as_ref(), headers, scopes.as_ref(), timeout)?;
        let client = self.inner.clone();
        asyncio::spawn(py, async move { client.request(request).await }, response_obj)
    }

    /// Verifies a JWT against the provider's JWKS; returns its claims as a dict.
    fn verify(&self, py: Python<'_>, jwt: String) -> PyResult<Py<PyAny>> {
        self.check_open(py)?;
        let client = self.inner.clone();
        let claims = asyncio::wait(py, async move { client.verify(&jwt).await })?;
        claims_obj(py, claims)
    }

    /// Awaitable twin of `verify()`.
    fn verify_async<'py>(&self, py: Python<'py>, jwt: String) -> PyResult<Bound<'py, PyAny>> {
        self.check_open(py)?;
        let client = self.inner.clone();
        asyncio::spawn(py, async move { client.verify(&jwt).await }, claims_obj)
    }

    /// Forgets every cached token: the next call fetches a new one.
    fn invalidate(&self) {
        self.inner.invalidate();
    }

    /// The client's counters and circuit-breaker state, as a dict.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.inner.stats())
    }

    /// Replaces the client secret on the live client (credential rotation).
    fn set_client_secret(&self, secret: String) {
        self.inner.set_client_secret(secret);
    }

    /// Replaces the API key on the live client (credential rotation).
    fn set_api_key(&self, api_key: String) {
        self.inner.set_api_key(api_key);
    }

    /// The live API key, for the requests/httpx adapters (None without one).
    fn _api_key(&self) -> Option<String> {
        self.inner.api_key().map(|k| k.expose().to_string())
    }

    /// Forgets cached tokens and refuses further calls. Idempotent.
    fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.inner.invalidate();
    }

    /// True once `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// The configured client id (None for API-key clients).
    #[getter]
    fn client_id(&self) -> Option<String> {
        self.inner.config().client_id().map(str::to_string)
    }

    /// The default scopes.
    #[getter]
    fn scopes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.config().scopes())
    }

    /// The API base URL.
    #[getter]
    fn base_url(&self) -> String {
        self.inner.config().base_url().to_string()
    }

    /// The token endpoint.
    #[getter]
    fn token_url(&self) -> String {
        self.inner.config().token_url().to_string()
    }

    /// The JWKS endpoint.
    #[getter]
    fn jwks_url(&self) -> String {
        self.inner.config().jwks_url().to_string()
    }

    /// How API calls authenticate: `"oauth"` or `"api_key"`.
    #[getter]
    fn auth_method(&self) -> &'static str {
        match self.inner.config().auth_method() {
            AuthMethod::OAuth => "oauth",
            AuthMethod::ApiKey => "api_key",
        }
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        let this = slf.get();
        let config = this.inner.config();
        let repr = |s: &str| -> PyResult<String> { Ok(PyString::new(py, s).repr()?.to_cow()?.into_owned()) };
        let client_id = match config.client_id() {
            Some(id) => repr(id)?,
            None => "None".to_string(),
        };
        Ok(format!(
            "<{} client_id={client_id} auth_method={} scopes={} base_url={}{}>",
            slf.get_type().qualname()?,
            repr(this.auth_method())?,
            this.scopes(py)?.repr()?,
            repr(config.base_url().as_str())?,
            if this.closed() { " closed" } else { "" },
        ))
    }
}
