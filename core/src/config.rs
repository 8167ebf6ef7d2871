//! [`Config`]: everything a [`Client`](crate::Client) needs, built in code
//! ([`Config::builder`]), from `SYNAPSE_*` environment variables
//! ([`ConfigBuilder::from_env`]) or from string pairs ([`ConfigBuilder::set`]).
//!
//! A bad configuration fails in [`ConfigBuilder::build`] with a `config` error
//! that names the field, never at first use.

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::store::TokenStore;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// The production API's base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.synapsestream.io";

/// How [`Client::request`](crate::Client::request) authenticates API calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `Authorization: Bearer <access token>` from the OAuth 2.0 client credentials grant.
    OAuth,
    /// `X-API-Key: sk_live_...`.
    ApiKey,
}

/// How the client authenticates itself to the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// `client_id` and `client_secret` in the form body (the guide's examples).
    Body,
    /// HTTP Basic with the form-urlencoded id and secret.
    Basic,
}

/// Where a secret comes from.
#[derive(Clone, Debug)]
pub enum SecretSource {
    /// The value itself.
    Value(Secret),
    /// A file holding it (Docker and Kubernetes secrets); re-read when it changes.
    File(PathBuf),
}

impl SecretSource {
    /// Reads the secret now: the value, or the file's trimmed contents.
    pub fn load(&self, field: &'static str) -> Result<Secret> {
        match self {
            SecretSource::Value(s) if s.is_empty() => Err(Error::config(field, "is empty")),
            SecretSource::Value(s) => Ok(s.clone()),
            SecretSource::File(path) => {
                let raw = std::fs::read_to_string(path)
                    .map_err(|e| Error::config(field, format!("cannot read {}: {e}", path.display())))?;
                let value = raw.trim();
                if value.is_empty() {
                    return Err(Error::config(field, format!("{} is empty", path.display())));
                }
                Ok(Secret::new(value))
            }
        }
    }
}

/// Retries of token requests and API calls: exponential backoff with full jitter.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// The backoff cap of the first retry; it doubles each attempt.
    pub initial_backoff: Duration,
    /// The largest backoff between two attempts.
    pub max_backoff: Duration,
    /// No retry starts once this much time has passed since the first attempt.
    pub total_deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            total_deadline: Duration::from_secs(30),
        }
    }
}

/// The circuit breaker for authentication failures.
#[derive(Debug, Clone, PartialEq)]
pub struct CircuitBreakerConfig {
    /// Consecutive authentication failures that open the circuit (0 disables it).
    pub failure_threshold: u32,
    /// How long the circuit stays open before one probe is let through.
    pub cooldown: Duration,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        CircuitBreakerConfig { failure_threshold: 5, cooldown: Duration::from_secs(30) }
    }
}

/// When a cached token is refreshed ahead of its expiry.
///
/// The window is `lifetime × fraction`, capped at `max`: 5 minutes ahead for the
/// usual one-hour token, 2.5 s for a 10 s test token. Each token's actual start
/// lies at a random point in the last fifth of the window's lead, so a fleet
/// started together does not refresh in lockstep.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshPolicy {
    /// Share of the token's lifetime spent in the refresh window (0..1).
    pub fraction: f64,
    /// The longest refresh window.
    pub max: Duration,
    /// Safety margin taken off `expires_in` for clock skew and latency,
    /// capped at 10% of the lifetime.
    pub expiry_skew: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy { fraction: 0.25, max: Duration::from_secs(300), expiry_skew: Duration::from_secs(30) }
    }
}

/// JWT validation settings for [`Client::verify`](crate::Client::verify).
#[derive(Debug, Clone, PartialEq)]
pub struct JwtConfig {
    /// Clock leeway for exp, nbf and iat.
    pub leeway: Duration,
    /// Required `iss`, when set.
    pub issuer: Option<String>,
    /// Required `aud`, when set.
    pub audience: Option<String>,
    /// Accepted algorithms (`RS256`, `PS256`, `ES256`, `EdDSA`); default RS256.
    pub algorithms: Vec<String>,
    /// Scopes every verified token must carry.
    pub required_scopes: Vec<String>,
    /// The least time between two JWKS fetches caused by unknown key ids.
    pub jwks_cooldown: Duration,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            leeway: Duration::from_secs(60),
            issuer: None,
            audience: None,
            algorithms: vec!["RS256".to_string()],
            required_scopes: Vec::new(),
            jwks_cooldown: Duration::from_secs(10),
        }
    }
}

/// A validated client configuration. Build one with [`Config::builder`].
#[derive(Clone)]
pub struct Config {
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<SecretSource>,
    pub(crate) api_key: Option<SecretSource>,
    pub(crate) scopes: Vec<String>,
    pub(crate) base_url: Url,
    pub(crate) token_url: Url,
    pub(crate) jwks_url: Url,
    pub(crate) auth_method: AuthMethod,
    pub(crate) client_auth: ClientAuthMethod,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) extra_root_ca_pem: Option<String>,
    pub(crate) proxy: Option<String>,
    pub(crate) refresh: RefreshPolicy,
    pub(crate) max_token_lifetime: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) circuit_breaker: CircuitBreakerConfig,
    pub(crate) expired_statuses: Vec<u16>,
    pub(crate) max_response_bytes: usize,
    pub(crate) max_cached_scope_sets: usize,
    pub(crate) jwt: JwtConfig,
    pub(crate) token_store: Option<Arc<dyn TokenStore>>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("scopes", &self.scopes)
            .field("base_url", &self.base_url.as_str())
            .field("token_url", &self.token_url.as_str())
            .field("jwks_url", &self.jwks_url.as_str())
            .field("auth_method", &self.auth_method)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// A builder with every default in place.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The configured client id.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
    /// The default scopes requested.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
    /// The API base URL.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }
    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }
    /// The JWKS endpoint.
    pub fn jwks_url(&self) -> &Url {
        &self.jwks_url
    }
    /// How API calls authenticate.
    pub fn auth_method(&self) -> AuthMethod {
        self.auth_method
    }
}

/// Builds a [`Config`]; every setter has a string twin in [`ConfigBuilder::set`].
#[derive(Clone, Default)]
pub struct ConfigBuilder {
    client_id: Option<String>,
    client_secret: Option<SecretSource>,
    api_key: Option<SecretSource>,
    scopes: Option<Vec<String>>,
    base_url: Option<String>,
    token_url: Option<String>,
    jwks_url: Option<String>,
    auth_method: Option<AuthMethod>,
    client_auth: Option<ClientAuthMethod>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    extra_root_ca_pem: Option<String>,
    proxy: Option<String>,
    refresh: RefreshPolicy,
    max_token_lifetime: Option<Duration>,
    retry: RetryPolicy,
    circuit_breaker: CircuitBreakerConfig,
    expired_statuses: Option<Vec<u16>>,
    max_response_bytes: Option<usize>,
    max_cached_scope_sets: Option<usize>,
    jwt: JwtConfig,
    token_store: Option<Arc<dyn TokenStore>>,
    token_cache: Option<String>,
    token_cache_key: Option<SecretSource>,
    errors: Vec<Error>,
}

/// The keys [`ConfigBuilder::set`] accepts; `SYNAPSE_<KEY in upper case>` is the environment twin.
pub const CONFIG_KEYS: &[&str] = &[
    "client_id",
    "client_secret",
    "client_secret_file",
    "api_key",
    "api_key_file",
    "scopes",
    "base_url",
    "token_url",
    "jwks_url",
    "auth_method",
    "client_auth",
    "connect_timeout",
    "timeout",
    "ca_file",
    "ca_pem",
    "proxy",
    "refresh_fraction",
    "refresh_window_max",
    "expiry_skew",
    "max_token_lifetime",
    "max_attempts",
    "retry_deadline",
    "circuit_threshold",
    "circuit_cooldown",
    "expired_statuses",
    "max_response_bytes",
    "jwt_issuer",
    "jwt_audience",
    "jwt_algorithms",
    "jwt_leeway",
    "jwt_required_scopes",
    "token_cache",
    "token_cache_key",
    "token_cache_key_file",
];

fn parse_seconds(field: &'static str, value: &str) -> Result<Duration> {
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| Error::config(field, format!("expected a number of seconds, got {value:?}")))?;
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(Error::config(field, format!("out of range: {value:?}")));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_number<T: std::str::FromStr>(field: &'static str, value: &str) -> Result<T> {
    value.trim().parse().map_err(|_| Error::config(field, format!("expected a whole number, got {value:?}")))
}

/// Splits a scope list written with spaces and/or commas.
pub fn split_scopes(value: &str) -> Vec<String> {
    value.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

impl ConfigBuilder {
    /// A builder seeded from `SYNAPSE_*` environment variables (see [`CONFIG_KEYS`]).
    /// Unset variables leave the defaults; a malformed one fails in [`build`](Self::build).
    pub fn from_env() -> ConfigBuilder {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup` (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> ConfigBuilder {
        let mut builder = ConfigBuilder::default();
        for key in CONFIG_KEYS {
            let var = format!("SYNAPSE_{}", key.to_ascii_uppercase());
            if let Some(value) = lookup(&var) {
                // `set` records a bad value; build() reports it naming the field.
                let _ = builder.set_in_place(key, &value);
            }
        }
        builder
    }

    /// Sets a field by its string key (see [`CONFIG_KEYS`]), parsing the value.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        self.set_in_place(key, value)?;
        Ok(self)
    }

    fn set_in_place(&mut self, key: &str, value: &str) -> Result<()> {
        let result = self.apply(key, value);
        if let Err(e) = &result {
            self.errors.push(e.clone());
        }
        result
    }

    fn apply(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "client_id" => self.client_id = Some(value.to_string()),
            "client_secret" => self.client_secret = Some(SecretSource::Value(Secret::new(value))),
            "client_secret_file" => self.client_secret = Some(SecretSource::File(value.into())),
            "api_key" => self.api_key = Some(SecretSource::Value(Secret::new(value))),
            "api_key_file" => self.api_key = Some(SecretSource::File(value.into())),
            "scopes" => self.scopes = Some(split_scopes(value)),
            "base_url" => self.base_url = Some(value.to_string()),
            "token_url" => self.token_url = Some(value.to_string()),
            "jwks_url" => self.jwks_url = Some(value.to_string()),
            "auth_method" => {
                self.auth_method = Some(match value.trim().to_ascii_lowercase().as_str() {
                    "oauth" | "oauth2" | "bearer" => AuthMethod::OAuth,
                    "api_key" | "apikey" => AuthMethod::ApiKey,
                    other => {
                        return Err(Error::config(
                            "auth_method",
                            format!("expected \"oauth\" or \"api_key\", got {other:?}"),
                        ));
                    }
                })
            }
            "client_auth" => {
                self.client_auth = Some(match value.trim().to_ascii_lowercase().as_str() {
                    "body" | "client_secret_post" => ClientAuthMethod::Body,
                    "basic" | "client_secret_basic" => ClientAuthMethod::Basic,
                    other => {
                        return Err(Error::config(
                            "client_auth",
                            format!("expected \"body\" or \"basic\", got {other:?}"),
                        ));
                    }
                })
            }
            "connect_timeout" => self.connect_timeout = Some(parse_seconds("connect_timeout", value)?),
            "timeout" => self.request_timeout = Some(parse_seconds("timeout", value)?),
            "ca_file" => {
                let pem = std::fs::read_to_string(value)
                    .map_err(|e| Error::config("ca_file", format!("cannot read {value}: {e}")))?;
                self.extra_root_ca_pem = Some(pem);
            }
            "ca_pem" => self.extra_root_ca_pem = Some(value.to_string()),
            "proxy" => self.proxy = Some(value.to_string()),
            "refresh_fraction" => {
                let f: f64 = value
                    .trim()
                    .parse()
                    .map_err(|_| Error::config("refresh_fraction", format!("expected a number, got {value:?}")))?;
                self.refresh.fraction = f;
            }
            "refresh_window_max" => self.refresh.max = parse_seconds("refresh_window_max", value)?,
            "expiry_skew" => self.refresh.expiry_skew = parse_seconds("expiry_skew", value)?,
            "max_token_lifetime" => self.max_token_lifetime = Some(parse_seconds("max_token_lifetime", value)?),
            "max_attempts" => self.retry.max_attempts = parse_number("max_attempts", value)?,
            "retry_deadline" => self.retry.total_deadline = parse_seconds("retry_deadline", value)?,
            "circuit_threshold" => self.circuit_breaker.failure_threshold = parse_number("circuit_threshold", value)?,
            "circuit_cooldown" => self.circuit_breaker.cooldown = parse_seconds("circuit_cooldown", value)?,
            "expired_statuses" => {
                let statuses = split_scopes(value)
                    .iter()
                    .map(|s| parse_number::<u16>("expired_statuses", s))
                    .collect::<Result<Vec<_>>>()?;
                self.expired_statuses = Some(statuses);
            }
            "max_response_bytes" => self.max_response_bytes = Some(parse_number("max_response_bytes", value)?),
            "jwt_issuer" => self.jwt.issuer = Some(value.to_string()),
            "jwt_audience" => self.jwt.audience = Some(value.to_string()),
            "jwt_algorithms" => self.jwt.algorithms = split_scopes(value),
            "jwt_leeway" => self.jwt.leeway = parse_seconds("jwt_leeway", value)?,
            "jwt_required_scopes" => self.jwt.required_scopes = split_scopes(value),
            "token_cache" => self.token_cache = Some(value.to_string()),
            "token_cache_key" => self.token_cache_key = Some(SecretSource::Value(Secret::new(value))),
            "token_cache_key_file" => self.token_cache_key = Some(SecretSource::File(value.into())),
            _ => {
                return Err(Error::new(
                    crate::ErrorKind::Config,
                    format!("unknown configuration key {key:?}; known keys: {}", CONFIG_KEYS.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// The OAuth client id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }
    /// The OAuth client secret.
    pub fn client_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.client_secret = Some(SecretSource::Value(secret.into()));
        self
    }
    /// Reads the client secret from a file, re-read when rejected.
    pub fn client_secret_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.client_secret = Some(SecretSource::File(path.into()));
        self
    }
    /// The API key (`sk_live_...`).
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api_key = Some(SecretSource::Value(key.into()));
        self
    }
    /// Reads the API key from a file, re-read when rejected.
    pub fn api_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.api_key = Some(SecretSource::File(path.into()));
        self
    }
    /// The default scopes.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
    /// The API base URL (default `https://api.synapsestream.io`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }
    /// The token endpoint (default `<base_url>/oauth2/token`); any RFC 6749 endpoint works.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }
    /// The JWKS endpoint (default `<base_url>/.well-known/jwks.json`).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }
    /// How API calls authenticate (default OAuth when a client id is set, else API key).
    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        self.auth_method = Some(method);
        self
    }
    /// How the client authenticates to the token endpoint (default in the body).
    pub fn client_auth(mut self, method: ClientAuthMethod) -> Self {
        self.client_auth = Some(method);
        self
    }
    /// The TCP + TLS connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }
    /// The timeout of one HTTP exchange (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }
    /// An extra trusted root CA, PEM (for private deployments and the reference server).
    pub fn extra_root_ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.extra_root_ca_pem = Some(pem.into());
        self
    }
    /// An explicit proxy URL; otherwise HTTPS_PROXY / NO_PROXY apply.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }
    /// When tokens are refreshed ahead of expiry.
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.refresh = policy;
        self
    }
    /// Caps how long any token is used, whatever `expires_in` says.
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_token_lifetime = Some(lifetime);
        self
    }
    /// Retries of token requests and API calls.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
    /// The authentication circuit breaker.
    pub fn circuit_breaker(mut self, config: CircuitBreakerConfig) -> Self {
        self.circuit_breaker = config;
        self
    }
    /// Statuses that mean "token expired: refresh once and retry" (default 418 and 401).
    pub fn expired_statuses(mut self, statuses: Vec<u16>) -> Self {
        self.expired_statuses = Some(statuses);
        self
    }
    /// The largest response body read (default 1 MiB).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = Some(bytes);
        self
    }
    /// How many distinct scope sets are cached at once (default 16).
    pub fn max_cached_scope_sets(mut self, n: usize) -> Self {
        self.max_cached_scope_sets = Some(n);
        self
    }
    /// JWT validation settings.
    pub fn jwt(mut self, jwt: JwtConfig) -> Self {
        self.jwt = jwt;
        self
    }
    /// A store that persists tokens (and rotated refresh tokens) across restarts or processes.
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.token_store = Some(store);
        self
    }

    /// The shared token cache: `memory` (default), `file`, `file:<dir>` or `redis://…`
    /// (see [`store::open`](crate::store::open)).
    pub fn token_cache(mut self, spec: impl Into<String>) -> Self {
        self.token_cache = Some(spec.into());
        self
    }

    /// The key that encrypts tokens in a shared Redis cache: base64 of 32 random bytes
    /// (e.g. `openssl rand -base64 32`), the same on every process sharing the cache.
    /// Required by `redis://`; the file backend ignores it.
    pub fn token_cache_key(mut self, key: impl Into<Secret>) -> Self {
        self.token_cache_key = Some(SecretSource::Value(key.into()));
        self
    }

    /// Reads [`token_cache_key`](Self::token_cache_key) from a file (Docker and Kubernetes secrets).
    pub fn token_cache_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.token_cache_key = Some(SecretSource::File(path.into()));
        self
    }

    /// Validates everything and returns the configuration.
    pub fn build(self) -> Result<Config> {
        self.finish(true)
    }

    /// Like [`build`](Self::build) but without requiring credentials: for a
    /// [`Verifier`](crate::Verifier) that only checks tokens against the JWKS.
    pub fn build_without_credentials(self) -> Result<Config> {
        self.finish(false)
    }

    fn finish(self, require_credentials: bool) -> Result<Config> {
        if let Some(e) = self.errors.into_iter().next() {
            return Err(e);
        }
        let base = self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base_url = parse_url("base_url", base)?;
        let base_with_slash = ensure_trailing_slash(base_url.clone());
        let token_url = match &self.token_url {
            Some(u) => parse_url("token_url", u)?,
            None => base_with_slash.join("oauth2/token").expect("static path"),
        };
        let jwks_url = match &self.jwks_url {
            Some(u) => parse_url("jwks_url", u)?,
            None => base_with_slash.join(".well-known/jwks.json").expect("static path"),
        };
        if let Some(id) = &self.client_id
            && id.trim().is_empty()
        {
            return Err(Error::config("client_id", "is empty"));
        }
        if self.client_id.is_some() != self.client_secret.is_some() {
            return Err(if self.client_id.is_some() {
                Error::config("client_secret", "a client_id needs a client_secret (or client_secret_file)")
            } else {
                Error::config("client_id", "a client_secret needs a client_id")
            });
        }
        // Load secrets now so a missing file fails at construction, not at first use.
        if let Some(src) = &self.client_secret {
            src.load("client_secret")?;
        }
        if let Some(src) = &self.api_key {
            src.load("api_key")?;
        }
        let auth_method = match self.auth_method {
            Some(m) => m,
            None if self.client_id.is_some() => AuthMethod::OAuth,
            None if self.api_key.is_some() => AuthMethod::ApiKey,
            None if !require_credentials => AuthMethod::OAuth,
            None => {
                return Err(Error::config("client_id", "no credentials: set client_id and client_secret, or api_key"));
            }
        };
        match auth_method {
            AuthMethod::ApiKey if self.api_key.is_none() => {
                return Err(Error::config("api_key", "auth_method api_key needs an api_key"));
            }
            AuthMethod::OAuth if self.client_id.is_none() && require_credentials => {
                return Err(Error::config("client_id", "auth_method oauth needs client_id and client_secret"));
            }
            _ => {}
        }
        let scopes = self.scopes.unwrap_or_default();
        if let Some(bad) = scopes.iter().find(|s| !valid_scope_token(s)) {
            return Err(Error::config("scopes", format!("invalid scope {bad:?}")));
        }
        let refresh = self.refresh;
        if !(0.0..1.0).contains(&refresh.fraction) {
            return Err(Error::config("refresh_fraction", "must be at least 0 and below 1"));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::config("max_attempts", "must be at least 1"));
        }
        if let Some(lifetime) = self.max_token_lifetime
            && lifetime.is_zero()
        {
            return Err(Error::config("max_token_lifetime", "must be positive"));
        }
        let request_timeout = self.request_timeout.unwrap_or(Duration::from_secs(30));
        let connect_timeout = self.connect_timeout.unwrap_or(Duration::from_secs(10));
        if request_timeout.is_zero() {
            return Err(Error::config("timeout", "must be positive"));
        }
        if connect_timeout.is_zero() {
            return Err(Error::config("connect_timeout", "must be positive"));
        }
        if let Some(proxy) = &self.proxy {
            Url::parse(proxy).map_err(|e| Error::config("proxy", format!("not a URL: {e}")))?;
        }
        if let Some(pem) = &self.extra_root_ca_pem
            && !pem.contains("-----BEGIN CERTIFICATE-----")
        {
            return Err(Error::config("ca_pem", "not a PEM certificate"));
        }
        // A malformed key fails here whatever the backend, rather than at the day it is used.
        let cache_key = match &self.token_cache_key {
            None => None,
            Some(src) => {
                let field = match src {
                    SecretSource::Value(_) => "token_cache_key",
                    SecretSource::File(_) => "token_cache_key_file",
                };
                let text = src.load(field)?;
                Some(crate::store::CacheKey::from_base64(text.expose()).ok_or_else(|| {
                    Error::config(field, "expected base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)")
                })?)
            }
        };
        for alg in &self.jwt.algorithms {
            if !crate::jwt::SUPPORTED_ALGORITHMS.contains(&alg.as_str()) {
                return Err(Error::config(
                    "jwt_algorithms",
                    format!("unsupported algorithm {alg:?}; supported: {:?}", crate::jwt::SUPPORTED_ALGORITHMS),
                ));
            }
        }
        Ok(Config {
            client_id: self.client_id,
            client_secret: self.client_secret,
            api_key: self.api_key,
            scopes,
            base_url,
            token_url,
            jwks_url,
            auth_method,
            client_auth: self.client_auth.unwrap_or(ClientAuthMethod::Body),
            connect_timeout,
            request_timeout,
            extra_root_ca_pem: self.extra_root_ca_pem,
            proxy: self.proxy,
            refresh,
            max_token_lifetime: self.max_token_lifetime,
            retry: self.retry,
            circuit_breaker: self.circuit_breaker,
            expired_statuses: self.expired_statuses.unwrap_or_else(|| vec![418, 401]),
            max_response_bytes: self.max_response_bytes.unwrap_or(1 << 20),
            max_cached_scope_sets: self.max_cached_scope_sets.unwrap_or(16).max(1),
            jwt: self.jwt,
            token_store: match (self.token_store, &self.token_cache) {
                (Some(store), _) => Some(store),
                (None, Some(spec)) => crate::store::open_with_key(spec, cache_key.as_ref())?,
                (None, None) => None,
            },
        })
    }
}

/// RFC 6749 §3.3 scope-token characters.
fn valid_scope_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// `url` with a path ending in `/`, so relative paths join below it.
pub(crate) fn ensure_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// Parses a URL and enforces HTTPS (plain HTTP only to loopback hosts).
pub(crate) fn parse_url(field: &'static str, value: &str) -> Result<Url> {
    let url = Url::parse(value.trim()).map_err(|e| Error::config(field, format!("not a URL ({e}): {value:?}")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(Error::config(field, "plain http is only allowed to loopback hosts; use https"));
        }
        other => return Err(Error::config(field, format!("unsupported scheme {other:?}; use https"))),
    }
    if url.host().is_none() {
        return Err(Error::config(field, "has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(field, "must not embed credentials"));
    }
    Ok(url)
}

/// True for `localhost`, 127.0.0.0/8 and `::1`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> ConfigBuilder {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ConfigBuilder::from_lookup(move |k| map.get(k).cloned())
    }

    #[test]
    fn from_env_reads_every_variable() {
        let cfg = env(&[
            ("SYNAPSE_CLIENT_ID", "id"),
            ("SYNAPSE_CLIENT_SECRET", "s3cret"),
            ("SYNAPSE_SCOPES", "inference, training"),
            ("SYNAPSE_BASE_URL", "http://127.0.0.1:9999"),
        ])
        .build()
        .unwrap();
        assert_eq!(cfg.scopes, vec!["inference", "training"]);
        assert_eq!(cfg.token_url.as_str(), "http://127.0.0.1:9999/oauth2/token");
        assert_eq!(cfg.jwks_url.as_str(), "http://127.0.0.1:9999/.well-known/jwks.json");
        assert_eq!(cfg.auth_method, AuthMethod::OAuth);
        assert!(!format!("{cfg:?}").contains("s3cret"));
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("SYNAPSE_CLIENT_ID", "id")], "client_secret"),
            (&[("SYNAPSE_API_KEY", "k"), ("SYNAPSE_BASE_URL", "http://example.com")], "base_url"),
            (&[("SYNAPSE_API_KEY", "k"), ("SYNAPSE_TIMEOUT", "soon")], "timeout"),
            (&[("SYNAPSE_API_KEY", "k"), ("SYNAPSE_BASE_URL", "ftp://x")], "base_url"),
            (&[("SYNAPSE_API_KEY_FILE", "/nonexistent/key")], "api_key"),
            (&[("SYNAPSE_API_KEY", "k"), ("SYNAPSE_SCOPES", "a\"b")], "scopes"),
            (&[], "client_id"),
        ];
        for (pairs, field) in cases {
            let err = env(pairs).build().unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config);
            assert!(err.message().starts_with(field), "{err} should name {field}");
        }
    }

    #[test]
    fn secrets_come_from_files() {
        let dir = std::env::temp_dir().join(format!("synapse-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret");
        std::fs::write(&path, "from-file\n").unwrap();
        let cfg = Config::builder().client_id("id").client_secret_file(&path).build().unwrap();
        let secret = cfg.client_secret.as_ref().unwrap().load("client_secret").unwrap();
        assert_eq!(secret.expose(), "from-file");
    }

    #[test]
    fn loopback_http_only() {
        assert!(parse_url("base_url", "http://localhost:1").is_ok());
        assert!(parse_url("base_url", "http://[::1]:1").is_ok());
        assert!(parse_url("base_url", "http://10.0.0.1").is_err());
        assert!(parse_url("base_url", "https://user:pw@example.com").is_err());
    }
}
