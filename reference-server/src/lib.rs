//! # SynapseStream reference auth server
//!
//! An independent, strict implementation of the SynapseStream authentication
//! API (`shared/spec/synapsestream-auth-guide.md`), used by every test, demo
//! and benchmark of the client library. It shares no code with the client
//! (`core/`): the protocol is implemented twice so that a bug cannot hide
//! behind the same bug on the other side. JWTs are signed and verified
//! directly with aws-lc-rs.
//!
//! ## Starting it
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use synapse_reference_server::{ServerConfig, start};
//! let server = start(ServerConfig::dev()).await?;
//! println!("{} trusts {:?}", server.base_url(), server.ca_pem().is_some());
//! server.control().set_token_ttl(std::time::Duration::from_secs(5));
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Without an async runtime use [`start_blocking`]. As a process:
//! `synapse-auth serve --json --addr 127.0.0.1:0 --exit-on-stdin-close` prints one
//! JSON line (`base_url`, `ca_pem_path`, `admin_token`, `clients`, `api_keys`).
//!
//! The dev configuration ([`ServerConfig::dev`]) has the clients
//! `synapse-dev-client` / `dev-secret-2f9c1e7a` (`inference training`),
//! `synapse-dev-inference` / `dev-secret-inference-5b1d` (`inference`),
//! `synapse-dev-norefresh` / `dev-secret-norefresh-9e4a` (`inference training`,
//! never issued refresh tokens), the API keys `sk_live_1a2b3c4d5e6f7g8h9i0j`
//! (`inference training`) and `sk_live_inferenceonly0000000000` (`inference`),
//! and the admin token `admin-dev-token`. Issuer = base URL, audience
//! `https://api.synapsestream.io`.
//!
//! ## Public endpoints
//!
//! | endpoint | what |
//! |---|---|
//! | `POST /oauth2/token` | form-encoded `client_credentials` and `refresh_token` grants; client auth in the body or HTTP Basic (not both); `{"access_token","token_type":"Bearer","expires_in","scope"[,"refresh_token"]}` with `Cache-Control: no-store`; errors `{"error","error_description"}`: `invalid_request` 400, `invalid_client` 401 (+ `WWW-Authenticate: Basic realm="synapsestream"` if Basic was used), `invalid_grant` 400, `invalid_scope` 400, `unsupported_grant_type` 400, `rate_limited` 429 + `Retry-After`, `payload_too_large` 413 |
//! | `GET /.well-known/jwks.json` | current + previous public keys; `Cache-Control: public, max-age=300`, `ETag`, 304 on `If-None-Match` |
//! | `GET /v1/models` | scope `inference`; a JSON model list |
//! | `POST /v1/data/stream` | scope `training`; body `{"stream_id": non-empty string, "data": array}` → 202 `{"stream_id","accepted":N}`; else 400 `invalid_request` |
//!
//! API errors are `{"error": <code>, "message": <text>}`: 401 `invalid_credentials`
//! (`WWW-Authenticate: Bearer error="invalid_token"` when a bearer token was
//! given, `Bearer` otherwise), 403 `insufficient_scope`
//! (`WWW-Authenticate: Bearer error="insufficient_scope", scope="<needed>"`),
//! 403 `ip_not_allowed` (API key used outside its `allowed_ips`), 418
//! `token_expired`, 429 `rate_limited` + `Retry-After`, 413
//! `payload_too_large`, 400 `invalid_request` (also for sending both
//! `Authorization` and `X-API-Key`). Unknown paths answer 404 `not_found`.
//!
//! Refresh tokens rotate: each refresh grant returns a new refresh token and
//! retires the presented one. Presenting a retired token revokes its whole
//! family (every token descended from the same `client_credentials` grant),
//! and answers `invalid_grant` (RFC 9700 §4.14.2). A refresh request's `scope`
//! must be within the original grant; the new refresh token keeps the
//! original scope. The `refresh_token` response also carries `scope`.
//!
//! ## Admin API (for tests)
//!
//! Every route needs the header `X-Admin-Token: <admin_token>` (else 401
//! `invalid_credentials`). Admin requests are never counted or faulted. Each
//! has an in-process twin on [`Control`] (`server.control()`).
//!
//! | request | effect / answer | [`Control`] |
//! |---|---|---|
//! | `GET /admin/counters` | `{"token_requests":{"total","by_grant":{"client_credentials","refresh_token"[,"other"]},"by_client":{id:N},"by_status":{"200":N,..}},"api_calls":{"total","by_status":{"200":N,"403":N,..}},"jwks_requests":N}` — exact; see [`Counters`] | `counters()` |
//! | `POST /admin/reset` | counters to zero, faults cleared, rate-limit windows forgotten → `{"reset":true}` | `reset()` |
//! | `POST /admin/faults` | adds a fault rule ([`FaultSpec`]) → `{"faults":[active rules]}`; 400 on unknown fields or a `fail_status` outside 400..=599 | `inject_faults(spec)` |
//! | `GET /admin/faults` | `{"faults":[active rules with remaining counts]}` | `active_faults()` |
//! | `DELETE /admin/faults` | clears every rule → `{"faults":[]}` | `clear_faults()` |
//! | `POST /admin/rotate-keys` | new current key; the old one stays published and accepted → `{"kid":<new>,"previous_kid":<old>}` | `rotate_keys()` |
//! | `GET /admin/keys` | `{"kid","previous_kid"}` | `current_kid()`, `previous_kid()` |
//! | `POST /admin/expire-tokens` | every access token issued so far answers 418 from now on (refresh tokens stay valid) → `{"expired_tokens":N}` | `expire_tokens()` |
//! | `POST /admin/config` | `{"token_ttl_secs":N}`: lifetime of tokens issued afterwards (0 = already expired) → `{"token_ttl_secs":N}` | `set_token_ttl(d)` |
//! | `GET /admin/config` | `{"token_ttl_secs":N}` | `token_ttl()` |
//! | `GET /admin/refresh-families` | `{"families":[{"family_id","client_id","scope","created_at","tokens_issued","revoked","revoked_reason"}]}` | `refresh_families()` |
//!
//! Fault rule JSON (all fields optional):
//! `{"target":"token"|"api"|"jwks"|"all" (default "all"), "latency_ms":N (sticky until cleared),
//! "fail_next":N, "fail_status":503, "reset_next":N, "malformed_next":N, "truncated_next":N,
//! "oversize_next":N, "rate_limit_next":N, "retry_after":1}`.
//!
//! * `fail_next`: `fail_status` with `{"error":"injected_fault",...}`.
//! * `reset_next`: the TCP connection is aborted with a RST (SO_LINGER 0), no response.
//! * `malformed_next`: 200, `Content-Type: application/json`, a body that is not JSON.
//! * `truncated_next`: 200, a representative JSON body of the endpoint cut in half
//!   (complete HTTP message, `Content-Length` of the half).
//! * `oversize_next`: 200, a valid JSON body of about 8 MiB.
//! * `rate_limit_next`: 429 `rate_limited` with `Retry-After: <retry_after>`.
//!
//! Each `_next` counts down by one per matching request. Several kinds may be
//! active at once: per request one is taken, in the order reset, fail,
//! rate_limit, malformed, truncated, oversize (rules in insertion order), so
//! `{"fail_next":2,"malformed_next":1}` fails two requests and then sends one
//! malformed body. A faulted request is not executed (no token minted, no
//! refresh token consumed), still counts in the counters, and carries an
//! `X-Injected-Fault` header when it has a response. Fault responses on the
//! token endpoint use `error_description` instead of `message`.
//!
//! ## Counters
//!
//! Every request to `/oauth2/token` counts once in `token_requests.total`,
//! whatever its outcome (errors, 405, 413, 429, faults), also in `by_grant`
//! (by the `grant_type` sent, `other` otherwise) and in `by_client` (by the
//! client id presented in Basic or the body, when there is one). Counting is
//! exact (one mutex, no sampling) and done before the response is sent:
//! N concurrent token requests make `total` exactly N.
#![warn(missing_docs)]

mod access_token;
mod admin;
mod api;
mod api_auth;
mod blocking;
mod config;
mod connection;
mod control;
mod counters;
mod faults;
mod jwks;
mod jwt;
mod keys;
mod rate_limit;
mod refresh;
mod responses;
mod scope;
mod server;
mod state;
mod tls;
mod token_endpoint;

pub use blocking::{BlockingServer, start_blocking};
pub use config::{
    ApiKeyConfig, ClientConfig, ConfigError, DEFAULT_AUDIENCE, DEV_ADMIN_TOKEN, DEV_API_KEY, DEV_CLIENT_ID,
    DEV_CLIENT_SECRET, DEV_INFERENCE_API_KEY, DEV_INFERENCE_CLIENT_ID, DEV_INFERENCE_CLIENT_SECRET,
    DEV_NOREFRESH_CLIENT_ID, DEV_NOREFRESH_CLIENT_SECRET, RateLimit, ServerConfig, SigningAlg,
};
pub use control::Control;
pub use counters::{ApiCounters, Counters, TokenCounters};
pub use faults::{FaultSpec, FaultTarget};
pub use refresh::RefreshFamily;
pub use server::{RunningServer, start};
