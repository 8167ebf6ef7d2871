//! Signing keys: generation with aws-lc-rs, signing, verification, JWK export,
//! and the key set (current + previous) with rotation and the JWKS document.

use std::sync::{Arc, RwLock};

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::config::SigningAlg;

/// Private key material for one algorithm family.
enum KeyMaterial {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// One signing key with its `kid`, public key and JWK.
pub(crate) struct SigningKey {
    kid: String,
    alg: SigningAlg,
    material: KeyMaterial,
    /// Public key in the form aws-lc-rs verifies with: PKCS#1 DER for RSA,
    /// the uncompressed point for P-256, the raw 32 bytes for Ed25519.
    public: Vec<u8>,
    jwk: Value,
}

/// A key could not be generated or used.
#[derive(Debug)]
pub(crate) struct KeyError;

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("signing key operation failed")
    }
}

impl std::error::Error for KeyError {}

impl From<KeyError> for std::io::Error {
    fn from(e: KeyError) -> Self {
        std::io::Error::other(e)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    /// Generates a fresh key for `alg` (RSA 2048 for RS256/PS256, P-256 for
    /// ES256, Ed25519 for EdDSA). The `kid` is the RFC 7638 JWK thumbprint.
    pub(crate) fn generate(alg: SigningAlg) -> Result<Self, KeyError> {
        // Members of the thumbprint input, already in lexicographic order,
        // and the extra JWK members.
        let (material, public, thumb_members): (KeyMaterial, Vec<u8>, Vec<(&str, String)>) = match alg {
            SigningAlg::RS256 | SigningAlg::PS256 => {
                let kp = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError)?;
                let pk = kp.public_key();
                let n = b64(pk.modulus().big_endian_without_leading_zero());
                let e = b64(pk.exponent().big_endian_without_leading_zero());
                let public = pk.as_ref().to_vec();
                let members = vec![("e", e), ("kty", "RSA".to_owned()), ("n", n)];
                (KeyMaterial::Rsa(kp), public, members)
            }
            SigningAlg::ES256 => {
                let kp = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| KeyError)?;
                let point = kp.public_key().as_ref().to_vec();
                if point.len() != 65 || point[0] != 4 {
                    return Err(KeyError);
                }
                let members = vec![
                    ("crv", "P-256".to_owned()),
                    ("kty", "EC".to_owned()),
                    ("x", b64(&point[1..33])),
                    ("y", b64(&point[33..65])),
                ];
                (KeyMaterial::Ecdsa(kp), point, members)
            }
            SigningAlg::EdDSA => {
                let kp = Ed25519KeyPair::generate().map_err(|_| KeyError)?;
                let raw = kp.public_key().as_ref().to_vec();
                let members = vec![("crv", "Ed25519".to_owned()), ("kty", "OKP".to_owned()), ("x", b64(&raw))];
                (KeyMaterial::Ed25519(kp), raw, members)
            }
        };
        let canonical = format!(
            "{{{}}}",
            thumb_members.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect::<Vec<_>>().join(",")
        );
        let kid = b64(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref());
        let mut jwk = serde_json::Map::new();
        // Conventional member order: kty first, then kid/use/alg, then key values.
        let kty = thumb_members.iter().find(|(k, _)| *k == "kty").map(|(_, v)| v.clone()).unwrap_or_default();
        jwk.insert("kty".into(), Value::String(kty));
        jwk.insert("kid".into(), Value::String(kid.clone()));
        jwk.insert("use".into(), json!("sig"));
        jwk.insert("alg".into(), json!(alg.as_str()));
        for (k, v) in &thumb_members {
            if *k != "kty" {
                jwk.insert((*k).into(), Value::String(v.clone()));
            }
        }
        Ok(SigningKey { kid, alg, material, public, jwk: Value::Object(jwk) })
    }

    /// The key id (`kid`).
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub(crate) fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// The public JWK.
    pub(crate) fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// Signs `msg` as JWS `alg` requires.
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.material {
            KeyMaterial::Rsa(kp) => {
                let padding: &'static dyn signature::RsaEncoding = match self.alg {
                    SigningAlg::PS256 => &signature::RSA_PSS_SHA256,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(padding, &SystemRandom::new(), msg, &mut sig).map_err(|_| KeyError)?;
                Ok(sig)
            }
            KeyMaterial::Ecdsa(kp) => {
                kp.sign(&SystemRandom::new(), msg).map(|s| s.as_ref().to_vec()).map_err(|_| KeyError)
            }
            KeyMaterial::Ed25519(kp) => Ok(kp.sign(msg).as_ref().to_vec()),
        }
    }

    /// Verifies `sig` over `msg` with this key's public half and algorithm.
    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let alg: &'static dyn signature::VerificationAlgorithm = match self.alg {
            SigningAlg::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            SigningAlg::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            SigningAlg::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
            SigningAlg::EdDSA => &signature::ED25519,
        };
        UnparsedPublicKey::new(alg, &self.public).verify(msg, sig).is_ok()
    }
}

/// The published keys and their JWKS document.
struct KeySet {
    current: Arc<SigningKey>,
    previous: Option<Arc<SigningKey>>,
    jwks_body: Bytes,
    etag: String,
}

impl KeySet {
    fn new(current: Arc<SigningKey>, previous: Option<Arc<SigningKey>>) -> Self {
        let mut keys = vec![current.jwk().clone()];
        if let Some(prev) = &previous {
            keys.push(prev.jwk().clone());
        }
        let body = serde_json::to_vec(&json!({ "keys": keys })).expect("JWKS serializes");
        let hash = digest::digest(&digest::SHA256, &body);
        let etag = format!("\"{}\"", &b64(hash.as_ref())[..27]);
        KeySet { current, previous, jwks_body: Bytes::from(body), etag }
    }
}

/// The current signing key plus the previous one (still accepted and still
/// published after a rotation, so tokens stay valid across one rotation).
pub(crate) struct KeyStore {
    alg: SigningAlg,
    set: RwLock<KeySet>,
}

impl KeyStore {
    /// A store with one freshly generated key.
    pub(crate) fn new(alg: SigningAlg) -> Result<Self, KeyError> {
        let key = Arc::new(SigningKey::generate(alg)?);
        Ok(KeyStore { alg, set: RwLock::new(KeySet::new(key, None)) })
    }

    /// The key new tokens are signed with.
    pub(crate) fn current(&self) -> Arc<SigningKey> {
        self.set.read().expect("key lock").current.clone()
    }

    /// The key that was current before the last rotation, if any.
    pub(crate) fn previous(&self) -> Option<Arc<SigningKey>> {
        self.set.read().expect("key lock").previous.clone()
    }

    /// The published key with this `kid` (current or previous).
    pub(crate) fn find(&self, kid: &str) -> Option<Arc<SigningKey>> {
        let set = self.set.read().expect("key lock");
        std::iter::once(&set.current).chain(set.previous.as_ref()).find(|k| k.kid() == kid).cloned()
    }

    /// Generates a new current key; the old current becomes the previous key
    /// and the one before it is dropped. Returns the new key. Key generation
    /// is CPU work (tens of milliseconds for RSA): call from a blocking context.
    pub(crate) fn rotate(&self) -> Result<Arc<SigningKey>, KeyError> {
        let fresh = Arc::new(SigningKey::generate(self.alg)?);
        let mut set = self.set.write().expect("key lock");
        let old = set.current.clone();
        *set = KeySet::new(fresh.clone(), Some(old));
        Ok(fresh)
    }

    /// The JWKS document and its strong `ETag` (quoted).
    pub(crate) fn jwks(&self) -> (Bytes, String) {
        let set = self.set.read().expect("key lock");
        (set.jwks_body.clone(), set.etag.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alg_signs_and_verifies() {
        for alg in SigningAlg::ALL {
            let key = SigningKey::generate(alg).unwrap();
            let sig = key.sign(b"hello").unwrap();
            assert!(key.verify(b"hello", &sig), "{alg}");
            assert!(!key.verify(b"hellO", &sig), "{alg}");
            assert_eq!(key.jwk()["alg"], alg.as_str());
            assert_eq!(key.jwk()["kid"], key.kid());
            assert_eq!(key.jwk()["use"], "sig");
        }
    }

    #[test]
    fn rotation_keeps_one_previous_key() {
        let store = KeyStore::new(SigningAlg::EdDSA).unwrap();
        let first = store.current();
        let (_, etag1) = store.jwks();
        let second = store.rotate().unwrap();
        assert!(store.find(first.kid()).is_some());
        assert!(store.find(second.kid()).is_some());
        let (body, etag2) = store.jwks();
        assert_ne!(etag1, etag2);
        let doc: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["keys"].as_array().unwrap().len(), 2);
        store.rotate().unwrap();
        assert!(store.find(first.kid()).is_none());
        assert_eq!(store.previous().unwrap().kid(), second.kid());
    }
}
