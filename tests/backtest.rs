//! `pqap backtest` end to end: the same inputs give a byte-identical result JSON
//! and journal head; a different seed gives a different run; the numbers hang
//! together (fills, fees, realised PnL split).

mod common;

use std::path::Path;
use std::process::Command;

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
