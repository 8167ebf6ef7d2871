//! `synapse-auth token`, `verify` and `demo` as a user runs them.

use std::process::{Command, Output};
use synapse_reference_server::{DEV_CLIENT_ID, DEV_CLIENT_SECRET, ServerConfig, start_blocking};

fn synapse_auth(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_synapse-auth"));
    cmd.args(args).env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("SYNAPSE_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("synapse-auth runs")
}

#[test]
fn token_prints_a_jwt_that_verify_accepts_and_bad_input_is_explained() {
    let server = start_blocking(ServerConfig::dev()).unwrap();
    let ca = std::env::temp_dir().join(format!("synapse-cli-ca-{}.pem", std::process::id()));
    server.write_ca_pem(&ca).unwrap();
    let ca = ca.to_str().unwrap();
    let env = [
        ("SYNAPSE_BASE_URL", server.base_url()),
        ("SYNAPSE_CA_FILE", ca),
        ("SYNAPSE_CLIENT_ID", DEV_CLIENT_ID),
        ("SYNAPSE_CLIENT_SECRET", DEV_CLIENT_SECRET),
        ("SYNAPSE_SCOPES", "inference"),
    ];
    let out = synapse_auth(&["token"], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(token.split('.').count(), 3, "a JWT");

    let out = synapse_auth(&["verify", &token], &env[..2]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let claims: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims["sub"], DEV_CLIENT_ID);

    let out = synapse_auth(&["verify", "--require-scopes", "training", &token], &env[..2]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[invalid_token]") && err.contains("training"), "{err}");

    let out = synapse_auth(&["token"], &[("SYNAPSE_CLIENT_ID", "x")]);
    assert_eq!(out.status.code(), Some(2), "config errors exit 2");
    assert!(String::from_utf8_lossy(&out.stderr).contains("client_secret"));

    let mut wrong = env.to_vec();
    wrong[3] = ("SYNAPSE_CLIENT_SECRET", "not-the-secret");
    let out = synapse_auth(&["token"], &wrong);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[invalid_credentials]") && !err.contains("not-the-secret"), "{err}");
}

#[test]
fn demo_walks_the_lifecycle() {
    let out = synapse_auth(&["demo", "--short-ttl", "4"], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "HTTP 200",
        "HTTP 202",
        "insufficient_scope",
        "rate_limited",
        "refresh grants: 0 -> 1",
        "background refresh landed",
        "done.",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in\n{stdout}");
    }
    assert!(!stdout.contains(DEV_CLIENT_SECRET));
}
