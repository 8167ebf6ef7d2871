//! Token-endpoint requests: the client_credentials and refresh_token grants,
//! with retries, and the mapping of RFC 6749 §5.2 errors onto [`ErrorKind`].

use crate::config::{ClientAuthMethod, Config};
use crate::credentials::LiveSecret;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{self, Transport};
use crate::retry::{Backoff, parse_retry_after};
use crate::secret::Secret;
use crate::stats::Counters;
use crate::token::{TokenResponse, parse_error_body, parse_token_response};
use base64::Engine as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which grant to send.
pub(crate) enum Grant<'a> {
    /// `grant_type=client_credentials` for these scopes.
    ClientCredentials,
    /// `grant_type=refresh_token` with this refresh token.
    Refresh(&'a Secret),
}

/// A failed grant, keeping the OAuth error code for the refresh fallback.
pub(crate) struct GrantError {
    pub error: Error,
    pub oauth_error: Option<String>,
}

impl From<Error> for GrantError {
    fn from(error: Error) -> Self {
        GrantError { error, oauth_error: None }
    }
}

/// Talks to the token endpoint.
pub(crate) struct TokenEndpoint {
    pub config: Arc<Config>,
    pub transport: Arc<Transport>,
    pub counters: Arc<Counters>,
    pub client_secret: Arc<LiveSecret>,
}

/// The default wait after a 429 that carried no `Retry-After`.
pub(crate) const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);

impl TokenEndpoint {
    /// Sends `grant`, retrying 5xx and transport failures (a refresh grant only
    /// when the request cannot have reached the server, since it is not idempotent).
    /// Returns the response and the instant the successful request was sent.
    pub(crate) async fn request(
        &self,
        grant: &Grant<'_>,
        scopes: &[String],
    ) -> Result<(TokenResponse, Instant), GrantError> {
        let mut backoff = Backoff::new(&self.config.retry);
        let mut reread_secret = false;
        loop {
            let sent_at = Instant::now();
            match self.send_once(grant, scopes).await {
                Ok(response) => return Ok((response, sent_at)),
                Err(failure) => {
                    if failure.error.kind() == ErrorKind::InvalidCredentials
                        && !reread_secret
                        && self.client_secret.reload_if_changed()
                    {
                        reread_secret = true;
                        continue;
                    }
                    let resend_safe = matches!(grant, Grant::ClientCredentials)
                        || failure.error.message().contains("could not connect");
                    let delay = if failure.error.kind() == ErrorKind::RateLimited || !resend_safe {
                        None
                    } else {
                        backoff.next_delay(&failure.error)
                    };
                    match delay {
                        Some(delay) => {
                            Counters::bump(&self.counters.retries);
                            tracing::debug!(
                                code = failure.error.code(),
                                delay_ms = delay.as_millis() as u64,
                                "synapse-auth retrying the token request"
                            );
                            tokio::time::sleep(delay).await;
                        }
                        None => return Err(failure),
                    }
                }
            }
        }
    }

    async fn send_once(&self, grant: &Grant<'_>, scopes: &[String]) -> Result<TokenResponse, GrantError> {
        let cfg = &self.config;
        let client_id = cfg
            .client_id
            .as_deref()
            .ok_or_else(|| Error::config("client_id", "the token endpoint needs a client_id"))?;
        let secret = self
            .client_secret
            .get()
            .ok_or_else(|| Error::config("client_secret", "the token endpoint needs a client_secret"))?;
        let scope = scopes.join(" ");
        let mut form: Vec<(&str, &str)> = Vec::with_capacity(5);
        match grant {
            Grant::ClientCredentials => {
                form.push(("grant_type", "client_credentials"));
                if !scope.is_empty() {
                    form.push(("scope", &scope));
                }
            }
            Grant::Refresh(refresh_token) => {
                form.push(("grant_type", "refresh_token"));
                form.push(("refresh_token", refresh_token.expose()));
            }
        }
        let client = self.transport.client()?;
        let mut request = client.post(cfg.token_url.clone()).header(reqwest::header::ACCEPT, "application/json");
        match cfg.client_auth {
            ClientAuthMethod::Body => {
                form.push(("client_id", client_id));
                form.push(("client_secret", secret.expose()));
            }
            ClientAuthMethod::Basic => {
                let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let pair = format!("{}:{}", enc(client_id), enc(secret.expose()));
                let header = Secret::new(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)));
                let mut value = reqwest::header::HeaderValue::from_str(header.expose())
                    .map_err(|_| Error::config("client_secret", "cannot be sent in an HTTP header"))?;
                value.set_sensitive(true);
                request = request.header(reqwest::header::AUTHORIZATION, value);
            }
        }
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form.iter()).finish();
        let request = request
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(zeroize::Zeroizing::new(body).as_str().to_owned());
        Counters::bump(&self.counters.token_requests);
        if matches!(grant, Grant::Refresh(_)) {
            Counters::bump(&self.counters.refresh_grants);
        }
        let response = http::send(request, self.transport.max_body(), "token request").await?;
        if response.status == 200 {
            return parse_token_response(&response.body, scopes).map_err(GrantError::from);
        }
        Err(map_token_error(response.status, &response.headers, &response.body))
    }
}

/// Maps a token-endpoint failure (RFC 6749 §5.2) to our error kinds.
fn map_token_error(status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> GrantError {
    let parsed = parse_error_body(body);
    let oauth = parsed.error.clone().unwrap_or_default();
    let detail = match (&parsed.error, &parsed.description) {
        (Some(e), Some(d)) => format!(" ({e}: {d})"),
        (Some(e), None) => format!(" ({e})"),
        _ => String::new(),
    };
    let error = match (status, oauth.as_str()) {
        (429, _) | (_, "rate_limited") => Error::new(
            ErrorKind::RateLimited,
            format!("the token endpoint is rate limiting this client{detail}; {}", ErrorKind::RateLimited.resolution()),
        )
        .with_retry_after(Some(parse_retry_after(headers).unwrap_or(DEFAULT_RATE_LIMIT_WAIT))),
        (401, _) | (_, "invalid_client") | (_, "unauthorized_client") => Error::new(
            ErrorKind::InvalidCredentials,
            format!(
                "the token endpoint rejected the client credentials{detail}; {}",
                ErrorKind::InvalidCredentials.resolution()
            ),
        ),
        (_, "invalid_grant") => Error::new(
            ErrorKind::InvalidCredentials,
            format!("the token endpoint rejected the grant{detail}; {}", ErrorKind::InvalidCredentials.resolution()),
        ),
        (_, "invalid_scope") | (403, _) => Error::new(
            ErrorKind::InsufficientScope,
            format!(
                "the token endpoint refused the requested scopes{detail}; {}",
                ErrorKind::InsufficientScope.resolution()
            ),
        ),
        (s, _) if s >= 500 => Error::new(ErrorKind::Api, format!("the token endpoint failed with HTTP {s}{detail}")),
        (s, _) => Error::new(ErrorKind::Protocol, format!("the token endpoint answered HTTP {s}{detail}")),
    };
    GrantError { error: error.with_status(status), oauth_error: parsed.error }
}
