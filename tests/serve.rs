//! `pqap serve` end to end: the engine with the market maker against the
//! in-process simulator, the HTTP server on a free loopback port; health,
//! readiness and metrics answer openly, the API only with a token; a viewer can
//! read but not act, an operator halts trading through the API and the audit log
//! shows who did; SIGTERM stops it cleanly with the journal intact.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pqap::strategy::build::GuestTarget;

/// One HTTP/1.1 request, with a bearer token and a body if given; (status, body).
fn send(
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
fn call(
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
fn upload(addr: SocketAddr, token: Option<&str>, bytes: &[u8]) -> (u16, String) {
    send(
        addr,
        "POST",
        "/api/v1/artifacts",
        token,
        "application/wasm",
        bytes,
    )
}

fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    call(addr, method, path, None, "")
}

/// Runs a `pqap` admin command on the test database; its stdout.
fn admin(args: &[&str], db: &std::path::Path, password: Option<&str>) -> String {
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

/// Starts `pqap sim` (fast steps) on a free loopback port; it and its address.
fn start_sim() -> (Guard, SocketAddr) {
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
fn start_serve(
    names: &[&str],
    db: &std::path::Path,
    dir: &std::path::Path,
    venue: Option<SocketAddr>,
) -> (Guard, SocketAddr) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pqap"));
    if let Some(v) = venue {
        cmd.env("PQAP_VENUE_CLOB_URL", format!("http://{v}"))
            .env("PQAP_VENUE_GAMMA_URL", format!("http://{v}/gamma"))
            .env("PQAP_VENUE_WS_URL", format!("ws://{v}/ws/market"));
    }
    let mut child = cmd
        .arg("serve")
        .args(names)
        .arg("--config")
        .arg(common::repo().join("configs/dev.yaml"))
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
    (guard, addr)
}

/// Sends SIGTERM and waits (≤ 20 s) for a clean exit.
fn stop_serve(mut guard: Guard) {
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

#[test]
fn serves_health_metrics_and_the_api_while_trading() {
    let wasm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    admin(
        &["user", "add", "olive", "--role", "operator"],
        &db,
        Some("operator password 1"),
    );
    admin(
        &["user", "add", "vic", "--role", "viewer"],
        &db,
        Some("viewer password 12"),
    );
    let operator = admin(&["token", "create", "olive", "--label", "test"], &db, None);
    let viewer = admin(&["token", "create", "vic"], &db, None);
    assert!(operator.starts_with("pqap_") && viewer.starts_with("pqap_"));
    let (op, vw) = (Some(operator.as_str()), Some(viewer.as_str()));
    admin(
        &["user", "add", "ada", "--role", "admin"],
        &db,
        Some("admin password 123"),
    );
    let admin_token = admin(&["token", "create", "ada"], &db, None);
    let ad = Some(admin_token.as_str());
    let get =
        |addr: SocketAddr, path: &str, token: Option<&str>| call(addr, "GET", path, token, "");
    let (guard, addr) = start_serve(&[wasm.to_str().unwrap()], &db, dir.path(), None);

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
        let (code, body) = get(addr, "/api/v1/strategies", vw);
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

    assert_eq!(request(addr, "GET", "/api/v1/status").0, 401, "no token");
    assert_eq!(
        get(addr, "/api/v1/status", Some("pqap_guess")).0,
        401,
        "bad token"
    );
    let (code, status) = get(addr, "/api/v1/status", vw);
    assert_eq!(code, 200);
    let status = json(&status);
    assert_eq!(status["trading_state"], "active");
    assert_eq!(status["feed"]["connected"], true);
    assert!(status["fills"].as_u64().unwrap() > 0);

    let (code, trades) = get(addr, "/api/v1/trades?last=3", vw);
    assert_eq!(code, 200);
    let trades = json(&trades);
    let trades = trades.as_array().unwrap();
    assert!(!trades.is_empty() && trades.len() <= 3);
    assert!(trades[0]["reason"].as_str().is_some_and(|r| !r.is_empty()));
    let (code, positions) = get(addr, "/api/v1/positions", vw);
    assert_eq!(code, 200);
    assert!(json(&positions).is_array());
    let (code, perf) = get(addr, "/api/v1/performance?period=1h", vw);
    assert_eq!(code, 200);
    assert_eq!(json(&perf)[0]["name"], "market_maker");
    let (code, bad) = get(addr, "/api/v1/performance?period=soon", vw);
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
    assert!(metrics.contains("pqap_strategy_risk_rejections_total{strategy=\"market_maker\"}"));
    assert!(metrics.contains("\npqap_feed_updates_per_second "));
    let updates: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("pqap_feed_updates_total "))
        .and_then(|v| v.parse().ok())
        .expect("updates counter");
    assert!(updates > 0.0);

    // Acting needs a token and the operator role; every attempt is audited.
    let halt = r#"{"state":"halt"}"#;
    assert_eq!(call(addr, "POST", "/api/v1/risk", None, halt).0, 401);
    let (code, body) = call(addr, "POST", "/api/v1/risk", vw, halt);
    assert_eq!(code, 403, "{body}");
    assert!(
        json(&body)["error"]
            .as_str()
            .unwrap()
            .contains("vic is a viewer")
    );
    let (code, body) = call(addr, "POST", "/api/v1/risk", op, r#"{"state":"panic"}"#);
    assert_eq!(code, 400, "{body}");
    assert!(
        json(&body)["error"].as_str().unwrap().contains("\"panic\""),
        "{body}"
    );
    let (code, body) = call(addr, "POST", "/api/v1/risk", op, halt);
    assert_eq!(code, 202, "{body}");
    let halted = Instant::now();
    loop {
        let (_, status) = get(addr, "/api/v1/status", vw);
        if json(&status)["trading_state"] == "halted" {
            break;
        }
        assert!(
            halted.elapsed() < Duration::from_secs(10),
            "never halted: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(get(addr, "/api/v1/audit", vw).0, 403);
    let (code, log) = get(addr, "/api/v1/audit?last=10", op);
    assert_eq!(code, 200, "{log}");
    let log = json(&log);
    let log = log.as_array().unwrap();
    assert_eq!(log[0]["actor"], "olive");
    assert_eq!(log[0]["detail"], "state=halted");
    assert!(
        log[0]["outcome"]
            .as_str()
            .unwrap()
            .starts_with("queued request")
    );
    assert!(log[1]["outcome"].as_str().unwrap().starts_with("rejected"));
    assert!(
        log.iter()
            .any(|e| e["action"] == "user_add" && e["detail"] == "vic as viewer")
    );

    // The CLI asks the server with --env: an environment whose config names it.
    let cwd = dir.path().join("cli");
    std::fs::create_dir_all(cwd.join("configs")).unwrap();
    std::fs::write(
        cwd.join("configs/e2e.yaml"),
        format!("environment: prod\ndatabase: unused.db\nserver:\n  url: http://{addr}\n"),
    )
    .unwrap();
    let cli = |args: &[&str], token: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pqap"));
        cmd.args(args)
            .args(["--env", "e2e", "--json"])
            .current_dir(&cwd);
        cmd.env_remove("PQAP_API_TOKEN");
        if let Some(t) = token {
            cmd.env("PQAP_API_TOKEN", t);
        }
        cmd.output().expect("run pqap")
    };
    let out = cli(&["status"], vw);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(status["trading_state"], "halted");
    assert_eq!(status["database"], format!("http://{addr}"));
    let out = cli(&["trades", "--last", "2"], vw);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trades = json(&String::from_utf8_lossy(&out.stdout));
    assert!(
        trades
            .as_array()
            .is_some_and(|t| !t.is_empty() && t.len() <= 2)
    );
    for cmd in [&["positions"][..], &["performance", "--period", "1h"][..]] {
        let out = cli(cmd, vw);
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(json(&String::from_utf8_lossy(&out.stdout)).is_array());
    }
    let out = cli(&["status"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PQAP_API_TOKEN"));

    // Pause and resume one strategy: its orders are cancelled, it shows paused.
    let pause = "/api/v1/strategies/market_maker/pause";
    assert_eq!(call(addr, "POST", pause, vw, "").0, 403);
    let (code, body) = call(addr, "POST", "/api/v1/strategies/nobody/pause", op, "");
    assert_eq!(code, 404, "{body}");
    let (code, body) = call(addr, "POST", pause, op, "");
    assert_eq!(code, 202, "{body}");
    let wait = |want: &str| {
        let since = Instant::now();
        loop {
            let (_, body) = get(addr, "/api/v1/strategies", vw);
            if json(&body)[0]["state"] == want {
                break;
            }
            assert!(
                since.elapsed() < Duration::from_secs(10),
                "never {want}: {body}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait("paused");
    let since = Instant::now();
    loop {
        // Cancels reach the venue after its latency; then nothing is left working.
        let (_, status) = get(addr, "/api/v1/status", vw);
        if json(&status)["open_orders"] == 0 {
            break;
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "orders left: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, _) = call(
        addr,
        "POST",
        "/api/v1/strategies/market_maker/resume",
        op,
        "",
    );
    assert_eq!(code, 202);
    wait("running");
    let (_, log) = get(addr, "/api/v1/audit?last=3", op);
    let log = json(&log);
    assert_eq!(log[0]["action"], "resume");
    assert_eq!(log[1]["action"], "pause");

    // Uploads: admins only; the validate checks; clear 4xx for what is refused.
    let component = std::fs::read(&wasm).unwrap();
    assert_eq!(upload(addr, None, &component).0, 401);
    assert_eq!(upload(addr, op, &component).0, 403);
    let (code, body) = upload(addr, ad, &component);
    assert_eq!(code, 201, "{body}");
    let manifest = json(&body);
    assert_eq!(manifest["name"], "market_maker");
    assert_eq!(manifest["sha256"].as_str().unwrap().len(), 64);
    assert!(manifest["params"].as_array().is_some_and(|p| !p.is_empty()));
    let (code, body) = upload(addr, ad, b"definitely not wasm");
    assert_eq!(code, 422, "{body}");
    assert!(
        json(&body)["error"]
            .as_str()
            .unwrap()
            .contains("not a WebAssembly file")
    );
    let (code, body) = upload(addr, ad, &component[..component.len() / 2]);
    assert_eq!(code, 422, "{body}");
    let (code, _) = upload(addr, ad, &vec![0u8; 9 * 1024 * 1024]);
    assert_eq!(code, 413, "over the 8 MiB artifact limit");
    let (code, listed) = get(addr, "/api/v1/artifacts", vw);
    assert_eq!(code, 200);
    assert_eq!(json(&listed)[0]["sha256"], manifest["sha256"]);
    let (_, log) = get(addr, "/api/v1/audit?last=20", op);
    let log = json(&log);
    let uploads: Vec<&serde_json::Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "upload")
        .collect();
    assert!(
        uploads
            .iter()
            .any(|e| e["outcome"] == "stored" && e["actor"] == "ada")
    );
    assert!(
        uploads
            .iter()
            .any(|e| e["outcome"].as_str().unwrap().starts_with("rejected"))
    );

    // Unknown endpoints and methods.
    assert_eq!(call(addr, "POST", "/api/v1/strategies", op, "").0, 405);
    assert_eq!(call(addr, "DELETE", "/api/v1/positions", op, "").0, 405);
    assert_eq!(request(addr, "GET", "/api/v2/status").0, 404);

    // Failed authentications from one address are cut off.
    let mut last = 0;
    for _ in 0..25 {
        last = get(addr, "/api/v1/status", Some("pqap_wrong")).0;
    }
    assert_eq!(last, 429);

    // SIGTERM: a clean stop, the journal verifies.
    stop_serve(guard);
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

/// A copy of the market maker as its own crate, named `mm_e2e` at `version`:
/// what a user's strategy looks like between two releases.
fn market_maker_copy(root: &std::path::Path, version: &str) -> std::path::PathBuf {
    let dir = root.join("mm-e2e");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    for f in std::fs::read_dir(common::repo().join("strategies/market-maker/src")).unwrap() {
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
            common::repo().join("strategy-sdk")
        ),
    )
    .unwrap();
    // The repository's lock file: the same dependency versions, already built.
    std::fs::copy(common::repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let out = pqap::strategy::build::build_strategy(
        &common::engine(),
        &pqap::strategy::build::BuildOptions {
            crate_dir: dir.clone(),
            target: GuestTarget::UnknownUnknown,
            out_dir: Some(root.join(format!("out-{version}"))),
            target_dir: Some(common::repo().join("target/guests")),
        },
        &pqap::strategy::SandboxLimits::default(),
    )
    .unwrap_or_else(|e| panic!("building the market maker copy {version}: {e}"));
    out.wasm
}

/// Polls `check` every 200 ms until it returns `Some`, for at most `secs`.
fn wait_for<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
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

#[test]
fn deploys_hot_reloads_rolls_back_and_restarts_with_what_was_deployed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    let v1 = market_maker_copy(dir.path(), "0.1.0");
    let v1_bytes = std::fs::read(&v1).unwrap();
    let hostile = common::guest("tests/guests/hostile", GuestTarget::UnknownUnknown);
    let mm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    admin(
        &["user", "add", "ada", "--role", "admin"],
        &db,
        Some("admin password 123"),
    );
    admin(
        &["user", "add", "olive", "--role", "operator"],
        &db,
        Some("operator password 1"),
    );
    let ad_token = admin(&["token", "create", "ada"], &db, None);
    let op_token = admin(&["token", "create", "olive"], &db, None);
    let (ad, op) = (Some(ad_token.as_str()), Some(op_token.as_str()));
    let get = |addr: SocketAddr, path: &str| json(&call(addr, "GET", path, ad, "").1);
    // A separate `pqap sim` is the venue; the market maker from the command
    // line is the strategy that keeps trading.
    let (_sim, venue) = start_sim();
    let (guard, addr) = start_serve(&[mm.to_str().unwrap()], &db, dir.path(), Some(venue));
    let strategy = |addr: SocketAddr, name: &str| {
        get(addr, "/api/v1/strategies")
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
    };
    let applied = |addr: SocketAddr, id: i64| {
        wait_for(20, "deployment applied", || {
            let d = get(addr, &format!("/api/v1/deployments/{id}"));
            (d["status"] == "applied").then_some(d)
        })
    };

    // Upload v1, deploy it with a parameter; refusals are named and audited.
    let (code, body) = upload(addr, ad, &v1_bytes);
    assert_eq!(code, 201, "{body}");
    let sha1 = json(&body)["sha256"].as_str().unwrap().to_string();
    let deploy = |name: &str, body: &str, token: Option<&str>| {
        call(
            addr,
            "POST",
            &format!("/api/v1/strategies/{name}/deploy"),
            token,
            body,
        )
    };
    let good = format!(
        r#"{{"sha256":"{sha1}","params":{{"quote_size":"10"}},"limits":{{"max_open_orders":8}}}}"#
    );
    assert_eq!(deploy("mm_e2e", &good, None).0, 401);
    assert_eq!(
        deploy("mm_e2e", &good, op).0,
        403,
        "operators do not deploy"
    );
    let (code, body) = deploy("market_maker", &good, ad);
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("is strategy `mm_e2e`"), "{body}");
    let (code, body) = deploy("mm_e2e", &good.replace("quote_size", "quote_sise"), ad);
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("quote_sise"), "{body}");
    let (code, body) = deploy("mm_e2e", &good.replace("max_open_orders", "max_opn"), ad);
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("max_opn"), "{body}");
    let (code, body) = deploy(
        "mm_e2e",
        &format!(r#"{{"sha256":"{}"}}"#, "0".repeat(64)),
        ad,
    );
    assert_eq!(code, 404, "{body}");
    let (code, body) = deploy("mm_e2e", &good, ad);
    assert_eq!(code, 202, "{body}");
    let d = applied(addr, json(&body)["deployment"].as_i64().unwrap());
    assert_eq!(d["outcome"], "started", "{d}");
    let first = wait_for(60, "mm_e2e trading", || {
        strategy(addr, "mm_e2e").filter(|s| s["fills"].as_u64().unwrap_or(0) > 0)
    });
    assert_eq!(first["version"], "0.1.0");
    assert_eq!(first["params"]["quote_size"], "10");
    wait_for(60, "a position of mm_e2e", || {
        let p = get(addr, "/api/v1/positions");
        p.as_array()
            .is_some_and(|a| a.iter().any(|p| p["strategy_name"] == "mm_e2e"))
            .then_some(())
    });

    // v2 through `pqap deploy --env`: reloaded in place while market_maker trades on.
    let mm_fills_before = strategy(addr, "market_maker").unwrap()["fills"]
        .as_u64()
        .unwrap();
    let cwd = dir.path().join("cli");
    std::fs::create_dir_all(cwd.join("configs")).unwrap();
    std::fs::write(
        cwd.join("configs/prod.yaml"),
        format!(
            "environment: prod\ndatabase: unused.db\nserver:\n  url: http://{addr}\ncompiled_cache: {:?}\n",
            dir.path().join("cache")
        ),
    )
    .unwrap();
    let v2 = market_maker_copy(dir.path(), "0.2.0");
    let out = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args([
            "deploy",
            v2.to_str().unwrap(),
            "--env",
            "prod",
            "--params",
            "quote_size=10",
            "--json",
        ])
        .current_dir(&cwd)
        .env("PQAP_API_TOKEN", &ad_token)
        .output()
        .expect("run pqap deploy");
    assert!(
        out.status.success(),
        "pqap deploy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reloaded = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(reloaded["outcome"], "reloaded", "{reloaded}");
    let now = strategy(addr, "mm_e2e").unwrap();
    assert_eq!(now["version"], "0.2.0");
    assert_eq!(now["id"], first["id"], "same strategy, same id");
    assert!(now["fills"].as_u64().unwrap() >= first["fills"].as_u64().unwrap());
    wait_for(60, "market_maker trading after the reload", || {
        strategy(addr, "market_maker")
            .filter(|s| s["fills"].as_u64().unwrap_or(0) > mm_fills_before)
    });

    // A version that cannot start is rolled back; the running one stays.
    let (code, body) = upload(addr, ad, &std::fs::read(&hostile).unwrap());
    assert_eq!(code, 201, "{body}");
    let hsha = json(&body)["sha256"].as_str().unwrap().to_string();
    let (_, body) = deploy("hostile", &format!(r#"{{"sha256":"{hsha}"}}"#), ad);
    assert_eq!(
        applied(addr, json(&body)["deployment"].as_i64().unwrap())["outcome"],
        "started"
    );
    let (_, body) = deploy(
        "hostile",
        &format!(r#"{{"sha256":"{hsha}","params":{{"mode":"refuse_init"}}}}"#),
        ad,
    );
    let d = applied(addr, json(&body)["deployment"].as_i64().unwrap());
    assert_eq!(d["outcome"], "rolled_back", "{d}");
    assert!(
        d["message"].as_str().unwrap().contains("failed to start"),
        "{d}"
    );
    let detail = get(addr, "/api/v1/strategies/hostile");
    assert_eq!(detail["live"]["state"], "running");
    assert_eq!(
        detail["deployments"].as_array().map(Vec::len),
        Some(2),
        "{detail}"
    );
    assert_eq!(detail["manifest"]["name"], "hostile");
    assert_eq!(
        call(addr, "GET", "/api/v1/strategies/nobody", ad, "").0,
        404
    );
    let h = strategy(addr, "hostile").expect("the old hostile still runs");
    assert_eq!(h["state"], "running");
    assert_eq!(h["params"], serde_json::json!({}));

    // Isolation: a version that panics on every call faults, raises alerts and
    // is quarantined, while the market maker keeps trading.
    let mm_fills = strategy(addr, "market_maker").unwrap()["fills"]
        .as_u64()
        .unwrap();
    let (_, body) = deploy(
        "hostile",
        &format!(r#"{{"sha256":"{hsha}","params":{{"mode":"panic"}}}}"#),
        ad,
    );
    assert_eq!(
        applied(addr, json(&body)["deployment"].as_i64().unwrap())["outcome"],
        "reloaded"
    );
    wait_for(40, "hostile quarantined", || {
        strategy(addr, "hostile").filter(|s| s["state"] == "quarantined")
    });
    let alerts = wait_for(10, "quarantine alert", || {
        let a = get(addr, "/api/v1/alerts");
        a.as_array()
            .is_some_and(|a| a.iter().any(|x| x["kind"] == "strategy_quarantined"))
            .then_some(a)
    });
    let fault = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "strategy_fault")
        .expect("a fault alert");
    assert_eq!(fault["strategy"], "hostile");
    assert!(
        fault["message"].as_str().unwrap().contains("panicked"),
        "{fault}"
    );
    wait_for(
        60,
        "market_maker trading beside the quarantined strategy",
        || strategy(addr, "market_maker").filter(|s| s["fills"].as_u64().unwrap_or(0) > mm_fills),
    );

    // What nothing runs can be deleted; what runs cannot.
    let (code, body) = call(addr, "DELETE", &format!("/api/v1/artifacts/{sha1}"), ad, "");
    assert_eq!(code, 200, "{body}");
    let sha2 = now["sha256"].as_str().unwrap().to_string();
    let (code, body) = call(addr, "DELETE", &format!("/api/v1/artifacts/{sha2}"), ad, "");
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("mm_e2e"), "{body}");

    let audit = get(addr, "/api/v1/audit?last=50");
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "deploy")
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert!(
        actions.iter().filter(|o| o.starts_with("queued")).count() >= 4,
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|o| o.starts_with("rejected")),
        "{actions:?}"
    );
    stop_serve(guard);

    // The journal tells the story; a restart runs what was deployed.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let entries = rt.block_on(async {
        let j = pqap::store::Journal::open(&db).await.unwrap();
        assert_eq!(j.verify().await.unwrap().broken, None);
        j.read_from(1).await.unwrap()
    });
    let deployed: Vec<(String, Option<String>)> = entries
        .iter()
        .filter_map(|e| match &e.entry {
            pqap::store::Entry::Deployed {
                outcome,
                previous_sha256,
                ..
            } => Some((outcome.clone(), previous_sha256.clone())),
            _ => None,
        })
        .collect();
    assert!(
        deployed.contains(&("reloaded".into(), Some(sha1.clone()))),
        "{deployed:?}"
    );
    assert!(deployed.iter().any(|(o, _)| o == "rolled_back"));

    let (guard, addr) = start_serve(&[], &db, dir.path(), Some(venue));
    let running = wait_for(30, "deployed strategies after a restart", || {
        let s = get(addr, "/api/v1/strategies");
        (s.as_array().is_some_and(|a| a.len() == 2)).then_some(s)
    });
    let names: Vec<&str> = running
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"mm_e2e") && names.contains(&"hostile"),
        "{names:?}"
    );
    let mm = strategy(addr, "mm_e2e").unwrap();
    assert_eq!(mm["version"], "0.2.0");
    assert_eq!(mm["id"], first["id"]);
    // Retiring takes it out of what runs.
    let (code, body) = call(addr, "POST", "/api/v1/strategies/hostile/retire", ad, "");
    assert_eq!(code, 202, "{body}");
    assert_eq!(
        applied(addr, json(&body)["deployment"].as_i64().unwrap())["outcome"],
        "retired"
    );
    assert!(strategy(addr, "hostile").is_none());
    stop_serve(guard);
}

#[test]
fn the_dashboard_in_chromium_logs_in_uploads_deploys_reloads_pauses_and_audits() {
    let browser = common::browser::Browser::launch();
    let mut b = match browser {
        Ok(b) => b,
        Err(why) => {
            eprintln!("SKIPPED the dashboard browser test: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    let v1 = market_maker_copy(dir.path(), "0.1.0");
    let v1 = {
        // Kept: the copy's directory is rebuilt for v2.
        let kept = dir.path().join("mm_e2e-0.1.0.wasm");
        std::fs::copy(&v1, &kept).unwrap();
        kept
    };
    let v2 = market_maker_copy(dir.path(), "0.2.0");
    let mm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    admin(
        &["user", "add", "ada", "--role", "admin"],
        &db,
        Some("admin password 123"),
    );
    let (_sim, venue) = start_sim();
    let (guard, addr) = start_serve(&[mm.to_str().unwrap()], &db, dir.path(), Some(venue));
    let base = format!("http://{addr}");

    // Pages need a login; a wrong password is refused and says so.
    b.goto(&format!("{base}/strategies"));
    assert!(b.url().ends_with("/login"), "redirected to the login page");
    b.fill("#username", "ada");
    b.fill("#password", "not the password");
    b.click_and_load("button[type=submit]");
    assert!(b.text().contains("Wrong user or password"), "{}", b.text());
    b.fill("#username", "ada");
    b.fill("#password", "admin password 123");
    b.click_and_load("button[type=submit]");
    assert_eq!(b.url(), format!("{base}/"));
    assert!(b.text().contains("Overview") && b.text().contains("ada (admin)"));
    // The session cookie is not readable by scripts.
    assert_eq!(b.eval("document.cookie"), serde_json::json!(""));
    // Live updates arrive over SSE without a reload.
    b.wait_for(
        "document.getElementById('live-dot').className.includes('on')",
        15,
        "live updates",
    );

    // Upload v1 in the browser, deploy it with a parameter.
    b.goto(&format!("{base}/strategies"));
    b.choose_file("input[type=file]", &v1);
    b.click_and_load("form[action='/ui/upload'] button[type=submit]");
    let text = b.text();
    assert!(text.contains("uploaded mm_e2e 0.1.0"), "{text}");
    let deploy_button = |b: &mut common::browser::Browser, version: &str| {
        // The library row of that version holds its deploy form.
        let js = format!(
            "[...document.querySelectorAll('tr')].find(r => r.cells.length > 1 && r.cells[0].innerText === 'mm_e2e' && r.cells[1].innerText === '{version}')?.querySelector('button[data-action^=deploy]')?.getAttribute('data-action')"
        );
        b.eval(&js).as_str().expect("a deploy button").to_string()
    };
    let action = deploy_button(&mut b, "0.1.0");
    let sha1 = action.trim_start_matches("deploy-").to_string();
    b.fill(
        &format!("form[action='/ui/deploy'] input[value='{sha1}'] ~ textarea[name=params]"),
        "quote_size=10",
    );
    b.click_and_load(&format!("button[data-action='{action}']"));
    assert!(
        b.text().contains("deployment 1 of mm_e2e queued"),
        "{}",
        b.text()
    );

    // It starts and trades: its row appears, and its fills rise live.
    let row = "document.querySelector('[data-strategy=\"mm_e2e\"]')";
    let since = Instant::now();
    while b.eval(&format!("!!{row}")) != serde_json::json!(true) {
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "mm_e2e never appeared"
        );
        std::thread::sleep(Duration::from_millis(500));
        b.goto(&format!("{base}/strategies"));
    }
    b.wait_for(
        "Number(document.querySelector('[data-strategy=\"mm_e2e\"] [data-field=fills]').textContent) > 0",
        60,
        "mm_e2e fills (live)",
    );
    b.keep_screenshot("strategies");
    let since = Instant::now();
    loop {
        b.goto(&format!("{base}/positions"));
        if b.text().contains("mm_e2e") {
            break;
        }
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "no position of mm_e2e: {}",
            b.text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    b.goto(&format!("{base}/trades"));
    let fill = b
        .eval("document.querySelector('td a[href^=\"/trades/\"]')?.getAttribute('href')")
        .as_str()
        .expect("a fill to explain")
        .to_string();
    b.goto(&format!("{base}{fill}"));
    assert!(b.text().contains("explained") && b.text().contains("Reason"));

    // Hot reload: upload v2 and deploy it; same strategy, new version, while
    // market_maker keeps trading.
    let calls_of = |b: &mut common::browser::Browser, name: &str| {
        b.eval(&format!(
            "Number(document.querySelector('[data-strategy=\"{name}\"] [data-field=fuel_calls]')?.textContent ?? -1)"
        ))
        .as_f64()
        .unwrap_or(-1.0)
    };
    b.goto(&format!("{base}/strategies"));
    let mm_before = calls_of(&mut b, "market_maker");
    b.choose_file("input[type=file]", &v2);
    b.click_and_load("form[action='/ui/upload'] button[type=submit]");
    assert!(b.text().contains("uploaded mm_e2e 0.2.0"), "{}", b.text());
    let action = deploy_button(&mut b, "0.2.0");
    b.click_and_load(&format!("button[data-action='{action}']"));
    let since = Instant::now();
    loop {
        b.goto(&format!("{base}/strategies"));
        let version = b.eval(&format!("{row}?.cells[1].innerText"));
        if version == serde_json::json!("0.2.0") {
            break;
        }
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "never reloaded: {}",
            b.text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        b.text().contains("reloaded"),
        "the deployments table says so"
    );
    // The other strategy went on deciding throughout (its calls rise live).
    b.wait_for(
        &format!(
            "Number(document.querySelector('[data-strategy=\"market_maker\"] [data-field=fuel_calls]').textContent) > {mm_before} && ['running', 'halted'].includes(document.querySelector('[data-strategy=\"market_maker\"] [data-field=state]').textContent)"
        ),
        30,
        "market_maker running on after the reload",
    );

    // Pause it from the browser; the state turns to paused live.
    b.click_and_load("button[data-action='pause-mm_e2e']");
    assert!(b.text().contains("pause mm_e2e requested"), "{}", b.text());
    b.wait_for(
        "document.querySelector('[data-strategy=\"mm_e2e\"] [data-field=state]').textContent === 'paused'",
        15,
        "paused",
    );

    // A form post without the session's CSRF token is refused.
    let forged = b.eval(
        "fetch('/ui/risk', {method: 'POST', body: new URLSearchParams({csrf: 'forged', state: 'halt'})}).then(r => r.status)",
    );
    assert_eq!(forged, serde_json::json!(403));

    // The audit log shows who did what.
    b.goto(&format!("{base}/audit"));
    let audit = b.text();
    for expected in [
        "login\t127.0.0.1\tok",
        "rejected: wrong user or password",
        "upload",
        "stored",
        "queued deployment 1",
        "pause\tmm_e2e\tqueued request",
    ] {
        assert!(
            audit.contains(expected),
            "audit log lacks {expected:?}:\n{audit}"
        );
    }
    b.goto(&format!("{base}/docs/DEPLOYMENT_GUIDE"));
    assert!(b.text().contains("Deployment guide"));
    b.goto(&format!("{base}/performance"));
    b.keep_screenshot("performance");
    b.goto(&format!("{base}/"));
    b.keep_screenshot("overview");
    let png = b.screenshot_base64();
    assert!(
        png.starts_with("iVBORw0KGgo") && png.len() > 20_000,
        "a real screenshot"
    );

    // Logging out ends the session.
    b.click_and_load("form[action='/logout'] button");
    assert!(b.url().ends_with("/login"));
    b.goto(&format!("{base}/strategies"));
    assert!(b.url().ends_with("/login"));
    stop_serve(guard);
}
