//! JWT verification with keys parsed once: `Verifier::from_jwks` over the JWKS of an
//! in-process reference server signing with the requested algorithm, on a token it
//! minted (`control().mint_access_token`). Claims checked as in production: exp,
//! iss, aud. Criterion; bench/run.sh runs `openssl speed` around it on the same core.

use crate::util::{Opts, criterion, criterion_median_ns, emit, result};
use futures::FutureExt;
use serde_json::json;
use std::hint::black_box;
use synapse_auth_core::{JwtConfig, Verifier, runtime};
use synapse_reference_server::{DEV_CLIENT_ID, ServerConfig, SigningAlg, start_blocking};

pub fn run(opts: &Opts) -> Result<(), String> {
    let alg: SigningAlg = opts.get("alg").unwrap_or("RS256").parse()?;
    let server = start_blocking(ServerConfig { signing_alg: alg, ..ServerConfig::dev() }).map_err(|e| e.to_string())?;
    let token = server.control().mint_access_token(DEV_CLIENT_ID, "inference training").map_err(|e| e.to_string())?;
    let jwks = fetch_jwks(server.base_url(), server.ca_pem().unwrap_or_default())?;
    let config = JwtConfig {
        algorithms: vec![alg.as_str().to_string()],
        issuer: Some(server.control().issuer().to_string()),
        audience: Some(server.control().audience().to_string()),
        ..JwtConfig::default()
    };
    let verifier = Verifier::from_jwks(&jwks, config).map_err(|e| e.to_string())?;
    // The fixed key set never needs I/O, so the future is ready at its first poll.
    let verify = |t: &str| verifier.verify(t).now_or_never().expect("from_jwks verify never waits");
    let claims = verify(&token).map_err(|e| format!("the minted token does not verify: {e}"))?;
    if claims.subject() != Some(DEV_CLIENT_ID) {
        return Err(format!("unexpected sub {:?}", claims.subject()));
    }
    let dir = opts.criterion_dir();
    let id = format!("rust_verify_{}_{}", alg.as_str().to_ascii_lowercase(), opts.get("rep").unwrap_or("0"));
    let mut c = criterion(&dir, opts.num("secs", 2.0));
    c.bench_function(&id, |b| b.iter(|| black_box(verify(black_box(&token)).is_ok())));
    let ns = criterion_median_ns(&dir, &id)?;
    // `--openssl-per-s`: what `openssl speed` measured just before, on the same core.
    let mut fields = json!({"ours_ns": ns, "ours_per_s": 1e9 / ns, "token_bytes": token.len()});
    if let Some(peer) = opts.get("openssl-per-s").and_then(|v| v.parse::<f64>().ok()) {
        fields["peer_per_s"] = json!(peer);
        fields["ratio"] = json!(peer / (1e9 / ns));
    }
    emit(result(&format!("rust_verify_{}", alg.as_str().to_ascii_lowercase()), fields));
    server.shutdown();
    Ok(())
}

fn fetch_jwks(base_url: &str, ca_pem: &str) -> Result<Vec<u8>, String> {
    crate::util::install_crypto_provider();
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).map_err(|e| e.to_string())?;
    let http =
        reqwest::Client::builder().use_rustls_tls().add_root_certificate(ca).build().map_err(|e| e.to_string())?;
    let url = format!("{base_url}/.well-known/jwks.json");
    runtime::block_on(async move {
        let resp = http.get(url).send().await.map_err(|e| e.to_string())?;
        resp.bytes().await.map(|b| b.to_vec()).map_err(|e| e.to_string())
    })
}
