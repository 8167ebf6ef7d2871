//! Fault injection (`POST /admin/faults`, [`crate::Control::inject_faults`]).
//!
//! Each injected [`FaultSpec`] is a rule for one target (`token`, `api`,
//! `jwks`, or `all`). For every request to a matching endpoint:
//!
//! 1. one countdown fault is taken, in rule order and, within a rule, in the
//!    order `reset`, `fail`, `rate_limit`, `malformed`, `truncated`,
//!    `oversize`; its counter drops by one (so `{"fail_next":2,"malformed_next":1}`
//!    fails two requests, then sends one malformed body);
//! 2. the request waits the largest sticky `latency_ms` of the matching rules;
//! 3. a faulted request is answered by the fault and **not executed**: no token
//!    is minted, no refresh token is consumed. It still counts in the counters.
//!
//! A rule whose counters reached zero and that has no latency is dropped.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::responses::{self, Surface};

/// Which endpoints a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultTarget {
    /// `POST /oauth2/token`.
    Token,
    /// The `/v1/` endpoints.
    Api,
    /// `GET /.well-known/jwks.json`.
    Jwks,
    /// All three.
    #[default]
    All,
}

/// One fault rule: the JSON body of `POST /admin/faults`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSpec {
    /// Endpoints affected (default `all`).
    pub target: FaultTarget,
    /// Delay added to every matching request until faults are cleared.
    pub latency_ms: u64,
    /// Answer the next N matching requests with `fail_status`.
    pub fail_next: u32,
    /// Status for `fail_next` (400..=599, default 503).
    pub fail_status: u16,
    /// Abort the connection (TCP RST, no response) on the next N requests.
    pub reset_next: u32,
    /// Answer the next N requests with 200 and a body that is not JSON.
    pub malformed_next: u32,
    /// Answer the next N requests with 200 and a JSON body cut in half.
    pub truncated_next: u32,
    /// Answer the next N requests with 200 and a valid JSON body of about 8 MiB.
    pub oversize_next: u32,
    /// Answer the next N requests with 429 `rate_limited` and `Retry-After`.
    pub rate_limit_next: u32,
    /// `Retry-After` seconds for `rate_limit_next` (default 1).
    pub retry_after: u64,
}

impl Default for FaultSpec {
    fn default() -> Self {
        FaultSpec {
            target: FaultTarget::All,
            latency_ms: 0,
            fail_next: 0,
            fail_status: 503,
            reset_next: 0,
            malformed_next: 0,
            truncated_next: 0,
            oversize_next: 0,
            rate_limit_next: 0,
            retry_after: 1,
        }
    }
}

impl FaultSpec {
    /// A rule for `target` with nothing active yet (set fields afterwards).
    pub fn on(target: FaultTarget) -> Self {
        FaultSpec { target, ..FaultSpec::default() }
    }

    fn is_spent(&self) -> bool {
        self.latency_ms == 0
            && self.fail_next == 0
            && self.reset_next == 0
            && self.malformed_next == 0
            && self.truncated_next == 0
            && self.oversize_next == 0
            && self.rate_limit_next == 0
    }

    fn matches(&self, target: FaultTarget) -> bool {
        self.target == FaultTarget::All || self.target == target
    }

    /// Takes one countdown fault from this rule, if any is left.
    fn take(&mut self) -> Option<FaultAction> {
        fn dec(n: &mut u32) -> bool {
            if *n > 0 {
                *n -= 1;
                true
            } else {
                false
            }
        }
        if dec(&mut self.reset_next) {
            Some(FaultAction::Reset)
        } else if dec(&mut self.fail_next) {
            Some(FaultAction::Fail(self.fail_status))
        } else if dec(&mut self.rate_limit_next) {
            Some(FaultAction::RateLimit(self.retry_after))
        } else if dec(&mut self.malformed_next) {
            Some(FaultAction::Malformed)
        } else if dec(&mut self.truncated_next) {
            Some(FaultAction::Truncated)
        } else if dec(&mut self.oversize_next) {
            Some(FaultAction::Oversize)
        } else {
            None
        }
    }
}

/// The fault to play on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultAction {
    Reset,
    Fail(u16),
    RateLimit(u64),
    Malformed,
    Truncated,
    Oversize,
}

/// What the faults decided for one request.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    pub(crate) latency: Duration,
    pub(crate) action: Option<FaultAction>,
}

/// What a faulted request gets.
pub(crate) enum FaultOutcome {
    /// Send this response.
    Respond(Response),
    /// Abort the connection without a response.
    Reset,
}

/// The active fault rules.
#[derive(Default)]
pub(crate) struct FaultStore {
    rules: Mutex<Vec<FaultSpec>>,
}

impl FaultStore {
    /// Adds a rule after checking `fail_status`.
    pub(crate) fn add(&self, spec: FaultSpec) -> Result<(), String> {
        if !(400..=599).contains(&spec.fail_status) {
            return Err(format!("fail_status must be within 400..=599, got {}", spec.fail_status));
        }
        if !spec.is_spent() {
            self.rules.lock().expect("fault lock").push(spec);
        }
        Ok(())
    }

    /// Removes every rule.
    pub(crate) fn clear(&self) {
        self.rules.lock().expect("fault lock").clear();
    }

    /// The rules still active, with their remaining counts.
    pub(crate) fn active(&self) -> Vec<FaultSpec> {
        self.rules.lock().expect("fault lock").clone()
    }

    /// Decides the fault (if any) for one request to `target` (never `All`).
    pub(crate) fn plan(&self, target: FaultTarget) -> FaultPlan {
        let mut rules = self.rules.lock().expect("fault lock");
        let mut plan = FaultPlan::default();
        for rule in rules.iter_mut().filter(|r| r.matches(target)) {
            plan.latency = plan.latency.max(Duration::from_millis(rule.latency_ms));
            if plan.action.is_none() {
                plan.action = rule.take();
            }
        }
        rules.retain(|r| !r.is_spent());
        plan
    }
}

/// The ~8 MiB valid JSON document of the `oversize` fault.
fn oversize_body() -> Bytes {
    static BODY: OnceLock<Bytes> = OnceLock::new();
    BODY.get_or_init(|| {
        let mut body = String::with_capacity(8 * 1024 * 1024 + 128);
        body.push_str("{\"note\":\"oversize fault injected by the reference server\",\"padding\":\"");
        body.extend(std::iter::repeat_n('A', 8 * 1024 * 1024));
        body.push_str("\"}");
        Bytes::from(body)
    })
    .clone()
}

/// Renders `action`. `sample` is a representative JSON body of the endpoint,
/// used (cut in half) by the `truncated` fault.
pub(crate) fn render(action: FaultAction, surface: Surface, sample: impl FnOnce() -> Bytes) -> FaultOutcome {
    let resp = match action {
        FaultAction::Reset => return FaultOutcome::Reset,
        FaultAction::Fail(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            responses::error(surface, status, "injected_fault", "fault injected by the reference server")
        }
        FaultAction::RateLimit(secs) => responses::rate_limited(surface, secs),
        FaultAction::Malformed => responses::json_bytes(
            StatusCode::OK,
            Bytes::from_static(b"{\"access_token\": <<malformed fault: this is not JSON>>"),
        ),
        FaultAction::Truncated => {
            let full = sample();
            responses::json_bytes(StatusCode::OK, full.slice(..full.len() / 2))
        }
        FaultAction::Oversize => responses::json_bytes(StatusCode::OK, oversize_body()),
    };
    let resp = match surface {
        Surface::OAuth => responses::no_store(resp),
        Surface::Api => resp,
    };
    FaultOutcome::Respond(responses::with_header(
        resp,
        header::HeaderName::from_static("x-injected-fault"),
        match action {
            FaultAction::Reset => "reset",
            FaultAction::Fail(_) => "fail",
            FaultAction::RateLimit(_) => "rate_limit",
            FaultAction::Malformed => "malformed",
            FaultAction::Truncated => "truncated",
            FaultAction::Oversize => "oversize",
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdown_order_and_targets() {
        let store = FaultStore::default();
        store.add(FaultSpec { fail_next: 2, malformed_next: 1, ..FaultSpec::on(FaultTarget::Token) }).unwrap();
        assert_eq!(store.plan(FaultTarget::Api).action, None);
        assert_eq!(store.plan(FaultTarget::Token).action, Some(FaultAction::Fail(503)));
        assert_eq!(store.plan(FaultTarget::Token).action, Some(FaultAction::Fail(503)));
        assert_eq!(store.plan(FaultTarget::Token).action, Some(FaultAction::Malformed));
        assert_eq!(store.plan(FaultTarget::Token).action, None);
        assert!(store.active().is_empty());
    }

    #[test]
    fn latency_is_sticky_and_all_matches_everything() {
        let store = FaultStore::default();
        store.add(FaultSpec { latency_ms: 30, reset_next: 1, ..FaultSpec::default() }).unwrap();
        let p = store.plan(FaultTarget::Jwks);
        assert_eq!(p.action, Some(FaultAction::Reset));
        assert_eq!(p.latency, Duration::from_millis(30));
        let p = store.plan(FaultTarget::Api);
        assert_eq!(p.action, None);
        assert_eq!(p.latency, Duration::from_millis(30));
        store.clear();
        assert_eq!(store.plan(FaultTarget::Api).latency, Duration::ZERO);
    }

    #[test]
    fn rejects_bad_status_and_unknown_fields() {
        let store = FaultStore::default();
        assert!(store.add(FaultSpec { fail_next: 1, fail_status: 200, ..FaultSpec::default() }).is_err());
        assert!(serde_json::from_str::<FaultSpec>(r#"{"fail_nxt": 1}"#).is_err());
        let spec: FaultSpec = serde_json::from_str(r#"{"target":"jwks","fail_next":1}"#).unwrap();
        assert_eq!(spec.target, FaultTarget::Jwks);
        assert_eq!(spec.fail_status, 503);
        assert_eq!(spec.retry_after, 1);
    }
}
