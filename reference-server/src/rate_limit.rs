//! Fixed-window rate limiting per key (a client id or an API key).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most `limit` requests per key in each window that starts with the key's
/// first request after the previous window ended.
pub(crate) struct RateLimiter {
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// A limiter allowing `limit` requests per `window`.
    pub(crate) fn new(limit: u32, window: Duration) -> Self {
        RateLimiter { limit, window, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts one request for `key`. `Err(retry_after_secs)` (at least 1)
    /// when the key is over its limit in the current window.
    pub(crate) fn check(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("rate-limit lock");
        let slot = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(slot.0) >= self.window {
            *slot = (now, 0);
        }
        if slot.1 >= self.limit {
            let left = self.window.saturating_sub(now.duration_since(slot.0));
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            return Err(secs.max(1));
        }
        slot.1 += 1;
        Ok(())
    }

    /// Forgets every window.
    pub(crate) fn reset(&self) {
        self.windows.lock().expect("rate-limit lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_resets() {
        let rl = RateLimiter::new(2, Duration::from_secs(30));
        assert!(rl.check("a").is_ok());
        assert!(rl.check("a").is_ok());
        let retry = rl.check("a").unwrap_err();
        assert!((1..=30).contains(&retry));
        assert!(rl.check("b").is_ok());
        rl.reset();
        assert!(rl.check("a").is_ok());
    }

    #[test]
    fn window_expires() {
        let rl = RateLimiter::new(1, Duration::from_millis(20));
        assert!(rl.check("a").is_ok());
        assert_eq!(rl.check("a"), Err(1));
        std::thread::sleep(Duration::from_millis(25));
        assert!(rl.check("a").is_ok());
    }
}
