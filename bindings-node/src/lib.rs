//! The native half of the `synapsestream-auth` Node.js package (napi-rs).
//!
//! Thin by design: it converts arguments into core types, results into JS
//! values and core errors into JS errors, nothing else. Everything that touches
//! the network runs as a task on core's one shared runtime
//! ([`synapse_auth_core::runtime::handle`]); its result comes back to the JS
//! thread through a napi deferred (a threadsafe function), so the Node event
//! loop never blocks and no libuv pool thread waits on the network.
//!
//! The JS wrapper (`index.js`) owns the idiomatic API: option names, the
//! per-token JS object kept for cache hits, error classes and `authFetch`.

use futures::FutureExt;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::cell::RefCell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use synapse_auth_core as core;
use synapse_auth_core::{ApiRequest, AuthMethod, CONFIG_KEYS, ConfigBuilder, ErrorKind, Token, runtime};

/// The `name` of every error this module makes; the JS wrapper turns such
/// errors into instances of its `SynapseAuthError` classes.
const ERROR_NAME: &str = "SynapseAuthError";

/// Builds the JS error for a core error: `code` is core's stable string code,
/// plus `status`, `retryAfter` (seconds), `requiredScope`, `field` and `body`
/// where they apply. Core guarantees that messages hold no secret.
fn js_error(env: &Env, e: &core::Error) -> Error {
    let build = || -> Result<Error> {
        let mut obj = env.create_error(Error::new(Status::GenericFailure, e.message().to_string()))?;
        obj.set_named_property("name", ERROR_NAME)?;
        obj.set_named_property("code", e.code())?;
        if let Some(status) = e.status() {
            obj.set_named_property("status", u32::from(status))?;
        }
        if let Some(wait) = e.retry_after() {
            obj.set_named_property("retryAfter", wait.as_secs_f64())?;
        }
        if let Some(scope) = e.required_scope() {
            obj.set_named_property("requiredScope", scope)?;
        }
        if let Some(field) = e.field() {
            obj.set_named_property("field", field)?;
        }
        if let Some(body) = e.body() {
            obj.set_named_property("body", body)?;
        }
        Ok(Error::from(obj.into_unknown(env)?))
    };
    build().unwrap_or_else(|_| Error::new(Status::GenericFailure, format!("{}: {}", e.code(), e.message())))
}

fn internal(what: &str) -> core::Error {
    core::Error::new(ErrorKind::Protocol, format!("internal error in synapse-auth ({what}); please report it"))
}

/// Runs `future` on core's runtime and returns a JS promise settled with
/// `convert(result)` on the JS thread. A panic in the future rejects the
/// promise instead of unwinding anywhere.
fn spawn_promise<'env, T, V, F, C>(env: &'env Env, future: F, convert: C) -> Result<Object<'env>>
where
    T: Send + 'static,
    V: ToNapiValue + 'static,
    F: Future<Output = core::Result<T>> + Send + 'static,
    C: FnOnce(&Env, T) -> Result<V> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    runtime::handle().spawn(async move {
        let result = match AssertUnwindSafe(future).catch_unwind().await {
            Ok(result) => result,
            Err(_) => Err(internal("a task panicked")),
        };
        deferred.resolve(move |env: Env| match result {
            Ok(value) => convert(&env, value),
            Err(e) => Err(js_error(&env, &e)),
        });
    });
    Ok(promise)
}

/// An access token as handed to JS (once per token: the wrapper keeps the
/// object it builds from this, keyed by `id`).
#[napi(object)]
pub struct NativeToken {
    /// Process-unique, different for every token obtained.
    pub id: i64,
    /// The access token itself.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// The scopes the server granted.
    pub scopes: Vec<String>,
    /// When the token stops being used, in milliseconds since the Unix epoch.
    pub expires_at_ms: f64,
}

impl NativeToken {
    fn from_core(token: &Token) -> NativeToken {
        NativeToken {
            id: token.id() as i64,
            token: token.secret().to_string(),
            token_type: token.token_type().to_string(),
            scopes: token.scopes().to_vec(),
            expires_at_ms: token.expires_at().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64() * 1000.0,
        }
    }
}

/// An API call, as the wrapper passes it.
#[napi(object)]
pub struct NativeRequest {
    /// The HTTP method (default `GET`).
    pub method: Option<String>,
    /// A path relative to the base URL, or an absolute URL on the configured host.
    pub path: String,
    /// Extra headers, in order.
    pub headers: Option<Vec<(String, String)>>,
    /// The body.
    pub body: Option<Buffer>,
    /// Scopes for this call's token (default: the client's).
    pub scopes: Option<Vec<String>>,
    /// A timeout for this call, in seconds.
    pub timeout: Option<f64>,
}

/// A successful (status below 400) API response.
#[napi(object)]
pub struct NativeResponse {
    /// The HTTP status.
    pub status: u32,
    /// The response headers (names in lower case), in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Buffer,
}

/// A snapshot of a client's counters.
#[napi(object)]
pub struct Stats {
    /// HTTP requests sent to the token endpoint (retries included).
    pub token_requests: i64,
    /// Refresh-token grants among them.
    pub refresh_grants: i64,
    /// Refreshes started ahead of expiry in the background.
    pub background_refreshes: i64,
    /// Token look-ups served from the cache.
    pub cache_hits: i64,
    /// Token look-ups that had to wait for a token request.
    pub cache_misses: i64,
    /// Retries of token requests and API calls.
    pub retries: i64,
    /// Token requests that ended in an error.
    pub failures: i64,
    /// API calls made by `request` (retries included).
    pub api_requests: i64,
    /// JWKS documents fetched.
    pub jwks_fetches: i64,
    /// `closed`, `open` or `half_open`.
    #[napi(ts_type = "'closed' | 'open' | 'half_open'")]
    pub circuit_state: String,
    /// Consecutive authentication failures so far.
    pub consecutive_auth_failures: u32,
    /// How often the circuit has opened.
    pub circuit_opened: i64,
}

fn build_client(env: &Env, builder: ConfigBuilder, entries: Vec<(String, String)>) -> Result<core::Client> {
    let mut builder = builder;
    for (key, value) in &entries {
        builder = builder.set(key, value).map_err(|e| js_error(env, &e))?;
    }
    let config = builder.build().map_err(|e| js_error(env, &e))?;
    core::Client::new(config).map_err(|e| js_error(env, &e))
}

/// The clients living on this JS thread, by slot: the hot path is a free
/// function taking the slot number, which costs a fraction of a class-method
/// call (no `napi_unwrap`, no type-tag check). A slot lives as long as its
/// `NativeClient` (freed when the JS object is collected) and is reused after.
struct Slots {
    clients: Vec<Option<core::Client>>,
    free: Vec<u32>,
}

thread_local! {
    static SLOTS: RefCell<Slots> = const { RefCell::new(Slots { clients: Vec::new(), free: Vec::new() }) };
}

fn take_slot(client: &core::Client) -> u32 {
    SLOTS.with(|slots| {
        let mut slots = slots.borrow_mut();
        match slots.free.pop() {
            Some(slot) => {
                slots.clients[slot as usize] = Some(client.clone());
                slot
            }
            None => {
                slots.clients.push(Some(client.clone()));
                (slots.clients.len() - 1) as u32
            }
        }
    })
}

/// The native client: one core client (cheap to share; the JS `Client` wraps it).
#[napi]
pub struct NativeClient {
    inner: core::Client,
    slot: u32,
}

impl NativeClient {
    fn wrap(inner: core::Client) -> Self {
        let slot = take_slot(&inner);
        NativeClient { inner, slot }
    }
}

impl Drop for NativeClient {
    fn drop(&mut self) {
        // `try_with`: at thread exit the table may already be gone.
        let _ = SLOTS.try_with(|slots| {
            if let Ok(mut slots) = slots.try_borrow_mut()
                && let Some(entry) = slots.clients.get_mut(self.slot as usize)
            {
                *entry = None;
                slots.free.push(self.slot);
            }
        });
    }
}

/// The id of the valid cached token of the client in `slot`, else null: the
/// hot path (no lock, no runtime, no allocation, no JS string).
#[napi(catch_unwind)]
pub fn cached_token_id(slot: u32) -> Option<i64> {
    SLOTS.with(|slots| {
        let slots = slots.borrow();
        let client = slots.clients.get(slot as usize)?.as_ref()?;
        client.cached_token().map(|t| t.id() as i64)
    })
}

#[napi]
impl NativeClient {
    /// Builds a client from core configuration pairs (`[key, value]`, keys from
    /// `CONFIG_KEYS`), applied in order.
    #[napi(constructor, catch_unwind)]
    pub fn new(env: Env, entries: Vec<(String, String)>) -> Result<Self> {
        Ok(NativeClient::wrap(build_client(&env, ConfigBuilder::default(), entries)?))
    }

    /// Builds a client from `SYNAPSE_*` environment variables, then applies `entries`.
    #[napi(factory, catch_unwind)]
    pub fn from_env(env: Env, entries: Option<Vec<(String, String)>>) -> Result<Self> {
        Ok(NativeClient::wrap(build_client(&env, ConfigBuilder::from_env(), entries.unwrap_or_default())?))
    }

    /// The configured client id.
    #[napi(getter)]
    pub fn client_id(&self) -> Option<String> {
        self.inner.config().client_id().map(str::to_string)
    }

    /// The API base URL.
    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.inner.config().base_url().to_string()
    }

    /// The default scopes.
    #[napi(getter)]
    pub fn scopes(&self) -> Vec<String> {
        self.inner.config().scopes().to_vec()
    }

    /// `oauth` or `api_key`.
    #[napi(getter, ts_return_type = "'oauth' | 'api_key'")]
    pub fn auth_method(&self) -> &'static str {
        match self.inner.config().auth_method() {
            AuthMethod::OAuth => "oauth",
            AuthMethod::ApiKey => "api_key",
        }
    }

    /// This client's slot for [`cached_token_id`] (the hot path).
    #[napi(getter)]
    pub fn slot(&self) -> u32 {
        self.slot
    }

    /// The id of the cached token if it is valid, else null (the free function
    /// `cachedTokenId(slot)` is the faster twin).
    #[napi(catch_unwind)]
    pub fn cached_token_id(&self) -> Option<i64> {
        self.inner.cached_token().map(|t| t.id() as i64)
    }

    /// The cached token if it is valid, else null.
    #[napi(catch_unwind)]
    pub fn current_token(&self) -> Option<NativeToken> {
        self.inner.cached_token().map(|t| NativeToken::from_core(&t))
    }

    /// A valid token (for `scopes`, default the client's), fetched only when none is cached.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeToken>")]
    pub fn get_token<'env>(&self, env: &'env Env, scopes: Option<Vec<String>>) -> Result<Object<'env>> {
        let client = self.inner.clone();
        spawn_promise(
            env,
            async move {
                match scopes {
                    Some(scopes) => client.get_token_for(&scopes).await,
                    None => client.get_token().await,
                }
            },
            |_, token: Arc<Token>| Ok(NativeToken::from_core(&token)),
        )
    }

    /// Sends an authenticated API call (retries, refresh-and-retry on an expired token).
    #[napi(catch_unwind, ts_return_type = "Promise<NativeResponse>")]
    pub fn request<'env>(&self, env: &'env Env, request: NativeRequest) -> Result<Object<'env>> {
        let timeout = match request.timeout {
            Some(secs) if !(secs.is_finite() && (0.0..=1e9).contains(&secs)) => {
                return Err(js_error(env, &core::Error::config("timeout", "expected a number of seconds")));
            }
            Some(secs) => Some(Duration::from_secs_f64(secs)),
            None => None,
        };
        let api_request = ApiRequest {
            method: request.method.unwrap_or_else(|| "GET".to_string()),
            url: request.path,
            headers: request.headers.unwrap_or_default(),
            body: request.body.map(|b| b.to_vec()),
            scopes: request.scopes,
            timeout,
        };
        let client = self.inner.clone();
        spawn_promise(env, async move { client.request(api_request).await }, |_, response: core::ApiResponse| {
            Ok(NativeResponse {
                status: u32::from(response.status),
                headers: response.headers,
                body: Buffer::from(response.body),
            })
        })
    }

    /// Verifies a JWT against the JWKS; resolves with its claims.
    #[napi(catch_unwind, ts_return_type = "Promise<Record<string, unknown>>")]
    pub fn verify<'env>(&self, env: &'env Env, jwt: String) -> Result<Object<'env>> {
        let client = self.inner.clone();
        spawn_promise(env, async move { client.verify(&jwt).await }, |_, claims: core::Claims| {
            Ok(serde_json::Value::Object(claims.as_map().clone()))
        })
    }

    /// Forgets every cached token: the next call fetches a new one.
    #[napi(catch_unwind)]
    pub fn invalidate(&self) {
        self.inner.invalidate();
    }

    /// Forgets the cached token only if it is still the one with `id` (after the
    /// API rejected it), so concurrent callers that saw the same rejection cause
    /// one new token request, not one each.
    #[napi(catch_unwind)]
    pub fn invalidate_if_current(&self, id: i64) {
        if self.inner.cached_token().is_some_and(|t| t.id() as i64 == id) {
            self.inner.invalidate();
        }
    }

    /// Replaces the client secret on the live client.
    #[napi(catch_unwind)]
    pub fn set_client_secret(&self, secret: String) {
        self.inner.set_client_secret(secret);
    }

    /// Replaces the API key on the live client.
    #[napi(catch_unwind)]
    pub fn set_api_key(&self, key: String) {
        self.inner.set_api_key(key);
    }

    /// The live API key, for `authFetch` in API-key mode; null when none is configured.
    #[napi(catch_unwind)]
    pub fn api_key(&self) -> Option<String> {
        self.inner.api_key().map(|k| k.expose().to_string())
    }

    /// The client's counters and circuit-breaker state.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> Stats {
        let s = self.inner.stats();
        Stats {
            token_requests: s.token_requests as i64,
            refresh_grants: s.refresh_grants as i64,
            background_refreshes: s.background_refreshes as i64,
            cache_hits: s.cache_hits as i64,
            cache_misses: s.cache_misses as i64,
            retries: s.retries as i64,
            failures: s.failures as i64,
            api_requests: s.api_requests as i64,
            jwks_fetches: s.jwks_fetches as i64,
            circuit_state: s.circuit_state.as_str().to_string(),
            consecutive_auth_failures: s.consecutive_auth_failures,
            circuit_opened: s.circuit_opened as i64,
        }
    }
}

/// The configuration keys core accepts (`options` of the JS client, and
/// `SYNAPSE_<KEY>` environment variables).
#[napi]
pub fn config_keys() -> Vec<&'static str> {
    CONFIG_KEYS.to_vec()
}

/// Every error code, in core's stable numeric order.
#[napi]
pub fn error_codes() -> Vec<&'static str> {
    ErrorKind::ALL.iter().map(|k| k.code()).collect()
}
