//! [`FileStore`]: tokens shared by the processes of one host through files
//! under an OS lock: one JSON file per cache key (mode 0600, atomic write and
//! rename), a `flock` for the cross-process refresh lock (released by the OS
//! if its holder dies), and newest-wins saves so a rotated refresh token is
//! never overwritten by an older one.

use super::TokenStore;
use crate::error::{Error, ErrorKind, Result};
use crate::token::StoredToken;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// A token store in a directory of the local file system.
pub struct FileStore {
    dir: PathBuf,
    held: Mutex<HashMap<String, File>>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore").field("dir", &self.dir).finish_non_exhaustive()
    }
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Transport, format!("token cache: cannot {what} {}: {e}", path.display()))
}

fn flock(file: &File, operation: libc::c_int) -> std::io::Result<bool> {
    // SAFETY: flock on a file descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), operation) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) { Ok(false) } else { Err(err) }
}

impl FileStore {
    /// A store in `dir`, created with mode 0700 if missing.
    pub fn new(dir: impl AsRef<Path>) -> Result<FileStore> {
        let dir = dir.as_ref().to_path_buf();
        if dir.as_os_str().is_empty() {
            return Err(Error::config("token_cache", "file: needs a directory"));
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::config("token_cache", format!("cannot create {}: {e}", dir.display())))?;
        Ok(FileStore { dir, held: Mutex::new(HashMap::new()) })
    }

    /// `$XDG_RUNTIME_DIR/synapse-auth`, else `/tmp/synapse-auth-<uid>`.
    pub fn default_dir() -> PathBuf {
        match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d).join("synapse-auth"),
            // SAFETY: getuid cannot fail.
            _ => std::env::temp_dir().join(format!("synapse-auth-{}", unsafe { libc::getuid() })),
        }
    }

    fn path(&self, key: &str, ext: &str) -> PathBuf {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
        let name: String = digest.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.{ext}"))
    }

    fn open_lock_file(&self, path: &Path) -> Result<File> {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| io_error("open", path, e))
    }

    fn read(&self, key: &str) -> Result<Option<StoredToken>> {
        let path = self.path(key, "json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|_| {
                Error::new(
                    ErrorKind::Protocol,
                    format!("token cache: {} is corrupt; it will be replaced", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path, e)),
        }
    }

    fn write(&self, key: &str, token: &StoredToken) -> Result<()> {
        // Serialize writers of this key, then compare and swap in the newest token.
        let guard_path = self.path(key, "wlock");
        let guard = self.open_lock_file(&guard_path)?;
        flock(&guard, libc::LOCK_EX).map_err(|e| io_error("lock", &guard_path, e))?;
        if let Ok(Some(existing)) = self.read(key)
            && existing.issued_at_unix > token.issued_at_unix
        {
            return Ok(());
        }
        let path = self.path(key, "json");
        let tmp = self.path(key, &format!("tmp.{}.{}", std::process::id(), rand::random::<u32>()));
        let body = zeroize::Zeroizing::new(serde_json::to_vec(token).expect("a StoredToken serializes"));
        let result = (|| {
            let mut f = OpenOptions::new().create_new(true).write(true).mode(0o600).open(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_error("write", &path, e));
        }
        Ok(())
    }
}

impl TokenStore for FileStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>>> {
        Box::pin(async move { self.read(key) })
    }

    fn save<'a>(&'a self, key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.write(key, token) })
    }

    /// A non-blocking `flock`: the OS drops it if the holder dies, so `ttl` is not needed.
    fn try_lock<'a>(&'a self, key: &'a str, _ttl: Duration) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            let path = self.path(key, "lock");
            let file = self.open_lock_file(&path)?;
            if !flock(&file, libc::LOCK_EX | libc::LOCK_NB).map_err(|e| io_error("lock", &path, e))? {
                return Ok(None);
            }
            let fence = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
            self.held.lock().unwrap_or_else(|p| p.into_inner()).insert(fence.clone(), file);
            Ok(Some(fence))
        })
    }

    fn unlock<'a>(&'a self, _key: &'a str, fence: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            // Closing the descriptor releases the flock.
            self.held.lock().unwrap_or_else(|p| p.into_inner()).remove(fence);
            Ok(())
        })
    }
}
