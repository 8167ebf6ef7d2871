//! The state shared by every request handler and by [`crate::Control`].

use std::time::Duration;

use aws_lc_rs::constant_time::verify_slices_are_equal;

use crate::access_token::AccessTokens;
use crate::config::{ApiKeyConfig, ClientConfig, ServerConfig};
use crate::counters::CounterStore;
use crate::faults::FaultStore;
use crate::faults::{FaultPlan, FaultTarget};
use crate::keys::KeyStore;
use crate::rate_limit::RateLimiter;
use crate::refresh::RefreshStore;

/// Everything the endpoints share.
pub(crate) struct AppState {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) admin_token: String,
    pub(crate) max_body_bytes: usize,
    pub(crate) clients: Vec<ClientConfig>,
    pub(crate) api_keys: Vec<ApiKeyConfig>,
    pub(crate) keys: KeyStore,
    pub(crate) tokens: AccessTokens,
    pub(crate) refresh: RefreshStore,
    pub(crate) counters: CounterStore,
    pub(crate) faults: FaultStore,
    pub(crate) token_limiter: RateLimiter,
    pub(crate) api_limiter: RateLimiter,
}

/// Constant-time string equality.
pub(crate) fn secure_eq(a: &str, b: &str) -> bool {
    verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

impl AppState {
    /// Builds the state; `issuer` is already resolved (base URL when the
    /// configuration left it empty). Generates the first signing key.
    pub(crate) fn new(config: &ServerConfig, issuer: String) -> std::io::Result<Self> {
        Ok(AppState {
            issuer,
            audience: config.audience.clone(),
            admin_token: config.admin_token.clone(),
            max_body_bytes: config.max_body_bytes,
            clients: config.clients.clone(),
            api_keys: config.api_keys.clone(),
            keys: KeyStore::new(config.signing_alg)?,
            tokens: AccessTokens::new(config.token_ttl),
            refresh: RefreshStore::default(),
            counters: CounterStore::default(),
            faults: FaultStore::default(),
            token_limiter: RateLimiter::new(config.rate_limit.token_requests, config.rate_limit.window),
            api_limiter: RateLimiter::new(config.rate_limit.api_requests, config.rate_limit.window),
        })
    }

    /// The configured client with this id.
    pub(crate) fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// The configured API key equal to `key` (compared in constant time).
    pub(crate) fn api_key(&self, key: &str) -> Option<&ApiKeyConfig> {
        let mut found = None;
        for candidate in &self.api_keys {
            if secure_eq(&candidate.key, key) && found.is_none() {
                found = Some(candidate);
            }
        }
        found
    }

    /// Whether `token` is the admin token.
    pub(crate) fn is_admin(&self, token: &str) -> bool {
        secure_eq(&self.admin_token, token)
    }

    /// Takes the fault plan for a request to `target` and waits its latency.
    pub(crate) async fn fault_plan(&self, target: FaultTarget) -> FaultPlan {
        let plan = self.faults.plan(target);
        if plan.latency > Duration::ZERO {
            tokio::time::sleep(plan.latency).await;
        }
        plan
    }

    /// `POST /admin/reset`: counters to zero, faults cleared, rate-limit windows forgotten.
    pub(crate) fn reset(&self) {
        self.counters.reset();
        self.faults.clear();
        self.token_limiter.reset();
        self.api_limiter.reset();
    }
}
