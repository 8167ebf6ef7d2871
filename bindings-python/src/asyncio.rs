//! Running core futures for Python callers, always on core's shared runtime.
//!
//! * [`wait`]: blocking callers. The GIL is released while the future runs; the
//!   thread wakes every 100 ms to let `KeyboardInterrupt` through.
//! * [`spawn`]: asyncio callers. The future runs as a task on core's runtime and
//!   completes an `asyncio.Future` of the *running* loop through
//!   `loop.call_soon_threadsafe`, so the event loop never blocks and nothing is
//!   tied to one loop (a client works across `asyncio.run()` calls).
//! * [`Ready`]: an awaitable that is already complete (async cache hits): awaiting
//!   it schedules nothing.

use crate::errors::core_err;
use futures::FutureExt;
use pyo3::exceptions::{PyRuntimeError, PyStopIteration};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;
use synapse_auth_core::{Error, runtime};

type Convert<T> = fn(Python<'_>, T) -> PyResult<Py<PyAny>>;
type Deliver = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

fn internal(what: &str) -> PyErr {
    PyRuntimeError::new_err(format!("synapse-auth internal error: {what}"))
}

/// Runs `future` on core's runtime and waits for it with the GIL released.
pub(crate) fn wait<T, F>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    let (tx, mut rx) = mpsc::sync_channel(1);
    let task = runtime::handle().spawn(async move {
        let _ = tx.send(future.await);
    });
    loop {
        let (back, outcome) = py.detach(move || {
            let outcome = rx.recv_timeout(Duration::from_millis(100));
            (rx, outcome)
        });
        rx = back;
        match outcome {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => return Err(core_err(py, &error)),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(interrupted) = py.check_signals() {
                    task.abort();
                    return Err(interrupted);
                }
            }
            // The task ended without sending: it panicked (tokio caught it) or the
            // runtime went away. Never let that hang or unwind into Python.
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(internal("the task ended without a result")),
        }
    }
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Starts `future` on core's runtime and returns an `asyncio.Future` of the
/// running loop that completes with `convert(value)` or the mapped error.
pub(crate) fn spawn<'py, T, F>(py: Python<'py>, future: F, convert: Convert<T>) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    let get_loop = GET_RUNNING_LOOP.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
    })?;
    let event_loop = get_loop.bind(py).call0()?;
    let py_future = event_loop.call_method0("create_future")?;
    let loop_ref = event_loop.unbind();
    let future_ref = py_future.clone().unbind();
    let task = runtime::handle().spawn(async move {
        let deliver: Deliver = match AssertUnwindSafe(future).catch_unwind().await {
            Ok(Ok(value)) => Box::new(move |py| convert(py, value)),
            Ok(Err(error)) => Box::new(move |py| Err(core_err(py, &error))),
            Err(_) => Box::new(|_| Err(internal("the operation panicked"))),
        };
        // try_attach: never panic (or hang) when the interpreter is shutting down.
        Python::try_attach(|py| {
            let resolver = Resolver { future: future_ref, deliver: Mutex::new(Some(deliver)) };
            // Fails only when the loop is closed: then nobody is waiting any more.
            let _ = loop_ref.bind(py).call_method1("call_soon_threadsafe", (resolver,));
        });
    });
    // A cancelled asyncio future cancels the work (e.g. an API call in progress);
    // token flights are shared tasks in core and are never cancelled by a caller.
    py_future.call_method1("add_done_callback", (AbortOnDone { task: task.abort_handle() },))?;
    Ok(py_future)
}

/// Completes the asyncio future on its loop's thread.
#[pyclass(frozen)]
struct Resolver {
    future: Py<PyAny>,
    deliver: Mutex<Option<Deliver>>,
}

#[pymethods]
impl Resolver {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let future = self.future.bind(py);
        if future.call_method0("done")?.is_truthy()? {
            return Ok(()); // cancelled meanwhile
        }
        let Some(deliver) = self.deliver.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Ok(());
        };
        match deliver(py) {
            Ok(value) => future.call_method1("set_result", (value,))?,
            Err(error) => future.call_method1("set_exception", (error.into_value(py),))?,
        };
        Ok(())
    }
}

/// `add_done_callback` hook: aborts the runtime task (a no-op once it finished).
#[pyclass(frozen)]
struct AbortOnDone {
    task: tokio::task::AbortHandle,
}

#[pymethods]
impl AbortOnDone {
    fn __call__(&self, _future: &Bound<'_, PyAny>) {
        self.task.abort();
    }
}

/// An awaitable that is already complete: `await` returns its value at once.
#[pyclass(frozen, module = "synapsestream_auth._native")]
pub(crate) struct Ready {
    value: Py<PyAny>,
}

impl Ready {
    pub(crate) fn new(value: Py<PyAny>) -> Ready {
        Ready { value }
    }
}

#[pymethods]
impl Ready {
    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Err(PyStopIteration::new_err((self.value.clone_ref(py),)))
    }

    fn __repr__(&self) -> &'static str {
        "<synapsestream_auth ready result>"
    }
}
