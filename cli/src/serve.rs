//! `synapse-auth serve`: runs the reference server as a process.
//!
//! With `--json` it prints exactly one JSON line to stdout once the server
//! accepts connections, for test harnesses in any language:
//!
//! ```json
//! {"base_url":"https://127.0.0.1:PORT","ca_pem_path":"/tmp/...pem","admin_token":"...",
//!  "issuer":"...","audience":"...","token_url":"...","jwks_url":"...","pid":123,
//!  "clients":[{"client_id":"...","client_secret":"...","scopes":["..."],"issue_refresh_token":true}],
//!  "api_keys":[{"key":"sk_live_...","scopes":["..."]}]}
//! ```
//!
//! `ca_pem_path` is `null` with `--plain-http`. The server runs until SIGINT,
//! SIGTERM, or (with `--exit-on-stdin-close`) until its stdin reaches EOF, so
//! a harness that dies never leaks a server.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use synapse_reference_server::{RunningServer, ServerConfig, SigningAlg, start};

/// Default listen address without `--addr` and without `--config`.
const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8443);

/// Options of `synapse-auth serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port
    /// [default: 127.0.0.1:8443, or the `bind` of --config]
    #[arg(long, value_name = "ADDR")]
    pub addr: Option<SocketAddr>,

    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    pub plain_http: bool,

    /// Where to write the CA certificate (PEM) that clients must trust
    /// [default: a file in the temp dir, removed on exit]
    #[arg(long, value_name = "PATH")]
    pub ca_out: Option<PathBuf>,

    /// JSON server configuration (fields left out keep their dev values)
    /// [default: the built-in dev configuration]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Access-token lifetime in seconds.
    #[arg(long, value_name = "SECS")]
    pub token_ttl: Option<u64>,

    /// Access-token signing algorithm: RS256, PS256, ES256 or EdDSA.
    #[arg(long, value_name = "ALG")]
    pub signing_alg: Option<SigningAlg>,

    /// Rotate the signing key every SECS seconds (the previous key stays published).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub key_rotation: Option<u64>,

    /// Print exactly one JSON line describing the server, instead of the banner.
    #[arg(long)]
    pub json: bool,

    /// Exit when stdin reaches end of file (for harnesses that hold a pipe).
    #[arg(long)]
    pub exit_on_stdin_close: bool,
}

/// Runs the server until it is told to stop.
pub fn run(args: ServeArgs) -> ExitCode {
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synapse-auth serve: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The configuration from `--config` (or dev) with the flags applied.
fn build_config(args: &ServeArgs) -> Result<ServerConfig, String> {
    let mut config = match &args.config {
        Some(path) => ServerConfig::from_file(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => {
            let mut c = ServerConfig::dev();
            c.bind = DEFAULT_ADDR;
            c
        }
    };
    if let Some(addr) = args.addr {
        config.bind = addr;
    }
    if args.plain_http {
        config.tls = false;
    }
    if let Some(secs) = args.token_ttl {
        config.token_ttl = Duration::from_secs(secs);
    }
    if let Some(alg) = args.signing_alg {
        config.signing_alg = alg;
    }
    if let Some(secs) = args.key_rotation {
        config.key_rotation_interval = Some(Duration::from_secs(secs));
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let config = build_config(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let bind = config.bind;
        let server = start(config.clone()).await.map_err(|e| format!("cannot start the server on {bind}: {e}"))?;
        let ca_path = match (server.ca_pem(), &args.ca_out) {
            (None, _) => None,
            (Some(_), Some(path)) => Some((path.clone(), false)),
            (Some(_), None) => {
                let name = format!("synapse-reference-ca-{}-{}.pem", server.local_addr().port(), std::process::id());
                Some((std::env::temp_dir().join(name), true))
            }
        };
        if let Some((path, _)) = &ca_path {
            server.write_ca_pem(path).map_err(|e| format!("cannot write the CA to {}: {e}", path.display()))?;
        }
        let ca = ca_path.as_ref().map(|(p, _)| p.display().to_string());
        let announcement = if args.json {
            json_line(&server, &config, ca.as_deref())
        } else {
            banner(&server, &config, ca.as_deref())
        };
        let mut stdout = std::io::stdout().lock();
        // A closed stdout must not kill the server: ignore write errors.
        let _ = writeln!(stdout, "{announcement}");
        let _ = stdout.flush();
        drop(stdout);

        let why = wait_for_stop(args.exit_on_stdin_close).await;
        tracing::info!("stopping: {why}");
        server.shutdown().await;
        if let Some((path, true)) = &ca_path {
            let _ = std::fs::remove_file(path);
        }
        Ok(())
    })
}

/// The one-line JSON description for harnesses.
fn json_line(server: &RunningServer, config: &ServerConfig, ca: Option<&str>) -> String {
    let base = server.base_url();
    let clients: Vec<_> = config
        .clients
        .iter()
        .map(|c| {
            json!({
                "client_id": c.client_id,
                "client_secret": c.client_secret,
                "scopes": c.allowed_scopes,
                "issue_refresh_token": c.issue_refresh_token,
            })
        })
        .collect();
    let api_keys: Vec<_> = config.api_keys.iter().map(|k| json!({ "key": k.key, "scopes": k.scopes })).collect();
    json!({
        "base_url": base,
        "ca_pem_path": ca,
        "admin_token": server.admin_token(),
        "issuer": server.control().issuer(),
        "audience": server.control().audience(),
        "token_url": format!("{base}/oauth2/token"),
        "jwks_url": format!("{base}/.well-known/jwks.json"),
        "pid": std::process::id(),
        "clients": clients,
        "api_keys": api_keys,
    })
    .to_string()
}

/// The human-readable banner with example curl commands.
fn banner(server: &RunningServer, config: &ServerConfig, ca: Option<&str>) -> String {
    use std::fmt::Write as _;
    let base = server.base_url();
    let cacert = ca.map(|p| format!("--cacert {p} ")).unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(out, "SynapseStream reference auth server (for tests and demos only)");
    let _ = writeln!(out, "  base URL     {base}");
    if let Some(ca) = ca {
        let _ = writeln!(out, "  CA cert      {ca}");
    } else {
        let _ = writeln!(out, "  TLS          off (plain HTTP)");
    }
    let _ = writeln!(out, "  token URL    {base}/oauth2/token");
    let _ = writeln!(out, "  JWKS         {base}/.well-known/jwks.json");
    let _ = writeln!(out, "  signing      {}, tokens live {} s", config.signing_alg, config.token_ttl.as_secs());
    let _ = writeln!(out, "  admin token  {} (header X-Admin-Token)", server.admin_token());
    let _ = writeln!(out, "\nClients (client_id / client_secret):");
    for c in &config.clients {
        let refresh = if c.issue_refresh_token { "" } else { ", no refresh tokens" };
        let _ =
            writeln!(out, "  {} / {}   scopes: {}{refresh}", c.client_id, c.client_secret, c.allowed_scopes.join(" "));
    }
    let _ = writeln!(out, "API keys:");
    for k in &config.api_keys {
        let _ = writeln!(out, "  {}   scopes: {}", k.key, k.scopes.join(" "));
    }
    if let Some(client) = config.clients.first() {
        let _ = writeln!(out, "\nTry:");
        let _ = writeln!(
            out,
            "  curl {cacert}-X POST \"{base}/oauth2/token\" \\\n       -H \"Content-Type: application/x-www-form-urlencoded\" \\\n       -d \"grant_type=client_credentials\" -d \"client_id={}\" \\\n       -d \"client_secret={}\" -d \"scope={}\"",
            client.client_id,
            client.client_secret,
            client.allowed_scopes.join("%20")
        );
        let _ = writeln!(out, "  curl {cacert}\"{base}/v1/models\" -H \"Authorization: Bearer $ACCESS_TOKEN\"");
    }
    let key = config.api_keys.iter().find(|k| k.scopes.iter().any(|s| s == "training")).or(config.api_keys.first());
    if let Some(key) = key {
        let _ = writeln!(
            out,
            "  curl {cacert}-X POST \"{base}/v1/data/stream\" -H \"X-API-Key: {}\" \\\n       -H \"Content-Type: application/json\" -d '{{\"stream_id\": \"nn-435X\", \"data\": [1, 2, 3]}}'",
            key.key
        );
    }
    let _ = writeln!(out, "  curl {cacert}\"{base}/admin/counters\" -H \"X-Admin-Token: {}\"", server.admin_token());
    let _ = write!(out, "\nPress Ctrl-C to stop.");
    out
}

/// Waits for SIGINT, SIGTERM, or (if asked) EOF on stdin; returns which.
async fn wait_for_stop(exit_on_stdin_close: bool) -> &'static str {
    let stdin_closed = async {
        if !exit_on_stdin_close {
            return std::future::pending().await;
        }
        // A plain thread: blocking reads on stdin are not cancellable anyway,
        // and the process exits right after.
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let spawned = std::thread::Builder::new().name("stdin-watch".into()).spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stdin = std::io::stdin().lock();
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(());
        });
        if spawned.is_ok() {
            let _ = rx.await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = sigterm() => "SIGTERM",
        _ = stdin_closed => "stdin closed",
    }
}

#[cfg(unix)]
async fn sigterm() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn sigterm() {
    std::future::pending().await
}
