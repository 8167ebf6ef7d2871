//! The Redis token cache against a real `redis-server` (started here, on a free
//! loopback port): processes share one token and one rotating refresh token, a
//! dead lock holder is replaced, a Redis outage is survived and caught up on,
//! and what sits in Redis is ciphertext with a TTL.
//!
//! Needs `redis-server` on PATH (Debian: `apt-get install redis-server`).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use synapse_auth_core::store::{CacheKey, RedisStore};
use synapse_auth_core::{BlockingClient, Config, StoredToken, TokenStore};
use synapse_reference_server::{BlockingServer, FaultSpec, FaultTarget, ServerConfig};

/// These tests fork: run them one at a time so no other test's thread holds a lock at fork().
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------- redis-server

fn redis_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("REDIS_SERVER") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join("redis-server")).find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "redis-server not found on PATH: these tests need a real Redis. Install it \
                 (Debian: `apt-get install -y redis-server`) or set REDIS_SERVER=/path/to/redis-server"
        )
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A redis-server child process on 127.0.0.1, killed on drop.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Redis {
        let mut redis = Redis { port: free_port(), child: None };
        redis.spawn();
        redis
    }

    fn spawn(&mut self) {
        let child = Command::new(redis_server_binary())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut conn) = self.client().get_connection()
                && redis::cmd("PING").query::<String>(&mut conn).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not answer on port {}", self.port);
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).unwrap()
    }

    fn conn(&self) -> redis::Connection {
        self.client().get_connection().unwrap()
    }

    /// SIGKILL: no shutdown, no goodbye to the clients.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A fresh, empty server on the same port.
    fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// All keys with their values (strings, or every field of hashes) and their PEXPIRETIME.
    fn dump(&self) -> Vec<(String, Vec<Vec<u8>>, i64)> {
        let mut conn = self.conn();
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
        keys.into_iter()
            .map(|key| {
                let kind: String = redis::cmd("TYPE").arg(&key).query(&mut conn).unwrap();
                let values: Vec<Vec<u8>> = match kind.as_str() {
                    "hash" => redis::cmd("HGETALL").arg(&key).query(&mut conn).unwrap(),
                    "string" => vec![redis::cmd("GET").arg(&key).query(&mut conn).unwrap()],
                    other => panic!("unexpected {other} key {key}"),
                };
                let expire_at: i64 = redis::cmd("PEXPIRETIME").arg(&key).query(&mut conn).unwrap();
                (key, values, expire_at)
            })
            .collect()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------- the fleet

struct Fleet<'a> {
    server: &'a BlockingServer,
    ca: String,
    redis_url: String,
    key: String,
    timeout: Duration,
}

impl Fleet<'_> {
    fn new<'a>(server: &'a BlockingServer, redis: &Redis, key: &CacheKey) -> Fleet<'a> {
        Fleet {
            server,
            ca: server.ca_pem().unwrap().to_string(),
            redis_url: redis.url(),
            key: key.to_base64().expose().to_string(),
            timeout: Duration::from_secs(5),
        }
    }

    fn client(&self) -> BlockingClient {
        let config = Config::builder()
            .base_url(self.server.base_url())
            .extra_root_ca_pem(self.ca.clone())
            .client_id(common::CLIENT_ID)
            .client_secret(common::CLIENT_SECRET)
            .scopes(["inference"])
            .timeout(self.timeout)
            .token_cache(self.redis_url.clone())
            .token_cache_key(self.key.clone())
            .build()
            .unwrap();
        BlockingClient::new(config).unwrap()
    }

    /// Forks a child that runs `body` and leaves with `_exit(0)` if it returned true.
    fn fork(&self, body: impl FnOnce(&Self) -> bool) -> libc::pid_t {
        // SAFETY: the child uses only this library and leaves with _exit; the tests
        // run one at a time, so no other test thread holds a lock at fork().
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(self))).unwrap_or(false);
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        pid
    }

    /// `processes` children of `threads` threads each call get_token once.
    fn burst(&self, processes: usize, threads: usize) {
        let pids: Vec<_> = (0..processes).map(|_| self.fork(|fleet| get_tokens(&fleet.client(), threads))).collect();
        for pid in pids {
            assert!(wait(pid), "a child failed");
        }
    }
}

fn get_tokens(client: &BlockingClient, threads: usize) -> bool {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let c = client.clone();
            std::thread::spawn(move || c.get_token().map(|_| ()))
        })
        .collect();
    handles.into_iter().all(|h| h.join().unwrap().is_ok())
}

/// Waits for `pid`; true if it exited with 0.
fn wait(pid: libc::pid_t) -> bool {
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

fn reference_server(token_ttl: Duration) -> BlockingServer {
    let server = synapse_reference_server::start_blocking(ServerConfig::dev()).unwrap();
    server.control().set_token_ttl(token_ttl);
    server
}

fn token_requests(server: &BlockingServer) -> u64 {
    server.counters().token_requests.total
}

fn grants(server: &BlockingServer, grant: &str) -> u64 {
    common::grant_count(&server.counters(), grant)
}

fn no_family_revoked(server: &BlockingServer) -> bool {
    server.control().refresh_families().iter().all(|f| !f.revoked)
}

fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    futures::executor::block_on(future)
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synapse-redis-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------- (1) one request per expiry

#[test]
fn eight_processes_of_fifty_threads_make_one_request_at_cold_start_and_at_expiry() {
    let _serial = serial();
    let redis = Redis::start();
    let server = reference_server(Duration::from_secs(3));
    // Slow the token endpoint a little so the 400 callers really overlap.
    server.control().inject_faults(FaultSpec { latency_ms: 50, ..FaultSpec::on(FaultTarget::Token) }).unwrap();
    let fleet = Fleet::new(&server, &redis, &CacheKey::generate());

    fleet.burst(8, 50);
    assert_eq!(token_requests(&server), 1, "cold start: {:?}", server.counters());

    std::thread::sleep(Duration::from_millis(3100));
    fleet.burst(8, 50);
    let counters = server.counters();
    assert_eq!(counters.token_requests.total, 2, "at expiry: {counters:?}");
    assert_eq!(grants(&server, "refresh_token"), 1, "the shared refresh token was used");
    assert!(no_family_revoked(&server));
    server.shutdown();
}

// ---------------------------------------------------------------- (2) a dead lock holder

#[test]
fn a_lock_holder_killed_mid_refresh_is_replaced_once_its_lock_expires() {
    let _serial = serial();
    let redis = Redis::start();
    let server = reference_server(Duration::from_secs(3));
    let mut fleet = Fleet::new(&server, &redis, &CacheKey::generate());
    // The lock lives request timeout + 5 s: 6 s here.
    fleet.timeout = Duration::from_secs(1);
    let lock_ttl = Duration::from_secs(6);

    fleet.burst(1, 1);
    assert_eq!(token_requests(&server), 1);
    std::thread::sleep(Duration::from_millis(3100)); // the shared token has expired

    // The holder's refresh hangs at the server; kill it while it waits there.
    server.control().inject_faults(FaultSpec { latency_ms: 4000, ..FaultSpec::on(FaultTarget::Token) }).unwrap();
    let holder = fleet.fork(|fleet| fleet.client().get_token().is_ok());
    let deadline = Instant::now() + Duration::from_secs(10);
    while token_requests(&server) < 2 {
        assert!(Instant::now() < deadline, "the holder never sent its request");
        std::thread::sleep(Duration::from_millis(5));
    }
    let locked_at = Instant::now();
    std::thread::sleep(Duration::from_millis(200));
    unsafe { libc::kill(holder, libc::SIGKILL) };
    assert!(!wait(holder));
    server.control().clear_faults();
    let locks: Vec<_> = redis.dump().into_iter().filter(|(k, _, _)| k.ends_with(":lock")).collect();
    assert_eq!(locks.len(), 1, "the dead holder's lock is still there");
    assert!(locks[0].2 > 0, "and it expires");

    // Others wait for the lock to expire, then one of them refreshes.
    fleet.burst(4, 10);
    let waited = locked_at.elapsed();
    assert!(waited >= lock_ttl - Duration::from_millis(500), "the waiters respected the lock ({waited:?})");
    assert!(waited < lock_ttl * 2, "the waiters took over once it expired ({waited:?})");
    let counters = server.counters();
    assert_eq!(counters.token_requests.total, 3, "one replacement request: {counters:?}");
    assert_eq!(grants(&server, "refresh_token"), 2, "the replacement used the shared refresh token");
    assert!(no_family_revoked(&server), "the dead holder's refresh token was not consumed");

    // No refresh token was lost: at the next expiry the fleet refreshes again with the stored one.
    std::thread::sleep(Duration::from_millis(3100));
    fleet.burst(2, 5);
    assert_eq!(token_requests(&server), 4);
    assert_eq!(grants(&server, "refresh_token"), 3);
    assert_eq!(grants(&server, "client_credentials"), 1, "never a new grant");
    assert!(no_family_revoked(&server));
    server.shutdown();
}

// ---------------------------------------------------------------- (3) Redis dies mid-run

/// Runs `threads` threads calling get_token every 10 ms until `run_for` has passed,
/// logging to `log`; writes the number of failed calls to `result`.
fn busy_child(fleet: &Fleet<'_>, threads: usize, run_for: Duration, log: &Path, result: &Path) -> bool {
    let file = std::fs::File::create(log).unwrap();
    tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
    let client = fleet.client();
    let until = Instant::now() + run_for;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let c = client.clone();
            std::thread::spawn(move || {
                let (mut calls, mut failures) = (0u64, 0u64);
                while Instant::now() < until {
                    calls += 1;
                    if c.get_token().is_err() {
                        failures += 1;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                (calls, failures)
            })
        })
        .collect();
    let (calls, failures) =
        handles.into_iter().map(|h| h.join().unwrap()).fold((0, 0), |(a, b), (c, f)| (a + c, b + f));
    let mut out = std::fs::File::create(result).unwrap();
    writeln!(out, "{calls} {failures}").unwrap();
    failures == 0
}

#[test]
fn clients_survive_a_redis_outage_and_share_again_when_it_returns() {
    let _serial = serial();
    let mut redis = Redis::start();
    let server = reference_server(Duration::from_secs(3));
    let fleet = Fleet::new(&server, &redis, &CacheKey::generate());
    let dir = scratch_dir("outage");
    let processes = 4;
    let run_for = Duration::from_secs(17);

    let started = Instant::now();
    let pids: Vec<_> = (0..processes)
        .map(|i| {
            let (log, result) = (dir.join(format!("{i}.log")), dir.join(format!("{i}.result")));
            fleet.fork(move |fleet| busy_child(fleet, 4, run_for, &log, &result))
        })
        .collect();
    let at = |secs: f64| {
        let t = started + Duration::from_secs_f64(secs);
        std::thread::sleep(t.saturating_duration_since(Instant::now()));
        token_requests(&server)
    };

    let before_outage = at(1.5);
    assert_eq!(before_outage, 1, "the fleet shares one token while Redis is up");
    redis.kill();
    let outage_start = token_requests(&server);
    let outage_end = at(8.0);
    redis.restart();
    // Give every process one refresh cycle (2-3 s) to find Redis again.
    let caught_up = at(11.5);
    let end = at(16.5);
    let ok: Vec<bool> = pids.into_iter().map(wait).collect();
    eprintln!(
        "token requests: before the outage {before_outage}, during it {}, catching up {}, after {} ({:?})",
        outage_end - outage_start,
        caught_up - outage_end,
        end - caught_up,
        server.counters().token_requests.by_grant
    );

    for (i, ok) in ok.iter().enumerate() {
        let result = std::fs::read_to_string(dir.join(format!("{i}.result"))).unwrap();
        let log = std::fs::read_to_string(dir.join(format!("{i}.log"))).unwrap();
        assert!(ok, "child {i}: every get_token succeeded (calls, failures: {result})\n{log}");
        assert_eq!(log.matches("Redis is unreachable").count(), 1, "child {i} warns once per outage:\n{log}");
        assert!(log.lines().any(|l| l.contains("WARN") && l.contains("Redis is unreachable")));
        assert_eq!(log.matches("Redis is reachable again").count(), 1, "child {i} says when it is back:\n{log}");
    }
    // Without Redis, each process made its own requests (at least one each over two expiries)...
    assert!(
        outage_end - outage_start >= processes as u64,
        "own requests during the outage: {}",
        outage_end - outage_start
    );
    // ...and once it was back they shared again: about one request per 3 s token, not one per process.
    assert!(end - caught_up <= 3, "after the outage the fleet shares again: {} requests in 5 s", end - caught_up);
    assert!(no_family_revoked(&server));
    let _ = std::fs::remove_dir_all(&dir);
    server.shutdown();
}

// ---------------------------------------------------------------- (4) what Redis holds

#[test]
fn redis_holds_only_ciphertext_with_ttls() {
    let _serial = serial();
    let redis = Redis::start();
    let server = reference_server(Duration::from_secs(60));
    let fleet = Fleet::new(&server, &redis, &CacheKey::generate());
    let client = fleet.client();
    let token = client.get_token().unwrap();
    let dump = redis.dump();
    assert_eq!(dump.len(), 1, "one entry, the lock released: {:?}", dump.iter().map(|d| &d.0).collect::<Vec<_>>());
    let (key, values, expire_at_ms) = &dump[0];
    assert!(key.starts_with("synapse-auth:{") && key.ends_with(":token"), "{key}");
    assert!(!key.contains(common::CLIENT_ID) && !key.contains("inference"), "the key name reveals nothing: {key}");
    for value in values {
        let contains = |needle: &[u8]| value.windows(needle.len()).any(|w| w == needle);
        assert!(!contains(token.secret().as_bytes()), "the access token is not stored in clear");
        assert!(!contains(common::CLIENT_SECRET.as_bytes()));
        assert!(!contains(b"refresh_token") && !contains(b"access_token"), "no JSON in clear");
    }
    // The entry expires with the token, plus the refresh token's grace (the dev client gets one).
    let expires_at_ms = token.expires_at().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let grace_ms = synapse_auth_core::store::REFRESH_TOKEN_GRACE.as_millis() as i64;
    assert!((expire_at_ms - (expires_at_ms + grace_ms)).abs() < 2000, "PEXPIRETIME {expire_at_ms}");

    // A token without a refresh token expires exactly with it; the lock has a TTL too.
    let store = RedisStore::new(&redis.url(), &CacheKey::generate()).unwrap();
    let stored = StoredToken {
        access_token: "plain-access-token".into(),
        token_type: "Bearer".into(),
        scopes: vec!["x".into()],
        expires_at_unix: unix_now() + 30.0,
        issued_at_unix: unix_now(),
        refresh_token: None,
    };
    run(store.save("k", &stored)).unwrap();
    let fence = run(store.try_lock("k", Duration::from_secs(7))).unwrap().unwrap();
    let (entry, lock) = store.key_names("k");
    let mut conn = redis.conn();
    let entry_expiry: i64 = redis::cmd("PEXPIRETIME").arg(&entry).query(&mut conn).unwrap();
    assert!((entry_expiry - (stored.expires_at_unix * 1000.0) as i64).abs() < 5);
    let lock_ttl: i64 = redis::cmd("PTTL").arg(&lock).query(&mut conn).unwrap();
    assert!((6000..=7000).contains(&lock_ttl), "lock PTTL {lock_ttl}");
    let stored_value: Vec<u8> = redis::cmd("HGET").arg(&entry).arg("v").query(&mut conn).unwrap();
    assert!(!stored_value.windows(18).any(|w| w == b"plain-access-token"));
    // A second holder cannot take the lock, and only the holder releases it.
    assert!(run(store.try_lock("k", Duration::from_secs(7))).unwrap().is_none());
    run(store.unlock("k", "not-the-fence")).unwrap();
    assert!(run(store.try_lock("k", Duration::from_secs(7))).unwrap().is_none());
    run(store.unlock("k", &fence)).unwrap();
    assert!(run(store.try_lock("k", Duration::from_secs(7))).unwrap().is_some());
    // Another key cannot read the entry.
    let stranger = RedisStore::new(&redis.url(), &CacheKey::generate()).unwrap();
    assert!(run(stranger.load("k")).unwrap().is_none());
    server.shutdown();
}

// ---------------------------------------------------------------- (5) the rotation rule

#[test]
fn an_older_save_never_replaces_a_newer_one() {
    let _serial = serial();
    let redis = Redis::start();
    let key = CacheKey::generate();
    let a = RedisStore::new(&redis.url(), &key).unwrap();
    let b = RedisStore::new(&redis.url(), &key).unwrap(); // another process, same cache
    let now = unix_now();
    let token = |iat: f64, rt: &str| StoredToken {
        access_token: format!("access-{rt}"),
        token_type: "Bearer".into(),
        scopes: vec!["inference".into()],
        expires_at_unix: now + 600.0,
        issued_at_unix: iat,
        refresh_token: Some(rt.to_string()),
    };
    run(a.save("k", &token(now - 10.0, "rt-1"))).unwrap();
    run(b.save("k", &token(now, "rt-2"))).unwrap();
    // A process that obtained its token earlier saves late: ignored.
    run(a.save("k", &token(now - 5.0, "rt-1b"))).unwrap();
    let loaded = run(a.load("k")).unwrap().unwrap();
    assert_eq!(loaded.refresh_token.as_deref(), Some("rt-2"));
    assert_eq!(loaded.access_token, "access-rt-2");
    // A newer one replaces it.
    run(a.save("k", &token(now + 1.0, "rt-3"))).unwrap();
    assert_eq!(run(b.load("k")).unwrap().unwrap().refresh_token.as_deref(), Some("rt-3"));

    // Racing saves from many threads and two stores: the newest always ends up stored.
    let stores = [a.clone(), b.clone()];
    std::thread::scope(|s| {
        for i in 0..40 {
            let store = stores[i % 2].clone();
            let t = token(now + 2.0 + i as f64, &format!("rt-race-{i}"));
            s.spawn(move || run(store.save("k", &t)).unwrap());
        }
    });
    assert_eq!(run(a.load("k")).unwrap().unwrap().refresh_token.as_deref(), Some("rt-race-39"));
    // Other scope sets are other entries.
    assert!(run(a.load("k2")).unwrap().is_none());
}

// ---------------------------------------------------------------- configuration

#[test]
fn redis_needs_a_well_formed_key() {
    let base = || {
        Config::builder()
            .client_id(common::CLIENT_ID)
            .client_secret(common::CLIENT_SECRET)
            .token_cache("redis://:hunter2@127.0.0.1:1/")
    };
    let err = base().build().unwrap_err();
    assert_eq!(err.field(), Some("token_cache_key"), "{err}");
    assert!(!err.to_string().contains("hunter2"));
    let err = base().token_cache_key("c2hvcnQ=").build().unwrap_err();
    assert_eq!(err.field(), Some("token_cache_key"), "{err}");
    let err = base().token_cache_key_file("/nonexistent/key").build().unwrap_err();
    assert_eq!(err.field(), Some("token_cache_key_file"), "{err}");
    // The file backend ignores the key; a good key works from a file and from the environment.
    assert!(
        base()
            .token_cache("file:/tmp/synapse-redis-cfg")
            .token_cache_key(CacheKey::generate().to_base64())
            .build()
            .is_ok()
    );
    let dir = scratch_dir("cfg");
    std::fs::write(dir.join("key"), format!("{}\n", CacheKey::generate().to_base64().expose())).unwrap();
    assert!(base().token_cache_key_file(dir.join("key")).build().is_ok());
    let env = [
        ("SYNAPSE_CLIENT_ID", common::CLIENT_ID.to_string()),
        ("SYNAPSE_CLIENT_SECRET", common::CLIENT_SECRET.to_string()),
        ("SYNAPSE_TOKEN_CACHE", "redis://127.0.0.1:1/".to_string()),
        ("SYNAPSE_TOKEN_CACHE_KEY", CacheKey::generate().to_base64().expose().to_string()),
    ];
    let cfg =
        synapse_auth_core::ConfigBuilder::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
    assert!(cfg.build().is_ok());
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all("/tmp/synapse-redis-cfg");
}

/// A dead Redis never stalls get_token: the client fetches its own token, within
/// the 500 ms operation timeout even when Redis accepts connections and never answers.
#[test]
fn an_unreachable_or_silent_redis_costs_no_stall() {
    let _serial = serial();
    let server = reference_server(Duration::from_secs(60));
    let refused = free_port(); // nothing listens there
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap(); // never accepts, never answers
    let silent_port = silent.local_addr().unwrap().port();
    for (port, bound) in [(refused, Duration::from_millis(1500)), (silent_port, Duration::from_millis(2500))] {
        let config = Config::builder()
            .base_url(server.base_url())
            .extra_root_ca_pem(server.ca_pem().unwrap())
            .client_id(common::CLIENT_ID)
            .client_secret(common::CLIENT_SECRET)
            .token_cache(format!("redis://127.0.0.1:{port}/"))
            .token_cache_key(CacheKey::generate().to_base64())
            .build()
            .unwrap();
        let client = BlockingClient::new(config).unwrap();
        let before = token_requests(&server);
        let started = Instant::now();
        client.get_token().unwrap();
        let took = started.elapsed();
        assert!(took < bound, "port {port}: get_token took {took:?}");
        assert_eq!(token_requests(&server), before + 1);
        // Later misses don't wait for Redis again: it is probed at most every 500 ms.
        let started = Instant::now();
        client.invalidate();
        client.get_token().unwrap();
        assert!(started.elapsed() < Duration::from_millis(400), "{:?}", started.elapsed());
    }
    drop(silent);
    server.shutdown();
}
