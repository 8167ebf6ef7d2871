//! Options, the server description, criterion set-up and result lines.

use criterion::Criterion;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use synapse_auth_core::{Client, Config, ConfigBuilder};

/// `--key value` options.
pub struct Opts {
    pairs: Vec<(String, String)>,
}

impl Opts {
    pub fn parse(args: &[String]) -> Opts {
        let mut pairs = Vec::new();
        let mut it = args.iter();
        while let Some(key) = it.next() {
            if let Some(name) = key.strip_prefix("--") {
                pairs.push((name.to_string(), it.next().cloned().unwrap_or_default()));
            }
        }
        Opts { pairs }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn num(&self, name: &str, default: f64) -> f64 {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    /// Where criterion writes its estimates (`--out`, default `bench/out/criterion`).
    pub fn criterion_dir(&self) -> PathBuf {
        PathBuf::from(self.get("out").unwrap_or("bench/out")).join("criterion")
    }

    pub fn server(&self) -> Result<Server, String> {
        let path = self.get("server").ok_or("--server FILE is required")?;
        Server::load(Path::new(path))
    }
}

/// A reference server started by `bench/run.sh` (`synapse-auth serve --json`).
pub struct Server {
    pub base_url: String,
    pub ca_pem: String,
    pub admin_token: String,
    pub client_id: String,
    pub client_secret: String,
}

impl Server {
    fn load(path: &Path) -> Result<Server, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let v: Value = serde_json::from_str(text.lines().next().unwrap_or_default())
            .map_err(|e| format!("{} is not the server's JSON line: {e}", path.display()))?;
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let ca_path = s(&v["ca_pem_path"]);
        let ca_pem = std::fs::read_to_string(&ca_path).map_err(|e| format!("cannot read the CA {ca_path}: {e}"))?;
        // The first client is the dev client (inference training, refresh tokens).
        let client = &v["clients"][0];
        Ok(Server {
            base_url: s(&v["base_url"]),
            ca_pem,
            admin_token: s(&v["admin_token"]),
            client_id: s(&client["client_id"]),
            client_secret: s(&client["client_secret"]),
        })
    }

    pub fn builder(&self) -> ConfigBuilder {
        Config::builder()
            .client_id(self.client_id.clone())
            .client_secret(self.client_secret.clone())
            .scopes(["inference", "training"])
            .base_url(self.base_url.clone())
            .extra_root_ca_pem(self.ca_pem.clone())
    }

    pub fn client(&self) -> Result<Client, String> {
        Client::new(self.builder().build().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
    }
}

/// Criterion set for short, repeatable runs; estimates go to `dir`.
pub fn criterion(dir: &Path, measurement_secs: f64) -> Criterion {
    Criterion::default()
        .without_plots()
        .with_output_color(false)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs_f64(measurement_secs))
        .sample_size(40)
        .output_directory(dir)
}

/// The median (ns per iteration) criterion estimated for bench `id`.
pub fn criterion_median_ns(dir: &Path, id: &str) -> Result<f64, String> {
    let path = dir.join(id).join("new").join("estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    v["median"]["point_estimate"].as_f64().ok_or_else(|| format!("{}: no median", path.display()))
}

/// Prints one result line for bench/run.sh.
pub fn emit(value: Value) {
    println!("@@ {value}");
}

/// A result with the given id and fields.
pub fn result(id: &str, mut fields: Value) -> Value {
    fields["id"] = json!(id);
    fields
}

/// The median of `v` (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The `p` quantile (0..=1) of sorted `v` (nearest rank).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// aws-lc-rs as rustls's provider for the bare reqwest peer (core installs the same).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
