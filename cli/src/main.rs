//! `synapse-auth`: command-line tool for SynapseStream tokens, and the
//! embedded reference server.
//!
//! Each subcommand lives in its own module with its clap `Args` struct and a
//! `run(args) -> ExitCode` function; this file only wires them together.

mod serve;

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
}

/// Logs go to stderr (stdout is reserved for machine-readable output);
/// `RUST_LOG` overrides the default `warn`.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match cli.command {
        Command::Serve(args) => serve::run(args),
    }
}
