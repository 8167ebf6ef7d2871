//! [`start_blocking`]: the server on its own thread and runtime, for callers
//! without an async runtime (benches, FFI-side harnesses).

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::config::ServerConfig;
use crate::control::Control;
use crate::counters::Counters;
use crate::server::{start, write_ca};

/// A server running on a dedicated thread with its own two-worker tokio
/// runtime. Usable from any context, async or not. Dropping it shuts the
/// server down and joins the thread (as [`BlockingServer::shutdown`]).
pub struct BlockingServer {
    base_url: String,
    local_addr: SocketAddr,
    ca_pem: Option<String>,
    admin_token: String,
    control: Control,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for BlockingServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingServer").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

struct Ready {
    base_url: String,
    local_addr: SocketAddr,
    ca_pem: Option<String>,
    admin_token: String,
    control: Control,
}

/// Starts the server on a new thread and returns once it accepts connections.
pub fn start_blocking(config: ServerConfig) -> io::Result<BlockingServer> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<Ready>>();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new().name("synapse-reference-server".into()).spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("synapse-reference-worker")
            .enable_all()
            .build();
        let runtime = match runtime {
            Ok(rt) => rt,
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        };
        runtime.block_on(async move {
            match start(config).await {
                Ok(server) => {
                    let ready = Ready {
                        base_url: server.base_url().to_owned(),
                        local_addr: server.local_addr(),
                        ca_pem: server.ca_pem().map(str::to_owned),
                        admin_token: server.admin_token().to_owned(),
                        control: server.control().clone(),
                    };
                    let _ = ready_tx.send(Ok(ready));
                    // Stop on request or when the handle is dropped.
                    let _ = stop_rx.await;
                    server.shutdown().await;
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        });
    })?;
    let ready = ready_rx.recv().map_err(|_| io::Error::other("reference server thread exited during start"))??;
    Ok(BlockingServer {
        base_url: ready.base_url,
        local_addr: ready.local_addr,
        ca_pem: ready.ca_pem,
        admin_token: ready.admin_token,
        control: ready.control,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

impl BlockingServer {
    /// See [`crate::RunningServer::base_url`].
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// See [`crate::RunningServer::ca_pem`].
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// See [`crate::RunningServer::write_ca_pem`].
    pub fn write_ca_pem(&self, path: impl AsRef<Path>) -> io::Result<()> {
        write_ca(self.ca_pem(), path.as_ref())
    }

    /// The admin token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.control.counters()
    }

    /// The in-process twin of the admin API.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Shuts the server down and joins its thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BlockingServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
