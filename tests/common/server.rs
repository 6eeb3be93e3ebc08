//! Helpers for the server's end-to-end tests: raw HTTP requests, `pqap` admin
//! commands, a `pqap sim` and a `pqap serve` on free loopback ports (stopped when
//! dropped), polling with a deadline, and a copy of the market maker at a
//! chosen version.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pqap::strategy::build::GuestTarget;

/// One HTTP/1.1 request, with a bearer token and a body if given; (status, body).
pub fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    // The server may answer (and close) before taking a body it refuses.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// A JSON request.
pub fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    send(
        addr,
        method,
        path,
        token,
        "application/json",
        body.as_bytes(),
    )
}

/// `POST /api/v1/artifacts` with `bytes` as the body.
pub fn upload(addr: SocketAddr, token: Option<&str>, bytes: &[u8]) -> (u16, String) {
    send(
        addr,
        "POST",
        "/api/v1/artifacts",
        token,
        "application/wasm",
        bytes,
    )
}

pub fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    call(addr, method, path, None, "")
}

/// Runs a `pqap` admin command on the test database; its stdout.
pub fn admin(args: &[&str], db: &std::path::Path, password: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pqap"));
    cmd.args(args).arg("--db").arg(db);
    if let Some(p) = password {
        cmd.env("PQAP_PASSWORD", p);
    }
    let out = cmd.output().expect("run pqap");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Kills the server if the test fails before it stops it.
pub struct Guard(pub std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `pqap sim` (fast steps) on a free loopback port; it and its address.
pub fn start_sim() -> (Guard, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let child = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(["sim", "--bind", &addr.to_string(), "--step", "20ms"])
        .args(["--seed", "5", "--markets", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pqap sim");
    let guard = Guard(child);
    wait_for(20, "pqap sim listening", || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
    });
    (guard, addr)
}

/// Starts `pqap serve` with `names` on `db` (dev config, a free port) against
/// the simulator at `venue`, or its own in-process one (fast steps) when none;
/// the running server and its address.
pub fn start_serve(
    names: &[&str],
    db: &std::path::Path,
    dir: &std::path::Path,
    venue: Option<SocketAddr>,
) -> (Guard, SocketAddr) {
    start_serve_with(names, db, dir, venue, &[])
}

/// [`start_serve`] with extra environment variables for the server.
pub fn start_serve_with(
    names: &[&str],
    db: &std::path::Path,
    dir: &std::path::Path,
    venue: Option<SocketAddr>,
    env: &[(&str, &str)],
) -> (Guard, SocketAddr) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pqap"));
    cmd.envs(env.iter().copied());
    if let Some(v) = venue {
        cmd.env("PQAP_VENUE_CLOB_URL", format!("http://{v}"))
            .env("PQAP_VENUE_GAMMA_URL", format!("http://{v}/gamma"))
            .env("PQAP_VENUE_WS_URL", format!("ws://{v}/ws/market"));
    }
    let mut child = cmd
        .arg("serve")
        .args(names)
        .arg("--config")
        .arg(super::repo().join("configs/dev.yaml"))
        .args(["--bind", "127.0.0.1:0", "--duration", "300s"])
        .arg("--db")
        .arg(db)
        .env("PQAP_COMPILED_CACHE", dir.join("cache"))
        .env("PQAP_VENUE_SIM_STEP_MS", "20")
        .env("PQAP_SANDBOX_MAX_FAULTS", "3")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pqap serve");
    let stderr = child.stderr.take().expect("stderr");
    let guard = Guard(child);
    let mut lines = BufReader::new(stderr).lines();
    // What it said, to show if it ends before serving.
    let mut said = Vec::new();
    let addr: SocketAddr = loop {
        let Some(line) = lines.next() else {
            panic!(
                "pqap serve ended before serving; it said:\n{}",
                said.join("\n")
            );
        };
        let line = line.expect("stderr line");
        if let Some(a) = line.strip_prefix("serving http://") {
            break a.trim().parse().expect("address");
        }
        said.push(line);
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (guard, addr)
}

/// Sends SIGTERM and waits (≤ 20 s) for a clean exit.
pub fn stop_serve(mut guard: Guard) {
    let pid = i32::try_from(guard.0.id()).expect("pid");
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let stop = Instant::now();
    let status = loop {
        if let Some(s) = guard.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            stop.elapsed() < Duration::from_secs(20),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit: {status}");
}

/// A copy of the market maker as its own crate, named `mm_e2e` at `version`:
/// what a user's strategy looks like between two releases.
pub fn market_maker_copy(root: &std::path::Path, version: &str) -> std::path::PathBuf {
    let dir = root.join("mm-e2e");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    for f in std::fs::read_dir(super::repo().join("strategies/market-maker/src")).unwrap() {
        let path = f.unwrap().path();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("name: \"market_maker\"", "name: \"mm_e2e\"");
        std::fs::write(dir.join("src").join(path.file_name().unwrap()), text).unwrap();
    }
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"mm-e2e\"\nversion = \"{version}\"\nedition = \"2024\"\npublish = false\n\n\
             [lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n[dependencies]\n\
             pqap-strategy-sdk = {{ path = {:?} }}\n\n[workspace]\n",
            super::repo().join("strategy-sdk")
        ),
    )
    .unwrap();
    // The repository's lock file: the same dependency versions, already built.
    std::fs::copy(super::repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let out = pqap::strategy::build::build_strategy(
        &super::engine(),
        &pqap::strategy::build::BuildOptions {
            crate_dir: dir.clone(),
            target: GuestTarget::UnknownUnknown,
            out_dir: Some(root.join(format!("out-{version}"))),
            target_dir: Some(super::repo().join("target/guests")),
        },
        &pqap::strategy::SandboxLimits::default(),
    )
    .unwrap_or_else(|e| panic!("building the market maker copy {version}: {e}"));
    out.wasm
}

/// Polls `check` every 200 ms until it returns `Some`, for at most `secs`.
pub fn wait_for<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let since = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            since.elapsed() < Duration::from_secs(secs),
            "{what}: not within {secs} s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A loopback HTTP endpoint that answers 204 to everything and keeps each
/// request body (an alert webhook for the tests).
pub struct Receiver {
    pub url: String,
    pub bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

pub fn start_receiver() -> Receiver {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
    let url = format!("http://{}/alerts", listener.local_addr().expect("address"));
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(&stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.trim().eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length.min(1 << 20)];
            if reader.read_exact(&mut body).is_ok()
                && let Ok(mut b) = kept.lock()
            {
                b.push(String::from_utf8_lossy(&body).into_owned());
            }
            let _ = (&stream).write_all(
                b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    Receiver { url, bodies }
}
