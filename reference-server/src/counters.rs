//! Exact request counters (`GET /admin/counters`, [`crate::RunningServer::counters`]).
//!
//! Every request to `/oauth2/token` counts once in `token_requests.total`,
//! whatever its outcome (errors, 413, rate-limited, injected faults). Every
//! request to a `/v1/` endpoint counts once in `api_calls.total`. Every request
//! to the JWKS endpoint counts in `jwks_requests`. Counting happens under one
//! mutex, before the response is sent, so a client that has its response sees
//! its request counted.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// A snapshot of all counters; the JSON of `GET /admin/counters`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Requests to `POST /oauth2/token`.
    pub token_requests: TokenCounters,
    /// Requests to `/v1/` endpoints.
    pub api_calls: ApiCounters,
    /// Requests to `/.well-known/jwks.json` (including 304s and faulted ones).
    pub jwks_requests: u64,
}

/// Token-endpoint counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCounters {
    /// Every request, whatever its outcome.
    pub total: u64,
    /// By `grant_type` as sent: `client_credentials`, `refresh_token` (always
    /// present), and `other` for anything else or none.
    pub by_grant: BTreeMap<String, u64>,
    /// By client id as presented (Basic or body), authenticated or not;
    /// requests naming no client are not listed here.
    pub by_client: BTreeMap<String, u64>,
    /// By response status (`"200"`, `"401"`, ...; `"reset"` for aborted connections).
    pub by_status: BTreeMap<String, u64>,
}

/// API counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiCounters {
    /// Every request to a `/v1/` endpoint.
    pub total: u64,
    /// By response status (`"200"`, `"403"`, ...; `"reset"` for aborted connections).
    pub by_status: BTreeMap<String, u64>,
}

impl Default for TokenCounters {
    fn default() -> Self {
        let by_grant =
            [("client_credentials", 0), ("refresh_token", 0)].into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        TokenCounters { total: 0, by_grant, by_client: BTreeMap::new(), by_status: BTreeMap::new() }
    }
}

/// The live counters.
#[derive(Default)]
pub(crate) struct CounterStore {
    inner: Mutex<Counters>,
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_owned()).or_insert(0) += 1;
}

impl CounterStore {
    /// One request to the token endpoint.
    pub(crate) fn token_request(&self, grant_type: Option<&str>, client_id: Option<&str>) {
        let mut c = self.inner.lock().expect("counter lock");
        let t = &mut c.token_requests;
        t.total += 1;
        let grant = match grant_type {
            Some("client_credentials") => "client_credentials",
            Some("refresh_token") => "refresh_token",
            _ => "other",
        };
        bump(&mut t.by_grant, grant);
        if let Some(id) = client_id {
            bump(&mut t.by_client, id);
        }
    }

    /// The outcome of a token-endpoint request.
    pub(crate) fn token_outcome(&self, status: &str) {
        bump(&mut self.inner.lock().expect("counter lock").token_requests.by_status, status);
    }

    /// One request to a `/v1/` endpoint.
    pub(crate) fn api_request(&self) {
        self.inner.lock().expect("counter lock").api_calls.total += 1;
    }

    /// The outcome of an API request.
    pub(crate) fn api_outcome(&self, status: &str) {
        bump(&mut self.inner.lock().expect("counter lock").api_calls.by_status, status);
    }

    /// One request to the JWKS endpoint.
    pub(crate) fn jwks_request(&self) {
        self.inner.lock().expect("counter lock").jwks_requests += 1;
    }

    /// A copy of the counters.
    pub(crate) fn snapshot(&self) -> Counters {
        self.inner.lock().expect("counter lock").clone()
    }

    /// Back to zero.
    pub(crate) fn reset(&self) {
        *self.inner.lock().expect("counter lock") = Counters::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_resets() {
        let c = CounterStore::default();
        c.token_request(Some("client_credentials"), Some("a"));
        c.token_request(Some("bogus"), None);
        c.token_outcome("200");
        c.api_request();
        c.api_outcome("403");
        c.jwks_request();
        let s = c.snapshot();
        assert_eq!(s.token_requests.total, 2);
        assert_eq!(s.token_requests.by_grant["client_credentials"], 1);
        assert_eq!(s.token_requests.by_grant["refresh_token"], 0);
        assert_eq!(s.token_requests.by_grant["other"], 1);
        assert_eq!(s.token_requests.by_client["a"], 1);
        assert_eq!(s.api_calls.by_status["403"], 1);
        assert_eq!(s.jwks_requests, 1);
        c.reset();
        assert_eq!(c.snapshot(), Counters::default());
        let json = serde_json::to_value(c.snapshot()).unwrap();
        assert_eq!(json["token_requests"]["by_grant"]["refresh_token"], 0);
    }
}
