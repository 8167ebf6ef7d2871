//! Admin authentication and config, plain HTTP, the blocking server, config
//! files, CA export, shutdown.

mod common;

use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use synapse_reference_server::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_requires_the_token() {
    let h = start_dev().await;
    for (method, path) in [
        (Method::GET, "/admin/counters"),
        (Method::POST, "/admin/reset"),
        (Method::POST, "/admin/faults"),
        (Method::DELETE, "/admin/faults"),
        (Method::POST, "/admin/rotate-keys"),
        (Method::POST, "/admin/expire-tokens"),
        (Method::POST, "/admin/config"),
        (Method::GET, "/admin/refresh-families"),
    ] {
        let r = reply(h.http.request(method.clone(), h.url(path)).send().await.unwrap()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(r.error(), "invalid_credentials");
        let r =
            reply(h.http.request(method.clone(), h.url(path)).header("X-Admin-Token", "wrong").send().await.unwrap())
                .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    // Nothing happened.
    assert_eq!(h.server.control().previous_kid(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_config_changes_the_lifetime_of_new_tokens() {
    let h = start_dev().await;
    let r = reply(
        h.admin(Method::POST, "/admin/config")
            .header("Content-Type", "application/json")
            .body(r#"{"token_ttl_secs": 42}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["token_ttl_secs"], 42);
    let t = h.dev_token().await;
    assert_eq!(t["expires_in"], 42);
    let (_, claims) = jwt_parts(t["access_token"].as_str().unwrap());
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 42);
    let r = reply(h.admin(Method::GET, "/admin/config").send().await.unwrap()).await;
    assert_eq!(r.body["token_ttl_secs"], 42);
    assert_eq!(h.server.control().token_ttl(), Duration::from_secs(42));
    let r = reply(h.admin(Method::POST, "/admin/config").body(r#"{"token_ttl": 1}"#).send().await.unwrap()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = reply(h.admin(Method::GET, "/admin/keys").send().await.unwrap()).await;
    assert_eq!(r.body["kid"], h.server.control().current_kid());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_server() {
    let h = start_with(|c| c.tls = false).await;
    assert!(h.server.base_url().starts_with("http://127.0.0.1:"));
    assert!(h.server.ca_pem().is_none());
    let dir = std::env::temp_dir().join(format!("ref-ca-none-{}", std::process::id()));
    assert_eq!(h.server.write_ca_pem(&dir).unwrap_err().kind(), std::io::ErrorKind::NotFound);
    let token = h.dev_access_token().await;
    assert_eq!(h.models_with_bearer(&token).await.status, StatusCode::OK);
    let (_, claims) = jwt_parts(&token);
    assert_eq!(claims["iss"], h.server.base_url());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_issuer_and_audience_are_used_and_checked() {
    let h = start_with(|c| {
        c.issuer = "https://auth.example.test".into();
        c.audience = "https://api.example.test".into();
    })
    .await;
    let token = h.dev_access_token().await;
    let (_, claims) = jwt_parts(&token);
    assert_eq!(claims["iss"], "https://auth.example.test");
    assert_eq!(claims["aud"], "https://api.example.test");
    assert_eq!(h.models_with_bearer(&token).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_pem_is_written_and_trusted() {
    let h = start_dev().await;
    let path = std::env::temp_dir().join(format!("ref-ca-{}.pem", std::process::id()));
    h.server.write_ca_pem(&path).unwrap();
    let pem = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(Some(pem.as_str()), h.server.ca_pem());
    // The certificate is valid for localhost too.
    let url = h.server.base_url().replace("127.0.0.1", "localhost");
    let r = h.http.get(format!("{url}/.well-known/jwks.json")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A client without the CA refuses the server.
    install_crypto();
    let untrusting = reqwest::Client::builder().no_proxy().build().unwrap();
    assert!(untrusting.get(h.url("/v1/models")).send().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_file_round_trip_and_validation() {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("ref-config-{}.json", std::process::id()));
    std::fs::write(
        &path,
        r#"{"token_ttl_secs": 120, "signing_alg": "EdDSA", "tls": false,
            "clients": [{"client_id": "svc", "client_secret": "s3cret", "allowed_scopes": ["inference"]}],
            "api_keys": []}"#,
    )
    .unwrap();
    let config = ServerConfig::from_file(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(config.admin_token, DEV_ADMIN_TOKEN);
    let server = start(config).await.unwrap();
    let h = Harness { http: client_for(&server), server };
    let r = h.client_credentials("svc", "s3cret", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["expires_in"], 120);
    assert_eq!(jwt_parts(r.body["access_token"].as_str().unwrap()).0["alg"], "EdDSA");
    assert_eq!(h.client_credentials(DEV_CLIENT_ID, DEV_CLIENT_SECRET, None).await.status, StatusCode::UNAUTHORIZED);
    assert!(ServerConfig::from_file(dir.join("does-not-exist.json")).is_err());
    // start() rejects an invalid config.
    let mut bad = ServerConfig::dev();
    bad.admin_token.clear();
    assert_eq!(start(bad).await.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_serving() {
    let h = start_dev().await;
    let url = h.url("/.well-known/jwks.json");
    assert!(h.http.get(&url).send().await.is_ok());
    let Harness { server, http } = h;
    let addr = server.local_addr();
    tokio::time::timeout(Duration::from_secs(10), server.shutdown()).await.expect("shutdown completes");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let fresh = http.get(&url).send().await;
    assert!(fresh.is_err());
}

#[test]
fn blocking_server_works_without_a_runtime() {
    let server = start_blocking(ServerConfig::dev()).unwrap();
    assert!(server.base_url().starts_with("https://127.0.0.1:"));
    let pem = server.ca_pem().unwrap().to_owned();
    let base = server.base_url().to_owned();
    // A separate runtime for the client, as a sync caller would do.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = rt.block_on(async {
        install_crypto();
        let http = reqwest::Client::builder()
            .no_proxy()
            .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
            .build()
            .unwrap();
        http.get(format!("{base}/v1/models")).header("X-API-Key", DEV_API_KEY).send().await.unwrap().status()
    });
    assert_eq!(status, StatusCode::OK);
    // Drop the client's runtime so its idle connection closes (an undriven
    // HTTP/2 client would hold graceful shutdown until the drain timeout).
    drop(rt);
    assert_eq!(server.counters().api_calls.total, 1);
    assert!(server.control().rotate_keys().is_ok());
    let addr = server.local_addr();
    server.shutdown();
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_server_can_be_used_from_async_code() {
    let server = start_blocking(ServerConfig::dev()).unwrap();
    let http = reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(server.ca_pem().unwrap().as_bytes()).unwrap());
    install_crypto();
    let http = http.build().unwrap();
    let r = http.get(format!("{}/.well-known/jwks.json", server.base_url())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    drop(server);
}
