//! The HTTP transport: one reqwest client per runtime generation, TLS by rustls
//! with aws-lc-rs, bounded timeouts, size-limited bodies, and redirects that
//! never carry credentials to another host.

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::runtime;
use arc_swap::ArcSwapOption;
use reqwest::header::HeaderMap;
use std::sync::{Arc, Once};

static CRYPTO_PROVIDER: Once = Once::new();

/// Installs aws-lc-rs as rustls's process-wide provider (once; harmless if one exists).
pub(crate) fn install_crypto_provider() {
    CRYPTO_PROVIDER.call_once(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

/// A reqwest client rebuilt whenever the shared runtime is replaced (after fork),
/// since its pooled connections belong to the runtime that opened them.
pub(crate) struct Transport {
    config: Arc<Config>,
    client: ArcSwapOption<(u64, reqwest::Client)>,
}

impl Transport {
    /// Builds the transport, failing now (naming the field) on a bad CA or proxy.
    pub(crate) fn new(config: Arc<Config>) -> Result<Self> {
        install_crypto_provider();
        let transport = Transport { config, client: ArcSwapOption::empty() };
        let client = transport.build_client()?;
        transport.client.store(Some(Arc::new((runtime::generation(), client))));
        Ok(transport)
    }

    fn build_client(&self) -> Result<reqwest::Client> {
        let cfg = &self.config;
        let allowed_host = cfg.base_url.host_str().map(str::to_ascii_lowercase);
        let token_host = cfg.token_url.host_str().map(str::to_ascii_lowercase);
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            let host = attempt.url().host_str().map(str::to_ascii_lowercase);
            let same_origin = attempt
                .previous()
                .first()
                .map(|first| {
                    first.host_str().map(str::to_ascii_lowercase) == host && first.scheme() == attempt.url().scheme()
                })
                .unwrap_or(false);
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if same_origin && (host == allowed_host || host == token_host) {
                attempt.follow()
            } else {
                // Hand the 3xx back instead of sending credentials elsewhere.
                attempt.stop()
            }
        });
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .https_only(false)
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .redirect(redirect)
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .user_agent(concat!("synapsestream-auth/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &cfg.extra_root_ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| Error::config("ca_pem", format!("cannot parse the CA certificate: {e}")))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some(proxy) = &cfg.proxy {
            let proxy = reqwest::Proxy::all(proxy)
                .map_err(|e| Error::config("proxy", format!("invalid proxy: {e}")))?
                .no_proxy(reqwest::NoProxy::from_env());
            builder = builder.proxy(proxy);
        }
        builder.build().map_err(|e| Error::config("ca_pem", format!("cannot build the HTTP client: {e}")))
    }

    /// The client for the current runtime generation.
    pub(crate) fn client(&self) -> Result<reqwest::Client> {
        let generation = runtime::generation();
        if let Some(current) = self.client.load().as_ref()
            && current.0 == generation
        {
            return Ok(current.1.clone());
        }
        let client = self.build_client()?;
        let previous = self.client.swap(Some(Arc::new((generation, client.clone()))));
        if let Some(stale) = previous.filter(|p| p.0 != generation) {
            // A client from before a fork: its pooled connections wake tasks of the dead
            // runtime when dropped, which can block on a lock the parent held. Leak it,
            // as the dead runtime itself is leaked.
            std::mem::forget(stale);
        }
        Ok(client)
    }

    /// The configured response-size limit.
    pub(crate) fn max_body(&self) -> usize {
        self.config.max_response_bytes
    }
}

/// A response read in full, under the size limit.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// Maps a reqwest error to `transport` (or `protocol` for a broken body).
pub(crate) fn map_reqwest_error(e: &reqwest::Error, what: &str) -> Error {
    let detail = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else if e.is_decode() || e.is_body() {
        "the response body was cut off".to_string()
    } else {
        "the connection failed".to_string()
    };
    // reqwest's own text may hold the URL but never our headers or body; keep only its source chain.
    let mut source = String::new();
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(c) = cause {
        source = c.to_string();
        cause = c.source();
    }
    let message = if source.is_empty() { format!("{what}: {detail}") } else { format!("{what}: {detail} ({source})") };
    Error::new(ErrorKind::Transport, message)
}

/// Sends `request` and reads the body, refusing bodies over `max_body` bytes.
pub(crate) async fn send(request: reqwest::RequestBuilder, max_body: usize, what: &str) -> Result<HttpResponse> {
    let mut response = request.send().await.map_err(|e| map_reqwest_error(&e, what))?;
    let status = response.status().as_u16();
    if let Some(len) = response.content_length()
        && len > max_body as u64
    {
        return Err(Error::new(
            ErrorKind::Protocol,
            format!("{what}: response of {len} bytes exceeds the {max_body}-byte limit"),
        )
        .with_status(status));
    }
    let headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > max_body {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        format!("{what}: response exceeds the {max_body}-byte limit"),
                    )
                    .with_status(status));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(map_reqwest_error(&e, what)),
        }
    }
    Ok(HttpResponse { status, headers, body })
}
