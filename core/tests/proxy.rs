//! Proxies: HTTPS_PROXY is respected, NO_PROXY exempts hosts, and an explicit
//! `proxy` setting wins. A small CONNECT proxy on loopback counts tunnels.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A minimal HTTP CONNECT proxy; returns its URL and a tunnel counter.
async fn connect_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tunnels = Arc::new(AtomicUsize::new(0));
    let counter = tunnels.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut byte = [0u8; 1];
                while !buf.ends_with(b"\r\n\r\n") {
                    if inbound.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    buf.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let target = head.split_whitespace().nth(1).unwrap_or_default().to_string();
                assert!(head.starts_with("CONNECT "), "TLS goes through CONNECT: {head}");
                let Ok(mut outbound) = TcpStream::connect(&target).await else { return };
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = inbound.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await;
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            });
        }
    });
    (format!("http://{addr}"), tunnels)
}

// One test owns the process environment, so the cases run in sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_no_proxy_and_explicit_proxy() {
    let server = common::server().await;
    let (proxy, tunnels) = connect_proxy().await;

    // SAFETY: this test binary has a single test; nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var("HTTPS_PROXY", &proxy);
        std::env::remove_var("NO_PROXY");
        std::env::remove_var("no_proxy");
    }
    let via_env = common::client(&server);
    via_env.get_token().await.unwrap();
    assert_eq!(tunnels.load(Ordering::SeqCst), 1, "HTTPS_PROXY was used");

    unsafe { std::env::set_var("NO_PROXY", "127.0.0.1") };
    let exempt = common::client(&server);
    exempt.get_token().await.unwrap();
    assert_eq!(tunnels.load(Ordering::SeqCst), 1, "NO_PROXY exempted the host");

    unsafe {
        std::env::remove_var("HTTPS_PROXY");
        std::env::remove_var("NO_PROXY");
    }
    let explicit = synapse_auth_core::Client::new(common::builder(&server).proxy(&proxy).build().unwrap()).unwrap();
    explicit.get_token().await.unwrap();
    assert_eq!(tunnels.load(Ordering::SeqCst), 2, "the explicit proxy was used");
    assert_eq!(server.counters().token_requests.total, 3);
}
