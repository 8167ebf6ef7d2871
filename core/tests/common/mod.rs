//! Shared helpers for core's integration tests: an in-process reference server
//! and clients pointed at it.
#![allow(dead_code)]

use std::time::Duration;
use synapse_auth_core::{Client, Config, ConfigBuilder};
use synapse_reference_server::{Counters, RunningServer, ServerConfig, start};

pub const CLIENT_ID: &str = synapse_reference_server::DEV_CLIENT_ID;
pub const CLIENT_SECRET: &str = synapse_reference_server::DEV_CLIENT_SECRET;

/// Starts the reference server (HTTPS, dev config) on a random loopback port.
pub async fn server() -> RunningServer {
    server_with(ServerConfig::dev()).await
}

pub async fn server_with(config: ServerConfig) -> RunningServer {
    start(config).await.expect("reference server starts")
}

/// A builder pointed at `server` with the dev client's credentials.
pub fn builder(server: &RunningServer) -> ConfigBuilder {
    Config::builder()
        .base_url(server.base_url())
        .extra_root_ca_pem(server.ca_pem().expect("tls server"))
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .scopes(["inference"])
}

/// The dev client's configuration for a server started with `start_blocking`.
pub fn blocking_config(server: &synapse_reference_server::BlockingServer) -> Config {
    Config::builder()
        .base_url(server.base_url())
        .extra_root_ca_pem(server.ca_pem().expect("tls server"))
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .scopes(["inference"])
        .build()
        .unwrap()
}

pub fn client(server: &RunningServer) -> Client {
    Client::new(builder(server).build().unwrap()).unwrap()
}

pub fn token_requests(counters: &Counters) -> u64 {
    counters.token_requests.total
}

pub fn grant_count(counters: &Counters, grant: &str) -> u64 {
    counters.token_requests.by_grant.get(grant).copied().unwrap_or(0)
}

/// Waits until `cond` holds (polling), up to `timeout`.
pub async fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}
