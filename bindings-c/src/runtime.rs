//! Starting core's shared runtime with SIGPIPE blocked in its threads.
//!
//! A C program usually keeps SIGPIPE's default action (terminate), unlike Python and
//! Node.js, which ignore it. Rust's socket `send` passes `MSG_NOSIGNAL`, but
//! vectored writes (`writev`, which hyper uses) do not, so a write on a connection
//! the server has just closed would kill the host process. SIGPIPE from a write is
//! delivered to the writing thread; when that thread has it blocked, the write just
//! fails with `EPIPE`. Every network write of the library happens on the shared
//! runtime's threads, which inherit the signal mask of the thread that starts the
//! runtime, so the runtime is started here with SIGPIPE blocked (and the caller's
//! own mask restored right after). The host's signal dispositions are left alone.

use std::sync::atomic::{AtomicU64, Ordering};
use synapse_auth_core::runtime;

/// The runtime generation started through [`ensure_runtime`] (`u64::MAX`: none yet).
static STARTED_GENERATION: AtomicU64 = AtomicU64::new(u64::MAX);

/// Restores the calling thread's signal mask when dropped (also on unwinding).
struct MaskGuard(libc::sigset_t);

impl Drop for MaskGuard {
    fn drop(&mut self) {
        // SAFETY: restoring a mask previously returned by pthread_sigmask.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
    }
}

/// Makes sure the shared runtime of the current generation (a new one after
/// `fork()`) was started by us, with SIGPIPE blocked in its threads. Two atomic
/// loads once it was.
pub(crate) fn ensure_runtime() {
    let generation = runtime::generation();
    if STARTED_GENERATION.load(Ordering::Acquire) == generation {
        return;
    }
    // SAFETY: plain sigset manipulation on local values; pthread_sigmask only
    // changes the calling thread's mask, restored by the guard.
    let _guard = unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
        MaskGuard(old)
    };
    let _ = runtime::handle();
    STARTED_GENERATION.store(generation, Ordering::Release);
}
