//! `synapse-auth-bench`: the Rust rows of the benchmark suite (`bench/run.sh`).
//!
//! Each subcommand measures one thing and prints its results as JSON lines
//! starting with `@@ ` (everything else on stdout is criterion's own report):
//!
//! * `cached --server FILE`: `Client::cached_token()` and the hit path of
//!   `BlockingClient::get_token()` against a hand-rolled `RwLock<HashMap>` cache (criterion);
//! * `verify --server FILE --alg RS256|ES256`: `Verifier::from_jwks` over a token
//!   minted by that reference server (criterion); `bench/run.sh` runs `openssl speed`
//!   right before it on the same core;
//! * `requests --server FILE`: `Client::request` against bare reqwest with a static
//!   `Authorization` header, sequential and 32 concurrent, in interleaved rounds;
//! * `stampede --server FILE`: 1,000 concurrent `get_token()` callers at cold start
//!   and at expiry with the token endpoint slowed to 50 ms;
//! * `refresh-window --server FILE`: `get_token()` latency while a refresh happens.
//!
//! `FILE` holds the JSON line printed by `synapse-auth serve --json`.

mod admin;
mod cached;
mod hist;
mod requests;
mod stampede;
mod util;
mod verify;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        eprintln!("usage: synapse-auth-bench <cached|verify|requests|stampede|refresh-window> [options]");
        return ExitCode::from(2);
    };
    let opts = util::Opts::parse(&args[1..]);
    let outcome = match command.as_str() {
        "cached" => cached::run(&opts),
        "verify" => verify::run(&opts),
        "requests" => requests::run(&opts),
        "stampede" => stampede::run(&opts),
        "refresh-window" => stampede::refresh_window(&opts),
        other => Err(format!("unknown subcommand {other:?}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synapse-auth-bench {command}: {e}");
            ExitCode::FAILURE
        }
    }
}
