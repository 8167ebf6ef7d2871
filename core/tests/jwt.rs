//! JWT validation: tokens from the reference server verify (across a key
//! rotation, for every supported algorithm), and a corpus of malformed and
//! malicious tokens is rejected with `invalid_token` and a reason saying why.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use synapse_auth_core::{Config, ErrorKind, JwtConfig, Verifier};
use synapse_reference_server::{FaultSpec, FaultTarget, RunningServer, ServerConfig, SigningAlg};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn verifier(server: &RunningServer, jwt: JwtConfig) -> Verifier {
    Verifier::from_builder(
        Config::builder().base_url(server.base_url()).extra_root_ca_pem(server.ca_pem().unwrap()).jwt(jwt),
    )
    .unwrap()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn claims(extra: Value) -> Value {
    let mut c = json!({"iss": "https://issuer.test", "sub": "synapse-dev-client", "aud": "https://api.synapsestream.io",
        "scope": "inference", "iat": now(), "nbf": now(), "exp": now() + 600, "jti": "j"});
    c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    c
}

async fn expect_rejected(v: &Verifier, token: &str, reason: &str) {
    let err = v.verify(token).await.expect_err(reason);
    assert_eq!(err.kind(), ErrorKind::InvalidToken, "{err}");
    assert!(err.message().contains(reason), "expected a reason containing {reason:?}, got {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_malicious_tokens_are_rejected_with_a_reason() {
    let server = common::server().await;
    let control = server.control();
    let kid = control.current_kid();
    let v = verifier(
        &server,
        JwtConfig {
            issuer: Some("https://issuer.test".into()),
            audience: Some("https://api.synapsestream.io".into()),
            required_scopes: vec!["inference".into()],
            leeway: Duration::from_secs(5),
            ..JwtConfig::default()
        },
    );
    let good = control.sign_claims(&claims(json!({}))).unwrap();
    let verified = v.verify(&good).await.unwrap();
    assert_eq!(verified.subject(), Some("synapse-dev-client"));
    assert_eq!(verified.scopes(), vec!["inference"]);

    let (header, payload, _sig) = {
        let mut p = good.split('.');
        (p.next().unwrap().to_string(), p.next().unwrap().to_string(), p.next().unwrap().to_string())
    };
    // alg none, with and without a signature segment.
    let none = b64(&json!({"alg": "none", "kid": kid}));
    expect_rejected(&v, &format!("{none}.{payload}."), "\"none\" is never accepted").await;
    expect_rejected(&v, &format!("{none}.{payload}.c2ln"), "\"none\" is never accepted").await;
    // HS256 "signed" with the RSA public key (the JWKS document) as the HMAC secret.
    let jwks = reqwest_jwks(&server).await;
    let hs_header = b64(&json!({"alg": "HS256", "typ": "JWT", "kid": kid}));
    let input = format!("{hs_header}.{payload}");
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, jwks.as_bytes());
    let mac = URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&key, input.as_bytes()).as_ref());
    expect_rejected(&v, &format!("{input}.{mac}"), "never an HMAC secret").await;
    // kid pointing nowhere.
    let nowhere = b64(&json!({"alg": "RS256", "kid": "no-such-kid"}));
    expect_rejected(&v, &format!("{nowhere}.{payload}.c2ln"), "no key with kid").await;
    // Time claims.
    let expired =
        control.sign_claims(&claims(json!({"exp": now() - 3600, "iat": now() - 7200, "nbf": now() - 7200}))).unwrap();
    expect_rejected(&v, &expired, "expired").await;
    let future = control.sign_claims(&claims(json!({"nbf": now() + 3600}))).unwrap();
    expect_rejected(&v, &future, "not valid for another").await;
    let no_exp = control.sign_claims(&json!({"sub": "x", "iss": "https://issuer.test", "aud": "https://api.synapsestream.io", "scope": "inference"})).unwrap();
    expect_rejected(&v, &no_exp, "no exp").await;
    // Issuer, audience, scope.
    expect_rejected(&v, &control.sign_claims(&claims(json!({"iss": "https://evil.test"}))).unwrap(), "wrong iss").await;
    expect_rejected(&v, &control.sign_claims(&claims(json!({"aud": "https://other.test"}))).unwrap(), "wrong aud")
        .await;
    expect_rejected(&v, &control.sign_claims(&claims(json!({"scope": "training"}))).unwrap(), "missing required scope")
        .await;
    // Structure.
    expect_rejected(&v, &format!("{header}.{payload}"), "three").await;
    expect_rejected(&v, &format!("{header}.{payload}."), "signature segment is empty").await;
    expect_rejected(&v, &format!("{header}..{}", "c2ln"), "empty").await;
    expect_rejected(&v, "!!!.@@@.###", "base64").await;
    expect_rejected(&v, &format!("{}.{payload}.c2ln", URL_SAFE_NO_PAD.encode("not json")), "not a JSON object").await;
    let big = b64(&json!({"alg": "RS256", "kid": kid, "pad": "x".repeat(4000)}));
    expect_rejected(&v, &format!("{big}.{payload}.c2ln"), "oversized header").await;
    expect_rejected(&v, &"a".repeat(20_000), "oversized").await;
    let crit = b64(&json!({"alg": "RS256", "kid": kid, "crit": ["urn:example:never"], "urn:example:never": true}));
    expect_rejected(&v, &format!("{crit}.{payload}.c2ln"), "critical").await;
    // Tampering.
    let tampered = b64(&claims(json!({"scope": "inference training admin"})));
    expect_rejected(&v, &format!("{header}.{tampered}.{_sig}"), "signature does not verify").await;
    // Algorithms outside the allow-list, and a key used with the wrong algorithm.
    let ps = b64(&json!({"alg": "PS256", "kid": kid}));
    expect_rejected(&v, &format!("{ps}.{payload}.c2ln"), "allow-list").await;
    let lenient =
        verifier(&server, JwtConfig { algorithms: vec!["RS256".into(), "PS256".into()], ..JwtConfig::default() });
    expect_rejected(&lenient, &format!("{ps}.{payload}.c2ln"), "is for RS256").await;
}

async fn reqwest_jwks(server: &RunningServer) -> String {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(server.ca_pem().unwrap().as_bytes()).unwrap())
        .build()
        .unwrap();
    let resp = client.get(format!("{}/.well-known/jwks.json", server.base_url())).send().await.unwrap();
    String::from_utf8(resp.bytes().await.unwrap().to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kid_flood_does_not_hammer_the_jwks_endpoint() {
    let server = common::server().await;
    let v = verifier(&server, JwtConfig::default());
    let good = server.control().sign_claims(&claims(json!({}))).unwrap();
    v.verify(&good).await.unwrap();
    let payload = good.split('.').nth(1).unwrap().to_string();
    let mut tasks = Vec::new();
    let v = std::sync::Arc::new(v);
    for i in 0..200 {
        let v = v.clone();
        let forged = format!("{}.{payload}.c2ln", b64(&json!({"alg": "RS256", "kid": format!("forged-{i}")})));
        tasks.push(tokio::spawn(async move { v.verify(&forged).await }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap_err().kind(), ErrorKind::InvalidToken);
    }
    let fetches = server.counters().jwks_requests;
    assert!(fetches <= 2, "initial fetch plus at most one cooldown refetch, got {fetches}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_never_fails_a_valid_token_and_a_failed_refetch_keeps_the_last_good_keys() {
    let server = common::server().await;
    let v = verifier(&server, JwtConfig::default());
    let before = server.control().mint_access_token("synapse-dev-client", "inference").unwrap();
    v.verify(&before).await.unwrap();
    server.control().rotate_keys().unwrap();
    let after = server.control().mint_access_token("synapse-dev-client", "inference").unwrap();
    v.verify(&after).await.unwrap();
    v.verify(&before).await.unwrap();
    assert_eq!(server.counters().jwks_requests, 2, "one refetch for the new kid");

    // The JWKS endpoint goes down; the key set already fetched keeps working.
    server
        .control()
        .inject_faults(FaultSpec { target: FaultTarget::Jwks, fail_next: 100, ..Default::default() })
        .unwrap();
    server.control().rotate_keys().unwrap();
    let newest = server.control().mint_access_token("synapse-dev-client", "inference").unwrap();
    assert_eq!(v.verify(&newest).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    v.verify(&after).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es256_ps256_and_eddsa_verify_when_allowed() {
    for (alg, name) in [(SigningAlg::ES256, "ES256"), (SigningAlg::PS256, "PS256"), (SigningAlg::EdDSA, "EdDSA")] {
        let server = common::server_with(ServerConfig { signing_alg: alg, ..ServerConfig::dev() }).await;
        let token = server.control().mint_access_token("synapse-dev-client", "inference").unwrap();
        let strict = verifier(&server, JwtConfig::default());
        expect_rejected(&strict, &token, "allow-list").await;
        let allowed = verifier(&server, JwtConfig { algorithms: vec![name.into()], ..JwtConfig::default() });
        let claims = allowed.verify(&token).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(claims.subject(), Some("synapse-dev-client"));
    }
}
