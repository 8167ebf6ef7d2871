//! The token lifecycle against the reference server: single-flight, refresh
//! ahead, rotation, serve-stale, rate limits, cancellation, credential
//! rotation, limits and redirects. Behaviour is proven by the server's exact
//! counters, not by timings.

mod common;

use common::*;
use futures::future::BoxFuture;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use synapse_auth_core::{ApiRequest, Client, ErrorKind, StoredToken, TokenStore};
use synapse_reference_server::FaultSpec;

fn faults(spec: FaultSpec) -> FaultSpec {
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousand_callers_at_cold_start_and_at_expiry_make_one_request_each() {
    let server = server().await;
    server.control().set_token_ttl(Duration::from_secs(2));
    server.control().inject_faults(faults(FaultSpec { latency_ms: 100, ..Default::default() })).unwrap();
    let client = client(&server);
    let burst = |client: Client| async move {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let c = client.clone();
                tokio::spawn(async move { c.get_token().await.map(|t| t.id()) })
            })
            .collect();
        let mut ids = std::collections::HashSet::new();
        for t in tasks {
            ids.insert(t.await.unwrap().unwrap());
        }
        ids
    };
    let ids = burst(client.clone()).await;
    assert_eq!(ids.len(), 1, "every caller got the same token");
    assert_eq!(token_requests(&server.counters()), 1);

    // Let the token expire without touching it (no refresh-ahead), then stampede again.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(client.cached_token().is_none());
    let ids = burst(client.clone()).await;
    assert_eq!(ids.len(), 1);
    let counters = server.counters();
    assert_eq!(token_requests(&counters), 2, "{counters:?}");
    assert_eq!(grant_count(&counters, "refresh_token"), 1, "the second token came from the refresh grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_ahead_keeps_callers_on_the_valid_token_without_waiting() {
    let server = server().await;
    server.control().set_token_ttl(Duration::from_secs(4));
    let client = client(&server);
    let first = client.get_token().await.unwrap();
    // The window is 25% of 4 s, ending at expiry minus skew (0.4 s): it starts near 2.6-2.8 s.
    tokio::time::sleep(Duration::from_millis(2900)).await;
    server.control().inject_faults(faults(FaultSpec { latency_ms: 400, ..Default::default() })).unwrap();
    let misses_before = client.stats().cache_misses;
    // Callers during the slow background refresh all get the old, still-valid token.
    for _ in 0..50 {
        let t = client.get_token().await.unwrap();
        assert_eq!(t.id(), first.id());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(client.stats().cache_misses, misses_before, "no caller waited");
    assert!(eventually(Duration::from_secs(3), || client.cached_token().is_some_and(|t| t.id() != first.id())).await);
    let counters = server.counters();
    assert_eq!(token_requests(&counters), 2);
    assert_eq!(grant_count(&counters, "refresh_token"), 1);
    assert_eq!(client.stats().background_refreshes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_background_refresh_serves_the_cached_token_then_surfaces_and_recovers() {
    let server = server().await;
    server.control().set_token_ttl(Duration::from_secs(3));
    let client = Client::new(
        builder(&server)
            .retry_policy(synapse_auth_core::RetryPolicy { max_attempts: 2, ..Default::default() })
            .build()
            .unwrap(),
    )
    .unwrap();
    let first = client.get_token().await.unwrap();
    server
        .control()
        .inject_faults(faults(FaultSpec { fail_next: 1000, fail_status: 503, ..Default::default() }))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2300)).await;
    // In the window, with the endpoint down: the old token keeps coming.
    for _ in 0..20 {
        assert_eq!(client.get_token().await.unwrap().id(), first.id());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let err = client.get_token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api, "{err}");
    assert_eq!(err.status(), Some(503));
    // The error is not cached: once the endpoint recovers the next call succeeds.
    server.control().clear_faults();
    let fresh = client.get_token().await.unwrap();
    assert_ne!(fresh.id(), first.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_request_before_retry_after_then_one_after() {
    let server = server().await;
    server.control().inject_faults(FaultSpec { rate_limit_next: 1, retry_after: 1, ..Default::default() }).unwrap();
    let client = client(&server);
    let err = client.get_token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(err.retry_after().unwrap() >= Duration::from_millis(900));
    for _ in 0..10 {
        assert_eq!(client.get_token().await.unwrap_err().kind(), ErrorKind::RateLimited);
    }
    assert_eq!(token_requests(&server.counters()), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.get_token().await.unwrap();
    assert_eq!(token_requests(&server.counters()), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_caller_does_not_cancel_or_lose_the_refresh() {
    let server = server().await;
    server.control().inject_faults(FaultSpec { latency_ms: 300, ..Default::default() }).unwrap();
    let client = client(&server);
    let gave_up = tokio::time::timeout(Duration::from_millis(50), client.get_token()).await;
    assert!(gave_up.is_err(), "the caller gave up early");
    assert!(eventually(Duration::from_secs(3), || client.cached_token().is_some()).await, "the flight landed anyway");
    server.control().clear_faults();
    client.get_token().await.unwrap();
    assert_eq!(token_requests(&server.counters()), 1);
}

/// A store that records what it is given and can be preloaded.
#[derive(Default)]
struct MemoryStore {
    entries: Mutex<std::collections::HashMap<String, StoredToken>>,
    saves: Mutex<Vec<StoredToken>>,
}

impl TokenStore for MemoryStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, synapse_auth_core::Result<Option<StoredToken>>> {
        Box::pin(async move { Ok(self.entries.lock().unwrap().get(key).cloned()) })
    }
    fn save<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, synapse_auth_core::Result<()>> {
        Box::pin(async move {
            self.entries.lock().unwrap().insert(key.to_string(), token.clone());
            self.saves.lock().unwrap().push(token.clone());
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_refresh_token_falls_back_to_client_credentials_once() {
    let server = server().await;
    let store = Arc::new(MemoryStore::default());
    let client = Client::new(builder(&server).token_store(store.clone()).build().unwrap()).unwrap();
    // Seed the store with an expired access token and a refresh token the server never issued.
    let key = format!("{CLIENT_ID}|{}/oauth2/token|inference", server.base_url());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    store.entries.lock().unwrap().insert(
        key.clone(),
        StoredToken {
            access_token: "expired".into(),
            token_type: "Bearer".into(),
            scopes: vec!["inference".into()],
            expires_at_unix: now - 10.0,
            issued_at_unix: now - 3610.0,
            refresh_token: Some("forged-refresh-token".into()),
        },
    );
    let token = client.get_token().await.unwrap();
    assert!(token.secret().starts_with("ey"));
    let counters = server.counters();
    assert_eq!(grant_count(&counters, "refresh_token"), 1, "tried the refresh grant first");
    assert_eq!(grant_count(&counters, "client_credentials"), 1, "then fell back once");
    // The persistence hook got the new token and the rotated refresh token.
    let saved = store.entries.lock().unwrap().get(&key).cloned().unwrap();
    assert_eq!(saved.access_token, token.secret());
    assert!(saved.refresh_token.is_some_and(|r| r != "forged-refresh-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_stored_token_is_used_without_a_request() {
    let server = server().await;
    let store = Arc::new(MemoryStore::default());
    let first = Client::new(builder(&server).token_store(store.clone()).build().unwrap()).unwrap();
    let token = first.get_token().await.unwrap();
    // A second client (a restart, or another process) picks it up from the store.
    let second = Client::new(builder(&server).token_store(store.clone()).build().unwrap()).unwrap();
    assert_eq!(second.get_token().await.unwrap().secret(), token.secret());
    assert_eq!(token_requests(&server.counters()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_refresh_tokens_replace_the_old_ones() {
    let server = server().await;
    server.control().set_token_ttl(Duration::from_secs(2));
    let store = Arc::new(MemoryStore::default());
    let client = Client::new(builder(&server).token_store(store.clone()).build().unwrap()).unwrap();
    for _ in 0..3 {
        client.get_token().await.unwrap();
        tokio::time::sleep(Duration::from_millis(2000)).await;
    }
    client.get_token().await.unwrap();
    let counters = server.counters();
    assert_eq!(grant_count(&counters, "client_credentials"), 1, "{counters:?}");
    assert_eq!(grant_count(&counters, "refresh_token"), 3, "each refresh used the newest refresh token");
    let saves = store.saves.lock().unwrap();
    let refresh_tokens: std::collections::HashSet<_> = saves.iter().filter_map(|s| s.refresh_token.clone()).collect();
    assert_eq!(refresh_tokens.len(), 4, "each response rotated the refresh token");
    let families = server.control().refresh_families();
    assert!(families.iter().all(|f| !f.revoked), "no reuse was ever detected: {families:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_file_is_picked_up_on_invalid_credentials() {
    let server = server().await;
    let dir = std::env::temp_dir().join(format!("synapse-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("client_secret");
    std::fs::write(&path, "old-secret-already-revoked\n").unwrap();
    let config = builder(&server).client_secret_file(&path).build().unwrap();
    let client = Client::new(config).unwrap();
    let err = client.get_token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCredentials);
    assert!(!err.to_string().contains("old-secret"), "{err}");
    std::fs::write(&path, format!("{CLIENT_SECRET}\n")).unwrap();
    client.get_token().await.unwrap();
    let counters = server.counters();
    assert_eq!(token_requests(&counters), 3, "fail, fail-then-reread-and-succeed: {counters:?}");

    // And a secret replaced on the live client.
    let live = Client::new(builder(&server).client_secret("wrong").build().unwrap()).unwrap();
    assert!(live.get_token().await.is_err());
    live.set_client_secret(CLIENT_SECRET);
    live.get_token().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_token_lifetime_caps_expires_in() {
    let server = server().await;
    let client = Client::new(builder(&server).max_token_lifetime(Duration::from_secs(2)).build().unwrap()).unwrap();
    let token = client.get_token().await.unwrap();
    assert!(token.expires_in() <= Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(2050)).await;
    assert!(client.cached_token().is_none(), "capped token is no longer used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_sets_are_cached_separately_and_bounded() {
    let server = server().await;
    let client = Client::new(builder(&server).max_cached_scope_sets(1).build().unwrap()).unwrap();
    let a = client.get_token_for(&["inference"]).await.unwrap();
    let b = client.get_token_for(&["training", "inference"]).await.unwrap();
    let b2 = client.get_token_for(&["inference", "training", "training"]).await.unwrap();
    assert_ne!(a.id(), b.id());
    assert_eq!(b.id(), b2.id(), "scope sets are normalized");
    assert_eq!(b.scopes().len(), 2);
    assert_eq!(token_requests(&server.counters()), 2);
    // A third set evicts the least recently used extra set (the default set always stays).
    client.get_token_for(&["training"]).await.unwrap();
    client.get_token_for(&["inference", "training"]).await.unwrap();
    assert_eq!(token_requests(&server.counters()), 4);
    assert_eq!(client.get_token().await.unwrap().id(), a.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_truncation_and_resets_map_to_typed_errors() {
    let server = server().await;
    let client = Client::new(
        builder(&server)
            .timeout(Duration::from_millis(300))
            .retry_policy(synapse_auth_core::RetryPolicy { max_attempts: 1, ..Default::default() })
            .build()
            .unwrap(),
    )
    .unwrap();
    server.control().inject_faults(FaultSpec { latency_ms: 1000, ..Default::default() }).unwrap();
    let err = client.get_token().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.message().contains("timed out"), "{err}");
    server.control().clear_faults();
    server.control().inject_faults(FaultSpec { truncated_next: 1, ..Default::default() }).unwrap();
    assert_eq!(client.get_token().await.unwrap_err().kind(), ErrorKind::Protocol);
    server.control().inject_faults(FaultSpec { reset_next: 1, ..Default::default() }).unwrap();
    assert_eq!(client.get_token().await.unwrap_err().kind(), ErrorKind::Transport);
    client.get_token().await.unwrap();
    // API-side faults too.
    server.control().inject_faults(FaultSpec { reset_next: 1, ..Default::default() }).unwrap();
    assert_eq!(client.request(ApiRequest::get("/v1/models")).await.unwrap_err().kind(), ErrorKind::Transport);
    server.control().inject_faults(FaultSpec { oversize_next: 1, ..Default::default() }).unwrap();
    assert_eq!(client.request(ApiRequest::get("/v1/models")).await.unwrap_err().kind(), ErrorKind::Protocol);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_are_typed_and_429_is_retried_after_retry_after() {
    let server = server().await;
    let client = client(&server);
    server.control().inject_faults(FaultSpec { rate_limit_next: 1, retry_after: 1, ..Default::default() }).unwrap();
    // The token request takes the 429 first (target all): use an API-only fault instead.
    server.control().clear_faults();
    client.get_token().await.unwrap();
    server
        .control()
        .inject_faults(FaultSpec {
            target: synapse_reference_server::FaultTarget::Api,
            rate_limit_next: 1,
            retry_after: 1,
            ..Default::default()
        })
        .unwrap();
    let started = std::time::Instant::now();
    let resp = client.request(ApiRequest::get("/v1/models")).await.unwrap();
    assert_eq!(resp.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(900), "waited for Retry-After");
    let err = client.request(ApiRequest::get("/v1/nope")).await.unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::Api, Some(404)));
    assert!(err.body().is_some());
    let err =
        client.request(ApiRequest::post("/v1/data/stream").json(&serde_json::json!({"data": 1}))).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InsufficientScope, "inference-only token: {err}");
    assert_eq!(err.required_scope(), Some("training"));
    let trainer = Client::new(builder(&server).scopes(["training"]).build().unwrap()).unwrap();
    let err =
        trainer.request(ApiRequest::post("/v1/data/stream").json(&serde_json::json!({"data": 1}))).await.unwrap_err();
    assert_eq!((err.kind(), err.status()), (ErrorKind::Api, Some(400)), "{err}");
    assert!(err.message().contains("stream_id"), "the server's reason is kept: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_go_to_another_host() {
    let server = server().await;
    let client = client(&server);
    let err = client.request(ApiRequest::get("https://example.com/v1/models")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(server.counters().api_calls.total, 0);

    // A same-host API that redirects to another loopback host: the redirect is not followed.
    let other = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let other_addr = other.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = other.accept().await {
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap_or(0);
            seen2.lock().unwrap().push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
        }
    });
    let redirector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirector_addr = redirector.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = redirector.accept().await {
            let mut buf = vec![0u8; 4096];
            let _ = s.read(&mut buf).await;
            let resp =
                format!("HTTP/1.1 302 Found\r\nlocation: http://{other_addr}/steal\r\ncontent-length: 0\r\n\r\n");
            let _ = s.write_all(resp.as_bytes()).await;
        }
    });
    let keyed = Client::new(
        synapse_auth_core::Config::builder()
            .base_url(format!("http://{redirector_addr}"))
            .api_key("sk_live_should_not_leak_000000")
            .build()
            .unwrap(),
    )
    .unwrap();
    let resp = keyed.request(ApiRequest::get("/v1/models")).await.unwrap();
    assert_eq!(resp.status, 302, "the redirect is handed back, not followed");
    assert!(seen.lock().unwrap().is_empty(), "nothing reached the other host");
}

#[test]
fn blocking_facade_works_from_plain_threads_and_inside_a_runtime() {
    let server = synapse_reference_server::start_blocking(synapse_reference_server::ServerConfig::dev()).unwrap();
    let client = synapse_auth_core::BlockingClient::new(blocking_config(&server)).unwrap();
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let c = client.clone();
            std::thread::spawn(move || c.get_token().unwrap().id())
        })
        .collect();
    let ids: std::collections::HashSet<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(server.counters().token_requests.total, 1);
    // From inside someone else's tokio runtime: no "Cannot start a runtime from within a runtime".
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let c = client.clone();
    let status = rt.block_on(async move {
        c.invalidate();
        c.get_token().unwrap();
        c.request(ApiRequest::get("/v1/models")).unwrap().status
    });
    assert_eq!(status, 200);
    server.shutdown();
}

#[test]
fn a_forked_child_keeps_cached_tokens_and_gets_a_fresh_runtime() {
    let server = synapse_reference_server::start_blocking(synapse_reference_server::ServerConfig::dev()).unwrap();
    let client = synapse_auth_core::BlockingClient::new(blocking_config(&server)).unwrap();
    let parent_token = client.get_token().unwrap();
    // SAFETY: the child only uses this library and exits with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let cached = client.get_token().unwrap();
            assert_eq!(cached.id(), parent_token.id(), "cached token survives fork");
            assert_eq!(client.request(ApiRequest::get("/v1/models")).unwrap().status, 200);
            client.invalidate();
            let fresh = client.get_token().unwrap();
            assert_ne!(fresh.id(), parent_token.id(), "a token request works in the child");
        }))
        .map(|_| 0)
        .unwrap_or(1);
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child failed: {status}");
    assert_eq!(server.counters().token_requests.total, 2);
    // The parent is unaffected.
    assert_eq!(client.get_token().unwrap().id(), parent_token.id());
    server.shutdown();
}
