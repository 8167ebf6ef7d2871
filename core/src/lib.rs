//! # synapse-auth-core
//!
//! The token lifecycle engine of synapsestream-auth: credentials, access tokens,
//! refresh (ahead of expiry, single-flight, with refresh-token rotation),
//! retries, a circuit breaker, authenticated requests and JWT validation for
//! the SynapseStream API. Async inside (tokio, reqwest + rustls), with a
//! blocking facade; the Python, Node.js and C bindings are thin layers over it.
//!
//! ```no_run
//! # async fn run() -> Result<(), synapse_auth_core::Error> {
//! use synapse_auth_core::{ApiRequest, Client, Config};
//!
//! let client = Client::new(
//!     Config::builder()
//!         .client_id("my-client")
//!         .client_secret_file("/run/secrets/synapse_client_secret")
//!         .scopes(["inference"])
//!         .build()?,
//! )?;
//! let token = client.get_token().await?; // cached, refreshed ahead of expiry
//! let models = client.request(ApiRequest::get("/v1/models")).await?;
//! println!("{} {}", token.token_type(), models.text());
//! # Ok(()) }
//! ```

mod blocking;
mod circuit;
mod client;
mod clock;
mod config;
mod credentials;
mod error;
mod flight;
mod grant;
mod http;
pub mod jwt;
mod manager;
mod request;
mod retry;
pub mod runtime;
mod secret;
mod stats;
pub mod store;
mod token;

pub use blocking::BlockingClient;
pub use circuit::CircuitState;
pub use client::Client;
pub use config::{
    AuthMethod, CONFIG_KEYS, CircuitBreakerConfig, ClientAuthMethod, Config, ConfigBuilder, DEFAULT_BASE_URL,
    JwtConfig, RefreshPolicy, RetryPolicy, SecretSource, split_scopes,
};
pub use error::{Error, ErrorKind, Result};
pub use jwt::{Claims, Verifier};
pub use request::{ApiRequest, ApiResponse};
pub use retry::{is_retryable, parse_retry_after};
pub use secret::Secret;
pub use stats::Stats;
pub use store::TokenStore;
pub use token::{
    DEFAULT_EXPIRES_IN, ErrorBody, MAX_EXPIRES_IN, StoredToken, Token, TokenResponse, parse_error_body,
    parse_token_response,
};

/// The README's Rust examples, compiled as doc tests so they stay correct.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
