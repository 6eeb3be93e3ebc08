//! Isolation through the real commands: `pqap paper` runs the other strategies
//! when one cannot start and shows it quarantined; a wasip2 strategy's stdio
//! never reaches the host's output; `pqap serve` restarted with a deployed
//! strategy that no longer starts keeps serving (API, status, dashboard), and
//! an operator can retire it offline while no server runs.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::server::*;
use pqap::store::{Entry, Journal};
use pqap::strategy::build::GuestTarget;

struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// `pqap paper` for a few seconds on its in-process simulator (fast steps).
fn paper(dir: &Path, strategies: &[&Path], extra: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .arg("paper")
        .args(strategies)
        .arg("--config")
        .arg(common::repo().join("configs/dev.yaml"))
        .arg("--db")
        .arg(dir.join("paper.db"))
        .args(["--duration", "5s", "--json"])
        .args(extra)
        .env("PQAP_COMPILED_CACHE", dir.join("cache"))
        .env("PQAP_VENUE_SIM_STEP_MS", "20")
        .output()
        .expect("run pqap paper");
    Output {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn summary_of<'a>(summary: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    summary["strategies"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["strategy"] == name))
        .unwrap_or_else(|| panic!("{name} missing from {summary}"))
}

/// Commands the strategy named `name` journaled.
fn commands_of(db: &Path, name: &str) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let j = Journal::open(db).await.unwrap();
        let entries = j.read_from(1).await.unwrap();
        let id = entries.iter().find_map(|e| match &e.entry {
            Entry::StrategyStarted {
                strategy, name: n, ..
            } if n == name => Some(*strategy),
            _ => None,
        });
        entries
            .iter()
            .filter(
                |e| matches!(&e.entry, Entry::Command { strategy, .. } if Some(*strategy) == id),
            )
            .count()
    })
}

#[test]
fn paper_runs_the_others_when_one_cannot_start_and_shows_it_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let mm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let bad = common::guest("tests/guests/hostile", GuestTarget::UnknownUnknown);
    let out = paper(
        dir.path(),
        &[&mm, &bad],
        &["--params", "hostile.mode=loop_init"],
    );
    assert!(out.ok, "paper refused to run: {}", out.stderr);
    let summary = json(&out.stdout);
    let hostile = summary_of(&summary, "hostile");
    assert_eq!(hostile["state"], "quarantined", "{summary}");
    assert!(
        hostile["last_fault"]
            .as_str()
            .is_some_and(|f| f.contains("out of fuel in `init`")),
        "{hostile}"
    );
    assert_eq!(summary_of(&summary, "market_maker")["state"], "running");
    let db = dir.path().join("paper.db");
    assert!(
        commands_of(&db, "market_maker") > 0,
        "the market maker never quoted"
    );

    let status = json(&admin(&["status", "--json"], &db, None));
    let states: Vec<(String, String)> = status["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().into(),
                s["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        states.contains(&("hostile".into(), "quarantined".into())),
        "{states:?}"
    );
    assert!(
        states.contains(&("market_maker".into(), "active".into())),
        "{states:?}"
    );

    // A parameter for a strategy that is not run is named.
    let out = paper(dir.path(), &[&mm], &["--params", "nobody.size=5"]);
    assert!(
        !out.ok && out.stderr.contains("no strategy `nobody` is run"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_wasip2_strategy_in_paper_never_writes_to_the_host_and_cannot_block_it() {
    let dir = tempfile::tempdir().unwrap();
    let mm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let wasi = common::guest("tests/guests/hostile", GuestTarget::Wasip2);
    let out = paper(
        dir.path(),
        &[&mm, &wasi],
        &[
            "--params",
            "hostile.mode=print",
            "hostile.after=0",
            "--log",
            "info",
        ],
    );
    assert!(out.ok, "{}", out.stderr);
    assert!(
        !out.stdout.contains("hostile stdout line"),
        "guest stdout on the host's stdout"
    );
    let summary = json(&out.stdout);
    assert_eq!(summary_of(&summary, "hostile")["state"], "running");
    // Its lines are in the log, tagged and one per line; the forged line never
    // starts a line of the host's output.
    let tagged = out
        .stderr
        .lines()
        .filter(|l| l.contains("hostile stdout line") && l.contains("hostile"))
        .count();
    assert!(tagged > 0, "{}", out.stderr);
    assert!(
        out.stderr
            .lines()
            .chain(out.stdout.lines())
            .all(|l| !l.starts_with("2026-01-01T00:00:00Z ERROR pqap: forged")),
        "a guest forged a host log line"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = paper(
        dir.path(),
        &[&mm, &wasi],
        &["--params", "hostile.mode=sleep_long", "hostile.after=0"],
    );
    assert!(out.ok, "{}", out.stderr);
    let summary = json(&out.stdout);
    let hostile = summary_of(&summary, "hostile");
    assert!(
        hostile["last_fault"]
            .as_str()
            .is_some_and(|f| f.starts_with("blocked")),
        "{hostile}"
    );
    assert!(commands_of(&dir.path().join("paper.db"), "market_maker") > 0);
}

/// Logs in to the dashboard over raw HTTP; the session cookie.
fn dashboard_login(addr: SocketAddr, user: &str, password: &str) -> String {
    let body = format!("username={user}&password={}", password.replace(' ', "+"));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    raw.lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie: {raw}"))
        .to_string()
}

fn dashboard_page(addr: SocketAddr, cookie: &str, path: &str) -> String {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    raw
}

#[test]
fn serve_restarted_with_a_deployed_strategy_that_cannot_start_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    let mm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let hostile = common::guest("tests/guests/hostile", GuestTarget::UnknownUnknown);
    admin(
        &["user", "add", "ada", "--role", "admin"],
        &db,
        Some("admin password 123"),
    );
    let token = admin(&["token", "create", "ada"], &db, None);
    let ad = Some(token.as_str());
    let get = |addr: SocketAddr, path: &str| json(&call(addr, "GET", path, ad, "").1);
    let strategy = |addr: SocketAddr, name: &str| {
        get(addr, "/api/v1/strategies")
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
    };

    // Deployed while its initialisation fits the fuel budget.
    let (guard, addr) = start_serve(&[mm.to_str().unwrap()], &db, dir.path(), None);
    let (code, body) = upload(addr, ad, &std::fs::read(&hostile).unwrap());
    assert_eq!(code, 201, "{body}");
    let sha = json(&body)["sha256"].as_str().unwrap().to_string();
    let (code, body) = call(
        addr,
        "POST",
        "/api/v1/strategies/hostile/deploy",
        ad,
        &format!(r#"{{"sha256":"{sha}","params":{{"mode":"slow_init"}}}}"#),
    );
    assert_eq!(code, 202, "{body}");
    let id = json(&body)["deployment"].as_i64().unwrap();
    let d = wait_for(30, "deployment applied", || {
        let d = get(addr, &format!("/api/v1/deployments/{id}"));
        (d["status"] == "applied").then_some(d)
    });
    assert_eq!(d["outcome"], "started", "{d}");
    // An offline change is refused while the server holds the database.
    let out = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(["deploy", "quarantine", "hostile", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("in use by a running pqap engine"),
        "{err}"
    );
    stop_serve(guard);

    // The operator tightens the init budget: the deployed strategy can no
    // longer start. The server serves anyway, the market maker trades, and the
    // strategy shows quarantined with its typed fault everywhere.
    let (guard, addr) = start_serve_with(
        &[mm.to_str().unwrap()],
        &db,
        dir.path(),
        None,
        &[("PQAP_SANDBOX_FUEL_INIT", "20000000")],
    );
    assert_eq!(request(addr, "GET", "/healthz").0, 200);
    let bad = wait_for(30, "hostile listed", || strategy(addr, "hostile"));
    assert_eq!(bad["state"], "quarantined", "{bad}");
    assert!(
        bad["last_fault"]
            .as_str()
            .is_some_and(|f| f.contains("out of fuel in `init`")),
        "{bad}"
    );
    wait_for(60, "the market maker trading", || {
        strategy(addr, "market_maker").filter(|s| s["fuel_calls"].as_u64().unwrap_or(0) > 0)
    });
    let status = get(addr, "/api/v1/status");
    let listed = status["strategies"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|s| s["name"] == "hostile" && s["state"] == "quarantined"),
        "{status}"
    );
    let cookie = dashboard_login(addr, "ada", "admin password 123");
    let page = dashboard_page(addr, &cookie, "/strategies");
    assert!(
        page.contains("quarantined") && page.contains("out of fuel in `init`"),
        "{page}"
    );
    stop_serve(guard);

    // Offline, the operator retires it; the next start does not run it.
    let out = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(["deploy", "retire", "hostile", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let change = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(change["outcome"], "retired");
    let (guard, addr) = start_serve(&[mm.to_str().unwrap()], &db, dir.path(), None);
    assert!(
        strategy(addr, "hostile").is_none(),
        "a retired strategy started"
    );
    assert!(strategy(addr, "market_maker").is_some());
    stop_serve(guard);
}
