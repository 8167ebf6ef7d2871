//! Fault injection: every kind, targets, countdowns, several kinds at once,
//! sticky latency, clearing, counting of faulted requests, admin validation.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use synapse_reference_server::*;

async fn post_faults(h: &Harness, spec: serde_json::Value) -> Reply {
    reply(h.admin(Method::POST, "/admin/faults").json_body(&spec).send().await.unwrap()).await
}

trait JsonBody {
    fn json_body(self, v: &serde_json::Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, v: &serde_json::Value) -> Self {
        self.header("Content-Type", "application/json").body(serde_json::to_vec(v).unwrap())
    }
}

async fn token_attempt(h: &Harness) -> Result<Reply, reqwest::Error> {
    let resp = h
        .http
        .post(h.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEV_CLIENT_ID),
            ("client_secret", DEV_CLIENT_SECRET),
        ])
        .send()
        .await?;
    Ok(reply(resp).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_next_counts_down_with_status() {
    let h = start_dev().await;
    let r = post_faults(&h, json!({"target": "token", "fail_next": 2, "fail_status": 500})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["faults"][0]["fail_next"], 2);
    for _ in 0..2 {
        let r = token_attempt(&h).await.unwrap();
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(r.error(), "injected_fault");
        assert_eq!(r.header("x-injected-fault"), Some("fail"));
    }
    assert_eq!(token_attempt(&h).await.unwrap().status, StatusCode::OK);
    // Faulted requests count, and were not executed (no refresh family started).
    let c = h.server.counters();
    assert_eq!(c.token_requests.total, 3);
    assert_eq!(c.token_requests.by_status["500"], 2);
    assert_eq!(c.token_requests.by_client[DEV_CLIENT_ID], 3);
    assert_eq!(h.server.control().refresh_families().len(), 1);

    // Default status is 503; the API target does not affect the token endpoint.
    post_faults(&h, json!({"target": "api", "fail_next": 1})).await;
    assert_eq!(token_attempt(&h).await.unwrap().status, StatusCode::OK);
    let r = h.dev_key_models().await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.error(), "injected_fault");
    assert!(r.body["message"].is_string());
    assert_eq!(h.dev_key_models().await.status, StatusCode::OK);
    assert_eq!(h.server.counters().api_calls.by_status["503"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_next_aborts_the_connection() {
    let h = start_dev().await;
    // HTTP/2 (the default client) on the token endpoint.
    post_faults(&h, json!({"target": "token", "reset_next": 1})).await;
    let err = token_attempt(&h).await.expect_err("connection must be reset");
    assert!(!err.is_status(), "{err:?}");
    assert_eq!(token_attempt(&h).await.unwrap().status, StatusCode::OK);

    // HTTP/1.1 on the API.
    let http1 = client_builder(&h.server).http1_only().build().unwrap();
    post_faults(&h, json!({"target": "api", "reset_next": 1})).await;
    let started = Instant::now();
    let err = http1
        .get(h.url("/v1/models"))
        .header("X-API-Key", DEV_API_KEY)
        .send()
        .await
        .expect_err("connection must be reset");
    assert!(!err.is_status(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "no hang");
    let r = http1.get(h.url("/v1/models")).header("X-API-Key", DEV_API_KEY).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Target "all" is consumed by whichever endpoint comes next.
    post_faults(&h, json!({"reset_next": 1})).await;
    assert!(h.http.get(h.url("/.well-known/jwks.json")).send().await.is_err());
    assert_eq!(token_attempt(&h).await.unwrap().status, StatusCode::OK);

    let c = h.server.counters();
    assert_eq!(c.token_requests.total, 3);
    assert_eq!(c.token_requests.by_status["reset"], 1);
    assert_eq!(c.api_calls.total, 2);
    assert_eq!(c.api_calls.by_status["reset"], 1);
    assert_eq!(c.jwks_requests, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_truncated_oversize_bodies() {
    let h = start_dev().await;
    post_faults(&h, json!({"target": "token", "malformed_next": 1, "truncated_next": 1, "oversize_next": 1})).await;
    // Malformed: 200, JSON content type, not JSON.
    let r = token_attempt(&h).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(serde_json::from_slice::<serde_json::Value>(&r.raw).is_err());
    // Truncated: 200, the first half of a JSON document.
    let r = token_attempt(&h).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert!(serde_json::from_slice::<serde_json::Value>(&r.raw).is_err());
    let text = String::from_utf8(r.raw.to_vec()).unwrap();
    assert!(text.starts_with("{\"access_token\":\""), "{text}");
    assert_eq!(r.header("content-length").unwrap().parse::<usize>().unwrap(), r.raw.len());
    // Oversize: 200, valid JSON of about 8 MiB.
    let r = token_attempt(&h).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.raw.len() >= 8 * 1024 * 1024, "{}", r.raw.len());
    assert!(r.raw.len() < 9 * 1024 * 1024);
    assert!(r.body.is_object());
    // Then back to normal.
    let r = token_attempt(&h).await.unwrap();
    assert!(r.body["access_token"].is_string());
    assert!(h.server.control().active_faults().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_api_and_jwks() {
    let h = start_dev().await;
    post_faults(&h, json!({"target": "api", "truncated_next": 1})).await;
    post_faults(&h, json!({"target": "jwks", "truncated_next": 1, "malformed_next": 1})).await;
    let r = h.dev_key_models().await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.is_null(), "cut JSON must not parse");
    let full = h.dev_key_models().await;
    assert!(full.raw.starts_with(&r.raw));
    assert_eq!(r.raw.len(), full.raw.len() / 2);
    // Within one rule, malformed plays before truncated.
    let j = reply(h.http.get(h.url("/.well-known/jwks.json")).send().await.unwrap()).await;
    assert_eq!(j.header("x-injected-fault"), Some("malformed"));
    let j = reply(h.http.get(h.url("/.well-known/jwks.json")).send().await.unwrap()).await;
    assert_eq!(j.header("x-injected-fault"), Some("truncated"));
    assert!(String::from_utf8_lossy(&j.raw).starts_with("{\"keys\":["));
    assert!(j.body.is_null());
    let j = reply(h.http.get(h.url("/.well-known/jwks.json")).send().await.unwrap()).await;
    assert!(j.body["keys"].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_fault_with_retry_after() {
    let h = start_dev().await;
    post_faults(&h, json!({"rate_limit_next": 2, "retry_after": 7})).await;
    let r = token_attempt(&h).await.unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.error(), "rate_limited");
    assert!(r.body["error_description"].is_string());
    assert_eq!(r.header("retry-after"), Some("7"));
    let r = h.dev_key_models().await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert!(r.body["message"].is_string());
    assert_eq!(h.dev_key_models().await.status, StatusCode::OK);
    // Default Retry-After is 1.
    post_faults(&h, json!({"target": "api", "rate_limit_next": 1})).await;
    assert_eq!(h.dev_key_models().await.header("retry-after"), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_kinds_at_once_play_in_order() {
    let h = start_dev().await;
    post_faults(&h, json!({"target": "api", "fail_next": 1, "rate_limit_next": 1, "malformed_next": 1})).await;
    let kinds: Vec<Option<String>> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            let r = h.dev_key_models().await;
            v.push(r.header("x-injected-fault").map(str::to_owned));
        }
        v
    };
    assert_eq!(kinds, vec![Some("fail".into()), Some("rate_limit".into()), Some("malformed".into()), None]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_is_sticky_until_cleared() {
    let h = start_dev().await;
    post_faults(&h, json!({"target": "jwks", "latency_ms": 800})).await;
    for _ in 0..2 {
        let t = Instant::now();
        let r = h.http.get(h.url("/.well-known/jwks.json")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(t.elapsed() >= Duration::from_millis(800));
    }
    // Other targets are not delayed.
    let t = Instant::now();
    h.dev_key_models().await;
    assert!(t.elapsed() < Duration::from_millis(800));
    // GET shows the rule; DELETE clears it.
    let r = reply(h.admin(Method::GET, "/admin/faults").send().await.unwrap()).await;
    assert_eq!(r.body["faults"][0]["latency_ms"], 800);
    let r = reply(h.admin(Method::DELETE, "/admin/faults").send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    let t = Instant::now();
    h.http.get(h.url("/.well-known/jwks.json")).send().await.unwrap();
    assert!(t.elapsed() < Duration::from_millis(800));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_clears_faults_and_counters() {
    let h = start_dev().await;
    post_faults(&h, json!({"fail_next": 5})).await;
    assert_eq!(h.dev_key_models().await.status, StatusCode::SERVICE_UNAVAILABLE);
    let r = reply(h.admin(Method::POST, "/admin/reset").send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(h.server.control().active_faults().is_empty());
    assert_eq!(h.server.counters(), Counters::default());
    assert_eq!(h.dev_key_models().await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_spec_validation() {
    let h = start_dev().await;
    for bad in [
        json!({"target": "everything"}),
        json!({"fail_nxt": 1}),
        json!({"fail_next": 1, "fail_status": 200}),
        json!({"fail_next": -1}),
    ] {
        let r = post_faults(&h, bad.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(r.error(), "invalid_request");
    }
    assert!(h.server.control().active_faults().is_empty());
    // The in-process twin validates the same way.
    let ctl = h.server.control();
    assert!(ctl.inject_faults(FaultSpec { fail_next: 1, fail_status: 302, ..FaultSpec::default() }).is_err());
    ctl.inject_faults(FaultSpec { fail_next: 1, ..FaultSpec::on(FaultTarget::Jwks) }).unwrap();
    let r = h.http.get(h.url("/.well-known/jwks.json")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
}
