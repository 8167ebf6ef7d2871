//! One accepted TCP connection: optional TLS handshake, HTTP/1.1 or HTTP/2
//! (hyper-util auto), the axum router as service, graceful shutdown, and the
//! connection abort (RST) used by the `reset_next` fault.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tower::Service as _;

/// Facts about the connection a request came in on; in every request's extensions.
#[derive(Clone)]
pub(crate) struct ConnInfo {
    peer: SocketAddr,
    abort: Arc<Notify>,
}

impl ConnInfo {
    /// The peer's IP address (IPv4-mapped IPv6 addresses as IPv4).
    pub(crate) fn peer_ip(&self) -> IpAddr {
        self.peer.ip().to_canonical()
    }

    /// Aborts the connection: SO_LINGER 0 and close, so the peer sees a RST
    /// and no response. Handlers calling this should then call
    /// [`ConnInfo::wait_for_abort`].
    pub(crate) fn abort(&self) {
        self.abort.notify_one();
    }

    /// Waits long enough for the abort to take effect. Over HTTP/1 the handler
    /// is dropped with the connection; over HTTP/2 streams run in their own
    /// tasks, so this returns after a while instead of leaking the task.
    pub(crate) async fn wait_for_abort(&self) {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// A plain or TLS stream.
enum MaybeTls {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for MaybeTls {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTls::Plain(s) => s.is_write_vectored(),
            MaybeTls::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one connection until it closes, is aborted, or the server shuts
/// down (graceful: in-flight requests finish, idle connections close).
pub(crate) async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    // A second descriptor of the same socket, kept to set SO_LINGER 0 when
    // the connection must be aborted while hyper owns the stream.
    let (tcp, linger_handle) = match split_handle(tcp) {
        Ok(pair) => pair,
        Err(e) => {
            tracing::debug!(%peer, "cannot duplicate socket: {e}");
            return;
        }
    };
    let io = match tls {
        None => MaybeTls::Plain(tcp),
        Some(acceptor) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => MaybeTls::Tls(Box::new(stream)),
            Ok(Err(e)) => {
                tracing::debug!(%peer, "TLS handshake failed: {e}");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        },
    };

    let abort = Arc::new(Notify::new());
    let info = ConnInfo { peer, abort: abort.clone() };
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(info.clone());
        let mut router = router.clone();
        async move { router.call(req).await }
    });

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(30));
    // Allow many concurrent streams so that "N concurrent callers" tests
    // really reach the handlers concurrently over one HTTP/2 connection.
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(1024);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut draining = *shutdown.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(%peer, "connection error: {e}");
                }
                break;
            }
            _ = abort.notified() => {
                if let Err(e) = socket2::SockRef::from(&linger_handle).set_linger(Some(Duration::ZERO)) {
                    tracing::warn!(%peer, "cannot set SO_LINGER: {e}");
                }
                tracing::debug!(%peer, "connection aborted by fault injection");
                break;
            }
            _ = shutdown.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    // `conn` (and with it the stream) and `linger_handle` drop here; the last
    // close of an SO_LINGER-0 socket sends the RST.
}

/// Splits a tokio stream into itself and a duplicate std descriptor.
fn split_handle(tcp: TcpStream) -> io::Result<(TcpStream, std::net::TcpStream)> {
    let std = tcp.into_std()?;
    let dup = std.try_clone()?;
    Ok((TcpStream::from_std(std)?, dup))
}
