//! A cheap monotonic clock for the cache-hit path.
//!
//! `Instant::now()` costs 20-40 ns on some virtual machines; the coarse
//! monotonic clock (Linux `CLOCK_MONOTONIC_COARSE`, read from the vDSO) costs a
//! few and is exact to a scheduler tick (a few ms), which is plenty for token
//! lifetimes measured in seconds and shortened by a skew margin anyway. Both
//! clocks count from the same origin, so instants convert exactly.

use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
const COARSE: libc::clockid_t = libc::CLOCK_MONOTONIC_COARSE;
#[cfg(not(target_os = "linux"))]
const COARSE: libc::clockid_t = libc::CLOCK_MONOTONIC;

fn read(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own; monotonic clocks cannot fail.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Nanoseconds on the monotonic clock, at the last scheduler tick.
#[inline]
pub(crate) fn coarse_nanos() -> u64 {
    read(COARSE)
}

/// `at` on the same nanosecond scale as [`coarse_nanos`].
pub(crate) fn nanos_of(at: Instant) -> u64 {
    let (now_instant, now_nanos) = (Instant::now(), read(libc::CLOCK_MONOTONIC));
    if at >= now_instant {
        now_nanos + (at - now_instant).as_nanos() as u64
    } else {
        now_nanos.saturating_sub((now_instant - at).as_nanos() as u64)
    }
}

/// The duration from `from` to `to` (zero if `to` is earlier), both in clock nanoseconds.
pub(crate) fn between(from: u64, to: u64) -> Duration {
    Duration::from_nanos(to.saturating_sub(from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_and_precise_agree_within_a_tick() {
        let precise = nanos_of(Instant::now());
        let coarse = coarse_nanos();
        let gap = precise.abs_diff(coarse);
        assert!(gap < 50_000_000, "clocks {gap} ns apart");
        let later = nanos_of(Instant::now() + Duration::from_secs(5));
        assert!(later >= precise + 4_900_000_000);
    }
}
