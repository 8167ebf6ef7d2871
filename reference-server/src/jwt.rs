//! Compact JWS (RFC 7515) for JWTs: `base64url(header).base64url(claims).base64url(sig)`,
//! signed and verified directly with aws-lc-rs through [`crate::keys`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::SigningAlg;
use crate::keys::{KeyError, KeyStore, SigningKey};

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

/// Signs `claims` with `key`; the header is `{"alg","typ":"JWT","kid"}`.
pub(crate) fn encode(key: &SigningKey, claims: &impl Serialize) -> Result<String, KeyError> {
    let header = Header { alg: key.alg().as_str(), typ: "JWT", kid: key.kid() };
    let header = serde_json::to_vec(&header).map_err(|_| KeyError)?;
    let claims = serde_json::to_vec(claims).map_err(|_| KeyError)?;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let sig = key.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(sig, &mut token);
    Ok(token)
}

/// Why a JWT was rejected before its claims were looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JwtError {
    /// Not three base64url parts of JSON objects, or a header we do not accept.
    Malformed(&'static str),
    /// `alg` is not one of RS256, PS256, ES256, EdDSA (e.g. `none`, `HS256`).
    UnsupportedAlg,
    /// No `kid`, or a `kid` that is neither the current nor the previous key.
    UnknownKey,
    /// The header `alg` differs from the algorithm of the key named by `kid`.
    AlgMismatch,
    /// The signature does not verify.
    BadSignature,
}

impl JwtError {
    /// Human-readable reason.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            JwtError::Malformed(why) => why,
            JwtError::UnsupportedAlg => "unsupported JWS algorithm",
            JwtError::UnknownKey => "unknown signing key (kid)",
            JwtError::AlgMismatch => "JWS algorithm does not match the signing key",
            JwtError::BadSignature => "signature verification failed",
        }
    }
}

fn decode_json_object(part: &str, what: &'static str) -> Result<Map<String, Value>, JwtError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| JwtError::Malformed(what))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Malformed(what)),
    }
}

/// Verifies the signature of a compact JWS against the published keys and
/// returns its claims. Claims (`exp`, `iss`, ...) are not checked here.
pub(crate) fn verify(token: &str, keys: &KeyStore) -> Result<Map<String, Value>, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwtError::Malformed("a JWT has exactly three dot-separated parts"));
    };
    if h.is_empty() || c.is_empty() || s.is_empty() {
        return Err(JwtError::Malformed("empty JWT part"));
    }
    let header = decode_json_object(h, "JWT header is not base64url JSON")?;
    let alg = header.get("alg").and_then(Value::as_str).ok_or(JwtError::Malformed("JWT header has no alg"))?;
    let alg = SigningAlg::ALL.into_iter().find(|a| a.as_str() == alg).ok_or(JwtError::UnsupportedAlg)?;
    let typ_ok = |typ: &Value| typ.as_str().is_some_and(|t| t.eq_ignore_ascii_case("JWT"));
    if header.get("typ").is_some_and(|typ| !typ_ok(typ)) {
        return Err(JwtError::Malformed("JWT header typ is not JWT"));
    }
    if header.contains_key("crit") {
        return Err(JwtError::Malformed("JWT header has unsupported crit"));
    }
    let kid = header.get("kid").and_then(Value::as_str).ok_or(JwtError::UnknownKey)?;
    let key = keys.find(kid).ok_or(JwtError::UnknownKey)?;
    if key.alg() != alg {
        return Err(JwtError::AlgMismatch);
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Malformed("JWT signature is not base64url"))?;
    let signing_input = &token[..h.len() + 1 + c.len()];
    if !key.verify(signing_input.as_bytes(), &sig) {
        return Err(JwtError::BadSignature);
    }
    decode_json_object(c, "JWT claims are not base64url JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tamper(token: &str, part: usize, f: impl Fn(&mut Map<String, Value>)) -> String {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut obj: Map<String, Value> =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[part]).unwrap()).unwrap();
        f(&mut obj);
        parts[part] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&obj).unwrap());
        parts.join(".")
    }

    #[test]
    fn round_trip_and_rejections() {
        for alg in SigningAlg::ALL {
            let store = KeyStore::new(alg).unwrap();
            let token = encode(&store.current(), &json!({"sub": "x", "n": 1})).unwrap();
            let claims = verify(&token, &store).unwrap();
            assert_eq!(claims["sub"], "x");

            let forged = tamper(&token, 1, |c| {
                c.insert("sub".into(), json!("y"));
            });
            assert_eq!(verify(&forged, &store), Err(JwtError::BadSignature));
            let none = tamper(&token, 0, |h| {
                h.insert("alg".into(), json!("none"));
            });
            assert_eq!(verify(&none, &store), Err(JwtError::UnsupportedAlg));
            let other = if alg == SigningAlg::ES256 { "EdDSA" } else { "ES256" };
            let mismatch = tamper(&token, 0, |h| {
                h.insert("alg".into(), json!(other));
            });
            assert_eq!(verify(&mismatch, &store), Err(JwtError::AlgMismatch));
            let unknown = tamper(&token, 0, |h| {
                h.insert("kid".into(), json!("nope"));
            });
            assert_eq!(verify(&unknown, &store), Err(JwtError::UnknownKey));
            assert!(matches!(verify("a.b", &store), Err(JwtError::Malformed(_))));
            assert!(matches!(verify(&format!("{token}="), &store), Err(JwtError::Malformed(_))));
        }
    }
}
