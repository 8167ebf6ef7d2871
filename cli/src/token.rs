//! `synapse-auth token`: prints an access token from the `SYNAPSE_*`
//! environment, for `curl -H "Authorization: Bearer $(synapse-auth token)"`.

use crate::report_error;
use std::process::ExitCode;
use synapse_auth_core::{BlockingClient, ConfigBuilder};

/// Options of `synapse-auth token`.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// Scopes to request instead of SYNAPSE_SCOPES (space- or comma-separated).
    #[arg(long)]
    pub scopes: Option<String>,
    /// Print a JSON object (token, token_type, expires_at, scopes) instead of the bare token.
    #[arg(long)]
    pub json: bool,
}

/// Runs the subcommand.
pub fn run(args: TokenArgs) -> ExitCode {
    let mut builder = ConfigBuilder::from_env();
    if let Some(scopes) = &args.scopes {
        builder = builder.scopes(synapse_auth_core::split_scopes(scopes));
    }
    let result = builder.build().and_then(BlockingClient::new).and_then(|c| c.get_token());
    match result {
        Ok(token) if args.json => {
            let expires_at =
                token.expires_at().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
            let out = serde_json::json!({
                "access_token": token.secret(),
                "token_type": token.token_type(),
                "expires_at": expires_at,
                "scopes": token.scopes(),
            });
            println!("{out}");
            ExitCode::SUCCESS
        }
        Ok(token) => {
            println!("{}", token.secret());
            ExitCode::SUCCESS
        }
        Err(e) => report_error(&e),
    }
}
