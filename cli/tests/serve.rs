//! `synapse-auth serve` as a process: the one JSON line, the CA file, flags,
//! and exiting when stdin closes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn spawn(args: &[&str]) -> (Child, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_synapse-auth"))
        .arg("serve")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn synapse-auth");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let info: Value =
        serde_json::from_str(line.trim_end()).unwrap_or_else(|e| panic!("not one JSON line ({e}): {line:?}"));
    (child, info)
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("server did not exit");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn http_get(base_url: &str, path: &str) -> String {
    let addr = base_url.trim_start_matches("http://");
    let mut tcp = TcpStream::connect(addr).unwrap();
    write!(tcp, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn json_line_describes_the_server_and_stdin_close_stops_it() {
    let (mut child, info) = spawn(&["--json", "--addr", "127.0.0.1:0", "--exit-on-stdin-close"]);
    let base = info["base_url"].as_str().unwrap();
    assert!(base.starts_with("https://127.0.0.1:"), "{info}");
    assert_ne!(base, "https://127.0.0.1:0");
    let ca = info["ca_pem_path"].as_str().unwrap().to_owned();
    let pem = std::fs::read_to_string(&ca).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(info["admin_token"], "admin-dev-token");
    assert_eq!(info["issuer"], base);
    let clients = info["clients"].as_array().unwrap();
    assert_eq!(clients[0]["client_id"], "synapse-dev-client");
    assert_eq!(clients[0]["client_secret"], "dev-secret-2f9c1e7a");
    assert_eq!(clients[0]["scopes"], serde_json::json!(["inference", "training"]));
    assert_eq!(clients[0]["issue_refresh_token"], true);
    assert_eq!(clients[2]["issue_refresh_token"], false);
    assert_eq!(info["api_keys"][0]["key"], "sk_live_1a2b3c4d5e6f7g8h9i0j");
    assert_eq!(info["api_keys"][1]["scopes"], serde_json::json!(["inference"]));
    // It listens.
    TcpStream::connect(base.trim_start_matches("https://")).unwrap();
    // Nothing else on stdout: the next read sees EOF once the server exits.
    drop(child.stdin.take());
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    child.stdout.take().unwrap().read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "exactly one line on stdout");
    // The default CA file is cleaned up.
    assert!(!std::path::Path::new(&ca).exists());
}

#[test]
fn flags_and_config_file_apply() {
    let dir = std::env::temp_dir();
    let config = dir.join(format!("serve-test-config-{}.json", std::process::id()));
    std::fs::write(
        &config,
        r#"{"clients": [{"client_id": "svc", "client_secret": "s", "allowed_scopes": ["inference"],
            "issue_refresh_token": false}], "admin_token": "adm"}"#,
    )
    .unwrap();
    let (mut child, info) = spawn(&[
        "--json",
        "--addr",
        "127.0.0.1:0",
        "--plain-http",
        "--config",
        config.to_str().unwrap(),
        "--token-ttl",
        "77",
        "--signing-alg",
        "EdDSA",
        "--exit-on-stdin-close",
    ]);
    std::fs::remove_file(&config).unwrap();
    let base = info["base_url"].as_str().unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{info}");
    assert!(info["ca_pem_path"].is_null());
    assert_eq!(info["admin_token"], "adm");
    assert_eq!(info["clients"].as_array().unwrap().len(), 1);
    assert_eq!(info["clients"][0]["issue_refresh_token"], false);
    let jwks = http_get(&base, "/.well-known/jwks.json");
    assert!(jwks.starts_with("HTTP/1.1 200"), "{jwks}");
    assert!(jwks.contains("\"alg\":\"EdDSA\""), "{jwks}");
    drop(child.stdin.take());
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
}

#[test]
fn ca_out_is_written_where_asked_and_kept() {
    let path = std::env::temp_dir().join(format!("serve-test-ca-{}.pem", std::process::id()));
    let (mut child, info) =
        spawn(&["--json", "--addr", "127.0.0.1:0", "--ca-out", path.to_str().unwrap(), "--exit-on-stdin-close"]);
    assert_eq!(info["ca_pem_path"], path.to_str().unwrap());
    drop(child.stdin.take());
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
    assert!(path.exists(), "an explicit --ca-out is the caller's file");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn bad_arguments_fail_fast() {
    let out = Command::new(env!("CARGO_BIN_EXE_synapse-auth"))
        .args(["serve", "--signing-alg", "HS256"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_synapse-auth"))
        .args(["serve", "--config", "/nonexistent/config.json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.json"));
}
