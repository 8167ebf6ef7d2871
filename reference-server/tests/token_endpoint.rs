//! POST /oauth2/token: client_credentials, client authentication (body and
//! Basic), every RFC 6749 §5.2 error, headers, token contents, rate limit, 413.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use reqwest::StatusCode;
use synapse_reference_server::*;

const FORM: &str = "application/x-www-form-urlencoded";

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

async fn post_raw(h: &Harness, content_type: Option<&str>, auth: Option<&str>, body: &str) -> Reply {
    let mut req = h.http.post(h.url("/oauth2/token")).body(body.to_owned());
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    reply(req.send().await.unwrap()).await
}

fn assert_oauth_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "body: {}", String::from_utf8_lossy(&r.raw));
    assert_eq!(r.error(), code, "body: {}", r.body);
    assert!(
        r.body["error_description"].as_str().is_some_and(|d| !d.is_empty()),
        "error_description missing: {}",
        r.body
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_success_matches_the_guide() {
    let h = start_dev().await;
    let r = h.client_credentials(DEV_CLIENT_ID, DEV_CLIENT_SECRET, Some("inference training")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    let b = &r.body;
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 3600);
    assert_eq!(b["scope"], "inference training");
    assert!(b["refresh_token"].as_str().unwrap().starts_with("rt_"));
    let keys: Vec<&String> = b.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "only the documented members: {b}");

    let token = b["access_token"].as_str().unwrap();
    let (header, claims) = jwt_parts(token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], h.server.control().current_kid());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(claims["iss"], h.server.base_url());
    assert_eq!(claims["sub"], DEV_CLIENT_ID);
    assert_eq!(claims["client_id"], DEV_CLIENT_ID);
    assert_eq!(claims["aud"], DEFAULT_AUDIENCE);
    assert_eq!(claims["scope"], "inference training");
    let iat = claims["iat"].as_u64().unwrap();
    assert!(iat.abs_diff(now) <= 2);
    assert_eq!(claims["nbf"].as_u64().unwrap(), iat);
    assert_eq!(claims["exp"].as_u64().unwrap(), iat + 3600);
    assert!(claims["jti"].as_str().unwrap().len() >= 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_scope_is_every_allowed_scope_and_jti_is_unique() {
    let h = start_dev().await;
    let a = h.client_credentials(DEV_CLIENT_ID, DEV_CLIENT_SECRET, None).await;
    let b = h.client_credentials(DEV_CLIENT_ID, DEV_CLIENT_SECRET, None).await;
    assert_eq!(a.body["scope"], "inference training");
    let ja = jwt_parts(a.body["access_token"].as_str().unwrap()).1["jti"].clone();
    let jb = jwt_parts(b.body["access_token"].as_str().unwrap()).1["jti"].clone();
    assert_ne!(ja, jb);
    assert_ne!(a.body["refresh_token"], b.body["refresh_token"]);

    let i = h.client_credentials(DEV_INFERENCE_CLIENT_ID, DEV_INFERENCE_CLIENT_SECRET, None).await;
    assert_eq!(i.status, StatusCode::OK);
    assert_eq!(i.body["scope"], "inference");
    // A narrower request is granted as asked; duplicates collapse.
    let n = h.client_credentials(DEV_CLIENT_ID, DEV_CLIENT_SECRET, Some("training training")).await;
    assert_eq!(n.body["scope"], "training");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_is_per_client() {
    let h = start_dev().await;
    let r = h.client_credentials(DEV_NOREFRESH_CLIENT_ID, DEV_NOREFRESH_CLIENT_SECRET, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.get("refresh_token").is_none(), "{}", r.body);
    assert_eq!(r.body.as_object().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_authentication_works_and_is_form_decoded() {
    let h = start_with(|c| {
        c.clients.push(ClientConfig::new("odd:id", "p@ss word+%", &["inference"]));
    })
    .await;
    let r = post_raw(
        &h,
        Some(FORM),
        Some(&basic(DEV_CLIENT_ID, DEV_CLIENT_SECRET)),
        "grant_type=client_credentials&scope=inference",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["scope"], "inference");

    // RFC 6749 §2.3.1: id and secret are form-urlencoded inside Basic.
    let r =
        post_raw(&h, Some(FORM), Some(&basic("odd%3Aid", "p%40ss+word%2B%25")), "grant_type=client_credentials").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // The same client_id in the body alongside Basic is tolerated.
    let r = post_raw(
        &h,
        Some(FORM),
        Some(&basic(DEV_CLIENT_ID, DEV_CLIENT_SECRET)),
        &format!("grant_type=client_credentials&client_id={DEV_CLIENT_ID}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_client_variants() {
    let h = start_dev().await;
    // Wrong secret in the body: 401 without a Basic challenge.
    let r = h.client_credentials(DEV_CLIENT_ID, "wrong", None).await;
    assert_oauth_error(&r, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(r.header("www-authenticate"), None);
    // Unknown client.
    let r = h.client_credentials("nobody", "x", None).await;
    assert_oauth_error(&r, StatusCode::UNAUTHORIZED, "invalid_client");
    // No credentials at all.
    let r = h.token_form(&[("grant_type", "client_credentials")]).await;
    assert_oauth_error(&r, StatusCode::UNAUTHORIZED, "invalid_client");
    // Missing secret.
    let r = h.token_form(&[("grant_type", "client_credentials"), ("client_id", DEV_CLIENT_ID)]).await;
    assert_oauth_error(&r, StatusCode::UNAUTHORIZED, "invalid_client");
    // Wrong secret with Basic: 401 with the challenge.
    let r = post_raw(&h, Some(FORM), Some(&basic(DEV_CLIENT_ID, "wrong")), "grant_type=client_credentials").await;
    assert_oauth_error(&r, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"synapsestream\""));
    // Malformed Basic and another scheme also challenge.
    for auth in ["Basic %%%", "Basic bm9jb2xvbg==", "Bearer abc"] {
        let r = post_raw(&h, Some(FORM), Some(auth), "grant_type=client_credentials").await;
        assert_oauth_error(&r, StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_request_variants() {
    let h = start_dev().await;
    let good = format!("grant_type=client_credentials&client_id={DEV_CLIENT_ID}&client_secret={DEV_CLIENT_SECRET}");
    // Not form-encoded.
    for ct in [None, Some("application/json"), Some("text/plain")] {
        let r = post_raw(&h, ct, None, &good).await;
        assert_oauth_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }
    // Form with a charset parameter is fine.
    let r = post_raw(&h, Some("application/x-www-form-urlencoded; charset=UTF-8"), None, &good).await;
    assert_eq!(r.status, StatusCode::OK);
    // Both Basic and body secret.
    let r = post_raw(&h, Some(FORM), Some(&basic(DEV_CLIENT_ID, DEV_CLIENT_SECRET)), &good).await;
    assert_oauth_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    // Basic plus a different body client_id.
    let r = post_raw(
        &h,
        Some(FORM),
        Some(&basic(DEV_CLIENT_ID, DEV_CLIENT_SECRET)),
        "grant_type=client_credentials&client_id=someone-else",
    )
    .await;
    assert_oauth_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    // Repeated parameter.
    let r = post_raw(&h, Some(FORM), None, &format!("{good}&scope=inference&scope=training")).await;
    assert_oauth_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    // Missing grant_type.
    let r = h.token_form(&[("client_id", DEV_CLIENT_ID), ("client_secret", DEV_CLIENT_SECRET)]).await;
    assert_oauth_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    // Wrong method.
    let r = reply(h.http.get(h.url("/oauth2/token")).send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), Some("POST"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_grant_and_invalid_scope() {
    let h = start_dev().await;
    for grant in ["password", "authorization_code", "urn:ietf:params:oauth:grant-type:jwt-bearer"] {
        let r = h
            .token_form(&[("grant_type", grant), ("client_id", DEV_CLIENT_ID), ("client_secret", DEV_CLIENT_SECRET)])
            .await;
        assert_oauth_error(&r, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    // Unknown scope, scope not allowed for the client, malformed scope.
    let r = h.client_credentials(DEV_CLIENT_ID, DEV_CLIENT_SECRET, Some("inference admin")).await;
    assert_oauth_error(&r, StatusCode::BAD_REQUEST, "invalid_scope");
    let r = h.client_credentials(DEV_INFERENCE_CLIENT_ID, DEV_INFERENCE_CLIENT_SECRET, Some("training")).await;
    assert_oauth_error(&r, StatusCode::BAD_REQUEST, "invalid_scope");
    let r = h.client_credentials(DEV_CLIENT_ID, DEV_CLIENT_SECRET, Some("in\"ference")).await;
    assert_oauth_error(&r, StatusCode::BAD_REQUEST, "invalid_scope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_rate_limit_is_per_client() {
    let h = start_with(|c| {
        c.rate_limit.token_requests = 3;
        c.rate_limit.window = std::time::Duration::from_secs(120);
    })
    .await;
    for _ in 0..3 {
        let r = h.client_credentials(DEV_CLIENT_ID, DEV_CLIENT_SECRET, None).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = h.client_credentials(DEV_CLIENT_ID, DEV_CLIENT_SECRET, None).await;
    assert_oauth_error(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=120).contains(&retry), "{retry}");
    // Another client has its own window.
    let r = h.client_credentials(DEV_INFERENCE_CLIENT_ID, DEV_INFERENCE_CLIENT_SECRET, None).await;
    assert_eq!(r.status, StatusCode::OK);
    // Admin reset forgets the windows.
    h.server.control().reset();
    let r = h.client_credentials(DEV_CLIENT_ID, DEV_CLIENT_SECRET, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_is_413_and_counted() {
    let h = start_with(|c| c.max_body_bytes = 1024).await;
    let big = format!(
        "grant_type=client_credentials&client_id={DEV_CLIENT_ID}&client_secret={DEV_CLIENT_SECRET}&pad={}",
        "x".repeat(2000)
    );
    let r = post_raw(&h, Some(FORM), None, &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.error(), "payload_too_large");
    let c = h.server.counters();
    assert_eq!(c.token_requests.total, 1);
    assert_eq!(c.token_requests.by_status["413"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_chunked_body_is_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = start_with(|c| {
        c.max_body_bytes = 1024;
        c.tls = false;
    })
    .await;
    let mut tcp = tokio::net::TcpStream::connect(h.server.local_addr()).await.unwrap();
    let mut req = String::from(
        "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    );
    for _ in 0..30 {
        req.push_str(&format!("64\r\n{}\r\n", "x".repeat(100)));
    }
    req.push_str("0\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    let _ = tcp.read_to_end(&mut resp).await;
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    assert_eq!(h.server.counters().token_requests.by_status["413"], 1);
}
