//! `pqap serve` end to end: the engine with the market maker against the
//! in-process simulator, the HTTP server on a free loopback port; health,
//! readiness, metrics and the read-only API answer while it trades; nothing
//! mutates through it yet; SIGTERM stops it cleanly with the journal intact.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pqap::strategy::build::GuestTarget;

/// One HTTP/1.1 request; (status, body).
fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("response");
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

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Kills the server if the test fails before it stops it.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serves_health_metrics_and_the_api_while_trading() {
    let wasm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .arg("serve")
        .arg(&wasm)
        .arg("--config")
        .arg(common::repo().join("configs/dev.yaml"))
        .args(["--bind", "127.0.0.1:0", "--duration", "120s"])
        .arg("--db")
        .arg(&db)
        .env("PQAP_COMPILED_CACHE", dir.path().join("cache"))
        .env("PQAP_VENUE_SIM_STEP_MS", "20")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pqap serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut guard = Guard(child);
    let mut lines = BufReader::new(stderr).lines();
    let addr: SocketAddr = loop {
        let line = lines
            .next()
            .expect("pqap serve ended before serving")
            .expect("stderr line");
        if let Some(a) = line.strip_prefix("serving http://") {
            break a.trim().parse().expect("address");
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});

    assert_eq!(request(addr, "GET", "/healthz"), (200, "ok\n".to_string()));
    let started = Instant::now();
    loop {
        let (code, body) = request(addr, "GET", "/readyz");
        if code == 200 {
            assert_eq!(json(&body)["ready"], true);
            break;
        }
        assert_eq!(code, 503, "{body}");
        assert!(
            json(&body)["problems"]
                .as_array()
                .is_some_and(|p| !p.is_empty())
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never ready: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Let it trade, then read it back through the API.
    let deadline = Instant::now() + Duration::from_secs(40);
    let strategies = loop {
        let (code, body) = request(addr, "GET", "/api/v1/strategies");
        assert_eq!(code, 200, "{body}");
        let v = json(&body);
        if v[0]["fills"].as_u64().unwrap_or(0) > 0 || Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let mm = &strategies[0];
    assert_eq!(mm["name"], "market_maker");
    assert_eq!(mm["state"], "running");
    assert!(mm["fuel_calls"].as_u64().unwrap() > 0);
    assert!(
        mm["fills"].as_u64().unwrap() > 0,
        "no fill within 40 s: {mm}"
    );

    let (code, status) = request(addr, "GET", "/api/v1/status");
    assert_eq!(code, 200);
    let status = json(&status);
    assert_eq!(status["trading_state"], "active");
    assert_eq!(status["feed"]["connected"], true);
    assert!(status["fills"].as_u64().unwrap() > 0);

    let (code, trades) = request(addr, "GET", "/api/v1/trades?last=3");
    assert_eq!(code, 200);
    let trades = json(&trades);
    let trades = trades.as_array().unwrap();
    assert!(!trades.is_empty() && trades.len() <= 3);
    assert!(trades[0]["reason"].as_str().is_some_and(|r| !r.is_empty()));
    let (code, positions) = request(addr, "GET", "/api/v1/positions");
    assert_eq!(code, 200);
    assert!(json(&positions).is_array());
    let (code, perf) = request(addr, "GET", "/api/v1/performance?period=1h");
    assert_eq!(code, 200);
    assert_eq!(json(&perf)[0]["name"], "market_maker");
    let (code, bad) = request(addr, "GET", "/api/v1/performance?period=soon");
    assert_eq!(code, 400);
    assert!(
        json(&bad)["error"]
            .as_str()
            .unwrap()
            .contains("period=soon")
    );

    let (code, metrics) = request(addr, "GET", "/metrics");
    assert_eq!(code, 200);
    assert!(metrics.contains("pqap_feed_connected 1\n"), "{metrics}");
    assert!(metrics.contains("pqap_strategy_fuel_total{strategy=\"market_maker\"}"));
    let updates: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("pqap_feed_updates_total "))
        .and_then(|v| v.parse().ok())
        .expect("updates counter");
    assert!(updates > 0.0);

    // Nothing mutates through the API yet.
    assert_eq!(request(addr, "POST", "/api/v1/strategies").0, 405);
    assert_eq!(request(addr, "DELETE", "/api/v1/positions").0, 405);
    assert_eq!(request(addr, "GET", "/api/v2/status").0, 404);

    // SIGTERM: a clean stop, the journal verifies.
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
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(async {
        let j = pqap::store::Journal::open(&db).await.unwrap();
        j.verify().await.unwrap()
    });
    assert_eq!(report.broken, None);
    assert!(report.entries > 0);
}
