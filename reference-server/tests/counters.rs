//! Counter exactness under concurrency, and the JSON of GET /admin/counters.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use synapse_reference_server::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_token_requests_are_counted_exactly() {
    let h = start_with(|c| c.signing_alg = SigningAlg::ES256).await;
    const N: usize = 200;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..N {
        let http = h.http.clone();
        let url = h.url("/oauth2/token");
        // Mix the clients, grants and outcomes.
        let (id, secret) = match i % 4 {
            0 => (DEV_CLIENT_ID, DEV_CLIENT_SECRET),
            1 => (DEV_INFERENCE_CLIENT_ID, DEV_INFERENCE_CLIENT_SECRET),
            2 => (DEV_NOREFRESH_CLIENT_ID, DEV_NOREFRESH_CLIENT_SECRET),
            _ => (DEV_CLIENT_ID, "wrong-secret"),
        };
        set.spawn(async move {
            http.post(url)
                .form(&[("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)])
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let mut ok = 0;
    while let Some(s) = set.join_next().await {
        if s.unwrap() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, N / 4 * 3);
    let c = h.server.counters();
    assert_eq!(c.token_requests.total, N as u64);
    assert_eq!(c.token_requests.by_grant["client_credentials"], N as u64);
    assert_eq!(c.token_requests.by_grant["refresh_token"], 0);
    assert_eq!(c.token_requests.by_client[DEV_CLIENT_ID], (N / 2) as u64);
    assert_eq!(c.token_requests.by_client[DEV_INFERENCE_CLIENT_ID], (N / 4) as u64);
    assert_eq!(c.token_requests.by_status["200"], (N / 4 * 3) as u64);
    assert_eq!(c.token_requests.by_status["401"], (N / 4) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_faulted_and_api_requests_are_counted_exactly() {
    let h = start_dev().await;
    h.server.control().inject_faults(FaultSpec { fail_next: 30, ..FaultSpec::on(FaultTarget::Api) }).unwrap();
    const N: usize = 120;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..N {
        let http = h.http.clone();
        let url = h.url("/v1/models");
        set.spawn(async move { http.get(url).header("X-API-Key", DEV_API_KEY).send().await.unwrap().status() });
    }
    let mut failed = 0;
    while let Some(s) = set.join_next().await {
        if s.unwrap() == StatusCode::SERVICE_UNAVAILABLE {
            failed += 1;
        }
    }
    assert_eq!(failed, 30, "exactly fail_next requests fail");
    let c = h.server.counters();
    assert_eq!(c.api_calls.total, N as u64);
    assert_eq!(c.api_calls.by_status["503"], 30);
    assert_eq!(c.api_calls.by_status["200"], (N - 30) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_json_shape_and_grants() {
    let h = start_dev().await;
    let t = h.dev_token().await;
    h.refresh(DEV_CLIENT_ID, DEV_CLIENT_SECRET, t["refresh_token"].as_str().unwrap(), None).await;
    h.token_form(&[("grant_type", "password")]).await;
    h.token_form(&[]).await;
    h.models_with_bearer(t["access_token"].as_str().unwrap()).await;
    reply(h.http.get(h.url("/v1/models")).send().await.unwrap()).await;
    h.http.get(h.url("/.well-known/jwks.json")).send().await.unwrap();

    let r = reply(h.admin(Method::GET, "/admin/counters").send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    let b = &r.body;
    assert_eq!(b["token_requests"]["total"], 4);
    assert_eq!(b["token_requests"]["by_grant"], json!({"client_credentials": 1, "refresh_token": 1, "other": 2}));
    assert_eq!(b["token_requests"]["by_client"], json!({DEV_CLIENT_ID: 2}));
    assert_eq!(b["api_calls"]["total"], 2);
    assert_eq!(b["api_calls"]["by_status"], json!({"200": 1, "401": 1}));
    assert_eq!(b["jwks_requests"], 1);
    // The in-process snapshot is the same data.
    let parsed: Counters = serde_json::from_value(b.clone()).unwrap();
    assert_eq!(parsed, h.server.counters());
    // Admin requests themselves are not counted.
    assert_eq!(h.server.counters(), parsed);
}
