//! fork() at any instant, even while other threads are fetching tokens, leaves
//! a child that can fetch its own: no lock held across the fork stays locked.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use synapse_auth_core::BlockingClient;

#[test]
fn forks_during_token_requests_never_hang_the_child() {
    let server = synapse_reference_server::start_blocking(synapse_reference_server::ServerConfig::dev()).unwrap();
    let client = BlockingClient::new(common::blocking_config(&server)).unwrap();
    client.get_token().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let churners: Vec<_> = (0..2)
        .map(|_| {
            let (c, stop) = (client.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    c.invalidate();
                    let _ = c.get_token();
                }
            })
        })
        .collect();
    for round in 0..60 {
        std::thread::sleep(Duration::from_millis(3));
        // SAFETY: the child uses only this library and leaves with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                client.invalidate();
                client.get_token().is_ok()
            }))
            .unwrap_or(false);
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut status = 0;
        loop {
            let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if done == pid {
                break;
            }
            if Instant::now() > deadline {
                if std::env::var_os("SYNAPSE_FORK_GDB").is_some() {
                    let _ = std::process::Command::new("gdb")
                        .args(["-p", &pid.to_string(), "-batch", "-ex", "thread apply all bt 30"])
                        .status();
                }
                unsafe { libc::kill(pid, libc::SIGKILL) };
                unsafe { libc::waitpid(pid, &mut status, 0) };
                stop.store(true, Ordering::Relaxed);
                panic!("child {round} hung after fork");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child {round} failed");
    }
    stop.store(true, Ordering::Relaxed);
    for c in churners {
        c.join().unwrap();
    }
    server.shutdown();
}
