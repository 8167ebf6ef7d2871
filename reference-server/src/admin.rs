//! The `/admin/` HTTP API (see the crate docs for the reference table). Every
//! route requires `X-Admin-Token`; each one is a thin wrapper over [`Control`].
//! Admin requests are never counted and never faulted.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::control::Control;
use crate::faults::FaultSpec;
use crate::responses::{self, Surface};
use crate::state::AppState;

/// The header carrying the admin token.
pub(crate) const ADMIN_TOKEN_HEADER: HeaderName = HeaderName::from_static("x-admin-token");

/// The admin routes, behind the token check.
pub(crate) fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/counters", get(counters))
        .route("/admin/reset", post(reset))
        .route("/admin/faults", get(list_faults).post(add_faults).delete(clear_faults))
        .route("/admin/rotate-keys", post(rotate_keys))
        .route("/admin/keys", get(keys))
        .route("/admin/expire-tokens", post(expire_tokens))
        .route("/admin/config", get(get_config).post(set_config))
        .route("/admin/refresh-families", get(refresh_families))
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}

async fn require_admin(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let ok = req.headers().get(ADMIN_TOKEN_HEADER).and_then(|v| v.to_str().ok()).is_some_and(|t| state.is_admin(t));
    if ok {
        next.run(req).await
    } else {
        responses::api_error(StatusCode::UNAUTHORIZED, "invalid_credentials", "missing or wrong X-Admin-Token header")
    }
}

fn control(state: &Arc<AppState>) -> Control {
    Control::new(state.clone())
}

/// Reads a JSON body into `T`; an empty body counts as `{}`.
async fn json_body<T: DeserializeOwned>(state: &AppState, req: Request) -> Result<T, Response> {
    let (parts, body) = req.into_parts();
    let bytes = responses::read_body(&parts.headers, body, state.max_body_bytes)
        .await
        .map_err(|e| responses::body_error(Surface::Api, e, state.max_body_bytes))?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
    serde_json::from_slice(bytes).map_err(|e| {
        responses::api_error(StatusCode::BAD_REQUEST, "invalid_request", &format!("invalid JSON body: {e}"))
    })
}

async fn counters(State(state): State<Arc<AppState>>) -> Response {
    responses::json(StatusCode::OK, &state.counters.snapshot())
}

async fn reset(State(state): State<Arc<AppState>>) -> Response {
    state.reset();
    responses::json(StatusCode::OK, &json!({ "reset": true }))
}

async fn list_faults(State(state): State<Arc<AppState>>) -> Response {
    responses::json(StatusCode::OK, &json!({ "faults": state.faults.active() }))
}

async fn add_faults(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let spec: FaultSpec = match json_body(&state, req).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    match state.faults.add(spec) {
        Ok(()) => responses::json(StatusCode::OK, &json!({ "faults": state.faults.active() })),
        Err(msg) => responses::api_error(StatusCode::BAD_REQUEST, "invalid_request", &msg),
    }
}

async fn clear_faults(State(state): State<Arc<AppState>>) -> Response {
    state.faults.clear();
    responses::json(StatusCode::OK, &json!({ "faults": [] }))
}

async fn rotate_keys(State(state): State<Arc<AppState>>) -> Response {
    let ctl = control(&state);
    match tokio::task::spawn_blocking(move || ctl.rotate_keys()).await {
        Ok(Ok(kid)) => {
            responses::json(StatusCode::OK, &json!({ "kid": kid, "previous_kid": control(&state).previous_kid() }))
        }
        _ => responses::api_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "key rotation failed"),
    }
}

async fn keys(State(state): State<Arc<AppState>>) -> Response {
    let ctl = control(&state);
    responses::json(StatusCode::OK, &json!({ "kid": ctl.current_kid(), "previous_kid": ctl.previous_kid() }))
}

async fn expire_tokens(State(state): State<Arc<AppState>>) -> Response {
    let n = state.tokens.expire_all();
    responses::json(StatusCode::OK, &json!({ "expired_tokens": n }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigChange {
    token_ttl_secs: Option<u64>,
}

fn config_document(state: &AppState) -> Response {
    responses::json(StatusCode::OK, &json!({ "token_ttl_secs": state.tokens.ttl().as_secs() }))
}

async fn get_config(State(state): State<Arc<AppState>>) -> Response {
    config_document(&state)
}

async fn set_config(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let change: ConfigChange = match json_body(&state, req).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    if let Some(secs) = change.token_ttl_secs {
        state.tokens.set_ttl(Duration::from_secs(secs));
    }
    config_document(&state)
}

async fn refresh_families(State(state): State<Arc<AppState>>) -> Response {
    responses::json(StatusCode::OK, &json!({ "families": state.refresh.families() }))
}
