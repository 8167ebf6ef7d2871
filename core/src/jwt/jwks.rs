//! The JWKS cache: fetched once and shared, refreshed on an unknown `kid`
//! (single-flight, with a cooldown so forged kids cannot hammer the provider),
//! honouring `Cache-Control: max-age`, revalidating with `ETag`, and serving the
//! last good key set when a refetch fails.

use super::keys::{RawJwk, VerifyKey};
use crate::error::{Error, ErrorKind, Result};
use crate::flight::SingleFlight;
use crate::http::{self, Transport};
use crate::stats::Counters;
use arc_swap::ArcSwapOption;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// Used when the JWKS response has no usable `max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// The longest we trust a key set without revalidating.
const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// One fetched key set.
pub(crate) struct KeySet {
    pub keys: HashMap<String, Arc<VerifyKey>>,
    fetched_at: Instant,
    max_age: Duration,
    etag: Option<String>,
}

impl KeySet {
    fn is_fresh(&self) -> bool {
        self.fetched_at.elapsed() < self.max_age
    }
}

/// Shared, self-refreshing JWKS (or a fixed key set, when `remote` is `None`).
pub(crate) struct JwksCache {
    remote: Option<(Url, Arc<Transport>)>,
    counters: Arc<Counters>,
    cooldown: Duration,
    current: ArcSwapOption<KeySet>,
    flight: SingleFlight<Arc<KeySet>>,
    last_unknown_kid_fetch: Mutex<Option<Instant>>,
}

impl JwksCache {
    pub(crate) fn new(url: Url, transport: Arc<Transport>, counters: Arc<Counters>, cooldown: Duration) -> Self {
        JwksCache {
            remote: Some((url, transport)),
            counters,
            cooldown,
            current: ArcSwapOption::empty(),
            flight: SingleFlight::new(),
            last_unknown_kid_fetch: Mutex::new(None),
        }
    }

    /// A cache over a fixed key set that is never refetched (offline verification).
    pub(crate) fn fixed(jwks: &[u8]) -> Result<Self> {
        let keys = parse_jwks(jwks)?;
        let set = KeySet { keys, fetched_at: Instant::now(), max_age: Duration::MAX, etag: None };
        Ok(JwksCache {
            remote: None,
            counters: Arc::new(Counters::default()),
            cooldown: Duration::MAX,
            current: ArcSwapOption::new(Some(Arc::new(set))),
            flight: SingleFlight::new(),
            last_unknown_kid_fetch: Mutex::new(None),
        })
    }

    /// The key `kid`, fetching or refreshing the set as the rules above allow.
    pub(crate) async fn key(self: &Arc<Self>, kid: &str) -> Result<Arc<VerifyKey>> {
        if self.remote.is_none() {
            let set = self.current.load_full().expect("a fixed key set is always present");
            return set.keys.get(kid).cloned().ok_or_else(|| unknown_kid(kid));
        }
        let set = match self.current.load_full() {
            Some(set) if set.is_fresh() => set,
            Some(stale) => match self.refetch().await {
                Ok(set) => set,
                Err(e) => {
                    tracing::warn!(code = e.code(), "synapse-auth JWKS refetch failed; using the last good key set");
                    stale
                }
            },
            None => self.refetch().await?,
        };
        if let Some(key) = set.keys.get(kid) {
            return Ok(key.clone());
        }
        // Unknown kid: maybe the provider rotated. Refetch at most once per cooldown.
        let allowed = {
            let mut last = self.last_unknown_kid_fetch.lock().unwrap_or_else(|p| p.into_inner());
            let cooling = last.is_some_and(|at| at.elapsed() < self.cooldown);
            if !cooling {
                *last = Some(Instant::now());
            }
            !cooling
        };
        if allowed {
            let set = match self.refetch().await {
                Ok(set) => set,
                Err(_) => set,
            };
            if let Some(key) = set.keys.get(kid) {
                return Ok(key.clone());
            }
        }
        Err(unknown_kid(kid))
    }

    /// Fetches the key set (single-flight), revalidating with the last ETag.
    async fn refetch(self: &Arc<Self>) -> Result<Arc<KeySet>> {
        let (fetch, _) = self.flight.join_or_start(|id| {
            let this = self.clone();
            async move {
                let result = this.fetch_once().await;
                if let Ok(set) = &result {
                    this.current.store(Some(set.clone()));
                }
                this.flight.finish(id);
                result
            }
        });
        fetch.await
    }

    async fn fetch_once(&self) -> Result<Arc<KeySet>> {
        let (url, transport) = self.remote.as_ref().expect("only remote key sets are fetched");
        let previous = self.current.load_full();
        let client = transport.client()?;
        let mut request = client.get(url.clone()).header(reqwest::header::ACCEPT, "application/json");
        if let Some(etag) = previous.as_ref().and_then(|p| p.etag.as_deref()) {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        Counters::bump(&self.counters.jwks_fetches);
        let response = http::send(request, transport.max_body(), "JWKS request").await?;
        let max_age = parse_max_age(&response.headers).unwrap_or(DEFAULT_MAX_AGE).min(MAX_MAX_AGE);
        if response.status == 304
            && let Some(prev) = previous
        {
            return Ok(Arc::new(KeySet {
                keys: prev.keys.clone(),
                fetched_at: Instant::now(),
                max_age,
                etag: prev.etag.clone(),
            }));
        }
        if response.status != 200 {
            return Err(Error::new(ErrorKind::Api, format!("the JWKS endpoint answered HTTP {}", response.status))
                .with_status(response.status));
        }
        let keys = parse_jwks(&response.body)?;
        let etag = response.headers.get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_string);
        tracing::debug!(keys = keys.len(), "synapse-auth fetched the JWKS");
        Ok(Arc::new(KeySet { keys, fetched_at: Instant::now(), max_age, etag }))
    }
}

/// Parses a JWKS document; unusable keys are skipped, not fatal.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<VerifyKey>>> {
    #[derive(Deserialize)]
    struct Doc {
        keys: Vec<serde_json::Value>,
    }
    let doc: Doc = serde_json::from_slice(body)
        .map_err(|_| Error::new(ErrorKind::Protocol, "the JWKS is not a JSON object with a keys array"))?;
    let mut keys = HashMap::new();
    for value in doc.keys {
        let parsed = serde_json::from_value::<RawJwk>(value)
            .map_err(|e| e.to_string())
            .and_then(|jwk| VerifyKey::from_jwk(&jwk));
        match parsed {
            Ok(key) => {
                keys.insert(key.kid.clone(), Arc::new(key));
            }
            Err(why) => tracing::debug!(why, "synapse-auth skipped a JWKS key"),
        }
    }
    Ok(keys)
}

fn parse_max_age(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    let mut max_age = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if let Some(v) = directive.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<u64>().ok().map(Duration::from_secs);
        }
    }
    max_age
}

fn unknown_kid(kid: &str) -> Error {
    Error::new(ErrorKind::InvalidToken, format!("no key with kid {:?} in the JWKS", crate::token::truncate(kid, 64)))
}
