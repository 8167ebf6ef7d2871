//! Token requests per expiry and get_token latency: the in-process cache alone
//! against the shared Redis cache.
//!
//! ```sh
//! cargo run --release -p synapse-auth-core --example cache_bench
//! ```
//!
//! Starts the reference server (HTTPS on loopback) and a `redis-server` (from
//! PATH, or `REDIS_SERVER`) on a free loopback port, then for each cache:
//! 1. 8 processes × 50 threads call get_token at cold start, wait past the
//!    token's expiry (4 s tokens), and call it again: token requests each time;
//! 2. in one process: the cached path (a hit), a miss answered by the shared
//!    cache (Redis has a valid token), and a miss that makes the token request
//!    (nothing valid anywhere): p50 / p99.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use synapse_auth_core::store::CacheKey;
use synapse_auth_core::{BlockingClient, Config};
use synapse_reference_server::{BlockingServer, ServerConfig};

const PROCESSES: usize = 8;
const THREADS: usize = 50;
const TOKEN_TTL: Duration = Duration::from_secs(4);

struct Redis {
    port: u16,
    child: Child,
}

impl Redis {
    fn start() -> Redis {
        let binary = std::env::var_os("REDIS_SERVER").map(std::path::PathBuf::from).unwrap_or_else(|| {
            let path = std::env::var_os("PATH").unwrap_or_default();
            std::env::split_paths(&path)
                .map(|d| d.join("redis-server"))
                .find(|p| p.is_file())
                .expect("redis-server not found on PATH (Debian: apt-get install -y redis-server)")
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let redis = Redis { port, child };
        for _ in 0..500 {
            if let Ok(mut conn) = redis.client().get_connection()
                && redis::cmd("PING").query::<String>(&mut conn).is_ok()
            {
                return redis;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).unwrap()
    }

    fn flush(&self) {
        let mut conn = self.client().get_connection().unwrap();
        let _: () = redis::cmd("FLUSHALL").query(&mut conn).unwrap();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone)]
struct Setup {
    base_url: String,
    ca: String,
    cache: Option<(String, String)>,
}

impl Setup {
    fn client(&self) -> BlockingClient {
        let mut builder = Config::builder()
            .base_url(&self.base_url)
            .extra_root_ca_pem(&self.ca)
            .client_id(synapse_reference_server::DEV_CLIENT_ID)
            .client_secret(synapse_reference_server::DEV_CLIENT_SECRET)
            .scopes(["inference"]);
        if let Some((url, key)) = &self.cache {
            builder = builder.token_cache(url).token_cache_key(key.as_str());
        }
        BlockingClient::new(builder.build().unwrap()).unwrap()
    }
}

fn burst(client: &BlockingClient) -> bool {
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let c = client.clone();
            std::thread::spawn(move || c.get_token().is_ok())
        })
        .collect();
    handles.into_iter().all(|h| h.join().unwrap())
}

/// Token requests made by 8 × 50 callers at cold start, then again past expiry.
fn requests_per_expiry(server: &BlockingServer, setup: &Setup) -> (u64, u64) {
    server.control().set_token_ttl(TOKEN_TTL);
    let start = server.counters().token_requests.total;
    let second_burst_at = Instant::now() + TOKEN_TTL + Duration::from_millis(400);
    let pids: Vec<_> = (0..PROCESSES)
        .map(|_| {
            // SAFETY: the child uses this library only and leaves with _exit.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                let ok = std::panic::catch_unwind(|| {
                    let client = setup.client();
                    let first = burst(&client);
                    std::thread::sleep(second_burst_at.saturating_duration_since(Instant::now()));
                    first && burst(&client)
                })
                .unwrap_or(false);
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            pid
        })
        .collect();
    std::thread::sleep(TOKEN_TTL / 2);
    let cold = server.counters().token_requests.total - start;
    for pid in pids {
        let mut status = 0;
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "a child failed");
    }
    let expiry = server.counters().token_requests.total - start - cold;
    (cold, expiry)
}

struct Percentiles {
    p50: Duration,
    p99: Duration,
}

fn percentiles(mut samples: Vec<Duration>) -> Percentiles {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    Percentiles { p50: at(0.50), p99: at(0.99) }
}

fn time(n: usize, mut before: impl FnMut(), mut call: impl FnMut()) -> Percentiles {
    let samples = (0..n)
        .map(|_| {
            before();
            let t = Instant::now();
            call();
            t.elapsed()
        })
        .collect();
    percentiles(samples)
}

struct Latency {
    hit: Percentiles,
    shared_miss: Option<Percentiles>,
    fetch: Percentiles,
}

fn latency(server: &BlockingServer, setup: &Setup, redis: &Redis) -> Latency {
    server.control().set_token_ttl(Duration::from_secs(3600));
    redis.flush();
    let client = setup.client();
    client.get_token().unwrap();
    let hit = time(200_000, || {}, || drop(client.get_token().unwrap()));
    // A miss in this process while the shared cache holds a valid token (another process fetched it).
    let shared_miss = setup.cache.as_ref().map(|_| {
        client.get_token().unwrap();
        time(2_000, || client.invalidate(), || drop(client.get_token().unwrap()))
    });
    // A miss with nothing valid anywhere: this process makes the token request.
    let fetch = time(
        300,
        || {
            redis.flush();
            client.invalidate();
        },
        || drop(client.get_token().unwrap()),
    );
    Latency { hit, shared_miss, fetch }
}

fn fmt(d: Duration) -> String {
    if d < Duration::from_micros(10) {
        format!("{} ns", d.as_nanos())
    } else if d < Duration::from_millis(1) {
        format!("{:.1} µs", d.as_nanos() as f64 / 1000.0)
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }
}

fn pair(p: &Percentiles) -> String {
    format!("{} / {}", fmt(p.p50), fmt(p.p99))
}

fn main() {
    let server = synapse_reference_server::start_blocking(ServerConfig::dev()).expect("reference server");
    let redis = Redis::start();
    let memory =
        Setup { base_url: server.base_url().to_string(), ca: server.ca_pem().unwrap().to_string(), cache: None };
    let shared =
        Setup { cache: Some((redis.url(), CacheKey::generate().to_base64().expose().to_string())), ..memory.clone() };

    eprintln!("measuring token requests per expiry ({PROCESSES} processes x {THREADS} threads)...");
    let memory_requests = requests_per_expiry(&server, &memory);
    let redis_requests = requests_per_expiry(&server, &shared);
    assert!(server.control().refresh_families().iter().all(|f| !f.revoked));
    eprintln!("measuring get_token latency...");
    let memory_latency = latency(&server, &memory, &redis);
    let redis_latency = latency(&server, &shared, &redis);

    let rows = [
        (
            format!("token requests at cold start ({PROCESSES}x{THREADS})"),
            memory_requests.0.to_string(),
            redis_requests.0.to_string(),
        ),
        (
            format!("token requests per expiry ({PROCESSES}x{THREADS})"),
            memory_requests.1.to_string(),
            redis_requests.1.to_string(),
        ),
        ("get_token, cached (p50 / p99)".to_string(), pair(&memory_latency.hit), pair(&redis_latency.hit)),
        (
            "get_token, miss served by the shared cache".to_string(),
            "-".to_string(),
            redis_latency.shared_miss.as_ref().map(pair).unwrap_or_default(),
        ),
        ("get_token, miss that fetches a token".to_string(), pair(&memory_latency.fetch), pair(&redis_latency.fetch)),
    ];
    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap();
    let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap().max("in-process".len());
    let w2 = rows.iter().map(|r| r.2.chars().count()).max().unwrap().max("redis".len());
    println!("| {:w0$} | {:>w1$} | {:>w2$} |", "", "in-process", "redis");
    println!("|{}|{}:|{}:|", "-".repeat(w0 + 2), "-".repeat(w1 + 1), "-".repeat(w2 + 1));
    for (name, a, b) in &rows {
        println!("| {name:w0$} | {a:>w1$} | {b:>w2$} |");
    }
    server.shutdown();
}
