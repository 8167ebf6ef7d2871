//! [`Stats`]: what the client has done, for dashboards and for tests.

use crate::circuit::CircuitState;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a client's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// HTTP requests sent to the token endpoint (retries included).
    pub token_requests: u64,
    /// Refresh-token grants among them.
    pub refresh_grants: u64,
    /// Refreshes started ahead of expiry in the background.
    pub background_refreshes: u64,
    /// `get_token` calls served from the cache without waiting.
    pub cache_hits: u64,
    /// `get_token` calls that had to wait for a token request.
    pub cache_misses: u64,
    /// Retries of token requests and API calls.
    pub retries: u64,
    /// Token requests that ended in an error.
    pub failures: u64,
    /// API calls made by `request` (retries included).
    pub api_requests: u64,
    /// JWKS documents fetched.
    pub jwks_fetches: u64,
    /// The circuit breaker's state.
    pub circuit_state: CircuitState,
    /// Consecutive authentication failures so far.
    pub consecutive_auth_failures: u32,
    /// How often the circuit has opened.
    pub circuit_opened: u64,
}

/// The live counters behind [`Stats`]; relaxed atomics, never a lock.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub token_requests: AtomicU64,
    pub refresh_grants: AtomicU64,
    pub background_refreshes: AtomicU64,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub retries: AtomicU64,
    pub failures: AtomicU64,
    pub api_requests: AtomicU64,
    pub jwks_fetches: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
