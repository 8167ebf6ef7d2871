//! The file token cache: processes of one host share one token and one
//! rotating refresh token, so N processes make one token request, at cold start
//! and again at expiry.

mod common;

use std::time::Duration;
use synapse_auth_core::{BlockingClient, Config};

fn run_children(base_url: &str, ca: &str, dir: &str, processes: usize, threads: usize) {
    let mut pids = Vec::new();
    for _ in 0..processes {
        // SAFETY: each child builds its own client, uses only this library and leaves with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let ok = std::panic::catch_unwind(|| {
                let config = Config::builder()
                    .base_url(base_url)
                    .extra_root_ca_pem(ca)
                    .client_id(common::CLIENT_ID)
                    .client_secret(common::CLIENT_SECRET)
                    .scopes(["inference"])
                    .token_cache(format!("file:{dir}"))
                    .build()
                    .unwrap();
                let client = BlockingClient::new(config).unwrap();
                let handles: Vec<_> = (0..threads)
                    .map(|_| {
                        let c = client.clone();
                        std::thread::spawn(move || c.get_token().map(|_| ()))
                    })
                    .collect();
                handles.into_iter().all(|h| h.join().unwrap().is_ok())
            })
            .unwrap_or(false);
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        pids.push(pid);
    }
    for pid in pids {
        let mut status = 0;
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "a child failed");
    }
}

#[test]
fn eight_processes_share_one_token_at_cold_start_and_at_expiry() {
    let server = synapse_reference_server::start_blocking(synapse_reference_server::ServerConfig::dev()).unwrap();
    server.control().set_token_ttl(Duration::from_secs(3));
    server
        .control()
        .inject_faults(synapse_reference_server::FaultSpec { latency_ms: 50, ..Default::default() })
        .unwrap();
    let dir = std::env::temp_dir().join(format!("synapse-file-cache-{}", std::process::id()));
    let dir = dir.to_str().unwrap().to_string();
    let ca = server.ca_pem().unwrap().to_string();
    run_children(server.base_url(), &ca, &dir, 8, 50);
    assert_eq!(server.counters().token_requests.total, 1, "{:?}", server.counters());
    std::thread::sleep(Duration::from_millis(3100));
    run_children(server.base_url(), &ca, &dir, 8, 50);
    let counters = server.counters();
    assert_eq!(counters.token_requests.total, 2, "{counters:?}");
    assert_eq!(counters.token_requests.by_grant["refresh_token"], 1, "the shared refresh token was used");
    // The cache files are private to the user.
    for entry in std::fs::read_dir(&dir).unwrap() {
        use std::os::unix::fs::PermissionsExt;
        let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "cache files are 0600");
    }
    assert!(server.control().refresh_families().iter().all(|f| !f.revoked));
    let _ = std::fs::remove_dir_all(&dir);
    server.shutdown();
}
