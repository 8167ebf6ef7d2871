//! Cached get_token: `Client::cached_token()` and `BlockingClient::get_token()` on a
//! hit, against the usual hand-rolled cache (an `RwLock<HashMap>` read, an expiry
//! check and an `Arc` clone). Criterion, in alternating repetitions.

use crate::util::{Opts, criterion, criterion_median_ns, emit, median, result};
use serde_json::json;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub fn run(opts: &Opts) -> Result<(), String> {
    let server = opts.server()?;
    let client = server.client()?;
    let blocking = client.blocking();
    let token = blocking.get_token().map_err(|e| e.to_string())?;
    let dir = opts.criterion_dir();
    let reps = opts.num("reps", 3.0) as usize;
    let secs = opts.num("secs", 1.5);

    let peer: RwLock<HashMap<String, (Arc<str>, Instant)>> = RwLock::new(HashMap::new());
    peer.write().unwrap().insert(
        "inference training".to_string(),
        (Arc::from(token.secret()), Instant::now() + Duration::from_secs(3000)),
    );
    let key = "inference training";

    let mut c = criterion(&dir, secs);
    let (mut cached, mut blocking_hit, mut peer_ns) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..reps {
        let ids = [
            format!("rust_cached_token_{rep}"),
            format!("rust_blocking_get_token_{rep}"),
            format!("rust_peer_map_{rep}"),
        ];
        let run_ours = |c: &mut criterion::Criterion| {
            c.bench_function(&ids[0], |b| b.iter(|| black_box(client.cached_token())));
            c.bench_function(&ids[1], |b| b.iter(|| black_box(blocking.get_token().ok())));
        };
        let run_peer = |c: &mut criterion::Criterion| {
            c.bench_function(&ids[2], |b| {
                b.iter(|| {
                    let map = peer.read().unwrap();
                    let hit = map.get(black_box(key)).filter(|(_, exp)| Instant::now() < *exp).map(|(t, _)| t.clone());
                    black_box(hit)
                })
            });
        };
        if rep % 2 == 0 {
            run_ours(&mut c);
            run_peer(&mut c);
        } else {
            run_peer(&mut c);
            run_ours(&mut c);
        }
        cached.push(criterion_median_ns(&dir, &ids[0])?);
        blocking_hit.push(criterion_median_ns(&dir, &ids[1])?);
        peer_ns.push(criterion_median_ns(&dir, &ids[2])?);
    }
    let mut r_cached: Vec<f64> = cached.iter().zip(&peer_ns).map(|(a, b)| a / b).collect();
    let mut r_blocking: Vec<f64> = blocking_hit.iter().zip(&peer_ns).map(|(a, b)| a / b).collect();
    let stats = client.stats();
    emit(result(
        "rust_cached_token",
        json!({"ours_ns": median(&mut cached.clone()), "peer_ns": median(&mut peer_ns.clone()),
               "ratio": median(&mut r_cached), "reps": reps, "token_requests": stats.token_requests}),
    ));
    emit(result(
        "rust_blocking_get_token",
        json!({"ours_ns": median(&mut blocking_hit), "peer_ns": median(&mut peer_ns),
               "ratio": median(&mut r_blocking), "reps": reps}),
    ));
    Ok(())
}
