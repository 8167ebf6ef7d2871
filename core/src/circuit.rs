//! The circuit breaker for authentication failures (the guide's best practice 4).
//!
//! Closed: calls pass; N consecutive authentication failures open it. Open: calls
//! fail fast with `circuit_open` until the cool-down ends. Half-open: one probe
//! passes; its success closes the circuit, its failure opens it again.

use crate::config::CircuitBreakerConfig;
use crate::error::{Error, ErrorKind, Result};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The breaker's state, as reported by [`Stats`](crate::Stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls pass.
    Closed,
    /// Calls fail fast.
    Open,
    /// One probe is allowed through.
    HalfOpen,
}

impl CircuitState {
    /// `"closed"`, `"open"` or `"half_open"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug)]
struct Inner {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    probe_in_flight: bool,
    times_opened: u64,
}

/// A thread-safe breaker; its lock is held only for a few field updates.
#[derive(Debug)]
pub(crate) struct CircuitBreaker {
    config: CircuitBreakerConfig,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    pub(crate) fn new(config: CircuitBreakerConfig) -> Self {
        CircuitBreaker {
            config,
            inner: Mutex::new(Inner {
                consecutive_failures: 0,
                open_until: None,
                probe_in_flight: false,
                times_opened: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks to make an authentication attempt; fails fast while open.
    pub(crate) fn acquire(&self) -> Result<()> {
        if self.config.failure_threshold == 0 {
            return Ok(());
        }
        let mut s = self.lock();
        match s.open_until {
            None => Ok(()),
            Some(until) if Instant::now() < until => Err(self.open_error(until - Instant::now())),
            Some(_) if s.probe_in_flight => Err(self.open_error(Duration::ZERO)),
            Some(_) => {
                s.probe_in_flight = true;
                Ok(())
            }
        }
    }

    fn open_error(&self, remaining: Duration) -> Error {
        Error::new(
            ErrorKind::CircuitOpen,
            format!(
                "authentication failed {} times in a row; not trying again for {:.1}s. {}",
                self.config.failure_threshold,
                remaining.as_secs_f64(),
                ErrorKind::CircuitOpen.resolution()
            ),
        )
        .with_retry_after(Some(remaining))
    }

    /// Records the outcome of an attempt that `acquire` allowed.
    pub(crate) fn record(&self, outcome: &Result<impl Sized>) {
        if self.config.failure_threshold == 0 {
            return;
        }
        let mut s = self.lock();
        let was_probe = std::mem::take(&mut s.probe_in_flight);
        match outcome {
            Ok(_) => {
                s.consecutive_failures = 0;
                s.open_until = None;
            }
            Err(e) if e.kind() == ErrorKind::InvalidCredentials => {
                s.consecutive_failures += 1;
                if was_probe || s.consecutive_failures >= self.config.failure_threshold {
                    s.open_until = Some(Instant::now() + self.config.cooldown);
                    s.times_opened += 1;
                    tracing::warn!(failures = s.consecutive_failures, "synapse-auth circuit opened");
                }
            }
            // Other failures say nothing about the credentials; a probe that hit one
            // leaves the circuit half-open for the next caller.
            Err(_) => {}
        }
    }

    /// The current state.
    pub(crate) fn state(&self) -> CircuitState {
        let s = self.lock();
        match s.open_until {
            None => CircuitState::Closed,
            Some(until) if Instant::now() < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }

    /// (consecutive failures, times opened).
    pub(crate) fn counters(&self) -> (u32, u64) {
        let s = self.lock();
        (s.consecutive_failures, s.times_opened)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail() -> Result<()> {
        Err(Error::new(ErrorKind::InvalidCredentials, "no"))
    }

    #[test]
    fn opens_after_threshold_then_half_opens_one_probe() {
        let b = CircuitBreaker::new(CircuitBreakerConfig { failure_threshold: 2, cooldown: Duration::from_millis(50) });
        for _ in 0..2 {
            b.acquire().unwrap();
            b.record(&fail());
        }
        assert_eq!(b.state(), CircuitState::Open);
        assert_eq!(b.acquire().unwrap_err().kind(), ErrorKind::CircuitOpen);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.state(), CircuitState::HalfOpen);
        b.acquire().unwrap();
        assert_eq!(b.acquire().unwrap_err().kind(), ErrorKind::CircuitOpen, "only one probe");
        b.record(&fail());
        assert_eq!(b.state(), CircuitState::Open, "a failed probe reopens");
        std::thread::sleep(Duration::from_millis(60));
        b.acquire().unwrap();
        b.record(&Ok::<(), Error>(()));
        assert_eq!(b.state(), CircuitState::Closed);
        assert_eq!(b.counters(), (0, 2));
    }
}
