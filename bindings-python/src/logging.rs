//! Core's `tracing` events -> Python's `logging` (logger `synapsestream_auth`).
//!
//! Events are formatted where they happen (core never puts a secret in one) and
//! queued without blocking; one thread per process takes the GIL and hands them
//! to `logging` when that logger is enabled for the level. Taking the GIL only on
//! that thread means a core thread holding one of core's locks never waits for
//! the GIL (which a Python thread waiting for that lock might hold). After
//! `fork()` the child starts its own thread on its first event.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber, subscriber::Interest};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The logger every event goes to.
pub(crate) const LOGGER: &str = "synapsestream_auth";
/// Events waiting for the logging thread; more are dropped rather than block core.
const QUEUE: usize = 4096;

struct Record {
    level: u8,
    message: String,
}

struct Sink {
    pid: u32,
    tx: SyncSender<Record>,
}

static SINK: AtomicPtr<Sink> = AtomicPtr::new(std::ptr::null_mut());

/// This process's sink, starting its thread on first use (and again in a forked child).
fn sink() -> Option<&'static Sink> {
    let pid = std::process::id();
    loop {
        let current = SINK.load(Ordering::Acquire);
        // SAFETY: a published sink is never freed (one per process, leaked on replacement).
        if let Some(sink) = unsafe { current.as_ref() }
            && sink.pid == pid
        {
            return Some(sink);
        }
        let (tx, rx) = sync_channel(QUEUE);
        let fresh = Box::into_raw(Box::new(Sink { pid, tx }));
        if SINK.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire).is_err() {
            // SAFETY: `fresh` was never published.
            drop(unsafe { Box::from_raw(fresh) });
            continue;
        }
        // The replaced sink (the parent's, after a fork) is leaked: its thread is gone.
        let started = std::thread::Builder::new().name("synapse-auth-log".into()).spawn(move || forward(rx));
        // SAFETY: just published, never freed.
        return started.ok().map(|_| unsafe { &*fresh });
    }
}

static GET_LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn forward(rx: Receiver<Record>) {
    while let Ok(record) = rx.recv() {
        // try_attach: silently stop once the interpreter is shutting down.
        let attached = Python::try_attach(|py| {
            if let Err(e) = emit(py, &record) {
                e.print(py);
            }
        });
        if attached.is_none() {
            return;
        }
    }
}

fn emit(py: Python<'_>, record: &Record) -> PyResult<()> {
    let logger = GET_LOGGER.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("logging")?.call_method1("getLogger", (LOGGER,))?.unbind())
    })?;
    let logger = logger.bind(py);
    if logger.call_method1("isEnabledFor", (record.level,))?.is_truthy()? {
        // Passed as the message with no args: a '%' in it is never interpreted.
        logger.call_method1("log", (record.level, record.message.as_str()))?;
    }
    Ok(())
}

/// Collects `message` and the other fields as ` key=value`.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

fn python_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

fn wanted(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("synapse_auth") && *meta.level() <= Level::DEBUG
}

struct PyLogging;

impl<S: Subscriber> Layer<S> for PyLogging {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if wanted(meta) { Interest::always() } else { Interest::never() }
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        wanted(meta)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some(sink) = sink() else { return };
        let mut text = Text::default();
        event.record(&mut text);
        text.message.push_str(&text.fields);
        let _ = sink.tx.try_send(Record { level: python_level(event.metadata().level()), message: text.message });
    }
}

/// Installs the bridge as the process's tracing subscriber (once; a no-op when
/// the embedding program installed its own).
pub(crate) fn install() {
    let subscriber = tracing_subscriber::registry().with(PyLogging);
    let _ = tracing::subscriber::set_global_default(subscriber);
}
