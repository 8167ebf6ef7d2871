//! Access tokens: minting JWTs with the configured lifetime, and validating
//! bearer tokens on API calls (signature, `iss`, `aud`, `nbf`, `exp`, admin expiry).
//!
//! Every token's `jti` starts with a 16-hex-digit issuance serial followed by
//! 32 random hex digits. `POST /admin/expire-tokens` records the next serial;
//! tokens with a smaller serial then answer 418 without keeping any list of
//! issued tokens.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng as _;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::jwt::{self, JwtError};
use crate::keys::{KeyError, KeyStore};

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The claim set of every access token, in this order.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    scope: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
    client_id: &'a str,
}

/// A bearer token that passed every check.
#[derive(Debug, Clone)]
pub(crate) struct ValidToken {
    /// The `client_id` claim (falls back to `sub`).
    pub(crate) client_id: String,
    /// The `scope` claim, split.
    pub(crate) scopes: Vec<String>,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// 401 `invalid_credentials`.
    Invalid(String),
    /// 418 `token_expired`: valid signature but `exp` has passed, or expired by the admin.
    Expired(String),
}

impl From<JwtError> for Rejection {
    fn from(e: JwtError) -> Self {
        Rejection::Invalid(e.describe().to_owned())
    }
}

/// Mints and validates access tokens; holds the runtime-adjustable lifetime.
pub(crate) struct AccessTokens {
    ttl_secs: AtomicU64,
    next_serial: AtomicU64,
    expired_below: AtomicU64,
}

impl AccessTokens {
    /// Tokens live `ttl` (whole seconds) until changed.
    pub(crate) fn new(ttl: Duration) -> Self {
        AccessTokens {
            ttl_secs: AtomicU64::new(ttl.as_secs()),
            next_serial: AtomicU64::new(1),
            expired_below: AtomicU64::new(0),
        }
    }

    /// Lifetime of tokens issued from now on.
    pub(crate) fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_secs.load(Ordering::SeqCst))
    }

    /// Changes the lifetime of tokens issued from now on.
    pub(crate) fn set_ttl(&self, ttl: Duration) {
        self.ttl_secs.store(ttl.as_secs(), Ordering::SeqCst);
    }

    /// Makes every token issued so far answer 418; returns how many were issued.
    pub(crate) fn expire_all(&self) -> u64 {
        let next = self.next_serial.load(Ordering::SeqCst);
        self.expired_below.fetch_max(next, Ordering::SeqCst);
        next - 1
    }

    /// Signs a new access token; returns it with its `expires_in`.
    pub(crate) fn mint(
        &self,
        keys: &KeyStore,
        issuer: &str,
        audience: &str,
        client_id: &str,
        scope: &str,
    ) -> Result<(String, u64), KeyError> {
        let ttl = self.ttl_secs.load(Ordering::SeqCst);
        let serial = self.next_serial.fetch_add(1, Ordering::SeqCst);
        let random: [u8; 16] = rand::rng().random();
        let mut jti = format!("{serial:016x}");
        for b in random {
            jti.push_str(&format!("{b:02x}"));
        }
        let now = now_secs();
        let claims = Claims {
            iss: issuer,
            sub: client_id,
            aud: audience,
            scope,
            iat: now,
            nbf: now,
            exp: now.saturating_add(ttl),
            jti,
            client_id,
        };
        let token = jwt::encode(&keys.current(), &claims)?;
        Ok((token, ttl))
    }

    /// Checks a bearer token: signature against the current or previous key,
    /// then `iss`, `aud`, `nbf` (401 when wrong), then `exp` and admin expiry (418).
    pub(crate) fn validate(
        &self,
        token: &str,
        keys: &KeyStore,
        issuer: &str,
        audience: &str,
    ) -> Result<ValidToken, Rejection> {
        let claims = jwt::verify(token, keys)?;
        let invalid = |msg: &str| Err(Rejection::Invalid(msg.to_owned()));
        if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
            return invalid("token issuer (iss) is not this server");
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !aud_ok {
            return invalid("token audience (aud) is not this API");
        }
        let Some(exp) = numeric(&claims, "exp") else {
            return invalid("token has no numeric exp claim");
        };
        let now = now_secs() as f64;
        if claims.contains_key("nbf") {
            match numeric(&claims, "nbf") {
                Some(nbf) if nbf <= now => {}
                Some(_) => return invalid("token is not valid yet (nbf)"),
                None => return invalid("token nbf claim is not numeric"),
            }
        }
        let client_id = match (claims.get("client_id"), claims.get("sub")) {
            (Some(Value::String(c)), _) | (None, Some(Value::String(c))) => c.clone(),
            _ => return invalid("token has no client_id"),
        };
        let scopes = match claims.get("scope") {
            None => Vec::new(),
            Some(Value::String(s)) => s.split(' ').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
            Some(_) => return invalid("token scope claim is not a string"),
        };
        if now >= exp {
            return Err(Rejection::Expired("the access token has expired".into()));
        }
        let cutoff = self.expired_below.load(Ordering::SeqCst);
        if serial_of(&claims).is_some_and(|serial| serial < cutoff) {
            return Err(Rejection::Expired("the access token was expired by the server".into()));
        }
        Ok(ValidToken { client_id, scopes })
    }
}

fn numeric(claims: &Map<String, Value>, name: &str) -> Option<f64> {
    claims.get(name).and_then(Value::as_f64)
}

fn serial_of(claims: &Map<String, Value>) -> Option<u64> {
    let jti = claims.get("jti")?.as_str()?;
    if jti.len() != 48 {
        return None;
    }
    u64::from_str_radix(jti.get(..16)?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SigningAlg;

    const ISS: &str = "https://127.0.0.1:1";
    const AUD: &str = "https://api.synapsestream.io";

    #[test]
    fn mint_validate_expire() {
        let keys = KeyStore::new(SigningAlg::ES256).unwrap();
        let tokens = AccessTokens::new(Duration::from_secs(60));
        let (t1, ttl) = tokens.mint(&keys, ISS, AUD, "c1", "inference training").unwrap();
        assert_eq!(ttl, 60);
        let v = tokens.validate(&t1, &keys, ISS, AUD).unwrap();
        assert_eq!(v.client_id, "c1");
        assert_eq!(v.scopes, vec!["inference", "training"]);
        assert!(matches!(tokens.validate(&t1, &keys, "https://other", AUD), Err(Rejection::Invalid(_))));
        assert!(matches!(tokens.validate(&t1, &keys, ISS, "other"), Err(Rejection::Invalid(_))));
        assert_eq!(tokens.expire_all(), 1);
        assert!(matches!(tokens.validate(&t1, &keys, ISS, AUD), Err(Rejection::Expired(_))));
        let (t2, _) = tokens.mint(&keys, ISS, AUD, "c1", "inference").unwrap();
        assert!(tokens.validate(&t2, &keys, ISS, AUD).is_ok());

        tokens.set_ttl(Duration::ZERO);
        let (t3, ttl) = tokens.mint(&keys, ISS, AUD, "c1", "inference").unwrap();
        assert_eq!(ttl, 0);
        assert!(matches!(tokens.validate(&t3, &keys, ISS, AUD), Err(Rejection::Expired(_))));
    }
}
