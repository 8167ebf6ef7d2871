//! [`Token`]: an access token with its type, scopes and expiry, and the
//! parsers for token-endpoint responses (lenient where servers are sloppy,
//! strict where it matters).

use crate::clock;
use crate::config::RefreshPolicy;
use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// `expires_in` beyond this (one year) is rejected as absurd.
pub const MAX_EXPIRES_IN: u64 = 365 * 24 * 3600;
/// `expires_in` assumed when a server omits it (RFC 6749 makes it only RECOMMENDED).
pub const DEFAULT_EXPIRES_IN: u64 = 3600;

static NEXT_TOKEN_ID: AtomicU64 = AtomicU64::new(1);

/// An access token. Immutable and shared (`Arc<Token>`); its value is redacted in `Debug`.
pub struct Token {
    id: u64,
    value: Secret,
    token_type: String,
    scopes: Vec<String>,
    expires_at: SystemTime,
    valid_until: Instant,
    refresh_at: Instant,
    /// `valid_until` and `refresh_at` on the coarse clock, for the cache-hit path.
    valid_until_ns: u64,
    refresh_at_ns: u64,
    extension: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl Token {
    /// Builds a token from a parsed response received for a request sent at `sent_at`.
    pub(crate) fn from_response(
        response: &TokenResponse,
        sent_at: Instant,
        policy: &RefreshPolicy,
        max_lifetime: Option<Duration>,
    ) -> Token {
        let mut lifetime = response.expires_in;
        if let Some(cap) = max_lifetime {
            lifetime = lifetime.min(cap);
        }
        let skew = policy.expiry_skew.min(lifetime / 10);
        let usable = lifetime - skew;
        let window = policy.max.min(lifetime.mul_f64(policy.fraction)).min(usable);
        // Start somewhere in the last fifth of the window's lead, so fleets spread out.
        let lead = window.mul_f64(1.0 - 0.2 * rand::rng().random::<f64>());
        let wall_elapsed = sent_at.elapsed();
        Token {
            id: NEXT_TOKEN_ID.fetch_add(1, Ordering::Relaxed),
            value: response.access_token.clone(),
            token_type: "Bearer".to_string(),
            scopes: response.scopes.clone(),
            expires_at: SystemTime::now() - wall_elapsed + usable,
            valid_until: sent_at + usable,
            refresh_at: sent_at + usable - lead,
            valid_until_ns: clock::nanos_of(sent_at + usable),
            refresh_at_ns: clock::nanos_of(sent_at + usable - lead),
            extension: OnceLock::new(),
        }
    }

    /// Rebuilds a token persisted by a [`TokenStore`](crate::TokenStore).
    pub(crate) fn from_stored(stored: &StoredToken, policy: &RefreshPolicy) -> Option<Token> {
        let expires_at = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(stored.expires_at_unix.max(0.0));
        let remaining = expires_at.duration_since(SystemTime::now()).ok()?;
        let lifetime = Duration::from_secs_f64((stored.expires_at_unix - stored.issued_at_unix).max(0.0));
        let window = policy.max.min(lifetime.mul_f64(policy.fraction)).min(remaining);
        let lead = window.mul_f64(1.0 - 0.2 * rand::rng().random::<f64>());
        let now = Instant::now();
        Some(Token {
            id: NEXT_TOKEN_ID.fetch_add(1, Ordering::Relaxed),
            value: Secret::new(stored.access_token.clone()),
            token_type: stored.token_type.clone(),
            scopes: stored.scopes.clone(),
            expires_at,
            valid_until: now + remaining,
            refresh_at: now + remaining - lead,
            valid_until_ns: clock::nanos_of(now + remaining),
            refresh_at_ns: clock::nanos_of(now + remaining - lead),
            extension: OnceLock::new(),
        })
    }

    /// A process-unique id, different for every token obtained.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// The access token itself, for the `Authorization` header.
    pub fn secret(&self) -> &str {
        self.value.expose()
    }
    /// The access token as a [`Secret`].
    pub fn value(&self) -> &Secret {
        &self.value
    }
    /// The token type (always `Bearer`).
    pub fn token_type(&self) -> &str {
        &self.token_type
    }
    /// The scopes the server granted.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
    /// When the token stops being used (the server's expiry minus the skew margin).
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
    /// Time left until [`expires_at`](Self::expires_at), by the monotonic clock.
    pub fn expires_in(&self) -> Duration {
        self.valid_until.saturating_duration_since(Instant::now())
    }
    /// True while the token may be used.
    pub fn is_valid(&self) -> bool {
        Instant::now() < self.valid_until
    }
    /// True once the token is in its refresh window.
    pub fn needs_refresh(&self) -> bool {
        Instant::now() >= self.refresh_at
    }
    /// Valid at `now_ns` on the coarse clock.
    #[inline]
    pub(crate) fn is_valid_at(&self, now_ns: u64) -> bool {
        now_ns < self.valid_until_ns
    }
    /// In the refresh window at `now_ns` on the coarse clock.
    #[inline]
    pub(crate) fn needs_refresh_at(&self, now_ns: u64) -> bool {
        now_ns >= self.refresh_at_ns
    }
    /// A slot where a language binding may keep its own copy of the value
    /// (e.g. a Python string made once per token rather than once per call).
    pub fn extension(&self) -> &OnceLock<Box<dyn Any + Send + Sync>> {
        &self.extension
    }
    /// The `Authorization` header value.
    pub fn authorization_header(&self) -> String {
        format!("Bearer {}", self.value.expose())
    }
    pub(crate) fn to_stored(&self, refresh_token: Option<&Secret>) -> StoredToken {
        let unix = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        StoredToken {
            access_token: self.value.expose().to_string(),
            token_type: self.token_type.clone(),
            scopes: self.scopes.clone(),
            expires_at_unix: unix(self.expires_at),
            issued_at_unix: unix(SystemTime::now()),
            refresh_token: refresh_token.map(|s| s.expose().to_string()),
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("token", &"***")
            .field("token_type", &self.token_type)
            .field("scopes", &self.scopes)
            .field("expires_in", &self.expires_in())
            .finish()
    }
}

/// A token as persisted by a [`TokenStore`](crate::TokenStore): wall-clock times,
/// since monotonic instants mean nothing in another process.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredToken {
    /// The access token.
    pub access_token: String,
    /// Its type (`Bearer`).
    pub token_type: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub expires_at_unix: f64,
    /// When it was obtained, seconds since the Unix epoch (newer wins).
    pub issued_at_unix: f64,
    /// The refresh token that came with it, if any.
    pub refresh_token: Option<String>,
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("scopes", &self.scopes)
            .field("expires_at_unix", &self.expires_at_unix)
            .field("issued_at_unix", &self.issued_at_unix)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// A successful token-endpoint response (RFC 6749 §5.1), validated.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: Secret,
    /// Lifetime as the server stated it.
    pub expires_in: Duration,
    /// Granted scopes (the requested ones when the server omits `scope`).
    pub scopes: Vec<String>,
    /// A new refresh token, if the server issued one.
    pub refresh_token: Option<Secret>,
}

#[derive(Deserialize)]
struct RawTokenResponse {
    access_token: Option<serde_json::Value>,
    token_type: Option<serde_json::Value>,
    expires_in: Option<serde_json::Value>,
    scope: Option<serde_json::Value>,
    refresh_token: Option<serde_json::Value>,
}

fn protocol(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Protocol, message)
}

/// Parses a token-endpoint success body.
///
/// Lenient: `expires_in` as a JSON string, a missing `token_type` (Bearer) or
/// `expires_in` (3600 s), unknown fields. Strict: a missing or empty
/// `access_token`, a `token_type` other than Bearer, a non-positive, fractional
/// or absurd (over a year) `expires_in`, a body that is not a JSON object.
pub fn parse_token_response(body: &[u8], requested_scopes: &[String]) -> Result<TokenResponse> {
    let raw: RawTokenResponse = serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Eof => "truncated JSON",
            serde_json::error::Category::Syntax => "invalid JSON",
            _ => "JSON that is not an object",
        };
        protocol(format!("the token endpoint sent {what}"))
    })?;
    let access_token = match raw.access_token {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Secret::new(s),
        Some(serde_json::Value::String(_)) => return Err(protocol("the token response has an empty access_token")),
        Some(_) => return Err(protocol("the token response's access_token is not a string")),
        None => return Err(protocol("the token response has no access_token")),
    };
    match raw.token_type {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(t)) if t.eq_ignore_ascii_case("bearer") => {}
        Some(serde_json::Value::String(t)) => {
            return Err(protocol(format!("unsupported token_type {:?}; expected Bearer", truncate(&t, 32))));
        }
        Some(_) => return Err(protocol("the token response's token_type is not a string")),
    }
    let expires_in = match raw.expires_in {
        None | Some(serde_json::Value::Null) => DEFAULT_EXPIRES_IN,
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64))
            .ok_or_else(|| protocol(format!("expires_in must be a positive whole number of seconds, got {n}")))?,
        Some(serde_json::Value::String(s)) => s.trim().parse::<u64>().map_err(|_| {
            protocol(format!("expires_in must be a positive whole number of seconds, got {:?}", truncate(&s, 32)))
        })?,
        Some(_) => return Err(protocol("expires_in is neither a number nor a numeric string")),
    };
    if expires_in == 0 || expires_in > MAX_EXPIRES_IN {
        return Err(protocol(format!("expires_in of {expires_in} s is out of range (1 s to 1 year)")));
    }
    let scopes = match raw.scope {
        None | Some(serde_json::Value::Null) => requested_scopes.to_vec(),
        Some(serde_json::Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        Some(_) => return Err(protocol("the token response's scope is not a string")),
    };
    let refresh_token = match raw.refresh_token {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(Secret::new(s)),
        Some(_) => return Err(protocol("the token response's refresh_token is not a non-empty string")),
    };
    Ok(TokenResponse { access_token, expires_in: Duration::from_secs(expires_in), scopes, refresh_token })
}

/// An error body: RFC 6749 §5.2 (`error`, `error_description`) or the API's (`error`, `message`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// The machine code, e.g. `invalid_client`.
    pub error: Option<String>,
    /// The human text.
    pub description: Option<String>,
}

/// Parses an error body leniently: anything unparsable gives an empty [`ErrorBody`].
pub fn parse_error_body(body: &[u8]) -> ErrorBody {
    #[derive(Deserialize)]
    struct Raw {
        error: Option<serde_json::Value>,
        error_description: Option<serde_json::Value>,
        message: Option<serde_json::Value>,
    }
    let Ok(raw) = serde_json::from_slice::<Raw>(body) else {
        return ErrorBody::default();
    };
    let text = |v: Option<serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => Some(truncate(&s, 256).to_string()),
        _ => None,
    };
    ErrorBody { error: text(raw.error), description: text(raw.error_description).or(text(raw.message)) }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<TokenResponse> {
        parse_token_response(body.as_bytes(), &["inference".to_string()])
    }

    #[test]
    fn lenient_where_servers_are_sloppy() {
        let r = parse(r#"{"access_token":"a","expires_in":"120","extra":1}"#).unwrap();
        assert_eq!(r.expires_in, Duration::from_secs(120));
        assert_eq!(r.scopes, vec!["inference"]);
        let r = parse(r#"{"access_token":"a","token_type":"bearer","scope":"x y","refresh_token":"r"}"#).unwrap();
        assert_eq!(r.expires_in, Duration::from_secs(DEFAULT_EXPIRES_IN));
        assert_eq!(r.scopes, vec!["x", "y"]);
        assert_eq!(r.refresh_token.unwrap().expose(), "r");
    }

    #[test]
    fn strict_where_it_matters() {
        for body in [
            r#"{"token_type":"Bearer","expires_in":60}"#,
            r#"{"access_token":"","expires_in":60}"#,
            r#"{"access_token":"a","token_type":"mac","expires_in":60}"#,
            r#"{"access_token":"a","expires_in":-5}"#,
            r#"{"access_token":"a","expires_in":0}"#,
            r#"{"access_token":"a","expires_in":99999999999}"#,
            r#"{"access_token":"a","expires_in":"soon"}"#,
            r#"{"access_token":"a","expires_in":1.5}"#,
            r#"[1,2]"#,
            r#"{"access_token":"a""#,
            "",
        ] {
            let e = parse(body).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{body}");
            assert!(!e.message().contains("\"a\""), "no token in the message");
        }
    }

    #[test]
    fn error_bodies() {
        let b = parse_error_body(br#"{"error":"invalid_client","error_description":"bad"}"#);
        assert_eq!(b.error.as_deref(), Some("invalid_client"));
        assert_eq!(b.description.as_deref(), Some("bad"));
        assert_eq!(parse_error_body(b"<html>"), ErrorBody::default());
    }

    #[test]
    fn refresh_starts_carry_jitter() {
        let resp = parse(r#"{"access_token":"a","expires_in":3600}"#).unwrap();
        let sent = Instant::now();
        let starts: std::collections::HashSet<Instant> =
            (0..32).map(|_| Token::from_response(&resp, sent, &RefreshPolicy::default(), None).refresh_at).collect();
        assert!(starts.len() > 16, "a fleet started together spreads its refreshes");
        let earliest = starts.iter().min().unwrap().duration_since(sent);
        let latest = starts.iter().max().unwrap().duration_since(sent);
        // 5-minute window ending 30 s before expiry; starts spread over its last fifth.
        assert!(earliest >= Duration::from_secs(3570 - 300) && latest <= Duration::from_secs(3570 - 240));
    }

    #[test]
    fn expiry_has_skew_and_refresh_window() {
        let resp = parse(r#"{"access_token":"a","expires_in":3600}"#).unwrap();
        let t = Token::from_response(&resp, Instant::now(), &RefreshPolicy::default(), None);
        let left = t.expires_in().as_secs();
        assert!((3560..=3570).contains(&left), "{left}");
        assert!(!t.needs_refresh());
        let capped =
            Token::from_response(&resp, Instant::now(), &RefreshPolicy::default(), Some(Duration::from_secs(60)));
        assert!(capped.expires_in() <= Duration::from_secs(60));
        assert!(!format!("{t:?}").contains("\"a\""));
    }
}
