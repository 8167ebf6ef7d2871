//! Shared helpers for the reference server's integration tests.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::HeaderMap;
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use synapse_reference_server::{DEV_API_KEY, DEV_CLIENT_ID, DEV_CLIENT_SECRET, RunningServer, ServerConfig, start};

/// A started server and an HTTP client that trusts its CA.
pub struct Harness {
    pub server: RunningServer,
    pub http: Client,
}

/// Installs the aws-lc-rs provider for reqwest (it is built without one).
pub fn install_crypto() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A client trusting `server`'s CA (if any), no proxy.
pub fn client_for(server: &RunningServer) -> Client {
    client_builder(server).build().unwrap()
}

/// A client builder trusting `server`'s CA.
pub fn client_builder(server: &RunningServer) -> reqwest::ClientBuilder {
    install_crypto();
    let mut b = Client::builder().no_proxy().tls_built_in_root_certs(false);
    if let Some(pem) = server.ca_pem() {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    b
}

/// Starts the dev configuration.
pub async fn start_dev() -> Harness {
    start_with(|_| {}).await
}

/// Starts the dev configuration changed by `f`.
pub async fn start_with(f: impl FnOnce(&mut ServerConfig)) -> Harness {
    let mut config = ServerConfig::dev();
    f(&mut config);
    let server = start(config).await.expect("server starts");
    let http = client_for(&server);
    Harness { server, http }
}

/// Status, headers and JSON body (Null when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: bytes::Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

pub async fn reply(resp: Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let raw = resp.bytes().await.unwrap();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    Reply { status, headers, body, raw }
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.base_url(), path)
    }

    /// POST /oauth2/token with a form body.
    pub async fn token_form(&self, form: &[(&str, &str)]) -> Reply {
        reply(self.http.post(self.url("/oauth2/token")).form(form).send().await.unwrap()).await
    }

    /// A client_credentials grant with body authentication.
    pub async fn client_credentials(&self, id: &str, secret: &str, scope: Option<&str>) -> Reply {
        let mut form = vec![("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        self.token_form(&form).await
    }

    /// A successful dev-client token response.
    pub async fn dev_token(&self) -> Value {
        let r = self.client_credentials(DEV_CLIENT_ID, DEV_CLIENT_SECRET, None).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body
    }

    /// The dev client's access token.
    pub async fn dev_access_token(&self) -> String {
        self.dev_token().await["access_token"].as_str().unwrap().to_owned()
    }

    /// A refresh grant with body authentication.
    pub async fn refresh(&self, id: &str, secret: &str, token: &str, scope: Option<&str>) -> Reply {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("client_id", id),
            ("client_secret", secret),
            ("refresh_token", token),
        ];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        self.token_form(&form).await
    }

    /// GET /v1/models with a bearer token.
    pub async fn models_with_bearer(&self, token: &str) -> Reply {
        reply(self.http.get(self.url("/v1/models")).bearer_auth(token).send().await.unwrap()).await
    }

    /// POST /v1/data/stream with an API key and a JSON body.
    pub async fn stream_with_key(&self, key: &str, body: &str) -> Reply {
        reply(
            self.http
                .post(self.url("/v1/data/stream"))
                .header("X-API-Key", key)
                .header("Content-Type", "application/json")
                .body(body.to_owned())
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// A request to an admin route with the admin token.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).header("X-Admin-Token", self.server.admin_token())
    }

    /// A quick successful API call with the dev API key.
    pub async fn dev_key_models(&self) -> Reply {
        reply(self.http.get(self.url("/v1/models")).header("X-API-Key", DEV_API_KEY).send().await.unwrap()).await
    }
}

/// The decoded header and claims of a JWT (no verification).
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts");
    let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    (header, claims)
}

/// Rebuilds a token with its header or claims changed, keeping the signature.
pub fn tamper(token: &str, part: usize, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut obj: serde_json::Map<String, Value> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[part]).unwrap()).unwrap();
    f(&mut obj);
    parts[part] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&obj).unwrap());
    parts.join(".")
}
