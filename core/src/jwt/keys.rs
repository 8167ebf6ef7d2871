//! JSON Web Keys (RFC 7517) parsed once into aws-lc-rs verification keys.

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// A JWS algorithm we can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    /// Parses a JOSE `alg` name.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "RS256" => Some(Algorithm::RS256),
            "PS256" => Some(Algorithm::PS256),
            "ES256" => Some(Algorithm::ES256),
            "EdDSA" => Some(Algorithm::EdDSA),
            _ => None,
        }
    }

    /// The JOSE `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::PS256 => "PS256",
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// The JWK `kty` this algorithm needs.
    fn key_type(self) -> &'static str {
        match self {
            Algorithm::RS256 | Algorithm::PS256 => "RSA",
            Algorithm::ES256 => "EC",
            Algorithm::EdDSA => "OKP",
        }
    }
}

/// The JWK members we use; the rest are ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct RawJwk {
    pub kty: Option<String>,
    pub kid: Option<String>,
    #[serde(rename = "use")]
    pub use_: Option<String>,
    pub alg: Option<String>,
    pub key_ops: Option<Vec<String>>,
    pub n: Option<String>,
    pub e: Option<String>,
    pub crv: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
}

/// A verification key from the JWKS, parsed once.
pub(crate) struct VerifyKey {
    pub kid: String,
    pub kty: String,
    pub use_: Option<String>,
    pub alg: Option<String>,
    /// One parsed key per algorithm the key may serve (RSA keys serve RS256 and PS256).
    parsed: Vec<(Algorithm, ParsedPublicKey)>,
}

fn b64(field: &str, value: &Option<String>) -> Result<Vec<u8>, String> {
    let v = value.as_deref().ok_or_else(|| format!("missing {field}"))?;
    URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).map_err(|_| format!("{field} is not base64url"))
}

impl VerifyKey {
    /// Parses a JWK; `Err` says why it is unusable (it is then skipped).
    pub(crate) fn from_jwk(jwk: &RawJwk) -> Result<VerifyKey, String> {
        let kid = jwk.kid.clone().ok_or("no kid")?;
        let kty = jwk.kty.clone().ok_or("no kty")?;
        if let Some(ops) = &jwk.key_ops
            && !ops.iter().any(|o| o == "verify")
        {
            return Err("key_ops does not allow verify".into());
        }
        let mut parsed = Vec::new();
        match kty.as_str() {
            "RSA" => {
                let n = b64("n", &jwk.n)?;
                let e = b64("e", &jwk.e)?;
                if n.len() < 256 {
                    return Err("RSA modulus shorter than 2048 bits".into());
                }
                let components = RsaPublicKeyComponents { n: strip_zeros(&n), e: strip_zeros(&e) };
                for (alg, params) in [
                    (Algorithm::RS256, &signature::RSA_PKCS1_2048_8192_SHA256),
                    (Algorithm::PS256, &signature::RSA_PSS_2048_8192_SHA256),
                ] {
                    let key = components.to_parsed_public_key(params).map_err(|e| format!("bad RSA key: {e}"))?;
                    parsed.push((alg, key));
                }
            }
            "EC" => {
                if jwk.crv.as_deref() != Some("P-256") {
                    return Err("only the P-256 curve is supported".into());
                }
                let (x, y) = (b64("x", &jwk.x)?, b64("y", &jwk.y)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err("P-256 coordinates must be 32 bytes".into());
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let key = ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .map_err(|e| format!("bad EC key: {e}"))?;
                parsed.push((Algorithm::ES256, key));
            }
            "OKP" => {
                if jwk.crv.as_deref() != Some("Ed25519") {
                    return Err("only the Ed25519 curve is supported".into());
                }
                let x = b64("x", &jwk.x)?;
                let key = ParsedPublicKey::new(&signature::ED25519, x).map_err(|e| format!("bad Ed25519 key: {e}"))?;
                parsed.push((Algorithm::EdDSA, key));
            }
            other => return Err(format!("unsupported kty {other:?}")),
        }
        Ok(VerifyKey { kid, kty, use_: jwk.use_.clone(), alg: jwk.alg.clone(), parsed })
    }

    /// The parsed key for `alg`, after checking that kty, use and alg all match (RFC 8725 §3.1).
    pub(crate) fn for_algorithm(&self, alg: Algorithm) -> Result<&ParsedPublicKey, String> {
        if self.kty != alg.key_type() {
            return Err(format!("key {} is {} but the token says {}", self.kid, self.kty, alg.name()));
        }
        if let Some(u) = &self.use_
            && u != "sig"
        {
            return Err(format!("key {} is for use {u:?}, not signatures", self.kid));
        }
        if let Some(key_alg) = &self.alg
            && key_alg != alg.name()
        {
            return Err(format!("key {} is for {key_alg}, but the token says {}", self.kid, alg.name()));
        }
        self.parsed
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, k)| k)
            .ok_or_else(|| format!("key {} cannot verify {}", self.kid, alg.name()))
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len().saturating_sub(1));
    &bytes[first..]
}
