//! The token cache and its single-flight refresh: the heart of the engine.
//!
//! Each scope set has a [`Slot`]. Its current token sits in an atomically
//! swapped `Arc`, so a cache hit is one atomic load and one reference-count
//! increment: no lock, no runtime, no allocation. Misses and refreshes go
//! through one *flight* per slot, a task on the shared runtime whose result every
//! waiting caller shares, so any number of concurrent callers make one token
//! request, and a caller that gives up never cancels (or loses) a refresh.

use crate::circuit::CircuitBreaker;
use crate::clock;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::flight::{FlightFuture, SingleFlight};
use crate::grant::{Grant, TokenEndpoint};
use crate::runtime;
use crate::secret::Secret;
use crate::stats::Counters;
use crate::token::Token;
use arc_swap::{ArcSwap, ArcSwapOption};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Everything cached for one scope set.
pub(crate) struct Slot {
    scopes: Vec<String>,
    key: String,
    current: ArcSwapOption<Token>,
    /// The refresh token and when it was issued (Unix seconds), newest wins.
    /// (token, issued at in Unix seconds, runtime generation it was obtained in).
    refresh_token: ArcSwap<(Option<Secret>, f64, u64)>,
    /// True when the refresh token came from (or went to) a shared token store, so
    /// other processes may hold it too: it is then used only under the store's lock,
    /// since two processes presenting one rotating refresh token revoke its family.
    refresh_token_shared: AtomicBool,
    flight: SingleFlight<Arc<Token>>,
    background_running: AtomicBool,
    /// No background refresh before this (coarse-clock nanos), after a failed one.
    background_not_before: AtomicU64,
    background_failures: AtomicU64,
    /// No token request before this (coarse-clock nanos), after a 429.
    rate_limited_until: AtomicU64,
    last_used: AtomicU64,
}

impl Slot {
    fn new(scopes: Vec<String>) -> Self {
        let key = scopes.join(" ");
        Slot {
            scopes,
            key,
            current: ArcSwapOption::empty(),
            refresh_token: ArcSwap::from_pointee((None, 0.0, runtime::generation())),
            refresh_token_shared: AtomicBool::new(false),
            flight: SingleFlight::new(),
            background_running: AtomicBool::new(false),
            background_not_before: AtomicU64::new(0),
            background_failures: AtomicU64::new(0),
            rate_limited_until: AtomicU64::new(0),
            last_used: AtomicU64::new(0),
        }
    }

    fn refresh_token(&self) -> Option<Secret> {
        self.refresh_token.load().0.clone()
    }

    /// The refresh token, unless it was inherited through `fork()`: the parent (and
    /// its other children) hold it too, and two processes presenting one rotating
    /// refresh token revoke its whole family. A child uses client credentials instead.
    fn own_refresh_token(&self) -> Option<Secret> {
        let held = self.refresh_token.load();
        if held.2 == runtime::generation() { held.0.clone() } else { None }
    }

    /// Replaces the refresh token, unless the one held was issued later
    /// (the rotation rule: a newer refresh token is never overwritten by an older one).
    fn set_refresh_token(&self, token: Option<Secret>, issued_at_unix: f64) {
        // Lock-free (an rcu loop), so a fork() can never leave it locked in the child.
        self.refresh_token.rcu(|held| {
            if token.is_none() || issued_at_unix >= held.1 {
                Arc::new((token.clone(), issued_at_unix.max(held.1), runtime::generation()))
            } else {
                held.clone()
            }
        });
    }
}

/// The canonical form of a scope set: sorted, without duplicates.
pub(crate) fn normalize_scopes<S: AsRef<str>>(scopes: &[S]) -> Vec<String> {
    let mut v: Vec<String> = scopes.iter().map(|s| s.as_ref().to_string()).filter(|s| !s.is_empty()).collect();
    v.sort();
    v.dedup();
    v
}

/// Owns the slots, the token endpoint and the breaker.
pub(crate) struct TokenManager {
    config: Arc<Config>,
    endpoint: TokenEndpoint,
    counters: Arc<Counters>,
    breaker: CircuitBreaker,
    default_slot: Arc<Slot>,
    others: RwLock<HashMap<String, Arc<Slot>>>,
}

impl TokenManager {
    pub(crate) fn new(config: Arc<Config>, endpoint: TokenEndpoint, counters: Arc<Counters>) -> Self {
        let default_slot = Arc::new(Slot::new(normalize_scopes(&config.scopes)));
        TokenManager {
            breaker: CircuitBreaker::new(config.circuit_breaker.clone()),
            config,
            endpoint,
            counters,
            default_slot,
            others: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// The slot for `scopes` (`None` = the configured default), creating it if needed.
    pub(crate) fn slot(&self, scopes: Option<&[String]>) -> Arc<Slot> {
        let Some(scopes) = scopes else {
            return self.default_slot.clone();
        };
        let scopes = normalize_scopes(scopes);
        if scopes == self.default_slot.scopes {
            return self.default_slot.clone();
        }
        let key = scopes.join(" ");
        if let Some(slot) = self.others.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return slot.clone();
        }
        let mut others = self.others.write().unwrap_or_else(|p| p.into_inner());
        if others.len() >= self.config.max_cached_scope_sets && !others.contains_key(&key) {
            // Bounded: evict the least recently used scope set.
            if let Some(oldest) =
                others.iter().min_by_key(|(_, s)| s.last_used.load(Ordering::Relaxed)).map(|(k, _)| k.clone())
            {
                others.remove(&oldest);
            }
        }
        others.entry(key).or_insert_with(|| Arc::new(Slot::new(scopes))).clone()
    }

    /// The cache-hit path: a valid cached token, or `None`. Starts a background
    /// refresh when the token is in its refresh window. Never blocks or allocates
    /// (bar the one refresh task per window).
    #[inline]
    pub(crate) fn cached(self: &Arc<Self>, slot: &Arc<Slot>) -> Option<Arc<Token>> {
        let token = slot.current.load_full()?;
        let now = clock::coarse_nanos();
        if !token.is_valid_at(now) {
            return None;
        }
        Counters::bump(&self.counters.cache_hits);
        if token.needs_refresh_at(now) {
            self.maybe_refresh_in_background(slot, &token, now);
        }
        Some(token)
    }

    fn maybe_refresh_in_background(self: &Arc<Self>, slot: &Arc<Slot>, token: &Arc<Token>, now_n: u64) {
        if now_n < slot.background_not_before.load(Ordering::Relaxed)
            || now_n < slot.rate_limited_until.load(Ordering::Relaxed)
            || slot.background_running.swap(true, Ordering::AcqRel)
        {
            return;
        }
        // The refresh may have landed between our load and our swap: then the token in
        // its window is no longer the cached one, and nothing needs refreshing.
        if !slot.current.load().as_ref().is_some_and(|current| Arc::ptr_eq(current, token)) {
            slot.background_running.store(false, Ordering::Release);
            return;
        }
        Counters::bump(&self.counters.background_refreshes);
        tracing::debug!(scopes = %slot.key, "synapse-auth refreshing ahead of expiry");
        drop(self.join_or_start_flight(slot, true));
    }

    /// A valid token for `slot`, waiting for a token request only when none is cached.
    pub(crate) async fn get(self: &Arc<Self>, slot: &Arc<Slot>) -> Result<Arc<Token>> {
        if let Some(token) = self.cached(slot) {
            return Ok(token);
        }
        Counters::bump(&self.counters.cache_misses);
        let now = clock::coarse_nanos();
        slot.last_used.store(now, Ordering::Relaxed);
        let until = slot.rate_limited_until.load(Ordering::Relaxed);
        if now < until {
            return Err(Error::new(
                ErrorKind::RateLimited,
                format!("the token endpoint asked us to wait; {}", ErrorKind::RateLimited.resolution()),
            )
            .with_status(429)
            .with_retry_after(Some(clock::between(now, until))));
        }
        self.join_or_start_flight(slot, false).await
    }

    /// Forgets the cached token of `slot` (all slots when `None`).
    pub(crate) fn invalidate(&self, slot: Option<&Arc<Slot>>) {
        match slot {
            Some(slot) => slot.current.store(None),
            None => {
                self.default_slot.current.store(None);
                for slot in self.others.read().unwrap_or_else(|p| p.into_inner()).values() {
                    slot.current.store(None);
                }
            }
        }
    }

    /// Forgets `token` if it is still the cached one (after the API said it expired).
    pub(crate) fn invalidate_token(&self, slot: &Arc<Slot>, token: &Arc<Token>) {
        let current = slot.current.load();
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, token)) {
            slot.current.compare_and_swap(&current, None);
        }
    }

    fn join_or_start_flight(self: &Arc<Self>, slot: &Arc<Slot>, background: bool) -> FlightFuture<Arc<Token>> {
        // A background caller that joins a running flight is released by its landing too.
        let (future, _started) = slot.flight.join_or_start(|id| {
            let manager = self.clone();
            let slot = slot.clone();
            async move {
                let result = manager.fly(&slot, background).await;
                manager.land(&slot, id, background, &result);
                result
            }
        });
        future
    }

    fn land(&self, slot: &Slot, id: u64, background: bool, result: &Result<Arc<Token>>) {
        let now = clock::coarse_nanos();
        match result {
            Ok(_) => {
                slot.background_failures.store(0, Ordering::Relaxed);
                slot.background_not_before.store(0, Ordering::Relaxed);
            }
            Err(e) => {
                if let Some(wait) = e.retry_after().filter(|_| e.kind() == ErrorKind::RateLimited) {
                    slot.rate_limited_until.store(now + wait.as_nanos() as u64, Ordering::Relaxed);
                }
                // Serve stale: retry the background refresh later, with exponential backoff.
                let failures = slot.background_failures.fetch_add(1, Ordering::Relaxed) + 1;
                let base = self.config.retry.initial_backoff.max(Duration::from_millis(50));
                let wait = base.saturating_mul(1 << failures.min(16) as u32).min(self.config.retry.max_backoff);
                let jittered = wait.mul_f64(0.5 + 0.5 * rand::random::<f64>());
                slot.background_not_before.store(now + jittered.as_nanos() as u64, Ordering::Relaxed);
                if background {
                    tracing::warn!(code = e.code(), scopes = %slot.key, "synapse-auth background refresh failed; still serving the cached token");
                }
            }
        }
        // Any landed flight ends the refresh a background caller may be waiting on.
        slot.background_running.store(false, Ordering::Release);
        slot.flight.finish(id);
    }

    /// One flight: ask the store, then the refresh grant, then client credentials.
    async fn fly(&self, slot: &Slot, background: bool) -> Result<Arc<Token>> {
        let Some(store) = self.config.token_store.clone() else {
            return self.fetch_guarded(slot).await;
        };
        // A shared cache: one process refreshes under the store's lock while the
        // others wait for its result, so N processes at expiry make one request.
        let key = self.store_key(slot);
        let lock_ttl = self.config.request_timeout.saturating_add(Duration::from_secs(5));
        let started = Instant::now();
        loop {
            if let Some(token) = self.load_from_store(slot, background).await {
                return Ok(token);
            }
            match store.try_lock(&key, lock_ttl).await {
                Ok(Some(fence)) => {
                    // Someone may have saved a token between our load and our lock.
                    let result = match self.load_from_store(slot, background).await {
                        Some(token) => Ok(token),
                        None => self.fetch_guarded(slot).await,
                    };
                    if let Err(e) = store.unlock(&key, &fence).await {
                        tracing::debug!(
                            code = e.code(),
                            "synapse-auth token cache unlock failed; the lock will expire"
                        );
                    }
                    return result;
                }
                Ok(None) if started.elapsed() < lock_ttl.saturating_mul(2) => {
                    tokio::time::sleep(Duration::from_millis(20 + rand::random::<u64>() % 30)).await;
                }
                Ok(None) => {
                    tracing::warn!("synapse-auth token cache lock held too long; fetching a token ourselves");
                    return self.fetch_guarded_unlocked(slot).await;
                }
                Err(e) => {
                    tracing::debug!(
                        code = e.code(),
                        "synapse-auth token cache lock failed; fetching a token ourselves"
                    );
                    return self.fetch_guarded_unlocked(slot).await;
                }
            }
        }
    }

    /// A token request without the shared store's lock (the store is unreachable,
    /// or its lock is stuck): a refresh token other processes may hold is left
    /// alone, so the fleet never presents one refresh token twice.
    async fn fetch_guarded_unlocked(&self, slot: &Slot) -> Result<Arc<Token>> {
        self.fetch_guarded_with(slot, !slot.refresh_token_shared.load(Ordering::Acquire)).await
    }

    /// A token request behind the circuit breaker.
    async fn fetch_guarded(&self, slot: &Slot) -> Result<Arc<Token>> {
        self.fetch_guarded_with(slot, true).await
    }

    async fn fetch_guarded_with(&self, slot: &Slot, use_refresh_token: bool) -> Result<Arc<Token>> {
        self.breaker.acquire()?;
        let result = self.fetch(slot, use_refresh_token).await;
        self.breaker.record(&result);
        match &result {
            Ok(_) => {}
            Err(e) => {
                Counters::bump(&self.counters.failures);
                tracing::warn!(code = e.code(), status = e.status(), scopes = %slot.key, "synapse-auth token request failed");
            }
        }
        result
    }

    async fn fetch(&self, slot: &Slot, use_refresh_token: bool) -> Result<Arc<Token>> {
        if let Some(refresh_token) = slot.own_refresh_token().filter(|_| use_refresh_token) {
            match self.endpoint.request(&Grant::Refresh(&refresh_token), &slot.scopes).await {
                Ok((response, sent_at)) => return self.install(slot, &response, sent_at).await,
                Err(failure) if failure.error.kind() == ErrorKind::RateLimited => return Err(failure.error),
                Err(failure) => {
                    if failure.oauth_error.as_deref() == Some("invalid_grant") {
                        tracing::info!(scopes = %slot.key, "synapse-auth refresh token rejected; falling back to client credentials");
                        slot.set_refresh_token(None, unix_now());
                    } else {
                        tracing::info!(
                            code = failure.error.code(),
                            "synapse-auth refresh grant failed; trying client credentials"
                        );
                    }
                }
            }
        }
        let (response, sent_at) =
            self.endpoint.request(&Grant::ClientCredentials, &slot.scopes).await.map_err(|f| f.error)?;
        self.install(slot, &response, sent_at).await
    }

    /// Makes the token current: the rotated refresh token first, then the access token.
    async fn install(
        &self,
        slot: &Slot,
        response: &crate::token::TokenResponse,
        sent_at: Instant,
    ) -> Result<Arc<Token>> {
        let token =
            Arc::new(Token::from_response(response, sent_at, &self.config.refresh, self.config.max_token_lifetime));
        if let Some(rt) = &response.refresh_token {
            slot.set_refresh_token(Some(rt.clone()), unix_now());
            // Ours alone until the store has it.
            slot.refresh_token_shared.store(false, Ordering::Release);
        }
        slot.current.store(Some(token.clone()));
        self.save_to_store(slot, &token).await;
        tracing::debug!(scopes = %slot.key, expires_in_s = token.expires_in().as_secs(), "synapse-auth obtained a token");
        Ok(token)
    }

    async fn load_from_store(&self, slot: &Slot, background: bool) -> Option<Arc<Token>> {
        let store = self.config.token_store.as_ref()?;
        let key = self.store_key(slot);
        match store.load(&key).await {
            Ok(Some(stored)) => {
                // Adopt the stored refresh token even when its access token has expired.
                if let Some(rt) = &stored.refresh_token {
                    slot.set_refresh_token(Some(Secret::new(rt.clone())), stored.issued_at_unix);
                    slot.refresh_token_shared.store(true, Ordering::Release);
                }
                let token = Token::from_stored(&stored, &self.config.refresh)?;
                // A background refresh wants a token newer than the one in its window.
                if background && token.needs_refresh() {
                    return None;
                }
                let token = Arc::new(token);
                slot.current.store(Some(token.clone()));
                Some(token)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::debug!(code = e.code(), "synapse-auth token store load failed; fetching a token");
                None
            }
        }
    }

    async fn save_to_store(&self, slot: &Slot, token: &Token) {
        let Some(store) = self.config.token_store.as_ref() else {
            return;
        };
        let stored = token.to_stored(slot.refresh_token().as_ref());
        match store.save(&self.store_key(slot), &stored).await {
            Ok(()) if stored.refresh_token.is_some() => slot.refresh_token_shared.store(true, Ordering::Release),
            Ok(()) => {}
            Err(e) => tracing::debug!(code = e.code(), "synapse-auth token store save failed"),
        }
    }

    /// The store key: client id, token endpoint and scopes.
    pub(crate) fn store_key(&self, slot: &Slot) -> String {
        format!("{}|{}|{}", self.config.client_id.as_deref().unwrap_or(""), self.config.token_url, slot.key)
    }
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}
