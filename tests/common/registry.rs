//! Tests that need something from a package registry (the official clients
//! from crates.io or PyPI): whether the registry answers, commands run with a
//! time limit, and the one rule for skipping: only when the registry is
//! unreachable, and never under CI.

use std::net::ToSocketAddrs;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Whether `CI` is set (non-empty, not `0` or `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether `host` answers on its HTTPS port (DNS and TCP only), within 5 s.
pub fn reachable(host: &str) -> bool {
    let Ok(mut addrs) = (host, 443).to_socket_addrs() else {
        return false;
    };
    addrs.any(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(5)).is_ok())
}

/// What getting `what` from the registry at `host` came to: the thing, or
/// `None` when the test should skip (the registry unreachable, CI unset; the
/// reason is printed). A failure with the registry reachable, or any failure
/// under CI, fails the test.
pub fn or_skip<T>(got: Result<T, String>, host: &str, what: &str) -> Option<T> {
    let why = match got {
        Ok(t) => return Some(t),
        Err(why) => why,
    };
    let up = reachable(host);
    if !up && !in_ci() {
        eprintln!("skipped: {host} is unreachable and CI is unset ({why})");
        return None;
    }
    panic!("cannot get {what} ({host} reachable: {up}): {why}");
}

/// Runs `cmd` to completion or until `limit` (then kills it), with its output
/// in files so a chatty child never blocks on a full pipe. `None` on timeout.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Option<Output> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Some(Output {
        status,
        stdout: std::fs::read(&out).unwrap_or_default(),
        stderr: std::fs::read(&err).unwrap_or_default(),
    })
}
