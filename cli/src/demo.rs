//! `synapse-auth demo`: the README's main job. Starts the reference server
//! embedded on a random loopback port and walks the whole token lifecycle as a
//! readable transcript. Secrets are never printed: tokens appear as their
//! verified claims and a short fingerprint.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use synapse_auth_core::{ApiRequest, BlockingClient, Config, Error, Token};
use synapse_reference_server as server;

/// Options of `synapse-auth demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Lifetime of the short-lived token used to show refresh-ahead, in seconds.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u64).range(3..=60))]
    pub short_ttl: u64,
}

/// A short, non-reversible fingerprint of a token, so the transcript can show
/// which token is which without printing it.
fn fingerprint(token: &Token) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.secret().as_bytes());
    digest.as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect()
}

fn step(n: u32, title: &str) {
    println!("\n[{n}] {title}");
}

fn show_error(e: &Error) {
    let status = e.status().map(|s| format!(" HTTP {s}")).unwrap_or_default();
    let retry = e.retry_after().map(|r| format!(", retry after {:.1}s", r.as_secs_f64())).unwrap_or_default();
    println!("    -> error `{}`{status}{retry}: {}", e.code(), e.message());
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> ExitCode {
    match demo(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn oauth_client(
    srv: &server::BlockingServer,
    id: &str,
    secret: &str,
    scopes: &[&str],
) -> Result<BlockingClient, Error> {
    BlockingClient::new(
        Config::builder()
            .base_url(srv.base_url())
            .extra_root_ca_pem(srv.ca_pem().unwrap_or_default())
            .client_id(id)
            .client_secret(secret)
            .scopes(scopes.iter().copied())
            .build()?,
    )
}

fn demo(args: DemoArgs) -> Result<(), Box<dyn std::error::Error>> {
    println!("synapsestream-auth demo: the token lifecycle against an embedded reference server");
    let srv = server::start_blocking(server::ServerConfig::dev())?;
    println!("    reference server at {} (TLS, its own CA)", srv.base_url());

    step(1, "client credentials grant (POST /oauth2/token)");
    let client = oauth_client(&srv, server::DEV_CLIENT_ID, server::DEV_CLIENT_SECRET, &["inference", "training"])?;
    let token = client.get_token()?;
    println!(
        "    -> {} token {} with scopes [{}], valid for {}s",
        token.token_type(),
        fingerprint(&token),
        token.scopes().join(" "),
        token.expires_in().as_secs()
    );
    let again = client.get_token()?;
    println!("    a second get_token() is served from the cache: same token {}", fingerprint(&again));

    step(2, "verify the JWT against /.well-known/jwks.json");
    let claims = client.verify(token.secret())?;
    println!(
        "    -> signature ok; sub={} scope=\"{}\" iss={}",
        claims.subject().unwrap_or("?"),
        claims.scopes().join(" "),
        claims.issuer().unwrap_or("?")
    );
    // Re-encode the claims with an extra scope, keeping the original signature.
    let mut parts: Vec<String> = token.secret().split('.').map(str::to_string).collect();
    let mut tampered = claims.as_map().clone();
    tampered.insert("scope".into(), "inference training admin".into());
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::Value::Object(tampered).to_string());
    match client.verify(&parts.join(".")) {
        Ok(_) => return Err("a tampered token verified".into()),
        Err(e) => println!("    the same token with \"admin\" added to its scope is rejected: {}", e.message()),
    }

    step(3, "GET /v1/models with Authorization: Bearer");
    let models = client.request(ApiRequest::get("/v1/models"))?;
    println!("    -> HTTP {} {}", models.status, summarize(&models.text()));

    step(4, "POST /v1/data/stream with X-API-Key");
    let keyed = BlockingClient::new(
        Config::builder()
            .base_url(srv.base_url())
            .extra_root_ca_pem(srv.ca_pem().unwrap_or_default())
            .api_key(server::DEV_API_KEY)
            .build()?,
    )?;
    let body = serde_json::json!({"stream_id": "nn-435X", "data": [0.1, 0.2, 0.3]});
    let streamed = keyed.request(ApiRequest::post("/v1/data/stream").json(&body))?;
    println!("    -> HTTP {} {}", streamed.status, summarize(&streamed.text()));

    step(5, "403: an inference-only client tries to stream training data");
    let inference =
        oauth_client(&srv, server::DEV_INFERENCE_CLIENT_ID, server::DEV_INFERENCE_CLIENT_SECRET, &["inference"])?;
    match inference.request(ApiRequest::post("/v1/data/stream").json(&body)) {
        Ok(r) => return Err(format!("expected 403, got {}", r.status).into()),
        Err(e) => {
            show_error(&e);
            println!("    the error names the missing scope: {:?}", e.required_scope().unwrap_or("?"));
        }
    }

    step(6, "429: the API rate-limits one call (Retry-After: 1); the client backs off and retries");
    srv.control().inject_faults(server::FaultSpec {
        target: server::FaultTarget::Api,
        rate_limit_next: 1,
        retry_after: 1,
        ..Default::default()
    })?;
    let started = Instant::now();
    let r = client.request(ApiRequest::get("/v1/models"))?;
    println!(
        "    -> HTTP {} after {:.1}s (waited for Retry-After, then retried once)",
        r.status,
        started.elapsed().as_secs_f64()
    );
    println!("    a 429 from the token endpoint surfaces as `rate_limited` with retry_after, and no");
    println!("    caller sends another token request before it has passed:");
    srv.control().inject_faults(server::FaultSpec {
        target: server::FaultTarget::Token,
        rate_limit_next: 1,
        retry_after: 2,
        ..Default::default()
    })?;
    let fresh = oauth_client(&srv, server::DEV_CLIENT_ID, server::DEV_CLIENT_SECRET, &["inference"])?;
    for _ in 0..2 {
        if let Err(e) = fresh.get_token() {
            show_error(&e);
        }
    }

    step(7, "418: the server expires every token; the client refreshes once and retries");
    srv.control().expire_tokens();
    let before = srv.counters().token_requests.by_grant.get("refresh_token").copied().unwrap_or(0);
    let r = client.request(ApiRequest::get("/v1/models"))?;
    let after = srv.counters().token_requests.by_grant.get("refresh_token").copied().unwrap_or(0);
    println!("    -> HTTP {} (refresh grants: {before} -> {after}; the refresh token was rotated)", r.status);

    step(8, &format!("refresh ahead: a {}s token passes its refresh window", args.short_ttl));
    srv.control().set_token_ttl(Duration::from_secs(args.short_ttl));
    client.invalidate();
    let short = client.get_token()?;
    println!("    -> token {} valid for {:.1}s", fingerprint(&short), short.expires_in().as_secs_f64());
    srv.control().inject_faults(server::FaultSpec {
        target: server::FaultTarget::Token,
        latency_ms: 300,
        ..Default::default()
    })?;
    let wait = Duration::from_secs_f64(args.short_ttl as f64 * 0.8);
    println!("    (sleeping {:.1}s into the refresh window; the token endpoint now takes 300 ms)", wait.as_secs_f64());
    std::thread::sleep(wait);
    let t = Instant::now();
    let during = client.get_token()?;
    println!(
        "    get_token() in the window returned {} in {} us: the still-valid token, no waiting",
        fingerprint(&during),
        t.elapsed().as_micros()
    );
    std::thread::sleep(Duration::from_millis(600));
    let refreshed = client.get_token()?;
    println!(
        "    the background refresh landed: new token {} valid for {:.1}s",
        fingerprint(&refreshed),
        refreshed.expires_in().as_secs_f64()
    );
    srv.control().clear_faults();

    step(9, "counters");
    let counters = srv.counters();
    println!(
        "    server (all demo clients): {} token requests ({} client_credentials, {} refresh_token), {} API calls, {} JWKS fetches",
        counters.token_requests.total,
        counters.token_requests.by_grant.get("client_credentials").copied().unwrap_or(0),
        counters.token_requests.by_grant.get("refresh_token").copied().unwrap_or(0),
        counters.api_calls.total,
        counters.jwks_requests
    );
    let stats = client.stats();
    println!(
        "    client from step 1: {} token requests, {} background refreshes, {} cache hits, {} misses, {} retries, circuit {}",
        stats.token_requests,
        stats.background_refreshes,
        stats.cache_hits,
        stats.cache_misses,
        stats.retries,
        stats.circuit_state.as_str()
    );
    srv.shutdown();
    println!("\ndone.");
    Ok(())
}

fn summarize(body: &str) -> String {
    let one_line = body.replace('\n', " ");
    if one_line.len() > 100 { format!("{}…", &one_line[..one_line.floor_char_boundary(100)]) } else { one_line }
}
