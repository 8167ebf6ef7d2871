//! Runs every shared scenario of `tests/scenarios/scenarios.json` against the
//! in-process reference server, through core's async API.

mod common;

use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use synapse_auth_core::{ApiRequest, Client, Config, Error, Token};

struct Harness {
    server: synapse_reference_server::RunningServer,
    admin: reqwest::Client,
}

impl Harness {
    async fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let url = format!("{}{}", self.server.base_url(), path);
        let mut req = self
            .admin
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
            .header("X-Admin-Token", self.server.admin_token());
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_string());
        }
        let resp = req.send().await.expect("admin call");
        assert!(resp.status().is_success(), "admin {method} {path}: {}", resp.status());
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null)
    }
}

fn secret_for(client_id: &str) -> &'static str {
    use synapse_reference_server as s;
    match client_id {
        s::DEV_CLIENT_ID => s::DEV_CLIENT_SECRET,
        s::DEV_INFERENCE_CLIENT_ID => s::DEV_INFERENCE_CLIENT_SECRET,
        s::DEV_NOREFRESH_CLIENT_ID => s::DEV_NOREFRESH_CLIENT_SECRET,
        other => panic!("unknown dev client {other}"),
    }
}

fn build_client(h: &Harness, spec: &Value) -> Client {
    let mut b = Config::builder().base_url(h.server.base_url()).extra_root_ca_pem(h.server.ca_pem().unwrap());
    match spec["auth"].as_str().unwrap() {
        "oauth" => {
            let id = spec["client_id"].as_str().unwrap();
            let secret = match spec["client_secret"].as_str().unwrap() {
                "$server" => secret_for(id),
                literal => literal,
            };
            b = b.client_id(id).client_secret(secret);
        }
        "api_key" => b = b.api_key(spec["api_key"].as_str().unwrap()),
        other => panic!("unknown auth {other}"),
    }
    if let Some(scopes) = spec["scopes"].as_array() {
        b = b.scopes(scopes.iter().map(|s| s.as_str().unwrap().to_string()));
    }
    if let Some(options) = spec["options"].as_object() {
        for (k, v) in options {
            b = b.set(k, v.as_str().unwrap()).unwrap();
        }
    }
    Client::new(b.build().unwrap()).unwrap()
}

fn check_error(what: &str, err: &Error, expect: &Value) {
    let code = expect["error"].as_str().unwrap_or_else(|| panic!("{what}: unexpected error {err}"));
    assert_eq!(err.code(), code, "{what}: {err}");
    if let Some(status) = expect["status"].as_u64() {
        assert_eq!(err.status(), Some(status as u16), "{what}: {err}");
    }
    if let Some(min) = expect["retry_after_min"].as_f64() {
        let ra = err.retry_after().unwrap_or_else(|| panic!("{what}: no retry_after on {err}"));
        assert!(ra.as_secs_f64() >= min, "{what}: retry_after {ra:?} < {min}");
    }
}

async fn run_scenario(h: &Harness, scenario: &Value) {
    let name = scenario["name"].as_str().unwrap();
    h.admin("POST", "/admin/reset", None).await;
    let ttl = scenario["server"]["token_ttl_secs"].as_u64().unwrap_or(3600);
    h.admin("POST", "/admin/config", Some(&serde_json::json!({"token_ttl_secs": ttl}))).await;
    let client = build_client(h, &scenario["client"]);
    let mut last: Option<Arc<Token>> = None;
    let mut remembered: Option<String> = None;
    for (i, step) in scenario["steps"].as_array().unwrap().iter().enumerate() {
        let what = format!("{name} step {i} ({})", step["op"]);
        let expect = &step["expect"];
        match step["op"].as_str().unwrap() {
            "get_token" => match client.get_token().await {
                Ok(token) => {
                    assert_eq!(expect["ok"], true, "{what}: expected an error, got a token");
                    if let Some(scopes) = expect["scopes_include"].as_array() {
                        for s in scopes {
                            assert!(token.scopes().iter().any(|g| g == s.as_str().unwrap()), "{what}: scope {s}");
                        }
                    }
                    if let Some(same) = expect["same_token"].as_bool() {
                        let prev = last.as_ref().expect("a previous token").secret().to_string();
                        assert_eq!(prev == token.secret(), same, "{what}: same_token");
                    }
                    last = Some(token);
                }
                Err(e) => check_error(&what, &e, expect),
            },
            "concurrent_get_token" => {
                let count = step["count"].as_u64().unwrap() as usize;
                let tasks: Vec<_> = (0..count)
                    .map(|_| {
                        let c = client.clone();
                        tokio::spawn(async move { c.get_token().await })
                    })
                    .collect();
                for t in tasks {
                    let r = t.await.unwrap();
                    assert_eq!(expect["ok"], true);
                    last = Some(r.unwrap_or_else(|e| panic!("{what}: {e}")));
                }
            }
            "request" => {
                let mut req = ApiRequest::new(step["method"].as_str().unwrap(), step["path"].as_str().unwrap());
                if !step["json"].is_null() {
                    req = req.json(&step["json"]);
                }
                match client.request(req).await {
                    Ok(resp) => {
                        let status = expect["status"].as_u64().unwrap_or_else(|| panic!("{what}: expected an error"));
                        assert_eq!(resp.status as u64, status, "{what}");
                    }
                    Err(e) => check_error(&what, &e, expect),
                }
            }
            "verify" => {
                let token = match step["token"].as_str().unwrap() {
                    "$current" => last.as_ref().unwrap().secret().to_string(),
                    "$remembered" => remembered.clone().unwrap(),
                    literal => literal.to_string(),
                };
                match client.verify(&token).await {
                    Ok(claims) => {
                        assert_eq!(expect["ok"], true, "{what}: expected an error");
                        if let Some(sub) = expect["sub"].as_str() {
                            assert_eq!(claims.subject(), Some(sub), "{what}");
                        }
                    }
                    Err(e) => check_error(&what, &e, expect),
                }
            }
            "remember_token" => remembered = Some(last.as_ref().unwrap().secret().to_string()),
            "invalidate" => client.invalidate(),
            "sleep" => tokio::time::sleep(Duration::from_millis(step["ms"].as_u64().unwrap())).await,
            "admin" => {
                let body = if step["body"].is_null() { None } else { Some(&step["body"]) };
                h.admin(step["method"].as_str().unwrap(), step["path"].as_str().unwrap(), body).await;
            }
            "expect_counters" => {
                let counters = h.admin("GET", "/admin/counters", None).await;
                let tr = &counters["token_requests"];
                for (field, actual) in [
                    ("token_requests", &tr["total"]),
                    ("refresh_grants", &tr["by_grant"]["refresh_token"]),
                    ("client_credentials_grants", &tr["by_grant"]["client_credentials"]),
                ] {
                    if let Some(expected) = step[field].as_u64() {
                        assert_eq!(actual.as_u64().unwrap_or(0), expected, "{what}: {field} in {counters}");
                    }
                }
            }
            other => panic!("{what}: unknown op {other}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_shared_scenario_passes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/scenarios/scenarios.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let server = common::server().await;
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let admin = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(server.ca_pem().unwrap().as_bytes()).unwrap())
        .build()
        .unwrap();
    let h = Harness { server, admin };
    let scenarios = doc["scenarios"].as_array().unwrap();
    assert!(scenarios.len() >= 15);
    for scenario in scenarios {
        eprintln!("scenario {}", scenario["name"]);
        run_scenario(&h, scenario).await;
    }
}
