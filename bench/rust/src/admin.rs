//! The reference server's admin API (`X-Admin-Token`), over reqwest.

use crate::util::Server;
use serde_json::Value;

pub struct Admin {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    pub fn new(server: &Server) -> Result<Admin, String> {
        crate::util::install_crypto_provider();
        let ca = reqwest::Certificate::from_pem(server.ca_pem.as_bytes()).map_err(|e| e.to_string())?;
        let http =
            reqwest::Client::builder().use_rustls_tls().add_root_certificate(ca).build().map_err(|e| e.to_string())?;
        Ok(Admin { http, base: server.base_url.clone(), token: server.admin_token.clone() })
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).header("x-admin-token", &self.token);
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_string());
        }
        let resp = req.send().await.map_err(|e| format!("admin {path}: {e}"))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| format!("admin {path}: {e}"))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| format!("admin {path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("admin {path}: HTTP {status}: {value}"));
        }
        Ok(value)
    }

    pub async fn reset(&self) -> Result<(), String> {
        self.call(reqwest::Method::POST, "/admin/reset", None).await.map(drop)
    }

    pub async fn token_requests(&self) -> Result<u64, String> {
        let c = self.call(reqwest::Method::GET, "/admin/counters", None).await?;
        c["token_requests"]["total"].as_u64().ok_or_else(|| format!("no token_requests.total in {c}"))
    }

    pub async fn token_latency(&self, ms: u64) -> Result<(), String> {
        self.call(reqwest::Method::DELETE, "/admin/faults", None).await?;
        if ms > 0 {
            let spec = serde_json::json!({"target": "token", "latency_ms": ms});
            self.call(reqwest::Method::POST, "/admin/faults", Some(spec)).await?;
        }
        Ok(())
    }

    pub async fn token_ttl(&self, secs: u64) -> Result<(), String> {
        let body = serde_json::json!({"token_ttl_secs": secs});
        self.call(reqwest::Method::POST, "/admin/config", Some(body)).await.map(drop)
    }
}
