//! [`Client`]: the async API every binding wraps.

use crate::config::{AuthMethod, Config, ConfigBuilder, ensure_trailing_slash};
use crate::credentials::LiveSecret;
use crate::error::{Error, ErrorKind, Result};
use crate::grant::TokenEndpoint;
use crate::http::{self, Transport};
use crate::jwt::{Claims, Verifier};
use crate::manager::TokenManager;
use crate::request::{ApiRequest, ApiResponse, map_api_error};
use crate::retry::Backoff;
use crate::secret::Secret;
use crate::stats::{Counters, Stats};
use crate::token::Token;
use crate::{BlockingClient, runtime};
use std::sync::Arc;
use url::Url;

struct Inner {
    config: Arc<Config>,
    transport: Arc<Transport>,
    counters: Arc<Counters>,
    manager: Arc<TokenManager>,
    client_secret: Arc<LiveSecret>,
    api_key: LiveSecret,
    verifier: Verifier,
}

/// A SynapseStream client: tokens, authenticated requests and JWT validation.
///
/// Cheap to clone (all clones share one cache); safe to use from any thread,
/// any async runtime, and in a child process after `fork()`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.inner.config.client_id)
            .field("base_url", &self.inner.config.base_url.as_str())
            .field("scopes", &self.inner.config.scopes)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client; fails now (with a `config` error naming the field) on bad settings.
    pub fn new(config: Config) -> Result<Client> {
        let config = Arc::new(config);
        let transport = Arc::new(Transport::new(config.clone())?);
        let counters = Arc::new(Counters::default());
        let client_secret = Arc::new(LiveSecret::new("client_secret", config.client_secret.clone())?);
        let api_key = LiveSecret::new("api_key", config.api_key.clone())?;
        let endpoint = TokenEndpoint {
            config: config.clone(),
            transport: transport.clone(),
            counters: counters.clone(),
            client_secret: client_secret.clone(),
        };
        let manager = Arc::new(TokenManager::new(config.clone(), endpoint, counters.clone()));
        let verifier = Verifier::new(&config, transport.clone(), counters.clone());
        Ok(Client { inner: Arc::new(Inner { config, transport, counters, manager, client_secret, api_key, verifier }) })
    }

    /// Builds a client from `SYNAPSE_*` environment variables.
    pub fn from_env() -> Result<Client> {
        Client::new(ConfigBuilder::from_env().build()?)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The cached token for the default scopes if it is valid: the hot path.
    ///
    /// One atomic load and a reference-count increment: no lock, no runtime, no
    /// allocation. Starts a background refresh once the token is in its window.
    #[inline]
    pub fn cached_token(&self) -> Option<Arc<Token>> {
        let manager = &self.inner.manager;
        manager.cached(&manager.slot(None))
    }

    /// A valid access token for the default scopes, fetching one only when none is cached.
    pub async fn get_token(&self) -> Result<Arc<Token>> {
        let manager = &self.inner.manager;
        manager.get(&manager.slot(None)).await
    }

    /// A valid access token for `scopes` (cached separately per scope set).
    pub async fn get_token_for<S: AsRef<str>>(&self, scopes: &[S]) -> Result<Arc<Token>> {
        let scopes: Vec<String> = scopes.iter().map(|s| s.as_ref().to_string()).collect();
        let manager = &self.inner.manager;
        manager.get(&manager.slot(Some(&scopes))).await
    }

    /// Forgets every cached token: the next call fetches a new one.
    pub fn invalidate(&self) {
        self.inner.manager.invalidate(None);
    }

    /// Replaces the client secret on the live client (credential rotation).
    pub fn set_client_secret(&self, secret: impl Into<Secret>) {
        self.inner.client_secret.set(secret.into());
    }

    /// Replaces the API key on the live client (credential rotation).
    pub fn set_api_key(&self, key: impl Into<Secret>) {
        self.inner.api_key.set(key.into());
    }

    /// The live API key (as last set, or as last read from its file), if one is configured.
    ///
    /// For bindings that attach it to requests they send themselves (e.g. a
    /// `fetch` wrapper); [`request`](Self::request) attaches it on its own.
    pub fn api_key(&self) -> Option<Secret> {
        self.inner.api_key.get()
    }

    /// The client's counters and circuit-breaker state.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        let breaker = self.inner.manager.breaker();
        let (consecutive, opened) = breaker.counters();
        Stats {
            token_requests: Counters::get(&c.token_requests),
            refresh_grants: Counters::get(&c.refresh_grants),
            background_refreshes: Counters::get(&c.background_refreshes),
            cache_hits: Counters::get(&c.cache_hits),
            cache_misses: Counters::get(&c.cache_misses),
            retries: Counters::get(&c.retries),
            failures: Counters::get(&c.failures),
            api_requests: Counters::get(&c.api_requests),
            jwks_fetches: Counters::get(&c.jwks_fetches),
            circuit_state: breaker.state(),
            consecutive_auth_failures: consecutive,
            circuit_opened: opened,
        }
    }

    /// Verifies a JWT against the JWKS and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims> {
        self.inner.verifier.verify(token).await
    }

    /// A blocking facade over this client, for callers without an async runtime.
    pub fn blocking(&self) -> BlockingClient {
        BlockingClient::from(self.clone())
    }

    /// Sends an authenticated API call: attaches the token (or API key), retries
    /// 429/5xx/transport failures with backoff, and on an expired-token status
    /// refreshes once and retries once. Statuses of 400 and above become errors.
    pub async fn request(&self, request: ApiRequest) -> Result<ApiResponse> {
        let this = self.clone();
        runtime::run(async move { this.request_on_runtime(request).await }).await
    }

    fn resolve_url(&self, url: &str) -> Result<Url> {
        let base = &self.inner.config.base_url;
        let resolved = if url.starts_with("http://") || url.starts_with("https://") {
            Url::parse(url).map_err(|e| Error::config("url", format!("not a URL: {e}")))?
        } else {
            ensure_trailing_slash(base.clone())
                .join(url.trim_start_matches('/'))
                .map_err(|e| Error::config("url", format!("not a path: {e}")))?
        };
        if resolved.origin() != base.origin() {
            return Err(Error::config(
                "url",
                format!(
                    "refusing to send credentials to {} (configured host is {})",
                    resolved.origin().ascii_serialization(),
                    base.origin().ascii_serialization()
                ),
            ));
        }
        // Same origin as base_url, which Config already holds to HTTPS or loopback http.
        Ok(resolved)
    }

    async fn request_on_runtime(&self, request: ApiRequest) -> Result<ApiResponse> {
        let inner = &self.inner;
        let url = self.resolve_url(&request.url)?;
        let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| Error::config("method", format!("invalid HTTP method {:?}", request.method)))?;
        let manager = &inner.manager;
        let slot = manager.slot(request.scopes.as_deref());
        let mut backoff = Backoff::new(&inner.config.retry);
        let mut refreshed = false;
        let mut reread_key = false;
        loop {
            let client = inner.transport.client()?;
            let mut builder = client.request(method.clone(), url.clone());
            for (name, value) in &request.headers {
                if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("x-api-key") {
                    continue;
                }
                builder = builder.header(name.as_str(), value.as_str());
            }
            if let Some(timeout) = request.timeout {
                builder = builder.timeout(timeout);
            }
            if let Some(body) = &request.body {
                builder = builder.body(body.clone());
            }
            let used_token = match inner.config.auth_method {
                AuthMethod::OAuth => {
                    let token = manager.get(&slot).await?;
                    builder = builder.header(reqwest::header::AUTHORIZATION, sensitive(&token.authorization_header())?);
                    Some(token)
                }
                AuthMethod::ApiKey => {
                    let key = inner.api_key.get().ok_or_else(|| Error::config("api_key", "no API key configured"))?;
                    builder = builder.header("x-api-key", sensitive(key.expose())?);
                    None
                }
            };
            Counters::bump(&inner.counters.api_requests);
            let outcome = http::send(builder, inner.transport.max_body(), "API request").await;
            let error = match outcome {
                Ok(response) if response.status < 400 => {
                    let headers = response
                        .headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                        .collect();
                    return Ok(ApiResponse { status: response.status, headers, body: response.body });
                }
                Ok(response) => {
                    let status = response.status;
                    if let Some(token) = &used_token {
                        if !refreshed && inner.config.expired_statuses.contains(&status) {
                            tracing::debug!(status, "synapse-auth: token rejected as expired; refreshing once");
                            manager.invalidate_token(&slot, token);
                            refreshed = true;
                            continue;
                        }
                    } else if status == 401 && !reread_key && inner.api_key.reload_if_changed() {
                        reread_key = true;
                        continue;
                    }
                    map_api_error(status, &response.headers, &response.body)
                }
                Err(e) => e,
            };
            match backoff.next_delay(&error) {
                Some(delay) => {
                    Counters::bump(&inner.counters.retries);
                    tracing::debug!(
                        code = error.code(),
                        delay_ms = delay.as_millis() as u64,
                        "synapse-auth retrying the API call"
                    );
                    tokio::time::sleep(delay).await;
                }
                None => {
                    if error.kind() == ErrorKind::TokenExpired {
                        tracing::warn!("synapse-auth: the API still says token expired after a refresh");
                    }
                    return Err(error);
                }
            }
        }
    }
}

/// A header value marked sensitive (kept out of HTTP/2 tables and debug output).
fn sensitive(value: &str) -> Result<reqwest::header::HeaderValue> {
    let mut v = reqwest::header::HeaderValue::from_str(value)
        .map_err(|_| Error::new(ErrorKind::Config, "a credential contains characters not allowed in an HTTP header"))?;
    v.set_sensitive(true);
    Ok(v)
}
