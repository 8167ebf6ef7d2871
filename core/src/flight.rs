//! [`SingleFlight`]: at most one task per key in flight, its result shared by
//! every caller that joins while it runs.
//!
//! The task runs on the shared runtime, so a caller that gives up never cancels
//! it. The slot is an atomically swapped `Arc`, not a mutex: a `fork()` can land
//! at any instant, and a mutex held by a parent thread at that moment would stay
//! locked forever in the child. A flight started before a fork belongs to a dead
//! runtime and is replaced by the next caller.

use crate::error::{Error, ErrorKind, Result};
use crate::runtime;
use arc_swap::ArcSwapOption;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The shared result of one flight.
pub(crate) type FlightFuture<T> = Shared<BoxFuture<'static, Result<T>>>;

struct Flight<T: Clone> {
    id: u64,
    generation: u64,
    future: FlightFuture<T>,
}

/// One slot for one flight at a time.
pub(crate) struct SingleFlight<T: Clone> {
    current: ArcSwapOption<Flight<T>>,
    next_id: AtomicU64,
}

impl<T: Clone + Send + Sync + 'static> SingleFlight<T> {
    pub(crate) fn new() -> Self {
        SingleFlight { current: ArcSwapOption::empty(), next_id: AtomicU64::new(1) }
    }

    /// Joins the flight in progress, or starts `make(id)` as a new one on the
    /// shared runtime; `true` when this call started it. The task must call
    /// [`finish`](Self::finish) with its id once its effects are visible.
    pub(crate) fn join_or_start<F, Fut>(&self, make: F) -> (FlightFuture<T>, bool)
    where
        F: FnOnce(u64) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let generation = runtime::generation();
        let mut make = Some(make);
        loop {
            let current = self.current.load_full();
            if let Some(flight) = &current
                && flight.generation == generation
            {
                return (flight.future.clone(), false);
            }
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = futures::channel::oneshot::channel::<Result<T>>();
            let future = async move {
                rx.await.unwrap_or_else(|_| Err(Error::new(ErrorKind::Transport, "the background task was dropped")))
            }
            .boxed()
            .shared();
            let flight = Arc::new(Flight { id, generation, future: future.clone() });
            let previous = self.current.compare_and_swap(&current, Some(flight));
            if previous.as_ref().map(Arc::as_ptr) == current.as_ref().map(Arc::as_ptr) {
                let task = (make.take().expect("started once"))(id);
                runtime::handle().spawn(async move {
                    let _ = tx.send(task.await);
                });
                return (future, true);
            }
        }
    }

    /// Empties the slot if flight `id` still holds it.
    pub(crate) fn finish(&self, id: u64) {
        let current = self.current.load();
        if current.as_ref().is_some_and(|f| f.id == id) {
            self.current.compare_and_swap(&current, None);
        }
    }
}
