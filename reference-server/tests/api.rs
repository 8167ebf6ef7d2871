//! The protected API: bearer tokens and API keys, scopes, IP ranges, every
//! error code (401, 403 + WWW-Authenticate, 418, 429 + Retry-After, 400, 413).

mod common;

use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use synapse_reference_server::*;

fn assert_api_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "body: {}", String::from_utf8_lossy(&r.raw));
    assert_eq!(r.error(), code, "body: {}", r.body);
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

const STREAM: &str = r#"{"stream_id": "nn-435X", "data": [1, 2, {"x": 3}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_calls() {
    let h = start_dev().await;
    let token = h.dev_access_token().await;
    let r = h.models_with_bearer(&token).await;
    assert_eq!(r.status, StatusCode::OK);
    let models = r.body["data"].as_array().unwrap();
    assert!(models.len() >= 3);
    assert!(models.iter().all(|m| m["id"].is_string()));

    let r = reply(
        h.http
            .post(h.url("/v1/data/stream"))
            .bearer_auth(&token)
            .header("Content-Type", "application/json")
            .body(STREAM)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body, json!({"stream_id": "nn-435X", "accepted": 3}));

    // The scheme name is case-insensitive.
    let r =
        reply(h.http.get(h.url("/v1/models")).header("Authorization", format!("bearer {token}")).send().await.unwrap())
            .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_calls_and_scopes() {
    let h = start_dev().await;
    let r = h.stream_with_key(DEV_API_KEY, STREAM).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["accepted"], 3);
    let r = h.dev_key_models().await;
    assert_eq!(r.status, StatusCode::OK);

    // Inference-only key: models yes, data stream no.
    let r =
        reply(h.http.get(h.url("/v1/models")).header("X-API-Key", DEV_INFERENCE_API_KEY).send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = h.stream_with_key(DEV_INFERENCE_API_KEY, STREAM).await;
    assert_api_error(&r, StatusCode::FORBIDDEN, "insufficient_scope");
    assert_eq!(r.header("www-authenticate"), Some("Bearer error=\"insufficient_scope\", scope=\"training\""));

    // Unknown key.
    let r = h.stream_with_key("sk_live_unknown", STREAM).await;
    assert_api_error(&r, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_scope_for_bearer() {
    let h = start_dev().await;
    let r = h.client_credentials(DEV_INFERENCE_CLIENT_ID, DEV_INFERENCE_CLIENT_SECRET, None).await;
    let token = r.body["access_token"].as_str().unwrap();
    assert_eq!(h.models_with_bearer(token).await.status, StatusCode::OK);
    let r = reply(
        h.http
            .post(h.url("/v1/data/stream"))
            .bearer_auth(token)
            .header("Content-Type", "application/json")
            .body(STREAM)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_api_error(&r, StatusCode::FORBIDDEN, "insufficient_scope");
    assert_eq!(r.header("www-authenticate"), Some("Bearer error=\"insufficient_scope\", scope=\"training\""));
    // A training-only token cannot list models.
    let r = h.client_credentials(DEV_CLIENT_ID, DEV_CLIENT_SECRET, Some("training")).await;
    let r = h.models_with_bearer(r.body["access_token"].as_str().unwrap()).await;
    assert_api_error(&r, StatusCode::FORBIDDEN, "insufficient_scope");
    assert_eq!(r.header("www-authenticate"), Some("Bearer error=\"insufficient_scope\", scope=\"inference\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_invalid_credentials() {
    let h = start_dev().await;
    // No credentials.
    let r = reply(h.http.get(h.url("/v1/models")).send().await.unwrap()).await;
    assert_api_error(&r, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    // Another scheme.
    let r =
        reply(h.http.get(h.url("/v1/models")).basic_auth(DEV_CLIENT_ID, Some(DEV_CLIENT_SECRET)).send().await.unwrap())
            .await;
    assert_api_error(&r, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));

    let token = h.dev_access_token().await;
    let bad_sig = {
        let mut t = token.clone();
        let last = t.pop().unwrap();
        t.push(if last == 'A' { 'B' } else { 'A' });
        t
    };
    let forged_claims = tamper(&token, 1, |c| {
        c.insert("scope".into(), json!("inference training admin"));
    });
    let unknown_kid = tamper(&token, 0, |hd| {
        hd.insert("kid".into(), json!("not-a-key"));
    });
    let alg_none = tamper(&token, 0, |hd| {
        hd.insert("alg".into(), json!("none"));
    });
    let alg_swap = tamper(&token, 0, |hd| {
        hd.insert("alg".into(), json!("PS256"));
    });
    let ctl = h.server.control();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims = |iss: &str, aud: &str, nbf: u64| {
        json!({"iss": iss, "sub": DEV_CLIENT_ID, "client_id": DEV_CLIENT_ID, "aud": aud,
               "scope": "inference", "iat": now, "nbf": nbf, "exp": now + 600, "jti": "x"})
    };
    let wrong_iss = ctl.sign_claims(&claims("https://evil.example", DEFAULT_AUDIENCE, now)).unwrap();
    let wrong_aud = ctl.sign_claims(&claims(ctl.issuer(), "https://other.example", now)).unwrap();
    let future_nbf = ctl.sign_claims(&claims(ctl.issuer(), DEFAULT_AUDIENCE, now + 300)).unwrap();
    let aud_array = ctl
        .sign_claims(&json!({"iss": ctl.issuer(), "client_id": "c", "aud": ["x", DEFAULT_AUDIENCE],
                              "scope": "inference", "exp": now + 60}))
        .unwrap();
    assert_eq!(h.models_with_bearer(&aud_array).await.status, StatusCode::OK);

    for (name, t) in [
        ("garbage", "not-a-jwt".to_owned()),
        ("empty-ish", "a.b.c".to_owned()),
        ("bad signature", bad_sig),
        ("forged claims", forged_claims),
        ("unknown kid", unknown_kid),
        ("alg none", alg_none),
        ("alg swap", alg_swap),
        ("wrong iss", wrong_iss),
        ("wrong aud", wrong_aud),
        ("future nbf", future_nbf),
    ] {
        let r = h.models_with_bearer(&t).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}: {}", r.body);
        assert_eq!(r.error(), "invalid_credentials", "{name}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer error=\"invalid_token\""), "{name}");
    }
    // A bearer from another server instance (different keys) is rejected too.
    let other = start_dev().await;
    let foreign = other.dev_access_token().await;
    let r = h.models_with_bearer(&foreign).await;
    assert_api_error(&r, StatusCode::UNAUTHORIZED, "invalid_credentials");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_credentials_at_once_is_invalid_request() {
    let h = start_dev().await;
    let token = h.dev_access_token().await;
    let r = reply(
        h.http.get(h.url("/v1/models")).bearer_auth(&token).header("X-API-Key", DEV_API_KEY).send().await.unwrap(),
    )
    .await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_answer_418() {
    let h = start_dev().await;
    // Lifetime zero: expired on arrival, signature still valid.
    h.server.control().set_token_ttl(Duration::ZERO);
    let r = h.dev_token().await;
    assert_eq!(r["expires_in"], 0);
    let expired = r["access_token"].as_str().unwrap().to_owned();
    let resp = h.models_with_bearer(&expired).await;
    assert_api_error(&resp, StatusCode::IM_A_TEAPOT, "token_expired");

    // A token with exp in the past, signed by the server's key.
    let ctl = h.server.control();
    let old = ctl
        .sign_claims(&json!({"iss": ctl.issuer(), "sub": "c", "client_id": "c",
            "aud": DEFAULT_AUDIENCE, "scope": "inference", "iat": 1, "nbf": 1, "exp": 2}))
        .unwrap();
    assert_api_error(&h.models_with_bearer(&old).await, StatusCode::IM_A_TEAPOT, "token_expired");

    // An expired token with a bad signature is 401, not 418.
    let forged = tamper(&old, 1, |c| {
        c.insert("sub".into(), json!("d"));
    });
    assert_eq!(h.models_with_bearer(&forged).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_expiry_answers_418_and_refresh_recovers() {
    let h = start_dev().await;
    let first = h.dev_token().await;
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(h.models_with_bearer(access).await.status, StatusCode::OK);

    let r = reply(h.admin(Method::POST, "/admin/expire-tokens").send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["expired_tokens"], 1);
    let r = h.models_with_bearer(access).await;
    assert_api_error(&r, StatusCode::IM_A_TEAPOT, "token_expired");

    // The guide's resolution: refresh.
    let r = h.refresh(DEV_CLIENT_ID, DEV_CLIENT_SECRET, first["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let fresh = r.body["access_token"].as_str().unwrap();
    assert_eq!(h.models_with_bearer(fresh).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_ip_ranges() {
    let h = start_with(|c| {
        c.api_keys.push(ApiKeyConfig {
            key: "sk_live_loopbackonly".into(),
            scopes: vec!["inference".into()],
            allowed_ips: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        });
        c.api_keys.push(ApiKeyConfig {
            key: "sk_live_officeonly".into(),
            scopes: vec!["inference".into()],
            allowed_ips: vec!["10.20.0.0/16".parse().unwrap()],
        });
    })
    .await;
    let call = |key: &'static str| {
        let http = h.http.clone();
        let url = h.url("/v1/models");
        async move { reply(http.get(url).header("X-API-Key", key).send().await.unwrap()).await }
    };
    assert_eq!(call("sk_live_loopbackonly").await.status, StatusCode::OK);
    let r = call("sk_live_officeonly").await;
    assert_api_error(&r, StatusCode::FORBIDDEN, "ip_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_stream_validation() {
    let h = start_dev().await;
    for body in [
        "not json",
        "[]",
        r#"{"data": []}"#,
        r#"{"stream_id": "", "data": []}"#,
        r#"{"stream_id": 12, "data": []}"#,
        r#"{"stream_id": "a"}"#,
        r#"{"stream_id": "a", "data": "x"}"#,
    ] {
        let r = h.stream_with_key(DEV_API_KEY, body).await;
        assert_api_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }
    // Wrong content type.
    let r = reply(
        h.http
            .post(h.url("/v1/data/stream"))
            .header("X-API-Key", DEV_API_KEY)
            .header("Content-Type", "text/plain")
            .body(STREAM)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_api_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    // Empty data is fine.
    let r = h.stream_with_key(DEV_API_KEY, r#"{"stream_id": "s", "data": []}"#).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body["accepted"], 0);
    // Wrong methods.
    let r = reply(h.http.get(h.url("/v1/data/stream")).header("X-API-Key", DEV_API_KEY).send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), Some("POST"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_limit_is_413() {
    let h = start_with(|c| c.max_body_bytes = 4096).await;
    let big = format!(r#"{{"stream_id": "s", "data": ["{}"]}}"#, "x".repeat(5000));
    let r = h.stream_with_key(DEV_API_KEY, &big).await;
    assert_api_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Just under the limit passes.
    let ok = format!(r#"{{"stream_id": "s", "data": ["{}"]}}"#, "x".repeat(3000));
    assert_eq!(h.stream_with_key(DEV_API_KEY, &ok).await.status, StatusCode::ACCEPTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_rate_limit_per_client_and_per_key() {
    let h = start_with(|c| {
        c.rate_limit.api_requests = 2;
        c.rate_limit.window = Duration::from_secs(60);
    })
    .await;
    let token = h.dev_access_token().await;
    for _ in 0..2 {
        assert_eq!(h.models_with_bearer(&token).await.status, StatusCode::OK);
    }
    let r = h.models_with_bearer(&token).await;
    assert_api_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Another token of the same client shares the client's window.
    let token2 = h.dev_access_token().await;
    assert_eq!(h.models_with_bearer(&token2).await.status, StatusCode::TOO_MANY_REQUESTS);
    // API keys have their own windows.
    assert_eq!(h.dev_key_models().await.status, StatusCode::OK);
    assert_eq!(h.dev_key_models().await.status, StatusCode::OK);
    assert_eq!(h.dev_key_models().await.status, StatusCode::TOO_MANY_REQUESTS);
    let c = h.server.counters();
    assert_eq!(c.api_calls.total, 7);
    assert_eq!(c.api_calls.by_status["429"], 3);
    assert_eq!(c.api_calls.by_status["200"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_are_404_json() {
    let h = start_dev().await;
    let r = reply(h.http.get(h.url("/v1/nothing")).send().await.unwrap()).await;
    assert_api_error(&r, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(h.server.counters().api_calls.total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_and_http2_both_work() {
    let h = start_dev().await;
    let h1 = client_builder(&h.server).http1_only().build().unwrap();
    let r = h1.get(h.url("/v1/models")).header("X-API-Key", DEV_API_KEY).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    assert_eq!(r.status(), StatusCode::OK);
    let r = h.http.get(h.url("/v1/models")).header("X-API-Key", DEV_API_KEY).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), StatusCode::OK);
}
