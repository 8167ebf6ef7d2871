//! `POST /oauth2/token`: the `client_credentials` and `refresh_token` grants
//! (RFC 6749 §4.4, §6), client authentication in the body or with HTTP Basic
//! (§2.3.1), errors per §5.2, refresh-token rotation (RFC 9700 §4.14.2).
//!
//! Order of checks: method, `Content-Type`, form syntax (no repeated
//! parameter), client credential extraction (both Basic and body secret:
//! `invalid_request`), `grant_type` present, per-client rate limit, client
//! authentication (`invalid_client`), grant type supported, grant parameters.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Serialize;

use crate::config::ClientConfig;
use crate::connection::ConnInfo;
use crate::faults::{self, FaultOutcome, FaultTarget};
use crate::refresh::RefreshError;
use crate::responses::{self, Surface};
use crate::scope;
use crate::state::{AppState, secure_eq};

/// `WWW-Authenticate` challenge sent when Basic authentication failed.
const BASIC_CHALLENGE: &str = "Basic realm=\"synapsestream\"";

/// The successful token response.
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

/// A token-endpoint error (RFC 6749 §5.2).
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
    basic_challenge: bool,
    retry_after: Option<u64>,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        OAuthError { status, code, description: description.into(), basic_challenge: false, retry_after: None }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn invalid_client(description: impl Into<String>, basic: bool) -> Self {
        OAuthError { basic_challenge: basic, ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description) }
    }

    fn rate_limited(retry_after: u64) -> Self {
        OAuthError {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("rate limit exceeded; retry after {retry_after} s"),
            )
        }
    }

    fn into_response(self) -> Response {
        let mut resp = responses::oauth_error(self.status, self.code, &self.description);
        if self.basic_challenge {
            resp = responses::with_header(resp, header::WWW_AUTHENTICATE, BASIC_CHALLENGE);
        }
        if let Some(secs) = self.retry_after {
            resp = responses::with_header(resp, header::RETRY_AFTER, &secs.to_string());
        }
        resp
    }
}

/// Parses a form body leniently (for the counters): first value of each name.
fn lenient_form(body: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// Parses a form body strictly: a repeated parameter is an error; parameters
/// with an empty value are treated as omitted (RFC 6749 §3.1).
fn strict_form(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut out = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for (k, v) in form_urlencoded::parse(body) {
        if !seen.insert(k.clone()) {
            return Err(OAuthError::invalid_request(format!("parameter {k:?} is repeated")));
        }
        if !v.is_empty() {
            out.insert(k.into_owned(), v.into_owned());
        }
    }
    Ok(out)
}

/// Decodes one `application/x-www-form-urlencoded` component of Basic credentials.
fn form_decode(s: &str) -> Option<String> {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus).decode_utf8().ok().map(|c| c.into_owned())
}

/// Credentials from an `Authorization` header: `Ok(None)` without the header.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let bad = |msg: &str| OAuthError::invalid_client(msg, true);
    if values.next().is_some() {
        return Err(OAuthError::invalid_request("more than one Authorization header"));
    }
    let value = value.to_str().map_err(|_| bad("malformed Authorization header"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad("unsupported client authentication scheme; use Basic"));
    }
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| bad("malformed Basic credentials"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad("malformed Basic credentials"))?;
    let (id, secret) = decoded.split_once(':').ok_or_else(|| bad("malformed Basic credentials"))?;
    let id = form_decode(id).ok_or_else(|| bad("malformed Basic credentials"))?;
    let secret = form_decode(secret).ok_or_else(|| bad("malformed Basic credentials"))?;
    Ok(Some((id, secret)))
}

/// The client id a request names, for the counters (no validation).
fn presented_client_id(headers: &HeaderMap, form: &HashMap<String, String>) -> Option<String> {
    match basic_credentials(headers) {
        Ok(Some((id, _))) => Some(id),
        _ => form.get("client_id").filter(|s| !s.is_empty()).cloned(),
    }
}

/// The handler for every method on `/oauth2/token`.
pub(crate) async fn token_endpoint(
    State(state): State<Arc<AppState>>,
    Extension(conn): Extension<ConnInfo>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let body: Result<Bytes, _> = if parts.method == Method::POST {
        responses::read_body(&parts.headers, body, state.max_body_bytes).await
    } else {
        drop::<Body>(body);
        Ok(Bytes::new())
    };
    let form = body.as_deref().map(lenient_form).unwrap_or_default();
    state.counters.token_request(
        form.get("grant_type").map(String::as_str),
        presented_client_id(&parts.headers, &form).as_deref(),
    );

    let plan = state.fault_plan(FaultTarget::Token).await;
    if let Some(action) = plan.action {
        match faults::render(action, Surface::OAuth, sample_token_response) {
            FaultOutcome::Respond(resp) => {
                state.counters.token_outcome(&responses::status_label(resp.status()));
                return resp;
            }
            FaultOutcome::Reset => {
                state.counters.token_outcome("reset");
                conn.abort();
                conn.wait_for_abort().await;
                return responses::oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "connection reset");
            }
        }
    }

    let resp = if parts.method != Method::POST {
        responses::with_header(
            responses::oauth_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "the token endpoint only accepts POST",
            ),
            header::ALLOW,
            "POST",
        )
    } else {
        match body {
            Err(e) => responses::no_store(responses::body_error(Surface::OAuth, e, state.max_body_bytes)),
            Ok(body) => handle(&state, &parts.headers, &body),
        }
    };
    state.counters.token_outcome(&responses::status_label(resp.status()));
    resp
}

/// A token-response-shaped document for the `truncated` fault.
fn sample_token_response() -> Bytes {
    let sample = TokenResponse {
        access_token: "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0cnVuY2F0ZWQifQ.c2lnbmF0dXJl".into(),
        token_type: "Bearer",
        expires_in: 3600,
        scope: "inference training".into(),
        refresh_token: None,
    };
    Bytes::from(serde_json::to_vec(&sample).expect("serializes"))
}

fn handle(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Response {
    process(state, headers, body).unwrap_or_else(OAuthError::into_response)
}

fn process(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    if !responses::content_type_is(headers, "application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request("Content-Type must be application/x-www-form-urlencoded"));
    }
    let form = strict_form(body)?;

    // Client credentials: Basic or body, never both.
    let basic = basic_credentials(headers)?;
    let used_basic = basic.is_some();
    let (client_id, client_secret) = match basic {
        Some((id, secret)) => {
            if form.contains_key("client_secret") {
                return Err(OAuthError::invalid_request(
                    "client credentials given both in the Authorization header and in the body",
                ));
            }
            if form.get("client_id").is_some_and(|body_id| *body_id != id) {
                return Err(OAuthError::invalid_request("client_id in the body differs from the Basic credentials"));
            }
            (id, secret)
        }
        None => {
            let Some(id) = form.get("client_id") else {
                return Err(OAuthError::invalid_client("client authentication required", false));
            };
            let Some(secret) = form.get("client_secret") else {
                return Err(OAuthError::invalid_client("client_secret is missing", false));
            };
            (id.clone(), secret.clone())
        }
    };

    let Some(grant_type) = form.get("grant_type") else {
        return Err(OAuthError::invalid_request("grant_type is missing"));
    };

    let client = state.client(&client_id);
    // Counted for known clients only, before their secret is checked.
    let limited = client.and_then(|_| state.token_limiter.check(&client_id).err());
    if let Some(retry_after) = limited {
        return Err(OAuthError::rate_limited(retry_after));
    }
    let client = match client {
        Some(c) if secure_eq(&c.client_secret, &client_secret) => c,
        _ => {
            return Err(OAuthError::invalid_client("client authentication failed", used_basic));
        }
    };

    match grant_type.as_str() {
        "client_credentials" => client_credentials(state, client, &form),
        "refresh_token" => refresh_grant(state, client, &form),
        other => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("grant_type {other:?} is not supported"),
        )),
    }
}

/// Parses the optional `scope` parameter.
fn requested_scope(form: &HashMap<String, String>) -> Result<Option<Vec<String>>, OAuthError> {
    let Some(param) = form.get("scope") else {
        return Ok(None);
    };
    let scopes = scope::parse_scope(param)
        .map_err(|bad| OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", format!("malformed scope {bad:?}")))?;
    Ok(if scopes.is_empty() { None } else { Some(scopes) })
}

fn client_credentials(
    state: &AppState,
    client: &ClientConfig,
    form: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let scopes = match requested_scope(form)? {
        Some(req) => {
            if let Some(missing) = scope::first_missing(&req, &client.allowed_scopes) {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    format!("scope {missing:?} is not allowed for this client"),
                ));
            }
            req
        }
        None => client.allowed_scopes.clone(),
    };
    if scopes.is_empty() {
        return Err(OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", "this client has no scope to grant"));
    }
    let refresh = client.issue_refresh_token.then(|| state.refresh.start_family(&client.client_id, &scopes));
    issue(state, client, &scopes, refresh)
}

fn refresh_grant(
    state: &AppState,
    client: &ClientConfig,
    form: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let Some(token) = form.get("refresh_token") else {
        return Err(OAuthError::invalid_request("refresh_token is missing"));
    };
    let requested = requested_scope(form)?;
    let (next, family_scopes) =
        state.refresh.rotate(token, &client.client_id, requested.as_deref()).map_err(|e| match e {
            RefreshError::InvalidScope(_) => OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", e.describe()),
            _ => OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", e.describe()),
        })?;
    let scopes = requested.unwrap_or(family_scopes);
    issue(state, client, &scopes, Some(next))
}

fn issue(
    state: &AppState,
    client: &ClientConfig,
    scopes: &[String],
    refresh_token: Option<String>,
) -> Result<Response, OAuthError> {
    let scope = scope::join(scopes);
    let (access_token, expires_in) =
        state.tokens.mint(&state.keys, &state.issuer, &state.audience, &client.client_id, &scope).map_err(|_| {
            OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "could not sign the access token")
        })?;
    let body = TokenResponse { access_token, token_type: "Bearer", expires_in, scope, refresh_token };
    Ok(responses::no_store(responses::json(StatusCode::OK, &body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn strict_form_rejects_repeats_and_drops_empty_values() {
        let f = strict_form(b"a=1&b=&c=x+y%21").unwrap();
        assert_eq!(f.get("a").unwrap(), "1");
        assert!(!f.contains_key("b"));
        assert_eq!(f.get("c").unwrap(), "x y!");
        assert!(strict_form(b"a=1&a=2").is_err());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let raw = STANDARD.encode("my%3Aclient:p%40ss+word");
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Basic {raw}")).unwrap());
        assert_eq!(basic_credentials(&h).unwrap(), Some(("my:client".to_owned(), "p@ss word".to_owned())));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert!(basic_credentials(&h).is_err());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert!(basic_credentials(&h).is_err());
    }
}
