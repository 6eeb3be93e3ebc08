//! The dashboard in real headless Chromium (over the DevTools protocol) against
//! `pqap serve` and a separate `pqap sim`: login, upload, deploy, live updates,
//! hot reload, pause, CSRF, audit log, logout. Skips, saying why, only where no
//! Chromium can be found.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::server::*;
use pqap::strategy::build::GuestTarget;

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
    // A stored backtest beside the database, for the dashboard's Backtests page.
    let backtest = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .arg("backtest")
        .arg(&mm)
        .args(["--synthetic", "--step-s", "60", "--seed", "3", "--json"])
        .arg("--config")
        .arg(common::repo().join("configs/dev.yaml"))
        .arg("--out")
        .arg(dir.path().join("backtests"))
        .env("PQAP_COMPILED_CACHE", dir.path().join("cache"))
        .output()
        .expect("run pqap backtest");
    assert!(
        backtest.status.success(),
        "{}",
        String::from_utf8_lossy(&backtest.stderr)
    );
    let run: serde_json::Value = serde_json::from_slice(&backtest.stdout).expect("result");
    let run_id = run["run_id"].as_str().expect("run id").to_string();
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
    // Stored backtests are listed and their reports open; only run ids are
    // looked up.
    b.goto(&format!("{base}/backtests"));
    let traversal = b.eval("fetch('/backtests/..%2F..%2Fprod.db').then(r => r.status)");
    assert_eq!(traversal, serde_json::json!(404));
    b.click_and_load(&format!("a[href='/backtests/{run_id}']"));
    assert!(
        b.text().contains("Sanity analyses"),
        "the report: {}",
        b.text()
    );
    // The report page may load and run nothing (its Content-Security-Policy).
    let blocked = b.eval("fetch('/healthz').then(() => 'fetched', () => 'blocked')");
    assert_eq!(blocked, serde_json::json!("blocked"));
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
