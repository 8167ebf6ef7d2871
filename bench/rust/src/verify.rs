//! JWT verification with keys parsed once: `Verifier::from_jwks` over the JWKS of a
//! reference server signing with RS256 or ES256 (`--server`, one of the two that
//! bench/run.sh starts), on an access token that server minted for the dev client.
//! Claims checked as in production: exp, iss, aud. Criterion; bench/run.sh runs
//! `openssl speed` right before it on the same core and passes its figure in.
//!
//! (The reference server runs as a process rather than in-process here so that this
//! crate does not link the server's HTTP stack: the bench then shares its compiled
//! dependencies with the bindings, which keeps a build from scratch short.)

use crate::util::{Opts, criterion, criterion_median_ns, emit, result};
use futures::FutureExt;
use serde_json::{Value, json};
use std::hint::black_box;
use synapse_auth_core::{JwtConfig, Verifier, runtime};

pub fn run(opts: &Opts) -> Result<(), String> {
    let server = opts.server()?;
    let alg = opts.get("alg").unwrap_or("RS256").to_string();
    let client = server.client()?;
    let (token, jwks) = runtime::block_on({
        let base = server.base_url.clone();
        let ca = server.ca_pem.clone();
        async move {
            let token = client.get_token().await.map_err(|e| e.to_string())?.secret().to_string();
            Ok::<_, String>((token, fetch(&base, "/.well-known/jwks.json", &ca).await?))
        }
    })?;
    let header: Value = serde_json::from_slice(&decode_segment(&token, 0)?).map_err(|e| e.to_string())?;
    if header["alg"].as_str() != Some(alg.as_str()) {
        return Err(format!("the server signs {} tokens, not {alg}", header["alg"]));
    }
    let claims: Value = serde_json::from_slice(&decode_segment(&token, 1)?).map_err(|e| e.to_string())?;
    let config = JwtConfig {
        algorithms: vec![alg.clone()],
        issuer: claims["iss"].as_str().map(str::to_string),
        audience: claims["aud"].as_str().map(str::to_string),
        ..JwtConfig::default()
    };
    let verifier = Verifier::from_jwks(&jwks, config).map_err(|e| e.to_string())?;
    // The fixed key set never needs I/O, so the future is ready at its first poll.
    let verify = |t: &str| verifier.verify(t).now_or_never().expect("from_jwks verify never waits");
    let checked = verify(&token).map_err(|e| format!("the server's token does not verify: {e}"))?;
    if checked.subject() != Some(server.client_id.as_str()) {
        return Err(format!("unexpected sub {:?}", checked.subject()));
    }
    let dir = opts.criterion_dir();
    let name = format!("rust_verify_{}", alg.to_ascii_lowercase());
    let id = format!("{name}_{}", opts.get("rep").unwrap_or("0"));
    let mut c = criterion(&dir, opts.num("secs", 2.0));
    c.bench_function(&id, |b| b.iter(|| black_box(verify(black_box(&token)).is_ok())));
    let ns = criterion_median_ns(&dir, &id)?;
    // `--openssl-per-s`: what `openssl speed` measured just before, on the same core.
    let mut fields = json!({"ours_ns": ns, "ours_per_s": 1e9 / ns, "token_bytes": token.len()});
    if let Some(peer) = opts.get("openssl-per-s").and_then(|v| v.parse::<f64>().ok()) {
        fields["peer_per_s"] = json!(peer);
        fields["ratio"] = json!(peer / (1e9 / ns));
    }
    emit(result(&name, fields));
    Ok(())
}

fn decode_segment(token: &str, index: usize) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let segment = token.split('.').nth(index).ok_or("not a JWS")?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(segment).map_err(|e| e.to_string())
}

async fn fetch(base_url: &str, path: &str, ca_pem: &str) -> Result<Vec<u8>, String> {
    crate::util::install_crypto_provider();
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).map_err(|e| e.to_string())?;
    let http =
        reqwest::Client::builder().use_rustls_tls().add_root_certificate(ca).build().map_err(|e| e.to_string())?;
    let resp = http.get(format!("{base_url}{path}")).send().await.map_err(|e| e.to_string())?;
    resp.bytes().await.map(|b| b.to_vec()).map_err(|e| e.to_string())
}
