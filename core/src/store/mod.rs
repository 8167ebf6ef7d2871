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

pub use file::FileStore;

use crate::error::Error;
use std::sync::Arc;

/// Opens the shared token cache named by `spec` (the `token_cache` setting):
/// `memory` (no shared cache), `file` or `file:<dir>` (one host), or
/// `redis://…` / `rediss://…` (a fleet).
pub fn open(spec: &str) -> Result<Option<Arc<dyn TokenStore>>> {
    let spec = spec.trim();
    match spec {
        "" | "memory" => Ok(None),
        "file" => Ok(Some(Arc::new(FileStore::new(FileStore::default_dir())?))),
        s if s.starts_with("file:") => Ok(Some(Arc::new(FileStore::new(&s["file:".len()..])?))),
        s if s.starts_with("redis://") || s.starts_with("rediss://") => {
            Err(Error::config("token_cache", "the redis token cache is not available in this build"))
        }
        other => Err(Error::config(
            "token_cache",
            format!("expected memory, file, file:<dir> or redis://…, got {:?}", crate::token::truncate(other, 64)),
        )),
    }
}
