//! Backoff with full jitter, `Retry-After` parsing, and which failures to retry.

use crate::config::RetryPolicy;
use crate::error::{Error, ErrorKind};
use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::{Duration, Instant, SystemTime};

/// Parses `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(86_400)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO).min(Duration::from_secs(86_400)))
}

/// True for failures worth another attempt: 429, 5xx and transport errors.
pub fn is_retryable(error: &Error) -> bool {
    match error.kind() {
        ErrorKind::RateLimited | ErrorKind::Transport => true,
        ErrorKind::Api | ErrorKind::Protocol => error.status().is_some_and(|s| s >= 500),
        _ => false,
    }
}

/// One retry loop's bookkeeping: attempts made, deadline, next delay.
pub(crate) struct Backoff<'a> {
    policy: &'a RetryPolicy,
    started: Instant,
    attempt: u32,
}

impl<'a> Backoff<'a> {
    pub(crate) fn new(policy: &'a RetryPolicy) -> Self {
        Backoff { policy, started: Instant::now(), attempt: 0 }
    }

    /// The wait before the next attempt after `error`, or `None` to give up.
    ///
    /// Full jitter: a uniform draw in `[0, min(max, initial × 2^attempt)]`, but
    /// never shorter than the server's `Retry-After`.
    pub(crate) fn next_delay(&mut self, error: &Error) -> Option<Duration> {
        self.attempt += 1;
        if !is_retryable(error) || self.attempt >= self.policy.max_attempts {
            return None;
        }
        let cap = self.policy.initial_backoff.saturating_mul(1u32 << self.attempt.min(20)).min(self.policy.max_backoff);
        let jittered = Duration::from_secs_f64(rand::rng().random_range(0.0..=cap.as_secs_f64()));
        let delay = error.retry_after().map_or(jittered, |ra| ra.max(jittered));
        if self.started.elapsed() + delay > self.policy.total_deadline {
            return None;
        }
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(3)));
        let future = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&future).unwrap());
        let d = parse_retry_after(&h).unwrap();
        assert!(d > Duration::from_secs(100) && d <= Duration::from_secs(120), "{d:?}");
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h), None);
    }

    #[test]
    fn backoff_honours_attempts_and_retry_after() {
        let policy = RetryPolicy { max_attempts: 3, ..RetryPolicy::default() };
        let mut b = Backoff::new(&policy);
        let limited = Error::new(ErrorKind::RateLimited, "x").with_retry_after(Some(Duration::from_secs(2)));
        assert!(b.next_delay(&limited).unwrap() >= Duration::from_secs(2));
        assert!(b.next_delay(&limited).is_some());
        assert!(b.next_delay(&limited).is_none(), "third failure ends a 3-attempt policy");
        let mut b = Backoff::new(&policy);
        assert!(b.next_delay(&Error::new(ErrorKind::InvalidCredentials, "x")).is_none());
        assert!(b.next_delay(&Error::new(ErrorKind::Api, "x").with_status(404)).is_none());
    }
}
