//! Runs the whole lifecycle with every tracing event of every crate captured at
//! TRACE level, then scans the logs, every error message and every `Debug`
//! output for every secret the suite used: none may appear.

mod common;

use futures::future::BoxFuture;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use synapse_auth_core::{ApiRequest, Client, Config, StoredToken, TokenStore};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Default)]
struct RecordingStore {
    refresh_tokens: Mutex<Vec<String>>,
}

impl TokenStore for RecordingStore {
    fn load<'a>(&'a self, _key: &'a str) -> BoxFuture<'a, synapse_auth_core::Result<Option<StoredToken>>> {
        Box::pin(async { Ok(None) })
    }
    fn save<'a>(&'a self, _key: &'a str, token: &'a StoredToken) -> BoxFuture<'a, synapse_auth_core::Result<()>> {
        Box::pin(async move {
            if let Some(r) = &token.refresh_token {
                self.refresh_tokens.lock().unwrap().push(r.clone());
            }
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_log_line_error_or_debug_output() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let server = common::server().await;
    server.control().set_token_ttl(Duration::from_secs(3));
    let store = Arc::new(RecordingStore::default());
    let client = Client::new(common::builder(&server).token_store(store.clone()).build().unwrap()).unwrap();
    let mut outputs = vec![format!("{client:?}"), format!("{:?}", client.config())];
    let mut tokens = Vec::new();

    let t = client.get_token().await.unwrap();
    outputs.push(format!("{t:?}"));
    tokens.push(t.secret().to_string());
    client.request(ApiRequest::get("/v1/models")).await.unwrap();
    outputs.push(format!("{:?}", client.verify(t.secret()).await.unwrap()));
    server.control().expire_tokens();
    client.request(ApiRequest::get("/v1/models")).await.unwrap();
    tokens.push(client.get_token().await.unwrap().secret().to_string());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    tokens.push(client.get_token().await.unwrap().secret().to_string());
    tokio::time::sleep(Duration::from_millis(600)).await;
    tokens.push(client.get_token().await.unwrap().secret().to_string());

    let bad_secret = "definitely-wrong-secret-771";
    let bad = Client::new(common::builder(&server).client_secret(bad_secret).build().unwrap()).unwrap();
    let e = bad.get_token().await.unwrap_err();
    outputs.push(e.to_string());
    outputs.push(format!("{e:?}"));
    let api_key = synapse_reference_server::DEV_API_KEY;
    let keyed = Client::new(
        Config::builder()
            .base_url(server.base_url())
            .extra_root_ca_pem(server.ca_pem().unwrap())
            .api_key(api_key)
            .build()
            .unwrap(),
    )
    .unwrap();
    keyed.request(ApiRequest::get("/v1/models")).await.unwrap();
    let wrong_key = "sk_live_wrongwrongwrong000000";
    keyed.set_api_key(wrong_key);
    let e = keyed.request(ApiRequest::get("/v1/models")).await.unwrap_err();
    outputs.push(e.to_string());
    outputs.push(format!("{e:?}"));
    let e = client.verify(&format!("{}x", tokens[0])).await.unwrap_err();
    outputs.push(e.to_string());

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("synapse-auth"), "the capture saw our events");
    let mut secrets: Vec<String> =
        vec![common::CLIENT_SECRET.into(), bad_secret.into(), api_key.into(), wrong_key.into()];
    secrets.extend(tokens);
    secrets.extend(store.refresh_tokens.lock().unwrap().iter().cloned());
    assert!(secrets.len() >= 8, "the suite used access and refresh tokens");
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret appeared in the logs");
        for out in &outputs {
            assert!(!out.contains(secret.as_str()), "a secret appeared in {out}");
        }
    }
}
