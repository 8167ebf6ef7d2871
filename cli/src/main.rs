//! `synapse-auth`: command-line tool for SynapseStream tokens, and the
//! embedded reference server.
//!
//! Each subcommand lives in its own module with its clap `Args` struct and a
//! `run(args) -> ExitCode` function; this file only wires them together.

mod demo;
mod serve;
mod token;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command-line tool for SynapseStream authentication.
#[derive(Debug, Parser)]
#[command(name = "synapse-auth", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the SynapseStream reference auth server (for tests, demos and benchmarks).
    Serve(serve::ServeArgs),
    /// Print an access token from the SYNAPSE_* environment.
    Token(token::TokenArgs),
    /// Verify a JWT against the JWKS and print its claims (or why it was rejected).
    Verify(verify::VerifyArgs),
    /// Walk the whole token lifecycle against an embedded reference server.
    Demo(demo::DemoArgs),
}

/// Prints an error as `error[code]: message` and picks the exit code:
/// 2 for configuration errors, 1 for everything else.
pub(crate) fn report_error(e: &synapse_auth_core::Error) -> ExitCode {
    eprintln!("error[{}]: {}", e.code(), e.message());
    if e.kind() == synapse_auth_core::ErrorKind::Config { ExitCode::from(2) } else { ExitCode::FAILURE }
}

/// Logs go to stderr (stdout is reserved for machine-readable output);
/// `RUST_LOG` overrides the default `warn`.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    use std::io::IsTerminal as _;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Token(args) => token::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Demo(args) => demo::run(args),
    }
}
