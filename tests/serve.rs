//! `pqap serve` end to end: the engine with the market maker against the
//! in-process simulator, the HTTP server on a free loopback port; health,
//! readiness and metrics answer openly, the API only with a token; a viewer can
//! read but not act, an operator halts trading through the API and the audit log
//! shows who did; SIGTERM stops it cleanly with the journal intact.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::server::*;
use pqap::strategy::build::GuestTarget;

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
    // On loopback the metrics are open (a scraper on this machine).
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
    // A fill explained by the server's journal, and its chain verified there.
    let seq = trades[0]["seq"].as_i64().unwrap().to_string();
    let out = cli(&["trades", "--explain", &seq], vw);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let story = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(story["fill"]["seq"].to_string(), seq, "{story}");
    let out = cli(&["journal", "verify"], op);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&String::from_utf8_lossy(&out.stdout))["ok"], true);
    // `pqap risk --env` reaches the server's engine, never a local database.
    let out = cli(&["risk", "reduce"], op);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let since = Instant::now();
    while json(&get(addr, "/api/v1/status", vw).1)["trading_state"] != "reducing" {
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "reduce never applied"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!cwd.join("unused.db").exists() && !cwd.join("data").exists());
    let out = cli(&["risk", "halt"], vw);
    assert!(!out.status.success(), "a viewer halted trading");
    // Every --env command fails loudly with a bad token or an unknown environment.
    for cmd in [
        &["status"][..],
        &["positions"][..],
        &["trades"][..],
        &["trades", "--explain", &seq][..],
        &["performance"][..],
        &["journal", "verify"][..],
        &["risk", "halt"][..],
    ] {
        let out = cli(cmd, Some("pqap_bogus"));
        assert!(
            !out.status.success(),
            "{cmd:?} succeeded with a bogus token"
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("401"),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new(env!("CARGO_BIN_EXE_pqap"))
            .args(cmd)
            .args(["--env", "nosuchenv"])
            .current_dir(&cwd)
            .env("PQAP_API_TOKEN", "pqap_bogus")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{cmd:?} --env nosuchenv succeeded");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("nosuchenv"),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        !cwd.join("data").exists(),
        "a command wrote a local database"
    );
    let out = cli(&["risk", "resume"], op);
    assert!(out.status.success());

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
    // A valid token from that same address still works: only failures are
    // throttled, never a caller who proves who they are.
    assert_eq!(get(addr, "/api/v1/status", op).0, 200);
    assert_eq!(get(addr, "/api/v1/status", ad).0, 200);

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

/// Off loopback (or when configured so) `/metrics` needs a token: strategy
/// names, PnL and exposure are not for anonymous clients. Every answer tells
/// the browser not to let other sites frame the dashboard or run scripts
/// from elsewhere.
#[test]
fn metrics_can_require_a_token_and_every_answer_carries_the_security_headers() {
    let wasm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    admin(
        &["user", "add", "vic", "--role", "viewer"],
        &db,
        Some("viewer password 12"),
    );
    let viewer = admin(&["token", "create", "vic"], &db, None);
    let (guard, addr) = common::server::start_serve_with(
        &[wasm.to_str().unwrap()],
        &db,
        dir.path(),
        None,
        &[("PQAP_SERVER_METRICS_PUBLIC", "false")],
    );
    let (code, body) = request(addr, "GET", "/metrics");
    assert_eq!(code, 401, "{body}");
    assert!(!body.contains("market_maker"), "{body}");
    let (code, body) = call(addr, "GET", "/metrics", Some(&viewer), "");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("pqap_feed_connected"), "{body}");
    // Health stays open for the supervisor and the load balancer.
    assert_eq!(request(addr, "GET", "/healthz").0, 200);
    for path in ["/", "/login", "/api/v1/status", "/metrics", "/healthz"] {
        let head = raw_head(addr, path);
        for expected in [
            "content-security-policy: default-src 'self'; script-src 'self';",
            "frame-ancestors 'none'",
            "x-frame-options: deny",
            "x-content-type-options: nosniff",
            "referrer-policy: same-origin",
        ] {
            assert!(head.contains(expected), "{path}: no {expected} in\n{head}");
        }
    }
    common::server::stop_serve(guard);
}

/// The status line and headers of a GET, lower-cased.
fn raw_head(addr: SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).to_lowercase();
    raw.split_once("\r\n\r\n")
        .map_or(raw.clone(), |(h, _)| h.to_string())
}

/// One form post to `/login` as the client `client` (through the trusted
/// proxy on loopback); the status.
fn login_as(addr: SocketAddr, client: &str, user: &str, password: &str) -> u16 {
    use std::io::{Read, Write};
    let body = format!("username={user}&password={}", password.replace(' ', "+"));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-Forwarded-For: {client}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A burst of bad logins from one client: the first twenty are checked and
/// refused, the rest refused without a password check; the audit log gets
/// two rows for it, not thirty; the same user logs in from another client,
/// and an API token keeps working throughout.
#[test]
fn a_login_flood_is_throttled_per_client_and_audited_once_per_burst() {
    let wasm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    admin(
        &["user", "add", "ada", "--role", "admin"],
        &db,
        Some("admin password 123"),
    );
    let token = admin(&["token", "create", "ada"], &db, None);
    let (guard, addr) = common::server::start_serve_with(
        &[wasm.to_str().unwrap()],
        &db,
        dir.path(),
        None,
        &[("PQAP_SERVER_TRUSTED_PROXIES", "127.0.0.1")],
    );
    let codes: Vec<u16> = (0..30)
        .map(|_| login_as(addr, "203.0.113.5", "ada", "not the password"))
        .collect();
    assert!(codes[..20].iter().all(|c| *c == 401), "{codes:?}");
    assert!(codes[20..].iter().all(|c| *c == 429), "{codes:?}");
    assert_eq!(
        call(addr, "GET", "/api/v1/status", Some(&token), "").0,
        200,
        "the token is not throttled"
    );
    // The same user, from another client: logged in (a redirect to /).
    assert_eq!(
        login_as(addr, "198.51.100.7", "ada", "admin password 123"),
        303
    );
    let (_, log) = call(addr, "GET", "/api/v1/audit?last=100", Some(&token), "");
    let rows = json(&log);
    let refused: Vec<&serde_json::Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["action"] == "login" && e["outcome"].as_str().unwrap_or("").starts_with("rejected")
        })
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|e| e["detail"] == "203.0.113.5" || e.to_string().contains("203.0.113.5")),
        "{refused:?}"
    );
    common::server::stop_serve(guard);
    // None of it touched the trading database: users, sessions and the
    // audit log live in the auth database beside it.
    assert!(dir.path().join("serve.auth.db").exists());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let in_journal_db: i64 = rt.block_on(async {
        let j = pqap::store::Journal::open(&db).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(j.pool())
            .await
            .unwrap()
    });
    assert_eq!(in_journal_db, 0, "no audit row in the journal's database");
}
