//! Stampedes (1,000 concurrent `get_token()` callers with the token endpoint slowed
//! to 50 ms, at cold start and right after the cached token expired) and the
//! latency of `get_token()` across a background refresh.

use crate::admin::Admin;
use crate::hist::Hist;
use crate::util::{Opts, emit, quantile, result};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime};
use synapse_auth_core::runtime;

const CALLERS: usize = 1000;
const LATENCY_MS: u64 = 50;

pub fn run(opts: &Opts) -> Result<(), String> {
    let server = opts.server()?;
    let admin = Admin::new(&server)?;
    let callers = opts.num("callers", CALLERS as f64) as usize;
    for phase in ["cold", "expiry"] {
        let client = server.client()?;
        runtime::block_on({
            let admin = Admin::new(&server)?;
            async move {
                admin.reset().await?;
                if phase == "expiry" {
                    admin.token_ttl(3).await?;
                    let token = client.get_token().await.map_err(|e| e.to_string())?;
                    // Nobody asks while it ages, so no background refresh starts.
                    let left = token.expires_at().duration_since(SystemTime::now()).unwrap_or_default();
                    tokio::time::sleep(left + Duration::from_millis(20)).await;
                    if client.cached_token().is_some() {
                        return Err("the token is still cached after its expiry".to_string());
                    }
                }
                admin.token_latency(LATENCY_MS).await?;
                let before = admin.token_requests().await?;
                let tasks: Vec<_> = (0..callers)
                    .map(|_| {
                        let client = client.clone();
                        runtime::handle().spawn(async move {
                            let t0 = Instant::now();
                            let ok = client.get_token().await.is_ok();
                            (t0.elapsed().as_secs_f64() * 1e3, ok)
                        })
                    })
                    .collect();
                let mut lat = Vec::with_capacity(callers);
                let mut failed = 0;
                for t in tasks {
                    let (ms, ok) = t.await.map_err(|e| e.to_string())?;
                    lat.push(ms);
                    failed += usize::from(!ok);
                }
                let requests = admin.token_requests().await? - before;
                admin.token_latency(0).await?;
                admin.token_ttl(3600).await?;
                lat.sort_by(f64::total_cmp);
                emit(result(
                    &format!("rust_stampede_{phase}"),
                    json!({"callers": callers, "token_requests": requests, "failed": failed,
                           "p50_ms": quantile(&lat, 0.5), "p99_ms": quantile(&lat, 0.99), "max_ms": lat[lat.len() - 1]}),
                ));
                Ok::<(), String>(())
            }
        })?;
    }
    drop(admin);
    Ok(())
}

/// `get_token()` latency from 2 threads calling it back to back, first on a fresh
/// token (steady state), then across the moment the token enters its refresh
/// window and a background refresh (token endpoint slowed to 50 ms) replaces it.
pub fn refresh_window(opts: &Opts) -> Result<(), String> {
    let server = opts.server()?;
    let admin = Admin::new(&server)?;
    let threads = opts.num("threads", 2.0) as usize;
    let ttl = 4u64;
    runtime::block_on({
        let admin = Admin::new(&server)?;
        async move {
            admin.reset().await?;
            admin.token_ttl(ttl).await?;
            admin.token_latency(LATENCY_MS).await
        }
    })?;
    let blocking = server.client()?.blocking();
    let first = blocking.get_token().map_err(|e| e.to_string())?;
    let issued = Instant::now();
    let expires_in = first.expires_at().duration_since(SystemTime::now()).unwrap_or_default();

    let measure = |until: Instant| -> Hist {
        let stop = Arc::new(AtomicBool::new(false));
        let barrier = Arc::new(Barrier::new(threads + 1));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (blocking, stop, barrier) = (blocking.clone(), stop.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let mut h = Hist::new();
                    barrier.wait();
                    while !stop.load(Ordering::Relaxed) {
                        let t0 = Instant::now();
                        let t = blocking.get_token();
                        h.record(t0.elapsed().as_nanos() as u64);
                        std::hint::black_box(t.is_ok());
                    }
                    h
                })
            })
            .collect();
        barrier.wait();
        std::thread::sleep(until.saturating_duration_since(Instant::now()));
        stop.store(true, Ordering::Relaxed);
        let mut all = Hist::new();
        for h in handles {
            all.merge(&h.join().expect("caller thread"));
        }
        all
    };

    // Steady: well before the window (it opens about 0.6-0.8 s before expiry).
    let steady = measure(issued + Duration::from_millis(1000));
    let before = blocking.stats();
    let requests_before = runtime::block_on({
        let admin = Admin::new(&server)?;
        async move { admin.token_requests().await }
    })?;
    std::thread::sleep((issued + Duration::from_millis(1200)).saturating_duration_since(Instant::now()));
    // Across the window: until 300 ms after the old token's expiry.
    let window = measure(issued + expires_in + Duration::from_millis(300));
    let after = blocking.stats();
    let last = blocking.get_token().map_err(|e| e.to_string())?;
    let requests = runtime::block_on(async move {
        let n = admin.token_requests().await?;
        admin.token_latency(0).await?;
        admin.token_ttl(3600).await?;
        Ok::<u64, String>(n)
    })? - requests_before;
    let cache_hit_p99 = steady.quantile(0.99);
    emit(result(
        "rust_refresh_window",
        json!({"threads": threads, "steady_calls": steady.count(), "window_calls": window.count(),
               "steady_p50_ns": steady.quantile(0.5), "steady_p99_ns": cache_hit_p99, "steady_max_ns": steady.max(),
               "window_p50_ns": window.quantile(0.5), "window_p99_ns": window.quantile(0.99),
               "window_p999_ns": window.quantile(0.999), "window_max_ns": window.max(),
               "window_calls_over_1ms": window.above(1_000_000), "steady_calls_over_1ms": steady.above(1_000_000),
               "cache_misses": after.cache_misses - before.cache_misses,
               "background_refreshes": after.background_refreshes - before.background_refreshes,
               "token_replaced": last.id() != first.id(), "token_requests": requests}),
    ));
    Ok(())
}
