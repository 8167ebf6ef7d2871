//! The refresh_token grant: rotation, family revocation on reuse (RFC 9700
//! §4.14.2), scope narrowing, client binding, Basic auth, admin view.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use synapse_reference_server::*;

fn rt(v: &Value) -> String {
    v["refresh_token"].as_str().expect("refresh_token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let h = start_dev().await;
    let first = h.dev_token().await;
    let rt1 = rt(&first);

    let r = h.refresh(DEV_CLIENT_ID, DEV_CLIENT_SECRET, &rt1, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["scope"], "inference training");
    let rt2 = rt(&r.body);
    assert_ne!(rt1, rt2);
    assert_ne!(r.body["access_token"], first["access_token"]);
    // The new access token works.
    let m = h.models_with_bearer(r.body["access_token"].as_str().unwrap()).await;
    assert_eq!(m.status, StatusCode::OK);

    let r = h.refresh(DEV_CLIENT_ID, DEV_CLIENT_SECRET, &rt2, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let rt3 = rt(&r.body);

    // Reusing rt1 (already rotated) is refused and revokes the family...
    let r = h.refresh(DEV_CLIENT_ID, DEV_CLIENT_SECRET, &rt1, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_grant");
    // ...so even the newest token of the family is dead now.
    let r = h.refresh(DEV_CLIENT_ID, DEV_CLIENT_SECRET, &rt3, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_grant");

    // Other families are untouched.
    let other = rt(&h.dev_token().await);
    let r = h.refresh(DEV_CLIENT_ID, DEV_CLIENT_SECRET, &other, None).await;
    assert_eq!(r.status, StatusCode::OK);

    // The admin view shows it.
    let fams = h.server.control().refresh_families();
    assert_eq!(fams.len(), 2);
    assert!(fams[0].revoked);
    assert_eq!(fams[0].revoked_reason.as_deref(), Some("reuse"));
    assert_eq!(fams[0].tokens_issued, 3);
    assert!(!fams[1].revoked);
    let r = reply(h.admin(Method::GET, "/admin/refresh-families").send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["families"][0]["revoked"], true);
    assert_eq!(r.body["families"][0]["client_id"], DEV_CLIENT_ID);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_scope_must_be_within_the_original_grant() {
    let h = start_dev().await;
    let first = h.client_credentials(DEV_CLIENT_ID, DEV_CLIENT_SECRET, Some("inference")).await;
    let rt1 = rt(&first.body);
    // Wider than the original grant (even though the client may have it).
    let r = h.refresh(DEV_CLIENT_ID, DEV_CLIENT_SECRET, &rt1, Some("inference training")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_scope");
    // The failed attempt did not consume the token.
    let r = h.refresh(DEV_CLIENT_ID, DEV_CLIENT_SECRET, &rt1, Some("inference")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["scope"], "inference");

    // Narrowing: the access token gets the narrower scope, the family keeps the original.
    let full = rt(&h.dev_token().await);
    let r = h.refresh(DEV_CLIENT_ID, DEV_CLIENT_SECRET, &full, Some("training")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["scope"], "training");
    let (_, claims) = jwt_parts(r.body["access_token"].as_str().unwrap());
    assert_eq!(claims["scope"], "training");
    let r = h.refresh(DEV_CLIENT_ID, DEV_CLIENT_SECRET, &rt(&r.body), None).await;
    assert_eq!(r.body["scope"], "inference training");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_errors() {
    let h = start_dev().await;
    let token = rt(&h.dev_token().await);
    // Missing refresh_token.
    let r = h
        .token_form(&[
            ("grant_type", "refresh_token"),
            ("client_id", DEV_CLIENT_ID),
            ("client_secret", DEV_CLIENT_SECRET),
        ])
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_request");
    // Unknown token.
    let r = h.refresh(DEV_CLIENT_ID, DEV_CLIENT_SECRET, "rt_not-a-token", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_grant");
    // Another client's token.
    let r = h.refresh(DEV_NOREFRESH_CLIENT_ID, DEV_NOREFRESH_CLIENT_SECRET, &token, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_grant");
    // Wrong secret: client authentication comes first.
    let r = h.refresh(DEV_CLIENT_ID, "wrong", &token, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), "invalid_client");
    // None of that consumed the token.
    let r = h.refresh(DEV_CLIENT_ID, DEV_CLIENT_SECRET, &token, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_with_basic_auth() {
    let h = start_dev().await;
    let token = rt(&h.dev_token().await);
    let r = reply(
        h.http
            .post(h.url("/oauth2/token"))
            .basic_auth(DEV_CLIENT_ID, Some(DEV_CLIENT_SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["refresh_token"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reuse_yields_exactly_one_winner() {
    let h = start_dev().await;
    let token = rt(&h.dev_token().await);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let http = h.http.clone();
        let url = h.url("/oauth2/token");
        let token = token.clone();
        set.spawn(async move {
            http.post(url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", DEV_CLIENT_ID),
                    ("client_secret", DEV_CLIENT_SECRET),
                    ("refresh_token", &token),
                ])
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    let mut ok = 0;
    while let Some(status) = set.join_next().await {
        match status.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::BAD_REQUEST => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 1);
    assert!(h.server.control().refresh_families()[0].revoked);
}
