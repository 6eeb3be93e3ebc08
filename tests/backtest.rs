//! `pqap backtest` end to end: the same inputs give a byte-identical result JSON
//! and journal head; stored runs list, compare and rerun; parameters, sweeps and
//! walk-forward; the HTML report renders offline in headless Chromium; a paper
//! session recorded to the archive backtests to the same decisions.

mod common;

use std::path::Path;
use std::process::Command;

use pqap::model::OrderEvent;
use pqap::store::Entry;
use pqap::strategy::build::GuestTarget;

fn backtest(wasm: &Path, out: &Path, seed: &str) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .arg("backtest")
        .arg(wasm)
        .args(["--synthetic", "--step-s", "60", "--seed", seed, "--json"])
        .arg("--config")
        .arg(common::repo().join("configs/dev.yaml"))
        .arg("--out")
        .arg(out)
        .env("PQAP_COMPILED_CACHE", out.join("cache"))
        .output()
        .expect("run pqap backtest");
    assert!(
        output.status.success(),
        "pqap backtest failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&output.stdout).expect("result JSON");
    let run_id = v["run_id"].as_str().expect("run_id");
    let stored = std::fs::read(out.join(format!("{run_id}.json"))).expect("stored result");
    assert_eq!(stored, output.stdout, "stored and printed results differ");
    v
}

#[test]
fn same_inputs_same_bytes() {
    let wasm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = backtest(&wasm, a.path(), "7");
    let second = backtest(&wasm, b.path(), "7");
    assert_eq!(first, second);
    let run_id = first["run_id"].as_str().unwrap();
    assert_eq!(
        std::fs::read(a.path().join(format!("{run_id}.json"))).unwrap(),
        std::fs::read(b.path().join(format!("{run_id}.json"))).unwrap(),
    );
    // Rerunning into the same place starts a fresh journal, not a resumed one.
    let again = backtest(&wasm, a.path(), "7");
    assert_eq!(first["journal_head"], again["journal_head"]);

    let s = &first["summary"];
    assert!(
        s["fills"].as_u64().unwrap() > 0,
        "the market maker trades: {s}"
    );
    assert!(s["orders"].as_u64().unwrap() >= s["fills"].as_u64().unwrap() / 4);
    assert_eq!(s["faults"], 0);
    let other = backtest(&wasm, b.path(), "8");
    assert_ne!(first["run_id"], other["run_id"]);
    assert_ne!(first["journal_head"], other["journal_head"]);
}

/// Runs `pqap` with `args`; returns (success, stdout, stderr).
fn pqap(args: &[&str], cache: &Path, env: &[(&str, &str)]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(args)
        .env("PQAP_COMPILED_CACHE", cache)
        .envs(env.iter().copied())
        .output()
        .expect("run pqap");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `pqap backtest rerun ID` succeeds and reports a byte-identical result.
fn assert_reruns(id: &str, out: &str, cache: &Path) {
    let (ok, rerun, err) = pqap(
        &["backtest", "rerun", id, "--out", out, "--json"],
        cache,
        &[],
    );
    assert!(ok, "rerun {id}: {err}");
    assert_eq!(json(&rerun)["identical"], true, "rerun {id}");
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn stored_runs_are_listed_compared_and_rerun() {
    let wasm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let cache = dir.path().join("cache");
    let a = backtest(&wasm, dir.path(), "7");
    let b = backtest(&wasm, dir.path(), "9");
    let (ok, listed, err) = pqap(&["backtest", "list", "--out", out, "--json"], &cache, &[]);
    assert!(ok, "{err}");
    let listed = json(&listed);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    assert!(ids.contains(&a["run_id"].as_str().unwrap()));

    let (ok, compared, err) = pqap(
        &[
            "backtest",
            "compare",
            a["run_id"].as_str().unwrap(),
            &b["run_id"].as_str().unwrap()[..8],
            "--out",
            out,
            "--json",
        ],
        &cache,
        &[],
    );
    assert!(ok, "{err}");
    let compared = json(&compared);
    let rows = compared.as_array().unwrap();
    let seed = rows
        .iter()
        .find(|r| r["name"] == "seed")
        .expect("the seeds differ");
    assert_eq!(
        (seed["a"].as_str(), seed["b"].as_str()),
        (Some("7"), Some("9"))
    );
    let pnl = rows.iter().find(|r| r["name"] == "pnl").unwrap();
    let expected = a["summary"]["metrics"]["total_pnl"].as_str().unwrap();
    let shown: f64 = pnl["a"].as_str().unwrap().parse().unwrap();
    assert!(
        (shown - expected.parse::<f64>().unwrap()).abs() < 1e-4,
        "{pnl} vs {expected}"
    );

    let id = a["run_id"].as_str().unwrap();
    assert_reruns(id, out, &cache);

    // A stored result that no longer matches what its inputs produce is caught,
    // and the stored files are left as they were.
    let path = dir.path().join(format!("{id}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let head = a["journal_head"].as_str().unwrap();
    let tampered = text.replace(head, &"0".repeat(64));
    std::fs::write(&path, &tampered).unwrap();
    let (ok, rerun, _) = pqap(
        &["backtest", "rerun", id, "--out", out, "--json"],
        &cache,
        &[],
    );
    assert!(!ok, "a mismatch must fail: {rerun}");
    assert_eq!(json(&rerun)["identical"], false);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), tampered);

    let (ok, _, err) = pqap(&["backtest", "rerun", "bt-nope", "--out", out], &cache, &[]);
    assert!(!ok);
    assert!(err.contains("no stored run \"bt-nope\""), "{err}");
}

#[test]
fn parameters_reach_the_strategy_and_bad_ones_are_named() {
    let wasm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (out, w) = (dir.path().to_str().unwrap(), wasm.to_str().unwrap());
    let config = common::repo().join("configs/dev.yaml");
    let config = config.to_str().unwrap();
    let base = [
        "backtest",
        w,
        "--synthetic",
        "--step-s",
        "60",
        "--config",
        config,
        "--out",
        out,
        "--json",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        pqap(&args, &cache, &[])
    };
    let (ok, narrow, err) = run(&["--params", "half_spread=0.01"]);
    assert!(ok, "{err}");
    let (ok, wide, err) = run(&["--params", "half_spread=0.05"]);
    assert!(ok, "{err}");
    let (narrow, wide) = (json(&narrow), json(&wide));
    assert_eq!(narrow["inputs"]["params"][0], "half_spread=0.01");
    assert_ne!(narrow["run_id"], wide["run_id"]);
    assert_ne!(
        narrow["summary"]["fills"], wide["summary"]["fills"],
        "the spread changes what the market maker does"
    );
    // A market filter narrows the data, is recorded, and reruns.
    let (ok, one, err) = run(&["--markets", "market 1"]);
    assert!(ok, "{err}");
    let one = json(&one);
    assert_eq!(one["markets"], 1);
    assert_eq!(one["inputs"]["markets"][0], "market 1");
    let id = one["run_id"].as_str().unwrap();
    assert_reruns(id, out, &cache);
    let (ok, _, err) = run(&["--markets", "no such market"]);
    assert!(!ok);
    assert!(err.contains("--markets no such market: no market"), "{err}");
    let (ok, _, err) = run(&["--params", "half_sprad=0.01"]);
    assert!(!ok);
    assert!(
        err.contains("\"half_sprad\": the strategy has no such parameter"),
        "{err}"
    );
    let (ok, _, err) = run(&["--params", "quote_size=lots"]);
    assert!(!ok);
    assert!(
        err.contains("quote_size=\"lots\": not a valid decimal"),
        "{err}"
    );
}

#[test]
fn sweeps_rank_combinations_and_walk_forward_rolls() {
    let wasm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (out, w) = (dir.path().to_str().unwrap(), wasm.to_str().unwrap());
    let config = common::repo().join("configs/dev.yaml");
    let config = config.to_str().unwrap();
    let (ok, table, err) = pqap(
        &[
            "backtest",
            w,
            "--synthetic",
            "--step-s",
            "120",
            "--config",
            config,
            "--out",
            out,
            "--sweep",
            "half_spread=0.01..0.03:0.01",
            "--sweep",
            "quote_size=5,10",
            "--sort-by",
            "pnl",
            "--jobs",
            "2",
            "--json",
        ],
        &cache,
        &[],
    );
    assert!(ok, "{err}");
    let rows = json(&table);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 6);
    let metric: Vec<f64> = rows.iter().map(|r| r["metric"].as_f64().unwrap()).collect();
    assert!(
        metric.windows(2).all(|w| w[0] >= w[1]),
        "sorted best first: {metric:?}"
    );
    // Each combination is a stored run that reruns identically.
    let id = rows[3]["run_id"].as_str().unwrap();
    assert_reruns(id, out, &cache);

    let (ok, wf, err) = pqap(
        &[
            "backtest",
            w,
            "--synthetic",
            "--step-s",
            "300",
            "--config",
            config,
            "--out",
            out,
            "--start",
            "2026-01-01",
            "--end",
            "2026-01-05",
            "--walk-forward",
            "2:1",
            "--sweep",
            "half_spread=0.01,0.03",
            "--sort-by",
            "pnl",
            "--json",
        ],
        &cache,
        &[],
    );
    assert!(ok, "{err}");
    let wf = json(&wf);
    let folds = wf["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 2);
    assert_eq!(folds[0]["train"]["start"], "2026-01-01");
    assert_eq!(folds[0]["test"]["start"], "2026-01-03");
    assert_eq!(folds[1]["test"]["start"], "2026-01-04");
    // A fold's test run is cut from the whole range, and still reruns exactly.
    let id = folds[1]["test_run"].as_str().unwrap();
    assert_reruns(id, out, &cache);
}

#[test]
fn the_report_is_self_contained_and_renders_in_headless_chromium() {
    let wasm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let dir = tempfile::tempdir().unwrap();
    let result = backtest(&wasm, dir.path(), "7");
    let id = result["run_id"].as_str().unwrap();
    let report = dir.path().join(format!("{id}.html"));
    let html = std::fs::read_to_string(&report).unwrap();
    // Offline by construction: nothing is fetched.
    for forbidden in ["http://", "https://", "<script", "<link", "src="] {
        assert!(
            !html.contains(forbidden),
            "the report references {forbidden}"
        );
    }
    assert!(html.contains("Equity ($, marked to mid)"));
    assert!(html.contains("Sanity analyses"));
    assert!(html.contains("PnL by market"));
    assert_eq!(
        html.matches("<svg").count(),
        5,
        "equity, drawdown, market PnL, fills, daily"
    );
    let fills = result["summary"]["fills"].as_u64().unwrap();
    assert!(html.matches("class=\"fill\"").count() > 0 && fills > 0);

    let Some(browser) = common::browser::chromium() else {
        eprintln!("SKIPPED the browser half: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let shot = dir.path().join("report.png");
    let profile = dir.path().join("profile");
    let url = format!("file://{}", report.display());
    let run = |extra: &[&str]| {
        Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(&url)
            .output()
            .expect("run chromium")
    };
    let dom = run(&["--dump-dom"]);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(
        dom.matches("<svg").count(),
        5,
        "the browser parsed every chart"
    );
    assert!(dom.contains("<polygon class=\"fill\""));
    let shot_arg = format!("--screenshot={}", shot.display());
    let out = run(&[&shot_arg, "--window-size=1000,2600"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // A blank page compresses to a few KB; charts and tables do not.
    assert!(png.len() > 60_000, "screenshot is only {} bytes", png.len());
}

#[test]
fn a_recorded_paper_session_backtests_to_the_same_decisions() {
    let wasm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (w, root) = (wasm.to_str().unwrap(), dir.path());
    let config = common::repo().join("configs/dev.yaml");
    let config = config.to_str().unwrap();
    let archive = root.join("archive");
    let paper_db = root.join("paper.db");
    let (ok, _, err) = pqap(
        &[
            "paper",
            w,
            "--config",
            config,
            "--duration",
            "12s",
            "--seed",
            "42",
            "--record",
            archive.to_str().unwrap(),
            "--db",
            paper_db.to_str().unwrap(),
            "--quiet",
        ],
        &cache,
        &[("PQAP_VENUE_SIM_STEP_MS", "20")],
    );
    assert!(ok, "{err}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let decisions = |db: &Path| {
        rt.block_on(async {
            let journal = pqap::store::Journal::open(db).await.unwrap();
            let entries = journal.read_from(1).await.unwrap();
            let pick = |e: &pqap::store::Stored| match &e.entry {
                Entry::Command {
                    reason, command, ..
                } => Some(format!(
                    "{} {reason} {}",
                    e.ts_ns,
                    serde_json::to_string(command).unwrap()
                )),
                Entry::Order {
                    event: OrderEvent::Filled(f),
                } => Some(format!(
                    "{} fill {}",
                    e.ts_ns,
                    serde_json::to_string(f).unwrap()
                )),
                _ => None,
            };
            entries.iter().filter_map(pick).collect::<Vec<String>>()
        })
    };
    let paper = decisions(&paper_db);
    let fills = paper.iter().filter(|d| d.contains(" fill ")).count();
    assert!(
        paper.len() > 100 && fills > 0,
        "{} decisions, {fills} fills",
        paper.len()
    );

    let first_ns: i64 = paper[0].split(' ').next().unwrap().parse().unwrap();
    let start = pqap::model::time::utc_day(first_ns / 1_000_000);
    let end = pqap::model::time::utc_day(first_ns / 1_000_000 + 86_400_000);
    let out = root.join("runs");
    let (ok, result, err) = pqap(
        &[
            "backtest",
            w,
            "--config",
            config,
            "--archive",
            archive.to_str().unwrap(),
            "--start",
            &start,
            "--end",
            &end,
            "--seed",
            "42",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
        &cache,
        &[],
    );
    assert!(ok, "{err}");
    let result = json(&result);
    let replayed = decisions(&out.join(format!("{}.db", result["run_id"].as_str().unwrap())));
    assert_eq!(paper.len(), replayed.len());
    for (i, (p, r)) in paper.iter().zip(&replayed).enumerate() {
        assert_eq!(p, r, "decision {i} differs");
    }
}
