//! Starting and stopping the server: the listener, the accept loop, the
//! router, scheduled key rotation, and [`RunningServer`].

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::any;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::config::ServerConfig;
use crate::control::Control;
use crate::counters::Counters;
use crate::state::AppState;
use crate::{admin, api, connection, jwks, responses, tls, token_endpoint};

/// How long shutdown waits for in-flight requests before cutting connections.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A server started by [`start`]. Dropping it stops accepting connections and
/// closes the existing ones in the background; [`RunningServer::shutdown`]
/// does the same and waits for it.
pub struct RunningServer {
    base_url: String,
    local_addr: SocketAddr,
    ca_pem: Option<String>,
    admin_token: String,
    control: Control,
    shutdown: watch::Sender<bool>,
    accept_task: Option<JoinHandle<()>>,
    rotation_task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// `https://127.0.0.1:PORT` (or `http://`); unspecified bind addresses map to loopback.
fn base_url(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let host = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) if ip.is_unspecified() => format!("[{}]", Ipv6Addr::LOCALHOST),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    format!("{scheme}://{host}:{}", addr.port())
}

async fn not_found() -> Response {
    responses::api_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// The whole application.
fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/oauth2/token", any(token_endpoint::token_endpoint))
        .route("/.well-known/jwks.json", any(jwks::jwks))
        .merge(api::router(state.clone()))
        .merge(admin::router(state.clone()))
        .fallback(not_found)
        .with_state(state)
}

/// Binds `config.bind`, generates the signing key (and the CA and server
/// certificate when `config.tls`), and starts serving in the background on the
/// current tokio runtime. The server is ready when this returns.
///
/// Fails when the configuration is invalid (`InvalidInput`) or the address
/// cannot be bound.
pub async fn start(config: ServerConfig) -> io::Result<RunningServer> {
    config.validate()?;
    let listener = TcpListener::bind(config.bind).await?;
    let local_addr = listener.local_addr()?;
    let base_url = base_url(local_addr, config.tls);
    let issuer = if config.issuer.is_empty() { base_url.clone() } else { config.issuer.clone() };
    let rotation = config.key_rotation_interval;
    let admin_token = config.admin_token.clone();
    // Key and certificate generation is CPU work: keep it off the async threads.
    let (state, tls) = tokio::task::spawn_blocking(move || -> io::Result<_> {
        let state = AppState::new(&config, issuer)?;
        let tls = if config.tls { Some(tls::generate()?) } else { None };
        Ok((state, tls))
    })
    .await
    .map_err(io::Error::other)??;
    let state = Arc::new(state);
    let control = Control::new(state.clone());
    let (ca_pem, acceptor) = match tls {
        Some(t) => (Some(t.ca_pem), Some(t.acceptor)),
        None => (None, None),
    };

    let (shutdown, shutdown_rx) = watch::channel(false);
    let accept_task = tokio::spawn(accept_loop(listener, acceptor, router(state), shutdown_rx));
    let rotation_task = rotation.map(|interval| tokio::spawn(rotate_every(interval, control.clone())));
    tracing::info!(%base_url, "reference server listening");
    Ok(RunningServer {
        base_url,
        local_addr,
        ca_pem,
        admin_token,
        control,
        shutdown,
        accept_task: Some(accept_task),
        rotation_task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let conn_shutdown = shutdown.clone();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    conns.spawn(connection::serve(
                        tcp,
                        peer,
                        tls.clone(),
                        router.clone(),
                        conn_shutdown.clone(),
                    ));
                }
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
        conns.shutdown().await;
    }
}

async fn rotate_every(interval: Duration, control: Control) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let ctl = control.clone();
        match tokio::task::spawn_blocking(move || ctl.rotate_keys()).await {
            Ok(Ok(kid)) => tracing::info!(%kid, "signing key rotated on schedule"),
            other => tracing::warn!("scheduled key rotation failed: {other:?}"),
        }
    }
}

impl RunningServer {
    /// `https://127.0.0.1:PORT` (or `http://...` without TLS). Also the token issuer
    /// unless the configuration set one.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// PEM of the CA that signed the server certificate; `None` over plain HTTP.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Writes the CA PEM to `path`. `NotFound` over plain HTTP.
    pub fn write_ca_pem(&self, path: impl AsRef<Path>) -> io::Result<()> {
        write_ca(self.ca_pem(), path.as_ref())
    }

    /// The admin token (`X-Admin-Token`).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// A snapshot of the counters (same data as `GET /admin/counters`).
    pub fn counters(&self) -> Counters {
        self.control.counters()
    }

    /// The in-process twin of the admin API.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Stops accepting, lets in-flight requests finish (at most 5 s), closes
    /// every connection, and returns when all of that is done.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.rotation_task.take() {
            task.abort();
        }
        if let Some(task) = self.accept_task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.rotation_task.take() {
            task.abort();
        }
    }
}

/// Writes a CA PEM, or fails with `NotFound` when there is none.
pub(crate) fn write_ca(pem: Option<&str>, path: &Path) -> io::Result<()> {
    match pem {
        Some(pem) => std::fs::write(path, pem),
        None => Err(io::Error::new(io::ErrorKind::NotFound, "plain-HTTP server: there is no CA certificate")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(base_url("127.0.0.1:8443".parse().unwrap(), true), "https://127.0.0.1:8443");
        assert_eq!(base_url("0.0.0.0:80".parse().unwrap(), false), "http://127.0.0.1:80");
        assert_eq!(base_url("[::1]:9".parse().unwrap(), true), "https://[::1]:9");
        assert_eq!(base_url("[::]:9".parse().unwrap(), true), "https://[::1]:9");
    }
}
