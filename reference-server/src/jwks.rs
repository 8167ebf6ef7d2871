//! `GET /.well-known/jwks.json`: the current and previous public keys, with
//! `Cache-Control: public, max-age=300`, a strong `ETag`, and 304 for a
//! matching `If-None-Match`.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use crate::connection::ConnInfo;
use crate::faults::{self, FaultOutcome, FaultTarget};
use crate::responses::{self, Surface};
use crate::state::AppState;

/// The `Cache-Control` of JWKS responses.
const CACHE_CONTROL: &str = "public, max-age=300";

/// Whether an `If-None-Match` header matches `etag` (weak comparison, `*`, lists).
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let etag = strip(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|candidate| candidate.trim() == "*" || strip(candidate) == etag)
}

/// The handler for every method on the JWKS path.
pub(crate) async fn jwks(
    State(state): State<Arc<AppState>>,
    Extension(conn): Extension<ConnInfo>,
    req: Request,
) -> Response {
    state.counters.jwks_request();
    let plan = state.fault_plan(FaultTarget::Jwks).await;
    if let Some(action) = plan.action {
        match faults::render(action, Surface::Api, || state.keys.jwks().0) {
            FaultOutcome::Respond(resp) => return resp,
            FaultOutcome::Reset => {
                conn.abort();
                conn.wait_for_abort().await;
                return responses::api_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "connection reset");
            }
        }
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return responses::with_header(
            responses::api_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "the JWKS endpoint only accepts GET",
            ),
            header::ALLOW,
            "GET, HEAD",
        );
    }
    let (body, etag) = state.keys.jwks();
    let mut resp = if none_match(req.headers(), &etag) {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        responses::json_bytes(StatusCode::OK, body)
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_forms() {
        let mut h = HeaderMap::new();
        assert!(!none_match(&h, "\"abc\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"x\", W/\"abc\""));
        assert!(none_match(&h, "\"abc\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"abcd\""));
        assert!(!none_match(&h, "\"abc\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(none_match(&h, "\"abc\""));
    }
}
