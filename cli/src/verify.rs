//! `synapse-auth verify <jwt>`: verifies a token against the JWKS named by the
//! `SYNAPSE_*` environment (or a JWKS file) and prints its claims, or the
//! reason it was rejected.

use crate::report_error;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use synapse_auth_core::{ConfigBuilder, JwtConfig, Verifier};

/// Options of `synapse-auth verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The JWT, or `-` to read it from stdin.
    pub jwt: String,
    /// Verify against this JWKS file instead of fetching SYNAPSE_JWKS_URL / SYNAPSE_BASE_URL.
    #[arg(long, value_name = "FILE")]
    pub jwks_file: Option<PathBuf>,
    /// Required `iss`.
    #[arg(long)]
    pub issuer: Option<String>,
    /// Required `aud`.
    #[arg(long)]
    pub audience: Option<String>,
    /// Accepted algorithms (comma-separated; default RS256).
    #[arg(long, default_value = "RS256")]
    pub algorithms: String,
    /// Scopes the token must carry (comma-separated).
    #[arg(long)]
    pub require_scopes: Option<String>,
}

/// Runs the subcommand.
pub fn run(args: VerifyArgs) -> ExitCode {
    let jwt = if args.jwt == "-" {
        let mut s = String::new();
        if std::io::stdin().read_to_string(&mut s).is_err() {
            eprintln!("error[config]: cannot read the token from stdin");
            return ExitCode::from(2);
        }
        s.trim().to_string()
    } else {
        args.jwt.clone()
    };
    let jwt_config = JwtConfig {
        issuer: args.issuer.clone(),
        audience: args.audience.clone(),
        algorithms: synapse_auth_core::split_scopes(&args.algorithms),
        required_scopes: args.require_scopes.as_deref().map(synapse_auth_core::split_scopes).unwrap_or_default(),
        ..JwtConfig::default()
    };
    let verifier = match &args.jwks_file {
        Some(path) => match std::fs::read(path) {
            Ok(jwks) => Verifier::from_jwks(&jwks, jwt_config),
            Err(e) => {
                eprintln!("error[config]: jwks_file: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => Verifier::from_builder(ConfigBuilder::from_env().jwt(jwt_config)),
    };
    let verifier = match verifier {
        Ok(v) => v,
        Err(e) => return report_error(&e),
    };
    match synapse_auth_core::runtime::block_on(async move { verifier.verify(&jwt).await }) {
        Ok(claims) => {
            let pretty = serde_json::to_string_pretty(claims.as_map()).unwrap_or_else(|_| claims.to_json());
            println!("{pretty}");
            ExitCode::SUCCESS
        }
        Err(e) => report_error(&e),
    }
}
