//! JWT validation against the provider's JWKS (the guide's best practice 3),
//! hardened per RFC 8725: an algorithm allow-list, never `none`, never HMAC
//! with a public key, unknown `crit` headers rejected, keys matched on kid,
//! kty, alg and use.
//!
//! Signatures are checked by aws-lc-rs (audited, FIPS-validated) with each key
//! parsed once when the JWKS is fetched; the compact-JWS framing around it is
//! small and lives here so every rejection can say exactly why.

mod jwks;
mod keys;

pub use keys::Algorithm;

use crate::config::{Config, JwtConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::http::Transport;
use crate::stats::Counters;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwks::JwksCache;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The algorithms [`Verifier`] can check; [`JwtConfig::algorithms`] picks among them.
pub const SUPPORTED_ALGORITHMS: &[&str] = &["RS256", "PS256", "ES256", "EdDSA"];
/// Tokens longer than this are rejected before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Encoded headers longer than this are rejected.
pub const MAX_HEADER_BYTES: usize = 2048;

/// The verified claims of a token.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    map: serde_json::Map<String, serde_json::Value>,
}

impl Claims {
    /// A claim by name.
    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.map.get(name)
    }
    /// `sub`.
    pub fn subject(&self) -> Option<&str> {
        self.map.get("sub").and_then(|v| v.as_str())
    }
    /// `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.map.get("iss").and_then(|v| v.as_str())
    }
    /// `exp`, seconds since the Unix epoch.
    pub fn expires_at(&self) -> Option<f64> {
        self.map.get("exp").and_then(|v| v.as_f64())
    }
    /// The granted scopes, from `scope` (space-separated) or `scp` (array).
    pub fn scopes(&self) -> Vec<String> {
        scopes_of(&self.map)
    }
    /// All claims.
    pub fn as_map(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.map
    }
    /// All claims as a JSON string.
    pub fn to_json(&self) -> String {
        serde_json::Value::Object(self.map.clone()).to_string()
    }
}

fn scopes_of(map: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    match (map.get("scope"), map.get("scp")) {
        (Some(serde_json::Value::String(s)), _) => s.split_whitespace().map(str::to_string).collect(),
        (_, Some(serde_json::Value::Array(a))) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        (_, Some(serde_json::Value::String(s))) => s.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidToken, reason)
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    kid: Option<std::borrow::Cow<'a, str>>,
    crit: Option<serde_json::Value>,
}

/// Verifies JWTs against a JWKS endpoint. Cheap to share; the key set is cached.
pub struct Verifier {
    config: JwtConfig,
    algorithms: Vec<Algorithm>,
    jwks: Arc<JwksCache>,
}

impl Verifier {
    pub(crate) fn new(config: &Config, transport: Arc<Transport>, counters: Arc<Counters>) -> Verifier {
        let jwt = config.jwt.clone();
        let algorithms = jwt.algorithms.iter().filter_map(|a| Algorithm::from_name(a)).collect();
        let jwks = Arc::new(JwksCache::new(config.jwks_url.clone(), transport, counters, jwt.jwks_cooldown));
        Verifier { config: jwt, algorithms, jwks }
    }

    /// A verifier needing no client credentials: `jwks_url` (or `base_url`), CA and
    /// JWT settings from `builder`.
    pub fn from_builder(builder: crate::ConfigBuilder) -> Result<Verifier> {
        let config = Arc::new(builder.build_without_credentials()?);
        let transport = Arc::new(Transport::new(config.clone())?);
        Ok(Verifier::new(&config, transport, Arc::new(Counters::default())))
    }

    /// A verifier over a fixed JWKS document (never refetched): offline
    /// verification, tests and fuzzing.
    pub fn from_jwks(jwks: &[u8], config: JwtConfig) -> Result<Verifier> {
        for alg in &config.algorithms {
            if !SUPPORTED_ALGORITHMS.contains(&alg.as_str()) {
                return Err(Error::config("jwt_algorithms", format!("unsupported algorithm {alg:?}")));
            }
        }
        let algorithms = config.algorithms.iter().filter_map(|a| Algorithm::from_name(a)).collect();
        Ok(Verifier { config, algorithms, jwks: Arc::new(JwksCache::fixed(jwks)?) })
    }

    /// Verifies `token` and returns its claims, or an `invalid_token` error saying why.
    pub async fn verify(&self, token: &str) -> Result<Claims> {
        let token = token.trim();
        if token.len() > MAX_TOKEN_BYTES {
            return Err(invalid(format!("token is oversized ({} bytes; at most {MAX_TOKEN_BYTES})", token.len())));
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("malformed: a JWS has exactly three dot-separated segments"));
        };
        if header_b64.len() > MAX_HEADER_BYTES {
            return Err(invalid(format!("oversized header ({} bytes; at most {MAX_HEADER_BYTES})", header_b64.len())));
        }
        if header_b64.is_empty() || payload_b64.is_empty() {
            return Err(invalid("malformed: a segment is empty (truncated token?)"));
        }
        let header_json =
            URL_SAFE_NO_PAD.decode(header_b64).map_err(|_| invalid("the header is not valid base64url"))?;
        let header: Header<'_> =
            serde_json::from_slice(&header_json).map_err(|_| invalid("the header is not a JSON object"))?;
        let alg_name = header.alg.as_deref().ok_or_else(|| invalid("the header has no alg"))?;
        if alg_name.eq_ignore_ascii_case("none") {
            return Err(invalid("alg \"none\" is never accepted"));
        }
        if alg_name.starts_with("HS") {
            return Err(invalid(format!(
                "symmetric alg {alg_name:?} is not accepted: a public key is never an HMAC secret (RFC 8725)"
            )));
        }
        let alg = Algorithm::from_name(alg_name).filter(|a| self.algorithms.contains(a)).ok_or_else(|| {
            invalid(format!(
                "alg {:?} is not in the allow-list {:?}",
                crate::token::truncate(alg_name, 16),
                self.config.algorithms
            ))
        })?;
        if let Some(crit) = &header.crit {
            return Err(invalid(format!(
                "unknown critical header parameter(s) {}",
                crate::token::truncate(&crit.to_string(), 64)
            )));
        }
        if signature_b64.is_empty() {
            return Err(invalid("malformed: the signature segment is empty (unsigned or truncated token)"));
        }
        let kid = header.kid.as_deref().ok_or_else(|| invalid("the header has no kid"))?;
        let signature =
            URL_SAFE_NO_PAD.decode(signature_b64).map_err(|_| invalid("the signature is not valid base64url"))?;
        let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| invalid("the payload is not valid base64url"))?;

        let key = self.jwks.key(kid).await?;
        let parsed = key.for_algorithm(alg).map_err(invalid)?;
        let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
        parsed.verify_sig(signing_input, &signature).map_err(|_| invalid("the signature does not verify"))?;

        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&payload).map_err(|_| invalid("the claims are not a JSON object"))?;
        self.check_claims(&map)?;
        Ok(Claims { map })
    }

    fn check_claims(&self, map: &serde_json::Map<String, serde_json::Value>) -> Result<()> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        let leeway = self.config.leeway.as_secs_f64();
        let time = |name: &str| -> Result<Option<f64>> {
            match map.get(name) {
                None => Ok(None),
                Some(v) => v.as_f64().map(Some).ok_or_else(|| invalid(format!("the {name} claim is not a number"))),
            }
        };
        let exp = time("exp")?.ok_or_else(|| invalid("the token has no exp claim"))?;
        if now > exp + leeway {
            return Err(invalid(format!("the token expired {:.0}s ago", now - exp)));
        }
        if let Some(nbf) = time("nbf")?
            && now + leeway < nbf
        {
            return Err(invalid(format!("the token is not valid for another {:.0}s (nbf)", nbf - now)));
        }
        if let Some(iat) = time("iat")?
            && iat > now + leeway
        {
            return Err(invalid("the token was issued in the future (iat)"));
        }
        if let Some(expected) = &self.config.issuer
            && map.get("iss").and_then(|v| v.as_str()) != Some(expected.as_str())
        {
            return Err(invalid(format!("wrong iss: expected {expected:?}")));
        }
        if let Some(expected) = &self.config.audience {
            let ok = match map.get("aud") {
                Some(serde_json::Value::String(a)) => a == expected,
                Some(serde_json::Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(expected)),
                _ => false,
            };
            if !ok {
                return Err(invalid(format!("wrong aud: expected {expected:?}")));
            }
        }
        if !self.config.required_scopes.is_empty() {
            let granted = scopes_of(map);
            let missing: Vec<&String> = self.config.required_scopes.iter().filter(|s| !granted.contains(s)).collect();
            if !missing.is_empty() {
                return Err(invalid(format!("missing required scope(s) {missing:?}")));
            }
        }
        Ok(())
    }
}
