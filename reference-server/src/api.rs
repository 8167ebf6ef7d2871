//! The protected API: `GET /v1/models` (scope `inference`) and
//! `POST /v1/data/stream` (scope `training`), behind a layer that counts every
//! call, plays injected faults and enforces the body size limit.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::any;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::api_auth::authorize;
use crate::connection::ConnInfo;
use crate::faults::{self, FaultOutcome, FaultTarget};
use crate::responses::{self, Surface};
use crate::state::AppState;

/// The `/v1/` routes with their counting / fault / body-limit layer.
pub(crate) fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/models", any(models))
        .route("/v1/data/stream", any(data_stream))
        .route_layer(middleware::from_fn_with_state(state, api_layer))
}

/// Counts the call, plays faults, buffers the body (413 past the limit), and
/// records the response status.
async fn api_layer(
    State(state): State<Arc<AppState>>,
    Extension(conn): Extension<ConnInfo>,
    req: Request,
    next: Next,
) -> Response {
    state.counters.api_request();
    let plan = state.fault_plan(FaultTarget::Api).await;
    if let Some(action) = plan.action {
        match faults::render(action, Surface::Api, || {
            Bytes::from(serde_json::to_vec(&models_document()).expect("serializes"))
        }) {
            FaultOutcome::Respond(resp) => {
                state.counters.api_outcome(&responses::status_label(resp.status()));
                return resp;
            }
            FaultOutcome::Reset => {
                state.counters.api_outcome("reset");
                conn.abort();
                conn.wait_for_abort().await;
                return responses::api_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "connection reset");
            }
        }
    }
    let (parts, body) = req.into_parts();
    let resp = match responses::read_body(&parts.headers, body, state.max_body_bytes).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(e) => responses::body_error(Surface::Api, e, state.max_body_bytes),
    };
    state.counters.api_outcome(&responses::status_label(resp.status()));
    resp
}

fn method_not_allowed(allowed: &str) -> Response {
    responses::with_header(
        responses::api_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            &format!("this endpoint only accepts {allowed}"),
        ),
        header::ALLOW,
        allowed,
    )
}

/// The model list.
fn models_document() -> Value {
    let model = |id: &str, context: u32, created: u64| {
        json!({
            "id": id,
            "object": "model",
            "created": created,
            "owned_by": "synapsestream",
            "context_length": context,
        })
    };
    json!({
        "object": "list",
        "data": [
            model("synapse-nano-1", 8192, 1_735_689_600),
            model("synapse-base-2", 32768, 1_743_465_600),
            model("synapse-pro-3", 131072, 1_751_328_000),
        ],
    })
}

/// `GET /v1/models`.
async fn models(State(state): State<Arc<AppState>>, Extension(conn): Extension<ConnInfo>, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return method_not_allowed("GET");
    }
    match authorize(&state, req.headers(), &conn, "inference") {
        Ok(_) => responses::json(StatusCode::OK, &models_document()),
        Err(resp) => resp,
    }
}

/// `POST /v1/data/stream`: body `{"stream_id": non-empty string, "data": array}`,
/// answered 202 `{"stream_id", "accepted": <data length>}`.
async fn data_stream(
    State(state): State<Arc<AppState>>,
    Extension(conn): Extension<ConnInfo>,
    req: Request,
) -> Response {
    if req.method() != Method::POST {
        return method_not_allowed("POST");
    }
    let (parts, body) = req.into_parts();
    if let Err(resp) = authorize(&state, &parts.headers, &conn, "training") {
        return resp;
    }
    // Already buffered and size-checked by the layer.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => {
            return responses::body_error(Surface::Api, responses::BodyError::Broken, 0);
        }
    };
    if !responses::content_type_is(&parts.headers, "application/json") {
        return bad_request("Content-Type must be application/json");
    }
    match validate_stream(&bytes) {
        Ok((stream_id, accepted)) => {
            responses::json(StatusCode::ACCEPTED, &json!({ "stream_id": stream_id, "accepted": accepted }))
        }
        Err(msg) => bad_request(&msg),
    }
}

fn bad_request(message: &str) -> Response {
    responses::api_error(StatusCode::BAD_REQUEST, "invalid_request", message)
}

/// Checks a data-stream body; returns the stream id and the number of items.
fn validate_stream(body: &[u8]) -> Result<(String, usize), String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("body is not valid JSON: {e}"))?;
    let Value::Object(obj) = value else {
        return Err("body must be a JSON object".into());
    };
    let stream_id = match obj.get("stream_id") {
        None => return Err("stream_id is required".into()),
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) => return Err("stream_id must not be empty".into()),
        Some(_) => return Err("stream_id must be a string".into()),
    };
    let accepted = match obj.get("data") {
        None => return Err("data is required".into()),
        Some(Value::Array(items)) => items.len(),
        Some(_) => return Err("data must be an array".into()),
    };
    Ok((stream_id, accepted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_validation() {
        assert_eq!(validate_stream(br#"{"stream_id":"nn-435X","data":[1,2,3]}"#).unwrap(), ("nn-435X".to_owned(), 3));
        for bad in [
            &b"not json"[..],
            b"[]",
            br#"{"data":[]}"#,
            br#"{"stream_id":"","data":[]}"#,
            br#"{"stream_id":7,"data":[]}"#,
            br#"{"stream_id":"a"}"#,
            br#"{"stream_id":"a","data":{}}"#,
        ] {
            assert!(validate_stream(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
