//! JWKS: document shape, caching headers, ETag/304, rotation (on demand and
//! scheduled), and independent verification of issued tokens from the JWKS
//! for every signing algorithm.

mod common;

use std::time::Duration;

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use synapse_reference_server::*;

async fn fetch_jwks(h: &Harness, if_none_match: Option<&str>) -> Reply {
    let mut req = h.http.get(h.url("/.well-known/jwks.json"));
    if let Some(tag) = if_none_match {
        req = req.header("If-None-Match", tag);
    }
    reply(req.send().await.unwrap()).await
}

fn b64(v: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(v.as_str().unwrap()).unwrap()
}

/// Verifies `token` against `jwks` without any server code: finds the key by
/// kid, rebuilds it from the JWK members, and checks the signature.
fn verify_with_jwks(token: &str, jwks: &Value) -> bool {
    let (header, _) = jwt_parts(token);
    let kid = header["kid"].as_str().unwrap();
    let Some(jwk) = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid) else {
        return false;
    };
    assert_eq!(jwk["alg"], header["alg"]);
    let dot = token.rfind('.').unwrap();
    let (msg, sig) = (&token.as_bytes()[..dot], b64(&Value::from(&token[dot + 1..])));
    match jwk["alg"].as_str().unwrap() {
        alg @ ("RS256" | "PS256") => {
            assert_eq!(jwk["kty"], "RSA");
            let params: &signature::RsaParameters = if alg == "RS256" {
                &signature::RSA_PKCS1_2048_8192_SHA256
            } else {
                &signature::RSA_PSS_2048_8192_SHA256
            };
            let n = b64(&jwk["n"]);
            assert_eq!(n.len(), 256, "RSA 2048");
            RsaPublicKeyComponents { n, e: b64(&jwk["e"]) }.verify(params, msg, &sig).is_ok()
        }
        "ES256" => {
            assert_eq!(jwk["kty"], "EC");
            assert_eq!(jwk["crv"], "P-256");
            let mut point = vec![4u8];
            point.extend(b64(&jwk["x"]));
            point.extend(b64(&jwk["y"]));
            assert_eq!(sig.len(), 64, "fixed-size r||s");
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(msg, &sig).is_ok()
        }
        "EdDSA" => {
            assert_eq!(jwk["kty"], "OKP");
            assert_eq!(jwk["crv"], "Ed25519");
            UnparsedPublicKey::new(&signature::ED25519, b64(&jwk["x"])).verify(msg, &sig).is_ok()
        }
        other => panic!("unexpected alg {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_algorithm_is_verifiable_from_the_jwks() {
    for alg in SigningAlg::ALL {
        let h = start_with(|c| c.signing_alg = alg).await;
        let token = h.dev_access_token().await;
        let (header, _) = jwt_parts(&token);
        assert_eq!(header["alg"], alg.as_str());
        let jwks = fetch_jwks(&h, None).await.body;
        let key = &jwks["keys"][0];
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], alg.as_str());
        assert!(verify_with_jwks(&token, &jwks), "{alg}");
        // And the server accepts it.
        assert_eq!(h.models_with_bearer(&token).await.status, StatusCode::OK);
        // A flipped signature byte fails the independent check too.
        let mut sig = URL_SAFE_NO_PAD.decode(token.rsplit('.').next().unwrap()).unwrap();
        sig[5] ^= 1;
        let bad = format!("{}.{}", &token[..token.rfind('.').unwrap()], URL_SAFE_NO_PAD.encode(sig));
        assert!(!verify_with_jwks(&bad, &jwks), "{alg}");
        assert_eq!(h.models_with_bearer(&bad).await.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caching_headers_etag_and_304() {
    let h = start_dev().await;
    let r = fetch_jwks(&h, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    let etag = r.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    assert_eq!(r.body["keys"].as_array().unwrap().len(), 1);

    let r = fetch_jwks(&h, Some(&etag)).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.raw.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    let r = fetch_jwks(&h, Some(&format!("\"other\", W/{etag}"))).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = fetch_jwks(&h, Some("\"stale\"")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(h.server.counters().jwks_requests, 4);

    let r = reply(h.http.post(h.url("/.well-known/jwks.json")).send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_publishes_current_and_previous() {
    let h = start_dev().await;
    let first = fetch_jwks(&h, None).await;
    let etag1 = first.header("etag").unwrap().to_owned();
    let kid1 = first.body["keys"][0]["kid"].as_str().unwrap().to_owned();
    let old_token = h.dev_access_token().await;

    let r = reply(h.admin(Method::POST, "/admin/rotate-keys").send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    let kid2 = r.body["kid"].as_str().unwrap().to_owned();
    assert_ne!(kid1, kid2);
    assert_eq!(r.body["previous_kid"], kid1.as_str());

    // The old ETag no longer matches; both keys are published, current first.
    let r = fetch_jwks(&h, Some(&etag1)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(r.header("etag").unwrap(), etag1);
    let kids: Vec<&str> = r.body["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, vec![kid2.as_str(), kid1.as_str()]);

    // New tokens use the new key; old tokens still verify (previous key).
    let new_token = h.dev_access_token().await;
    assert_eq!(jwt_parts(&new_token).0["kid"], kid2.as_str());
    assert!(verify_with_jwks(&old_token, &r.body));
    assert_eq!(h.models_with_bearer(&old_token).await.status, StatusCode::OK);
    assert_eq!(h.models_with_bearer(&new_token).await.status, StatusCode::OK);

    // After a second rotation the first key is gone: its tokens are 401.
    let kid3 = h.server.control().rotate_keys().unwrap();
    let r = fetch_jwks(&h, None).await;
    let kids: Vec<&str> = r.body["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, vec![kid3.as_str(), kid2.as_str()]);
    let r = h.models_with_bearer(&old_token).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.header("www-authenticate"), Some("Bearer error=\"invalid_token\""));
    assert_eq!(h.models_with_bearer(&new_token).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_rotation() {
    let h = start_with(|c| {
        c.key_rotation_interval = Some(Duration::from_millis(1500));
        c.signing_alg = SigningAlg::ES256;
    })
    .await;
    let kid1 = h.server.control().current_kid();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while h.server.control().current_kid() == kid1 {
        assert!(std::time::Instant::now() < deadline, "no scheduled rotation");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(h.server.control().previous_kid().as_deref(), Some(kid1.as_str()));
    let r = fetch_jwks(&h, None).await;
    assert_eq!(r.body["keys"].as_array().unwrap().len(), 2);
}
