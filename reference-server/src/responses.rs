//! HTTP plumbing shared by the endpoints: JSON responses in the two error
//! styles, header helpers, and size-limited body reading.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;
use serde_json::json;

/// Which error style an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surface {
    /// The token endpoint: RFC 6749 §5.2 `{"error","error_description"}`, no-store.
    OAuth,
    /// Everything else: `{"error","message"}`.
    Api,
}

/// A response with a JSON body.
pub(crate) fn json_bytes(status: StatusCode, body: Bytes) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// A response with `value` serialized as JSON.
pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Response {
    let body = serde_json::to_vec(value).expect("response serializes");
    json_bytes(status, Bytes::from(body))
}

/// `{"error": code, "message": message}`.
pub(crate) fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    json(status, &json!({ "error": code, "message": message }))
}

/// `{"error": code, "error_description": description}` with `Cache-Control: no-store`
/// and `Pragma: no-cache`.
pub(crate) fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    no_store(json(status, &json!({ "error": code, "error_description": description })))
}

/// An error in the style of `surface`.
pub(crate) fn error(surface: Surface, status: StatusCode, code: &str, message: &str) -> Response {
    match surface {
        Surface::OAuth => oauth_error(status, code, message),
        Surface::Api => api_error(status, code, message),
    }
}

/// 429 `rate_limited` with `Retry-After`.
pub(crate) fn rate_limited(surface: Surface, retry_after: u64) -> Response {
    let msg = format!("rate limit exceeded; retry after {retry_after} s");
    with_header(
        error(surface, StatusCode::TOO_MANY_REQUESTS, "rate_limited", &msg),
        header::RETRY_AFTER,
        &retry_after.to_string(),
    )
}

/// 413 `payload_too_large`.
pub(crate) fn too_large(surface: Surface, max: usize) -> Response {
    let msg = format!("request body exceeds {max} bytes");
    error(surface, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", &msg)
}

/// Adds `Cache-Control: no-store` and `Pragma: no-cache`.
pub(crate) fn no_store(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// Sets one header (values here are always valid header text).
pub(crate) fn with_header(mut resp: Response, name: HeaderName, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
    resp
}

/// The counter label of a status: `"200"`, `"404"`, ...
pub(crate) fn status_label(status: StatusCode) -> String {
    status.as_u16().to_string()
}

/// Whether the `Content-Type` media type (parameters ignored) is `media`.
pub(crate) fn content_type_is(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .is_some_and(|m| m.eq_ignore_ascii_case(media))
}

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Larger than the limit (by `Content-Length` or as it arrived).
    TooLarge,
    /// The client stopped sending or the stream broke.
    Broken,
}

/// Reads a whole body of at most `max` bytes.
pub(crate) async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, BodyError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(BodyError::TooLarge);
    }
    axum::body::to_bytes(body, max).await.map_err(|e| {
        if e.into_inner().is::<http_body_util::LengthLimitError>() { BodyError::TooLarge } else { BodyError::Broken }
    })
}

/// The response for a body that could not be read.
pub(crate) fn body_error(surface: Surface, err: BodyError, max: usize) -> Response {
    match err {
        BodyError::TooLarge => too_large(surface, max),
        BodyError::Broken => {
            error(surface, StatusCode::BAD_REQUEST, "invalid_request", "could not read the request body")
        }
    }
}
