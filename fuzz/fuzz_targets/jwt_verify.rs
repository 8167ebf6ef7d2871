//! JWT parsing and verification against a fixed JWKS never panics, and never
//! accepts a token that was not signed by the key.
#![no_main]

use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use synapse_auth_core::{ErrorKind, JwtConfig, Verifier};

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    let key = KeyPair::generate(KeySize::Rsa2048).expect("RSA key");
    let public = key.public_key();
    let components: aws_lc_rs::rsa::PublicKeyComponents<Vec<u8>> = public.into();
    let jwks = serde_json::json!({"keys": [{
        "kty": "RSA", "kid": "fuzz", "use": "sig", "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(&components.n), "e": URL_SAFE_NO_PAD.encode(&components.e)
    }]});
    let algorithms = vec!["RS256".into(), "PS256".into(), "ES256".into(), "EdDSA".into()];
    Verifier::from_jwks(jwks.to_string().as_bytes(), JwtConfig { algorithms, ..JwtConfig::default() }).expect("verifier")
});

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    // The private key never leaves the initializer, so no fuzzed input may verify.
    let result = futures::executor::block_on(VERIFIER.verify(token));
    let err = result.expect_err("a token not signed by the key verified");
    assert_eq!(err.kind(), ErrorKind::InvalidToken);
});
