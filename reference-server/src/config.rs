//! Server configuration: clients, API keys, token lifetime, signing algorithm,
//! rate limits, and the built-in development configuration.
//!
//! A [`ServerConfig`] can be built in code (start from [`ServerConfig::dev`] and
//! change fields) or read from a JSON file with [`ServerConfig::from_file`].
//! In JSON, durations are whole seconds under `*_secs` names:
//!
//! ```json
//! {
//!   "bind": "127.0.0.1:0",
//!   "tls": true,
//!   "issuer": "",
//!   "audience": "https://api.synapsestream.io",
//!   "token_ttl_secs": 3600,
//!   "key_rotation_secs": null,
//!   "signing_alg": "RS256",
//!   "clients": [{"client_id": "c", "client_secret": "s", "allowed_scopes": ["inference"],
//!                "issue_refresh_token": true}],
//!   "api_keys": [{"key": "sk_live_x", "scopes": ["inference"], "allowed_ips": ["127.0.0.0/8"]}],
//!   "rate_limit": {"token_requests": 1000000, "api_requests": 1000000, "window_secs": 60},
//!   "admin_token": "admin-dev-token",
//!   "max_body_bytes": 1048576
//! }
//! ```
//!
//! Every field is optional: a missing field keeps its value from the dev
//! configuration, so `{"token_ttl_secs": 5}` is the dev configuration with
//! five-second tokens. Unknown fields are rejected, so typos fail loudly.

use std::collections::HashSet;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The audience every access token is issued for, unless configured otherwise.
pub const DEFAULT_AUDIENCE: &str = "https://api.synapsestream.io";
/// The dev client with both scopes.
pub const DEV_CLIENT_ID: &str = "synapse-dev-client";
/// Secret of [`DEV_CLIENT_ID`].
pub const DEV_CLIENT_SECRET: &str = "dev-secret-2f9c1e7a";
/// The dev client limited to the `inference` scope.
pub const DEV_INFERENCE_CLIENT_ID: &str = "synapse-dev-inference";
/// Secret of [`DEV_INFERENCE_CLIENT_ID`].
pub const DEV_INFERENCE_CLIENT_SECRET: &str = "dev-secret-inference-5b1d";
/// The dev client that is never issued refresh tokens.
pub const DEV_NOREFRESH_CLIENT_ID: &str = "synapse-dev-norefresh";
/// Secret of [`DEV_NOREFRESH_CLIENT_ID`].
pub const DEV_NOREFRESH_CLIENT_SECRET: &str = "dev-secret-norefresh-9e4a";
/// The dev API key with scopes `inference training` (the key of the guide's example).
pub const DEV_API_KEY: &str = "sk_live_1a2b3c4d5e6f7g8h9i0j";
/// The dev API key with scope `inference` only.
pub const DEV_INFERENCE_API_KEY: &str = "sk_live_inferenceonly0000000000";
/// The dev admin token (header `X-Admin-Token`).
pub const DEV_ADMIN_TOKEN: &str = "admin-dev-token";

/// JWS algorithm used to sign access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA 2048-bit keys.
    #[default]
    RS256,
    /// RSASSA-PSS with SHA-256 (MGF1 SHA-256, salt 32 bytes), RSA 2048-bit keys.
    PS256,
    /// ECDSA on P-256 with SHA-256 (fixed-size `r || s` signature).
    ES256,
    /// Ed25519.
    EdDSA,
}

impl SigningAlg {
    /// Every supported algorithm.
    pub const ALL: [SigningAlg; 4] = [SigningAlg::RS256, SigningAlg::PS256, SigningAlg::ES256, SigningAlg::EdDSA];

    /// The JWS `alg` name (`RS256`, `PS256`, `ES256`, `EdDSA`).
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::PS256 => "PS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlg {
    type Err = String;

    /// Parses a JWS algorithm name, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SigningAlg::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown signing algorithm {s:?} (expected RS256, PS256, ES256 or EdDSA)"))
    }
}

/// An OAuth 2.0 confidential client allowed to use the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret`.
    pub client_secret: String,
    /// Scopes this client may request; the default when it requests none.
    pub allowed_scopes: Vec<String>,
    /// Whether token responses for this client carry a `refresh_token`
    /// (both grants). Default `true`.
    #[serde(default = "default_true")]
    pub issue_refresh_token: bool,
}

impl ClientConfig {
    /// A client that is issued refresh tokens.
    pub fn new(client_id: &str, client_secret: &str, allowed_scopes: &[&str]) -> Self {
        ClientConfig {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            allowed_scopes: allowed_scopes.iter().map(|s| (*s).to_owned()).collect(),
            issue_refresh_token: true,
        }
    }
}

/// An API key accepted in the `X-API-Key` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// The key itself (`sk_live_...`).
    pub key: String,
    /// Scopes the key grants.
    pub scopes: Vec<String>,
    /// Peer address ranges the key may be used from; empty means any address.
    #[serde(default)]
    pub allowed_ips: Vec<IpNet>,
}

impl ApiKeyConfig {
    /// A key usable from any address.
    pub fn new(key: &str, scopes: &[&str]) -> Self {
        ApiKeyConfig {
            key: key.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            allowed_ips: Vec::new(),
        }
    }
}

/// Fixed-window rate limits, counted per client (token endpoint and bearer
/// API calls) or per API key, separately for the token endpoint and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimit {
    /// Token-endpoint requests allowed per client per window.
    pub token_requests: u32,
    /// API requests allowed per client or API key per window.
    pub api_requests: u32,
    /// Window length (JSON: `window_secs`).
    #[serde(rename = "window_secs", with = "secs")]
    pub window: Duration,
}

impl Default for RateLimit {
    /// One million requests per minute each: high enough that benchmarks
    /// driving thousands of calls per second never trip it by accident.
    /// Tests that want 429s set small limits (or use the `rate_limit_next` fault).
    fn default() -> Self {
        RateLimit { token_requests: 1_000_000, api_requests: 1_000_000, window: Duration::from_secs(60) }
    }
}

/// Everything [`crate::start`] needs. See the module docs for the JSON form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port. Default `127.0.0.1:0`.
    pub bind: SocketAddr,
    /// Serve HTTPS with a CA generated at start (default), or plain HTTP.
    pub tls: bool,
    /// The `iss` claim. Empty (the default) means the server's base URL.
    pub issuer: String,
    /// The `aud` claim, checked on every bearer call.
    pub audience: String,
    /// Access-token lifetime (JSON: `token_ttl_secs`). Default one hour.
    #[serde(rename = "token_ttl_secs", with = "secs")]
    pub token_ttl: Duration,
    /// Rotate the signing key on this schedule (JSON: `key_rotation_secs`).
    /// `None` (default): rotate only on demand.
    #[serde(rename = "key_rotation_secs", with = "opt_secs")]
    pub key_rotation_interval: Option<Duration>,
    /// Access-token signing algorithm. Default RS256.
    pub signing_alg: SigningAlg,
    /// OAuth clients.
    pub clients: Vec<ClientConfig>,
    /// API keys.
    pub api_keys: Vec<ApiKeyConfig>,
    /// Rate limits.
    pub rate_limit: RateLimit,
    /// Value of the `X-Admin-Token` header that unlocks `/admin/`.
    pub admin_token: String,
    /// Largest accepted request body; larger ones get 413. Default 1 MiB.
    pub max_body_bytes: usize,
}

impl Default for ServerConfig {
    /// Same as [`ServerConfig::dev`].
    fn default() -> Self {
        ServerConfig::dev()
    }
}

/// Why a configuration could not be loaded or used.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The file is not valid JSON for a [`ServerConfig`].
    Parse(serde_json::Error),
    /// The values are inconsistent (duplicate client, empty admin token, ...).
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Io(e) => write!(f, "cannot read config: {e}"),
            ConfigError::Parse(e) => write!(f, "invalid config JSON: {e}"),
            ConfigError::Invalid(msg) => write!(f, "invalid config: {msg}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io(e) => Some(e),
            ConfigError::Parse(e) => Some(e),
            ConfigError::Invalid(_) => None,
        }
    }
}

impl From<ConfigError> for std::io::Error {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::Io(io) => io,
            other => std::io::Error::new(std::io::ErrorKind::InvalidInput, other.to_string()),
        }
    }
}

impl ServerConfig {
    /// The built-in development configuration: TLS on `127.0.0.1:0`, RS256,
    /// one-hour tokens, the three dev clients, the two dev API keys and the
    /// dev admin token (see the `DEV_*` constants).
    pub fn dev() -> Self {
        let mut norefresh =
            ClientConfig::new(DEV_NOREFRESH_CLIENT_ID, DEV_NOREFRESH_CLIENT_SECRET, &["inference", "training"]);
        norefresh.issue_refresh_token = false;
        ServerConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: true,
            issuer: String::new(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            token_ttl: Duration::from_secs(3600),
            key_rotation_interval: None,
            signing_alg: SigningAlg::RS256,
            clients: vec![
                ClientConfig::new(DEV_CLIENT_ID, DEV_CLIENT_SECRET, &["inference", "training"]),
                ClientConfig::new(DEV_INFERENCE_CLIENT_ID, DEV_INFERENCE_CLIENT_SECRET, &["inference"]),
                norefresh,
            ],
            api_keys: vec![
                ApiKeyConfig::new(DEV_API_KEY, &["inference", "training"]),
                ApiKeyConfig::new(DEV_INFERENCE_API_KEY, &["inference"]),
            ],
            rate_limit: RateLimit::default(),
            admin_token: DEV_ADMIN_TOKEN.to_owned(),
            max_body_bytes: 1024 * 1024,
        }
    }

    /// Reads a JSON configuration file (see the module docs); fields left out
    /// keep their dev-configuration values. The result is validated.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(ConfigError::Io)?;
        Self::from_json(&text)
    }

    /// Parses a JSON configuration (see [`ServerConfig::from_file`]).
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let config: ServerConfig = serde_json::from_str(text).map_err(ConfigError::Parse)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the values that [`crate::start`] relies on: unique, non-empty
    /// client ids and API keys, valid scope names, a non-empty admin token and
    /// audience, non-zero rate-limit window and body limit.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| Err(ConfigError::Invalid(msg));
        if self.admin_token.is_empty() {
            return invalid("admin_token must not be empty".into());
        }
        if self.audience.is_empty() {
            return invalid("audience must not be empty".into());
        }
        if self.max_body_bytes == 0 {
            return invalid("max_body_bytes must be positive".into());
        }
        if self.rate_limit.window.is_zero() {
            return invalid("rate_limit.window_secs must be positive".into());
        }
        if self.key_rotation_interval.is_some_and(|i| i.is_zero()) {
            return invalid("key_rotation_secs must be positive".into());
        }
        let mut ids = HashSet::new();
        for client in &self.clients {
            if client.client_id.is_empty() || client.client_secret.is_empty() {
                return invalid("client_id and client_secret must not be empty".into());
            }
            if !ids.insert(client.client_id.as_str()) {
                return invalid(format!("duplicate client_id {:?}", client.client_id));
            }
            check_scopes(&client.allowed_scopes, &client.client_id)?;
        }
        let mut keys = HashSet::new();
        for key in &self.api_keys {
            if key.key.is_empty() {
                return invalid("API keys must not be empty".into());
            }
            if !keys.insert(key.key.as_str()) {
                return invalid("duplicate API key".into());
            }
            check_scopes(&key.scopes, "an API key")?;
        }
        Ok(())
    }
}

fn check_scopes(scopes: &[String], owner: &str) -> Result<(), ConfigError> {
    for scope in scopes {
        if !crate::scope::is_valid_scope_token(scope) {
            return Err(ConfigError::Invalid(format!("invalid scope {scope:?} for {owner}")));
        }
    }
    Ok(())
}

fn default_true() -> bool {
    true
}

/// Serde helper: a [`Duration`] as whole seconds.
mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// Serde helper: an optional [`Duration`] as whole seconds or `null`.
mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|o| o.map(Duration::from_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_config_is_valid_and_has_the_dev_credentials() {
        let c = ServerConfig::dev();
        c.validate().unwrap();
        assert_eq!(c.clients.len(), 3);
        assert!(!c.clients[2].issue_refresh_token);
        assert_eq!(c.api_keys[0].key, DEV_API_KEY);
        assert_eq!(c.token_ttl, Duration::from_secs(3600));
        assert!(c.tls);
    }

    #[test]
    fn json_fields_default_to_dev_values() {
        let c = ServerConfig::from_json(r#"{"token_ttl_secs": 5, "signing_alg": "EdDSA"}"#).unwrap();
        assert_eq!(c.token_ttl, Duration::from_secs(5));
        assert_eq!(c.signing_alg, SigningAlg::EdDSA);
        assert_eq!(c.clients, ServerConfig::dev().clients);
    }

    #[test]
    fn json_round_trip() {
        let mut c = ServerConfig::dev();
        c.key_rotation_interval = Some(Duration::from_secs(30));
        c.api_keys[1].allowed_ips = vec!["10.0.0.0/8".parse().unwrap()];
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.contains("\"token_ttl_secs\":3600"));
        assert!(text.contains("\"key_rotation_secs\":30"));
        assert_eq!(ServerConfig::from_json(&text).unwrap(), c);
    }

    #[test]
    fn unknown_fields_and_bad_values_are_rejected() {
        assert!(matches!(ServerConfig::from_json(r#"{"token_ttl": 5}"#), Err(ConfigError::Parse(_))));
        assert!(matches!(ServerConfig::from_json(r#"{"admin_token": ""}"#), Err(ConfigError::Invalid(_))));
        let dup = r#"{"clients": [
            {"client_id": "a", "client_secret": "s", "allowed_scopes": []},
            {"client_id": "a", "client_secret": "t", "allowed_scopes": []}]}"#;
        assert!(matches!(ServerConfig::from_json(dup), Err(ConfigError::Invalid(_))));
        let bad_scope = r#"{"clients": [
            {"client_id": "a", "client_secret": "s", "allowed_scopes": ["a b"]}]}"#;
        assert!(matches!(ServerConfig::from_json(bad_scope), Err(ConfigError::Invalid(_))));
    }

    #[test]
    fn client_refresh_flag_defaults_to_true() {
        let c: ClientConfig =
            serde_json::from_str(r#"{"client_id":"a","client_secret":"b","allowed_scopes":["x"]}"#).unwrap();
        assert!(c.issue_refresh_token);
    }

    #[test]
    fn signing_alg_parses_case_insensitively() {
        assert_eq!("eddsa".parse::<SigningAlg>().unwrap(), SigningAlg::EdDSA);
        assert_eq!("PS256".parse::<SigningAlg>().unwrap(), SigningAlg::PS256);
        assert!("HS256".parse::<SigningAlg>().is_err());
    }
}
