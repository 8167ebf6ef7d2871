//! [`RedisStore`]: tokens shared by a fleet through a Redis server.
//!
//! - **Keys** are derived from the store key (client id | token endpoint | scopes)
//!   with an HMAC keyed by the cache key, so a key name reveals neither the
//!   client nor any secret: `synapse-auth:{<32 hex>}:token` (a hash) and
//!   `synapse-auth:{<32 hex>}:lock` (a string).
//! - **Encryption at rest**: the token (and its refresh token) is sealed with
//!   AES-256-GCM (aws-lc-rs), a random nonce per save, and the store key plus the
//!   plaintext `iat` as associated data, so an entry cannot be moved to another
//!   key or have its issue time changed without failing to open.
//! - **Newest wins**: a Lua script compares the plaintext `iat` kept beside the
//!   ciphertext and never replaces an entry with an older one, so a rotated
//!   refresh token is never overwritten by the one it replaced.
//! - **TTL**: `PEXPIREAT` at the access token's expiry; when the entry carries a
//!   refresh token it lives [`REFRESH_TOKEN_GRACE`] longer, so the fleet can still
//!   refresh after an idle spell instead of starting a new grant.
//! - **Single flight across hosts**: `SET lock fence NX PX ttl`; released only by
//!   its holder (a Lua compare-and-delete), and expiring by itself if the holder dies.
//! - **Outages**: every operation is bounded by a timeout (500 ms by default); while
//!   Redis is unreachable each call fails fast (one probe per half second), so the
//!   client serves its own cache and makes its own token requests. A warning is
//!   logged once per outage and an info line when Redis is back.
//! - **fork()**: the connection belongs to the shared runtime; a child (new runtime
//!   generation) opens its own instead of writing to the parent's socket.

use super::{CacheKey, TokenStore};
use crate::error::{Error, ErrorKind, Result};
use crate::runtime;
use crate::token::StoredToken;
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{RedisError, Script};
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::hmac;
use futures::future::BoxFuture;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The default bound on every Redis operation.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_millis(500);

/// How much longer than its access token an entry with a refresh token is kept.
pub const REFRESH_TOKEN_GRACE: Duration = Duration::from_secs(24 * 3600);

/// While Redis is unreachable, at most one operation per this interval tries it.
const PROBE_INTERVAL: Duration = Duration::from_millis(500);

/// The first byte of every sealed value: the format (AES-256-GCM, nonce, ciphertext + tag).
const FORMAT_V1: u8 = 1;

const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

/// `KEYS[1]` entry; `ARGV` iat, sealed value, expiry (Unix ms). Newest wins.
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then redis.call('DEL', KEYS[1]) end
local current = tonumber(redis.call('HGET', KEYS[1], 'iat'))
if current and current > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'iat', ARGV[1], 'v', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
",
    )
});

/// `KEYS[1]` lock; `ARGV[1]` fence. Deletes the lock only if the fence still holds it.
static UNLOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// A token store on a Redis server, shared by every process and host that uses
/// the same server and [`CacheKey`]. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: ::redis::Client,
    /// `host:port` (or the socket path): for log lines, never the URL (it may hold a password).
    endpoint: String,
    aead: RandomizedNonceKey,
    names: hmac::Key,
    timeout: Duration,
    /// The connection, the runtime generation it was made in and its serial number.
    conn: Mutex<Option<(u64, u64, ConnectionManager)>>,
    next_serial: AtomicU64,
    state: AtomicU8,
    last_attempt: AtomicU64,
    epoch: Instant,
    warned_unreadable: AtomicBool,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("endpoint", &self.inner.endpoint).finish_non_exhaustive()
    }
}

/// Why an operation failed, in words that hold no secret.
enum Failure {
    Timeout,
    Redis(RedisError),
}

impl Failure {
    fn describe(&self) -> String {
        match self {
            Failure::Timeout => "timed out".to_string(),
            Failure::Redis(e) if e.is_timeout() => "timed out".to_string(),
            Failure::Redis(e) if e.is_connection_refusal() => "refused the connection".to_string(),
            Failure::Redis(e) if e.is_io_error() || e.is_connection_dropped() => "connection failed".to_string(),
            Failure::Redis(e) => match e.code() {
                Some(code) => format!("answered {code}"),
                None => format!("failed ({:?})", e.kind()),
            },
        }
    }
}

fn hmac_bytes(key: &[u8], label: &[u8]) -> Zeroizing<Vec<u8>> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    Zeroizing::new(hmac::sign(&key, label).as_ref().to_vec())
}

impl RedisStore {
    /// A store on the Redis server at `url` (`redis://[user:password@]host[:port][/db]`,
    /// or `rediss://` for TLS, trusting the system roots, `SSL_CERT_FILE` included),
    /// encrypting with `key`. Connects lazily, on first use.
    pub fn new(url: &str, key: &CacheKey) -> Result<RedisStore> {
        let client = ::redis::Client::open(url.trim()).map_err(|e| {
            // The parse error never echoes the URL, which may hold a password.
            Error::config("token_cache", format!("not a valid redis:// URL ({:?})", e.kind()))
        })?;
        let endpoint = client.get_connection_info().addr().to_string();
        let aead_key = hmac_bytes(key.bytes(), b"synapse-auth token cache v1: AES-256-GCM");
        let aead = RandomizedNonceKey::new(&AES_256_GCM, &aead_key)
            .map_err(|_| Error::config("token_cache_key", "cannot make an AES-256-GCM key"))?;
        let names =
            hmac::Key::new(hmac::HMAC_SHA256, &hmac_bytes(key.bytes(), b"synapse-auth token cache v1: key names"));
        Ok(RedisStore {
            inner: Arc::new(Inner {
                client,
                endpoint,
                aead,
                names,
                timeout: DEFAULT_OPERATION_TIMEOUT,
                conn: Mutex::new(None),
                next_serial: AtomicU64::new(1),
                state: AtomicU8::new(UNKNOWN),
                last_attempt: AtomicU64::new(0),
                epoch: Instant::now(),
                warned_unreadable: AtomicBool::new(false),
            }),
        })
    }

    /// Bounds every Redis operation by `timeout` instead of the default 500 ms.
    /// Call before the store is shared.
    pub fn with_timeout(self, timeout: Duration) -> RedisStore {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.timeout = timeout.max(Duration::from_millis(1));
                RedisStore { inner: Arc::new(inner) }
            }
            Err(inner) => RedisStore { inner },
        }
    }

    /// The Redis key names (`token` entry, `lock`) used for the store key `key`.
    pub fn key_names(&self, key: &str) -> (String, String) {
        let tag = hmac::sign(&self.inner.names, key.as_bytes());
        let hex: String = tag.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect();
        // The braces are a hash tag: both keys land in one Redis Cluster slot.
        (format!("synapse-auth:{{{hex}}}:token"), format!("synapse-auth:{{{hex}}}:lock"))
    }

    fn aad(key: &str, iat: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(key.len() + iat.len() + 32);
        aad.extend_from_slice(b"synapse-auth token v1\0");
        aad.extend_from_slice(key.as_bytes());
        aad.push(0);
        aad.extend_from_slice(iat.as_bytes());
        aad
    }

    fn seal(&self, key: &str, iat: &str, token: &StoredToken) -> Result<Vec<u8>> {
        let mut data = Zeroizing::new(serde_json::to_vec(token).expect("a StoredToken serializes"));
        let nonce = self
            .inner
            .aead
            .seal_in_place_append_tag(Aad::from(Self::aad(key, iat)), &mut *data)
            .map_err(|_| Error::new(ErrorKind::Protocol, "token cache: encryption failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + data.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&data);
        Ok(out)
    }

    fn open_sealed(&self, key: &str, iat: &str, sealed: &[u8]) -> Option<StoredToken> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != FORMAT_V1 {
            return None;
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[1..1 + NONCE_LEN]).ok()?;
        let mut data = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
        let plain = self.inner.aead.open_in_place(nonce, Aad::from(Self::aad(key, iat)), &mut data).ok()?;
        serde_json::from_slice(plain).ok()
    }

    /// Runs one Redis operation on the shared runtime, bounded by the timeout,
    /// failing fast while Redis is known to be unreachable.
    async fn exec<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: Fn(ConnectionManager) -> Fut + Send + 'static,
        Fut: Future<Output = std::result::Result<T, RedisError>> + Send + 'static,
        T: Send + 'static,
    {
        let inner = &self.inner;
        let now = inner.epoch.elapsed().as_nanos() as u64;
        if inner.state.load(Ordering::Acquire) == DOWN {
            let last = inner.last_attempt.load(Ordering::Acquire);
            if now.saturating_sub(last) < PROBE_INTERVAL.as_nanos() as u64
                || inner.last_attempt.compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire).is_err()
            {
                return Err(Error::new(
                    ErrorKind::Transport,
                    format!("token cache: Redis at {} is unreachable", inner.endpoint),
                ));
            }
        } else {
            inner.last_attempt.store(now, Ordering::Release);
        }
        let task_inner = inner.clone();
        let outcome = runtime::run(async move {
            let mut retried = false;
            loop {
                let (serial, conn) = task_inner.connection().map_err(Failure::Redis)?;
                let failure = match tokio::time::timeout(task_inner.timeout, op(conn)).await {
                    Ok(Ok(value)) => return Ok(value),
                    Ok(Err(e)) => Failure::Redis(e),
                    Err(_) => Failure::Timeout,
                };
                // A connection that failed is replaced: the next operation connects
                // afresh, so the first one after an outage tells the truth.
                task_inner.drop_connection(serial);
                // A connection found dead (e.g. Redis restarted since the last call)
                // gets one more try on a new one; a refusal or a timeout does not.
                let dead = matches!(&failure, Failure::Redis(e) if (e.is_io_error() || e.is_connection_dropped())
                    && !e.is_timeout() && !e.is_connection_refusal());
                if retried || !dead {
                    return Err(failure);
                }
                retried = true;
            }
        })
        .await;
        match outcome {
            Ok(value) => {
                if inner.state.swap(UP, Ordering::AcqRel) == DOWN {
                    tracing::info!(
                        endpoint = %inner.endpoint,
                        "synapse-auth token cache: Redis is reachable again; sharing tokens again"
                    );
                }
                Ok(value)
            }
            Err(failure) => {
                // The next probe waits a full interval after this failure, not after its start.
                inner.last_attempt.store(inner.epoch.elapsed().as_nanos() as u64, Ordering::Release);
                let reason = failure.describe();
                if inner.state.swap(DOWN, Ordering::AcqRel) != DOWN {
                    tracing::warn!(
                        endpoint = %inner.endpoint,
                        reason = %reason,
                        "synapse-auth token cache: Redis is unreachable; serving this process's own cache and \
                         fetching its own tokens until it is back"
                    );
                }
                Err(Error::new(ErrorKind::Transport, format!("token cache: Redis at {} {reason}", inner.endpoint)))
            }
        }
    }
}

impl Inner {
    /// The connection for the current runtime; made lazily, and remade after fork().
    fn connection(&self) -> std::result::Result<(u64, ConnectionManager), RedisError> {
        let generation = runtime::generation();
        let mut slot = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((made_in, serial, conn)) = slot.as_ref()
            && *made_in == generation
        {
            return Ok((*serial, conn.clone()));
        }
        if let Some(stale) = slot.take() {
            // Made in the parent before fork(): its tasks live on a runtime that no
            // longer runs, and its socket is the parent's. Never touch it again.
            std::mem::forget(stale);
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(0)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(PROBE_INTERVAL);
        let conn = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        let serial = self.next_serial.fetch_add(1, Ordering::Relaxed);
        *slot = Some((generation, serial, conn.clone()));
        Ok((serial, conn))
    }

    /// Forgets connection `serial` if it is still the current one.
    fn drop_connection(&self, serial: u64) {
        let mut slot = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_some_and(|(made_in, s, _)| *s == serial && *made_in == runtime::generation()) {
            let stale = slot.take();
            drop(slot);
            drop(stale);
        }
    }
}

impl TokenStore for RedisStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>> {
        Box::pin(async move {
            let (entry, _) = self.key_names(key);
            let (iat, sealed): (Option<String>, Option<Vec<u8>>) = self
                .exec(move |mut conn| {
                    let cmd = ::redis::cmd("HMGET").arg(&entry).arg("iat").arg("v").clone();
                    async move { cmd.query_async(&mut conn).await }
                })
                .await?;
            let (Some(iat), Some(sealed)) = (iat, sealed) else {
                return Ok(None);
            };
            match self.open_sealed(key, &iat, &sealed) {
                Some(token) => Ok(Some(token)),
                None => {
                    // Tampered with, or written with another key: ignore it; the next
                    // save (newer) replaces it.
                    if !self.inner.warned_unreadable.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "synapse-auth token cache: an entry in Redis cannot be decrypted with this \
                             token_cache_key; ignoring it"
                        );
                    }
                    Ok(None)
                }
            }
        })
    }

    fn save<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let (entry, _) = self.key_names(key);
            let iat = format!("{:.6}", token.issued_at_unix);
            let sealed = self.seal(key, &iat, token)?;
            let grace = if token.refresh_token.is_some() { REFRESH_TOKEN_GRACE } else { Duration::ZERO };
            let expire_at_ms = (token.expires_at_unix.max(0.0) * 1000.0) as u64 + grace.as_millis() as u64;
            let _saved: i64 = self
                .exec(move |mut conn| {
                    let mut call = SAVE.prepare_invoke();
                    call.key(&entry).arg(&iat).arg(&sealed).arg(expire_at_ms);
                    async move { call.invoke_async(&mut conn).await }
                })
                .await?;
            Ok(())
        })
    }

    /// `SET lock fence NX PX ttl`: the lock expires by itself if its holder dies.
    fn try_lock<'a>(&'a self, key: &'a str, ttl: Duration) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            let (_, lock) = self.key_names(key);
            let fence = format!("{}-{:032x}", std::process::id(), rand::random::<u128>());
            let ttl_ms = (ttl.as_millis() as u64).max(1);
            let value = fence.clone();
            let reply: Option<String> = self
                .exec(move |mut conn| {
                    let cmd = ::redis::cmd("SET").arg(&lock).arg(&value).arg("NX").arg("PX").arg(ttl_ms).clone();
                    async move { cmd.query_async(&mut conn).await }
                })
                .await?;
            Ok(reply.map(|_| fence))
        })
    }

    /// Deletes the lock only if `fence` still holds it (a Lua compare-and-delete).
    fn unlock<'a>(&'a self, key: &'a str, fence: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let (_, lock) = self.key_names(key);
            let fence = fence.to_string();
            let _deleted: i64 = self
                .exec(move |mut conn| {
                    let mut call = UNLOCK.prepare_invoke();
                    call.key(&lock).arg(&fence);
                    async move { call.invoke_async(&mut conn).await }
                })
                .await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(iat: f64) -> StoredToken {
        StoredToken {
            access_token: "at-secret-value".into(),
            token_type: "Bearer".into(),
            scopes: vec!["inference".into()],
            expires_at_unix: iat + 3600.0,
            issued_at_unix: iat,
            refresh_token: Some("rt-secret-value".into()),
        }
    }

    #[test]
    fn seals_and_opens_bound_to_key_and_iat() {
        let store = RedisStore::new("redis://127.0.0.1:1", &CacheKey::generate()).unwrap();
        let t = token(1000.5);
        let sealed = store.seal("k", "1000.500000", &t).unwrap();
        assert!(!sealed.windows(9).any(|w| w == b"at-secret"));
        assert!(store.open_sealed("k", "1000.500000", &sealed) == Some(t.clone()));
        assert!(store.open_sealed("other", "1000.500000", &sealed).is_none(), "bound to the store key");
        assert!(store.open_sealed("k", "9999.000000", &sealed).is_none(), "bound to its iat");
        let other = RedisStore::new("redis://127.0.0.1:1", &CacheKey::generate()).unwrap();
        assert!(other.open_sealed("k", "1000.500000", &sealed).is_none(), "bound to the cache key");
        // Two seals of one token differ (random nonce).
        assert_ne!(sealed, store.seal("k", "1000.500000", &t).unwrap());
    }

    #[test]
    fn key_names_hide_the_store_key() {
        let store = RedisStore::new("redis://:hunter2@127.0.0.1:1/0", &CacheKey::generate()).unwrap();
        let (entry, lock) = store.key_names("my-client|https://auth.example/oauth2/token|inference");
        assert!(!entry.contains("my-client") && !entry.contains("inference"));
        assert_eq!(entry.trim_end_matches(":token"), lock.trim_end_matches(":lock"));
        assert!(!format!("{store:?}").contains("hunter2"));
        assert!(RedisStore::new("redis://[bad", &CacheKey::generate()).is_err());
    }
}
