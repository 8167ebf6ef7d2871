//! [`BlockingClient`]: the same client for callers without an async runtime.
//!
//! Safe from any thread, including one already inside another tokio runtime
//! (the work runs on the shared runtime; this thread only waits), and in a child
//! process after `fork()`.

use crate::error::Result;
use crate::jwt::Claims;
use crate::request::{ApiRequest, ApiResponse};
use crate::stats::Stats;
use crate::token::Token;
use crate::{Client, Config};
use std::sync::Arc;

/// A blocking facade over [`Client`]; cheap to clone.
#[derive(Clone, Debug)]
pub struct BlockingClient {
    client: Client,
}

impl From<Client> for BlockingClient {
    fn from(client: Client) -> Self {
        BlockingClient { client }
    }
}

impl BlockingClient {
    /// Builds a client from a configuration.
    pub fn new(config: Config) -> Result<Self> {
        Ok(Client::new(config)?.into())
    }

    /// The async client behind this facade.
    pub fn async_client(&self) -> &Client {
        &self.client
    }

    /// A valid token; the cache-hit path never touches the runtime.
    pub fn get_token(&self) -> Result<Arc<Token>> {
        if let Some(token) = self.client.cached_token() {
            return Ok(token);
        }
        let client = self.client.clone();
        crate::runtime::block_on(async move { client.get_token().await })
    }

    /// A valid token for `scopes`.
    pub fn get_token_for(&self, scopes: &[String]) -> Result<Arc<Token>> {
        let client = self.client.clone();
        let scopes = scopes.to_vec();
        crate::runtime::block_on(async move { client.get_token_for(&scopes).await })
    }

    /// Sends an authenticated API call.
    pub fn request(&self, request: ApiRequest) -> Result<ApiResponse> {
        let client = self.client.clone();
        crate::runtime::block_on(async move { client.request(request).await })
    }

    /// Verifies a JWT against the JWKS.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        let client = self.client.clone();
        let token = token.to_string();
        crate::runtime::block_on(async move { client.verify(&token).await })
    }

    /// Forgets every cached token.
    pub fn invalidate(&self) {
        self.client.invalidate();
    }

    /// The client's counters.
    pub fn stats(&self) -> Stats {
        self.client.stats()
    }
}
