//! [`TokenStore`]: the persistence hook. A caller-supplied store keeps tokens
//! (and rotated refresh tokens) across restarts, or shares them between
//! processes; the in-process cache stays in front of it either way.

use crate::error::Result;
use crate::token::StoredToken;
use futures::future::BoxFuture;
use std::time::Duration;

/// Loads and saves tokens by cache key; optionally a cross-process lock so one
/// process refreshes while the others wait for its result.
///
/// Implementations must keep the rotation rule: `save` never replaces a stored
/// token with one whose `issued_at_unix` is older.
pub trait TokenStore: Send + Sync + 'static {
    /// The stored token for `key`, if any.
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>>;

    /// Stores `token` under `key` (unless a newer one is already there).
    fn save<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, Result<()>>;

    /// Tries to take the refresh lock for `key` for at most `ttl`; returns a fencing
    /// value to pass to [`unlock`](Self::unlock), or `None` while another holder has it.
    /// The default store-wide lock always succeeds (a single process needs none).
    fn try_lock<'a>(&'a self, _key: &'a str, _ttl: Duration) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async { Ok(Some(String::new())) })
    }

    /// Releases a lock taken by [`try_lock`](Self::try_lock), only if `fence` still holds it.
    fn unlock<'a>(&'a self, _key: &'a str, _fence: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

mod file;
mod redis;

pub use self::redis::{DEFAULT_OPERATION_TIMEOUT, REFRESH_TOKEN_GRACE, RedisStore};
pub use file::FileStore;

use crate::error::Error;
use std::sync::Arc;
use zeroize::Zeroizing;

/// The key that encrypts tokens at rest in a shared cache (the Redis backend):
/// 32 random bytes, configured as base64 (`token_cache_key`). Every process
/// sharing one cache must use the same key. Redacted in `Debug`, zeroized on drop.
#[derive(Clone)]
pub struct CacheKey(Zeroizing<[u8; 32]>);

impl CacheKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> CacheKey {
        CacheKey(Zeroizing::new(bytes))
    }

    /// A key from base64 (standard or URL-safe alphabet, padded or not) of exactly
    /// 32 bytes, e.g. the output of `openssl rand -base64 32`; `None` otherwise.
    pub fn from_base64(text: &str) -> Option<CacheKey> {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
        let text = text.trim();
        let bytes = Zeroizing::new(
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|e| e.decode(text).ok())?,
        );
        let array: [u8; 32] = bytes.as_slice().try_into().ok()?;
        Some(CacheKey::from_bytes(array))
    }

    /// A fresh random key.
    pub fn generate() -> CacheKey {
        CacheKey::from_bytes(rand::random())
    }

    /// The key as standard padded base64 (to store it in a secret manager).
    pub fn to_base64(&self) -> crate::Secret {
        use base64::Engine as _;
        crate::Secret::new(base64::engine::general_purpose::STANDARD.encode(self.0.as_slice()))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey(***)")
    }
}

/// Opens the shared token cache named by `spec` (the `token_cache` setting):
/// `memory` (no shared cache), `file` or `file:<dir>` (one host), or
/// `redis://…` / `rediss://…` (a fleet; needs a key, see [`open_with_key`]).
pub fn open(spec: &str) -> Result<Option<Arc<dyn TokenStore>>> {
    open_with_key(spec, None)
}

/// Like [`open`], with the key that encrypts tokens at rest (`token_cache_key`).
/// The Redis backend requires it; the file backend ignores it (its files are
/// private to the user, mode 0600).
pub fn open_with_key(spec: &str, key: Option<&CacheKey>) -> Result<Option<Arc<dyn TokenStore>>> {
    let spec = spec.trim();
    match spec {
        "" | "memory" => Ok(None),
        "file" => Ok(Some(Arc::new(FileStore::new(FileStore::default_dir())?))),
        s if s.starts_with("file:") => Ok(Some(Arc::new(FileStore::new(&s["file:".len()..])?))),
        s if has_scheme(s, "redis://") || has_scheme(s, "rediss://") => {
            let Some(key) = key else {
                return Err(Error::config(
                    "token_cache_key",
                    "a redis:// token cache encrypts tokens at rest and needs token_cache_key (or \
                     token_cache_key_file): base64 of 32 random bytes, the same on every process",
                ));
            };
            Ok(Some(Arc::new(RedisStore::new(s, key)?)))
        }
        // Never echo anything that looks like it holds credentials (user:password@host).
        other if other.contains('@') => {
            Err(Error::config("token_cache", "expected memory, file, file:<dir> or redis://…"))
        }
        other => Err(Error::config(
            "token_cache",
            format!("expected memory, file, file:<dir> or redis://…, got {:?}", crate::token::truncate(other, 64)),
        )),
    }
}

fn has_scheme(spec: &str, scheme: &str) -> bool {
    spec.get(..scheme.len()).is_some_and(|p| p.eq_ignore_ascii_case(scheme))
}
