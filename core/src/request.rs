//! [`ApiRequest`] and [`ApiResponse`]: what [`Client::request`](crate::Client::request)
//! sends and returns, plus the mapping of API error statuses onto [`ErrorKind`].

use crate::error::{Error, ErrorKind};
use crate::retry::parse_retry_after;
use crate::token::parse_error_body;
use std::time::Duration;

/// An API call. The client adds the credentials; do not set them yourself.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// A path relative to the base URL (`/v1/models`) or an absolute URL on the configured host.
    pub url: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
    /// Scopes for this call's token (default: the client's scopes).
    pub scopes: Option<Vec<String>>,
    /// A timeout for this call (default: the client's).
    pub timeout: Option<Duration>,
}

impl ApiRequest {
    /// A request with `method` to `url`.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        ApiRequest {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            scopes: None,
            timeout: None,
        }
    }
    /// A GET request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }
    /// A POST request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }
    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// Sets a raw body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
    /// Sets a JSON body and its content type.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.header("content-type", "application/json").body(value.to_string())
    }
    /// Uses a token for these scopes.
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
}

/// A successful (status below 400) API response.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response headers (names in lower case).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, Error> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::new(ErrorKind::Protocol, format!("the response is not JSON: {e}")))
    }
    /// A header's value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The largest error body kept on an `api` error.
const MAX_ERROR_BODY: usize = 4096;

/// Maps an API error status (>= 400) to our error kinds.
pub(crate) fn map_api_error(status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Error {
    let parsed = parse_error_body(body);
    let detail = parsed.description.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
    let error = match status {
        401 => Error::new(
            ErrorKind::InvalidCredentials,
            format!("the API rejected the credentials{detail}; {}", ErrorKind::InvalidCredentials.resolution()),
        ),
        403 => {
            let scope = required_scope(headers);
            let needed = scope.as_deref().map(|s| format!(" (needs scope {s:?})")).unwrap_or_default();
            Error::new(
                ErrorKind::InsufficientScope,
                format!(
                    "the token lacks a required scope{needed}{detail}; {}",
                    ErrorKind::InsufficientScope.resolution()
                ),
            )
            .with_required_scope(scope)
        }
        418 => Error::new(
            ErrorKind::TokenExpired,
            format!("the access token has expired{detail}; {}", ErrorKind::TokenExpired.resolution()),
        ),
        429 => Error::new(
            ErrorKind::RateLimited,
            format!("the API is rate limiting this client{detail}; {}", ErrorKind::RateLimited.resolution()),
        )
        .with_retry_after(Some(parse_retry_after(headers).unwrap_or(crate::grant::DEFAULT_RATE_LIMIT_WAIT))),
        s => {
            let code = parsed.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default();
            let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY)]).into_owned();
            Error::new(ErrorKind::Api, format!("the API answered HTTP {s}{code}{detail}")).with_body(Some(text))
        }
    };
    error.with_status(status)
}

/// The `scope="..."` of a `WWW-Authenticate: Bearer error="insufficient_scope"` header.
fn required_scope(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let value = headers.get(reqwest::header::WWW_AUTHENTICATE)?.to_str().ok()?;
    let start = value.find("scope=\"")? + "scope=\"".len();
    let end = value[start..].find('"')?;
    Some(value[start..start + end].to_string())
}
