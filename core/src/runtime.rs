//! The one tokio runtime every binding shares, rebuilt in a child after `fork()`.
//!
//! A runtime inherited across `fork()` is dead: its worker threads exist only in
//! the parent. A `pthread_atfork` child handler empties the slot (leaking the old
//! runtime, which cannot be dropped safely in the child) and bumps a generation
//! counter, so the next caller builds a fresh runtime and everything tied to the
//! old one (HTTP connection pools, in-flight requests) is recreated.

use std::sync::Once;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use tokio::runtime::{Handle, Runtime};

static RUNTIME: AtomicPtr<Runtime> = AtomicPtr::new(std::ptr::null_mut());
static GENERATION: AtomicU64 = AtomicU64::new(0);
static ATFORK: Once = Once::new();

extern "C" fn reset_in_child() {
    // Leak the parent's runtime: its threads are gone and dropping it could hang.
    RUNTIME.store(std::ptr::null_mut(), Ordering::SeqCst);
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

thread_local! {
    /// The generation of the shared runtime this thread works for (plus one), or 0.
    static WORKER_OF: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// True on a worker thread of the current shared runtime.
fn on_shared_runtime() -> bool {
    WORKER_OF.with(|w| w.get()) == generation() + 1
}

fn build_runtime() -> Runtime {
    let generation = generation();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("synapse-auth")
        .on_thread_start(move || WORKER_OF.with(|w| w.set(generation + 1)))
        .enable_all()
        .build()
        .expect("cannot start the synapse-auth runtime: out of threads or file descriptors")
}

/// The shared runtime's handle, starting the runtime on first use.
pub fn handle() -> Handle {
    ATFORK.call_once(|| {
        // SAFETY: registering a plain extern "C" function with no captured state.
        unsafe {
            libc::pthread_atfork(None, None, Some(reset_in_child));
        }
    });
    loop {
        let current = RUNTIME.load(Ordering::Acquire);
        if !current.is_null() {
            // SAFETY: a published runtime is never freed (it is leaked on fork).
            return unsafe { (*current).handle().clone() };
        }
        let fresh = Box::into_raw(Box::new(build_runtime()));
        match RUNTIME.compare_exchange(std::ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {}
            Err(_) => {
                // Another thread won the race; shut ours down without blocking.
                // SAFETY: `fresh` was never published.
                let ours = unsafe { Box::from_raw(fresh) };
                ours.shutdown_background();
            }
        }
    }
}

/// Changes every time the runtime is replaced (after `fork()`); state bound to a
/// runtime records the generation it was made in and is rebuilt when it differs.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Runs `future` on the shared runtime and blocks the calling thread until it ends.
///
/// Safe from any thread, including a thread that is itself inside another tokio
/// runtime: the work runs on our runtime's threads and this thread only waits.
pub fn block_on<F>(future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = handle().spawn(future);
    match futures::executor::block_on(task) {
        Ok(output) => output,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("synapse-auth runtime task was cancelled: {e}"),
    }
}

/// Runs `future` on the shared runtime and awaits it from any executor.
/// Already on the shared runtime, it runs inline (no spawn, no thread hop).
pub async fn run<F>(future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    if on_shared_runtime() {
        return future.await;
    }
    match handle().spawn(future).await {
        Ok(output) => output,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("synapse-auth runtime task was cancelled: {e}"),
    }
}
