//! The one error type every binding maps: [`Error`] with a stable [`ErrorKind`] code.

use std::fmt;
use std::time::Duration;

/// What went wrong, as a stable code shared by every language binding.
///
/// The string codes (see [`ErrorKind::code`]) and the numeric codes
/// (see [`ErrorKind::number`]) are part of the public contract: never
/// renumber or reuse one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 401 / `invalid_client`: the client id, secret or API key was rejected.
    InvalidCredentials,
    /// 403: the token lacks a scope the call needs.
    InsufficientScope,
    /// 418: the access token has expired and a refresh did not help.
    TokenExpired,
    /// 429: rate limited; see [`Error::retry_after`].
    RateLimited,
    /// The circuit breaker is open after repeated authentication failures.
    CircuitOpen,
    /// Connect, TLS, timeout or connection reset.
    Transport,
    /// A malformed, oversize or unexpected response.
    Protocol,
    /// A bad configuration or argument.
    Config,
    /// A JWT failed validation.
    InvalidToken,
    /// Any other HTTP status from the API; see [`Error::status`] and [`Error::body`].
    Api,
}

impl ErrorKind {
    /// Every kind, in numeric order.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::InvalidCredentials,
        ErrorKind::InsufficientScope,
        ErrorKind::TokenExpired,
        ErrorKind::RateLimited,
        ErrorKind::CircuitOpen,
        ErrorKind::Transport,
        ErrorKind::Protocol,
        ErrorKind::Config,
        ErrorKind::InvalidToken,
        ErrorKind::Api,
    ];

    /// The stable string code, e.g. `"rate_limited"`.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidCredentials => "invalid_credentials",
            ErrorKind::InsufficientScope => "insufficient_scope",
            ErrorKind::TokenExpired => "token_expired",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::CircuitOpen => "circuit_open",
            ErrorKind::Transport => "transport",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Config => "config",
            ErrorKind::InvalidToken => "invalid_token",
            ErrorKind::Api => "api",
        }
    }

    /// The stable numeric code (used by the C API's result enum), never reused.
    pub const fn number(self) -> u32 {
        match self {
            ErrorKind::InvalidCredentials => 1,
            ErrorKind::InsufficientScope => 2,
            ErrorKind::TokenExpired => 3,
            ErrorKind::RateLimited => 4,
            ErrorKind::CircuitOpen => 5,
            ErrorKind::Transport => 6,
            ErrorKind::Protocol => 7,
            ErrorKind::Config => 8,
            ErrorKind::InvalidToken => 9,
            ErrorKind::Api => 10,
        }
    }

    /// Looks a kind up by its string code.
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// What the caller should do about it (the guide's Resolution column).
    pub const fn resolution(self) -> &'static str {
        match self {
            ErrorKind::InvalidCredentials => "verify the client id and secret, or the API key",
            ErrorKind::InsufficientScope => "request the appropriate OAuth scopes",
            ErrorKind::TokenExpired => "refresh the access token",
            ErrorKind::RateLimited => "back off and retry after the indicated delay",
            ErrorKind::CircuitOpen => "authentication keeps failing; fix the credentials or wait for the cool-down",
            ErrorKind::Transport => "check network connectivity, proxy and TLS settings",
            ErrorKind::Protocol => "the server sent an unexpected response; report it if it persists",
            ErrorKind::Config => "fix the named configuration field",
            ErrorKind::InvalidToken => "do not trust this token",
            ErrorKind::Api => "see the HTTP status and response body",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An error from any operation of this crate. Cheap to clone; never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    retry_after: Option<Duration>,
    required_scope: Option<String>,
    field: Option<&'static str>,
    body: Option<String>,
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a human-readable message (which must hold no secret).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            status: None,
            retry_after: None,
            required_scope: None,
            field: None,
            body: None,
        }
    }

    /// A configuration error naming the offending field.
    pub fn config(field: &'static str, message: impl fmt::Display) -> Self {
        let mut e = Error::new(ErrorKind::Config, format!("{field}: {message}"));
        e.field = Some(field);
        e
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    pub(crate) fn with_required_scope(mut self, scope: Option<String>) -> Self {
        self.required_scope = scope;
        self
    }

    pub(crate) fn with_body(mut self, body: Option<String>) -> Self {
        self.body = body;
        self
    }

    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable string code, e.g. `"insufficient_scope"`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The human-readable message, without the code.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status behind the error, when there was one.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// How long to wait before trying again (rate limits, open circuit).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The scope the server said was missing (`insufficient_scope`).
    pub fn required_scope(&self) -> Option<&str> {
        self.required_scope.as_deref()
    }

    /// The configuration field at fault (`config`).
    pub fn field(&self) -> Option<&'static str> {
        self.field
    }

    /// The response body of an `api` error (truncated to a few KiB).
    pub fn body(&self) -> Option<&str> {
        self.body.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        if let Some(ra) = self.retry_after {
            write!(f, " (retry after {:.3}s)", ra.as_secs_f64())?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_numbers_are_unique() {
        let mut numbers = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
            assert!(numbers.insert(kind.number()));
        }
    }

    #[test]
    fn display_carries_code_status_and_retry() {
        let e = Error::new(ErrorKind::RateLimited, "slow down")
            .with_status(429)
            .with_retry_after(Some(Duration::from_secs(2)));
        assert_eq!(e.to_string(), "rate_limited: slow down (HTTP 429) (retry after 2.000s)");
    }
}
