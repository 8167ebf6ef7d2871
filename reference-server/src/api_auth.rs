//! Authentication and authorization of `/v1/` calls: `Authorization: Bearer <jwt>`
//! or `X-API-Key`, then the per-client (or per-key) rate limit, then the scope.
//!
//! | case | status | `error` | `WWW-Authenticate` |
//! |---|---|---|---|
//! | both `Authorization` and `X-API-Key` | 400 | `invalid_request` | — |
//! | no credentials, or a non-Bearer `Authorization` | 401 | `invalid_credentials` | `Bearer` |
//! | bearer: malformed, bad signature, unknown `kid`, wrong `alg`/`iss`/`aud`, `nbf` in the future | 401 | `invalid_credentials` | `Bearer error="invalid_token"` |
//! | bearer: valid signature, `exp` passed or expired by the admin | 418 | `token_expired` | — |
//! | unknown API key | 401 | `invalid_credentials` | `Bearer` |
//! | API key used from outside its `allowed_ips` | 403 | `ip_not_allowed` | — |
//! | over the rate limit | 429 | `rate_limited` (+ `Retry-After`) | — |
//! | scope missing | 403 | `insufficient_scope` | `Bearer error="insufficient_scope", scope="<needed>"` |

use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::Response;

use crate::access_token::Rejection;
use crate::connection::ConnInfo;
use crate::responses::{self, Surface};
use crate::state::AppState;

/// The `X-API-Key` header.
pub(crate) const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

/// Who is calling, once authenticated.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    /// Granted scopes.
    pub(crate) scopes: Vec<String>,
    /// Rate-limit key: `client:<id>` or `key:<api key>`.
    pub(crate) rate_key: String,
}

fn unauthorized(message: &str, challenge: &str) -> Response {
    responses::with_header(
        responses::api_error(StatusCode::UNAUTHORIZED, "invalid_credentials", message),
        header::WWW_AUTHENTICATE,
        challenge,
    )
}

// `Response` is the natural error here: it is returned as is.
#[allow(clippy::result_large_err)]
/// Identifies the caller (401, 403 `ip_not_allowed`, 418, 400 on failure).
fn authenticate(state: &AppState, headers: &HeaderMap, conn: &ConnInfo) -> Result<Principal, Response> {
    let mut auth_values = headers.get_all(header::AUTHORIZATION).iter();
    let auth = auth_values.next();
    let mut key_values = headers.get_all(API_KEY_HEADER).iter();
    let api_key = key_values.next();
    if auth_values.next().is_some() || key_values.next().is_some() {
        return Err(responses::api_error(StatusCode::BAD_REQUEST, "invalid_request", "credentials header repeated"));
    }
    match (auth, api_key) {
        (Some(_), Some(_)) => Err(responses::api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send either Authorization or X-API-Key, not both",
        )),
        (Some(auth), None) => {
            let value = auth.to_str().unwrap_or("");
            let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(unauthorized("Authorization must use the Bearer scheme", "Bearer"));
            }
            let token = token.trim();
            match state.tokens.validate(token, &state.keys, &state.issuer, &state.audience) {
                Ok(valid) => Ok(Principal { rate_key: format!("client:{}", valid.client_id), scopes: valid.scopes }),
                Err(Rejection::Invalid(why)) => {
                    Err(unauthorized(&format!("invalid access token: {why}"), "Bearer error=\"invalid_token\""))
                }
                Err(Rejection::Expired(why)) => {
                    Err(responses::api_error(StatusCode::IM_A_TEAPOT, "token_expired", &why))
                }
            }
        }
        (None, Some(key)) => {
            let key = key.to_str().unwrap_or("").trim();
            let Some(config) = state.api_key(key) else {
                return Err(unauthorized("invalid API key", "Bearer"));
            };
            let ip = conn.peer_ip();
            if !config.allowed_ips.is_empty() && !config.allowed_ips.iter().any(|net| net.contains(&ip)) {
                return Err(responses::api_error(
                    StatusCode::FORBIDDEN,
                    "ip_not_allowed",
                    &format!("this API key may not be used from {ip}"),
                ));
            }
            Ok(Principal { scopes: config.scopes.clone(), rate_key: format!("key:{}", config.key) })
        }
        (None, None) => {
            Err(unauthorized("missing credentials: send Authorization: Bearer <token> or X-API-Key", "Bearer"))
        }
    }
}

#[allow(clippy::result_large_err)]
/// Authenticates, applies the rate limit, and checks that `needed` is granted.
pub(crate) fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    conn: &ConnInfo,
    needed: &str,
) -> Result<Principal, Response> {
    let principal = authenticate(state, headers, conn)?;
    if let Err(retry_after) = state.api_limiter.check(&principal.rate_key) {
        return Err(responses::rate_limited(Surface::Api, retry_after));
    }
    if !principal.scopes.iter().any(|s| s == needed) {
        return Err(responses::with_header(
            responses::api_error(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                &format!("this call needs the {needed:?} scope"),
            ),
            header::WWW_AUTHENTICATE,
            &format!("Bearer error=\"insufficient_scope\", scope=\"{needed}\""),
        ));
    }
    Ok(principal)
}
