//! Finding 1 of the hardening issue as a measurement: `pqap serve` (no
//! strategies, the in-process simulator) takes 2,000 bad logins spread over
//! a minute (`PQAP_FLOOD_SECS`; 0 sends them as fast as they are answered)
//! from one client (through a trusted proxy on loopback, four connections at
//! a time) while `/healthz` is probed every 20 ms and the
//! admin's API token asks for the status every 200 ms. Printed: the probe's
//! latency percentiles, how the logins were answered, whether the token ever
//! failed, whether a good login from another client succeeds, and the audit
//! rows the flood left in the auth database and in the journal's.
//!
//! `cargo bench -p pqap --bench login_flood` (a release build of the binary).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BAD_LOGINS: usize = 2_000;

fn http(addr: SocketAddr, head: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "{head}Host: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let code = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, raw)
}

fn login(addr: SocketAddr, client: &str, password: &str) -> u16 {
    let body = format!("username=ada&password={}", password.replace(' ', "+"));
    http(
        addr,
        &format!(
            "POST /login HTTP/1.1\r\nX-Forwarded-For: {client}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        ),
        &body,
    )
    .0
}

fn pqap(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(args)
        .arg("--db")
        .arg(dir.join("flood.db"))
        .env("PQAP_PASSWORD", "admin password 123")
        .output()
        .expect("pqap");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    pqap(dir.path(), &["user", "add", "ada", "--role", "admin"]);
    let token = pqap(dir.path(), &["token", "create", "ada"]);
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .arg("serve")
        .arg("--config")
        .arg(repo.join("configs/dev.yaml"))
        .args(["--bind", "127.0.0.1:0", "--duration", "600s", "--db"])
        .arg(dir.path().join("flood.db"))
        .env("PQAP_SERVER_TRUSTED_PROXIES", "127.0.0.1")
        .env("PQAP_COMPILED_CACHE", dir.path().join("cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pqap serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr: SocketAddr = loop {
        let line = lines.next().expect("serve ended").expect("line");
        if let Some(a) = line.strip_prefix("serving http://") {
            break a.trim().parse().expect("address");
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let done = Arc::new(AtomicBool::new(false));
    let probes = Arc::new(Mutex::new(Vec::new()));
    let prober = {
        let (done, probes) = (done.clone(), probes.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let t = Instant::now();
                let (code, _) = http(addr, "GET /healthz HTTP/1.1\r\n", "");
                assert_eq!(code, 200);
                probes.lock().expect("probes").push(t.elapsed());
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let token_failures = Arc::new(Mutex::new(0usize));
    let asker = {
        let (done, failures, token) = (done.clone(), token_failures.clone(), token.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let head =
                    format!("GET /api/v1/status HTTP/1.1\r\nAuthorization: Bearer {token}\r\n");
                if http(addr, &head, "").0 != 200 {
                    *failures.lock().expect("failures") += 1;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let secs: u64 = std::env::var("PQAP_FLOOD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    // Each of the four connections sends its share at an even pace.
    let gap = Duration::from_secs(secs) / (BAD_LOGINS as u32 / 4);
    let began = Instant::now();
    let answers: Vec<u16> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..BAD_LOGINS / 4)
                        .map(|i| {
                            let due = began + gap * i as u32;
                            std::thread::sleep(due.saturating_duration_since(Instant::now()));
                            login(addr, "203.0.113.5", "not the password")
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    let flood = began.elapsed();
    let good = login(addr, "198.51.100.7", "admin password 123");
    done.store(true, Ordering::Relaxed);
    prober.join().expect("prober");
    asker.join().expect("asker");
    let (_, audit) = http(
        addr,
        &format!("GET /api/v1/audit?last=10000 HTTP/1.1\r\nAuthorization: Bearer {token}\r\n"),
        "",
    );
    let audit_rows = audit.matches("\"action\":\"login\"").count();
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let _ = child.wait();
    let journal_rows: i64 = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let url = format!("sqlite://{}", dir.path().join("flood.db").display());
            let pool = sqlx::SqlitePool::connect(&url).await.expect("journal db");
            sqlx::query_scalar("SELECT count(*) FROM audit_log")
                .fetch_one(&pool)
                .await
                .expect("audit_log")
        });

    let mut p = probes.lock().expect("probes").clone();
    p.sort();
    let count = |c: u16| answers.iter().filter(|a| **a == c).count();
    println!(
        "login flood: {} bad logins in {:.1} s from one client",
        answers.len(),
        flood.as_secs_f64()
    );
    println!(
        "  answered 401: {}, 429: {}, other: {}",
        count(401),
        count(429),
        answers.len() - count(401) - count(429)
    );
    println!(
        "  /healthz during the flood: {} probes, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        p.len(),
        percentile(&p, 0.5).as_secs_f64() * 1e3,
        percentile(&p, 0.99).as_secs_f64() * 1e3,
        p.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    println!(
        "  admin token refused: {} times",
        token_failures.lock().expect("failures")
    );
    println!("  good login from another client: {good} (303 = logged in)");
    println!("  login rows in the audit log (auth database): {audit_rows}");
    println!("  audit rows in the journal's database: {journal_rows}");
}
