//! An authenticated request (`Client::request`: token from the cache, retries armed,
//! body read, headers copied) against bare reqwest with a static `Authorization`
//! header, both over the same HTTPS/HTTP2 loopback server on the same runtime.
//!
//! Loopback round trips drift by far more than 2 %, so the two sides alternate op
//! by op (ours, peer, peer, ours, ...; an op is one request, or 32 concurrent ones);
//! each round compares the two sides' median op and the figure is the median of
//! the per-round ratios.

use crate::util::{Opts, emit, median, result};
use futures::future::join_all;
use serde_json::json;
use std::time::{Duration, Instant};
use synapse_auth_core::{ApiRequest, Client, runtime};

pub fn run(opts: &Opts) -> Result<(), String> {
    let server = opts.server()?;
    let client = server.client()?;
    crate::util::install_crypto_provider();
    let ca = reqwest::Certificate::from_pem(server.ca_pem.as_bytes()).map_err(|e| e.to_string())?;
    // The same settings as core's transport (rustls + aws-lc-rs, HTTP/2 by ALPN).
    let bare = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(ca)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent("synapsestream-auth/0.1.0")
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("{}/v1/models", server.base_url);
    let rounds = opts.num("rounds", 21.0) as usize;
    let seq_n = opts.num("seq", 300.0) as usize;
    let batches = opts.num("batches", 12.0) as usize;
    let profile_side = opts.get("profile-side").map(str::to_string);
    let profile_n = opts.num("n", 20000.0) as usize;

    runtime::block_on(async move {
        let header = client.get_token().await.map_err(|e| e.to_string())?.authorization_header();
        let ours = |client: Client| async move {
            let r = client.request(ApiRequest::get("/v1/models")).await.expect("authenticated request");
            assert_eq!(r.status, 200);
            r.body.len()
        };
        let peer = |http: reqwest::Client, url: String, header: String| async move {
            let r = http.get(url).header(reqwest::header::AUTHORIZATION, header).send().await.expect("bare request");
            assert_eq!(r.status(), 200);
            r.bytes().await.expect("body").len()
        };
        // Diagnostic: the same bare call with the header marked sensitive, as core
        // marks credentials (HTTP/2 then never indexes it in HPACK: the whole token
        // goes on the wire, encoded, with every request).
        let peer_sensitive = |http: reqwest::Client, url: String, header: String| async move {
            let mut value = reqwest::header::HeaderValue::from_str(&header).expect("header value");
            value.set_sensitive(true);
            let r = http.get(url).header(reqwest::header::AUTHORIZATION, value).send().await.expect("bare request");
            assert_eq!(r.status(), 200);
            r.bytes().await.expect("body").len()
        };
        // Warm both connection pools and the server.
        for _ in 0..50 {
            ours(client.clone()).await;
            peer(bare.clone(), url.clone(), header.clone()).await;
        }
        // `--profile-side ours|peer --n N`: only one side, N sequential requests, for
        // `perf stat` / `perf record` of that side alone (prints nothing else).
        if let Some(side) = profile_side {
            for _ in 0..profile_n {
                if side == "ours" {
                    ours(client.clone()).await;
                } else {
                    peer(bare.clone(), url.clone(), header.clone()).await;
                }
            }
            return Ok(());
        }
        for (mode, conc, per_round) in [("seq", 1usize, seq_n), ("c32", 32usize, batches)] {
            let (mut ratios, mut hop_ratios, mut sensitive_ratios) = (Vec::new(), Vec::new(), Vec::new());
            let (mut ours_us, mut peer_us) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                // One op of each side in turn (order rotated every op), so all see the
                // same machine; a round's figure is each side's median op. Sides 2 and
                // 3 are diagnostics: the bare call inside `runtime::run` (the task hop
                // `Client::request` would make off the runtime), and the bare call
                // with a sensitive header.
                let mut times: [Vec<f64>; 4] = Default::default();
                for i in 0..per_round {
                    for k in 0..4 {
                        let side = (i + k) % 4;
                        let start = Instant::now();
                        match side {
                            0 => drop(join_all((0..conc).map(|_| ours(client.clone()))).await),
                            1 => {
                                drop(join_all((0..conc).map(|_| peer(bare.clone(), url.clone(), header.clone()))).await)
                            }
                            2 => drop(
                                join_all(
                                    (0..conc).map(|_| runtime::run(peer(bare.clone(), url.clone(), header.clone()))),
                                )
                                .await,
                            ),
                            _ => drop(
                                join_all((0..conc).map(|_| peer_sensitive(bare.clone(), url.clone(), header.clone())))
                                    .await,
                            ),
                        }
                        times[side].push(start.elapsed().as_secs_f64() * 1e6 / conc as f64);
                    }
                }
                let [a, b, c, d] = &mut times;
                let (ma, mb, mc, md) = (median(a), median(b), median(c), median(d));
                ratios.push(ma / mb);
                hop_ratios.push(mc / mb);
                sensitive_ratios.push(md / mb);
                ours_us.push(ma);
                peer_us.push(mb);
            }
            let ratio = median(&mut ratios);
            let (lo, hi) = (ratios[ratios.len() / 4], ratios[ratios.len() * 3 / 4]);
            emit(result(
                &format!("rust_request_{mode}"),
                json!({"ours_us": median(&mut ours_us), "peer_us": median(&mut peer_us), "ratio": ratio,
                       "overhead_pct": (ratio - 1.0) * 100.0, "iqr_pct": [(lo - 1.0) * 100.0, (hi - 1.0) * 100.0],
                       "peer_in_task_hop_pct": (median(&mut hop_ratios) - 1.0) * 100.0,
                       "peer_sensitive_header_pct": (median(&mut sensitive_ratios) - 1.0) * 100.0,
                       "rounds": rounds, "requests_per_round": per_round * conc}),
            ));
        }
        Ok(())
    })
}
