//! Polymarket's official Python client (`py-clob-client-v2` from PyPI) against
//! `pqap sim`: every public call it makes succeeds and returns what the venue
//! would. The client is installed once into a virtualenv cached under the target
//! directory. Without PyPI the test is skipped (with the reason printed), unless
//! `CI` is set, when it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use pqap::venue::sim::{Activity, SimConfig, SimServer};
use serde_json::Value;

mod common;
#[path = "sim_pyclient/trading.rs"]
mod trading;

/// The client version tested (pinned so the cached virtualenv stays valid).
pub(crate) const CLIENT: &str = "py-clob-client-v2==1.2.1";

fn python(venv: &Path) -> PathBuf {
    venv.join("bin/python")
}

fn installed(venv: &Path) -> bool {
    Command::new(python(venv))
        .args(["-c", "import py_clob_client_v2.client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The cached virtualenv with the client, installing it on first use (into a
/// scratch directory renamed into place, so concurrent runs never see half an
/// install). `Err` says why it could not be had.
fn client_venv() -> Result<PathBuf, String> {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("py-clob-client-v2-1.2.1");
    if installed(&cache) {
        return Ok(cache);
    }
    let scratch = tempfile::Builder::new()
        .prefix("py-clob-client-venv-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .map_err(|e| format!("scratch dir: {e}"))?;
    let venv = scratch.path().join("venv");
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|e| format!("python3 -m venv: {e}"))?;
    if !made.status.success() {
        return Err(format!(
            "python3 -m venv failed: {}",
            String::from_utf8_lossy(&made.stderr)
        ));
    }
    let pip = Command::new(python(&venv))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--timeout", "60", CLIENT])
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !pip.status.success() {
        return Err(format!(
            "pip install {CLIENT} failed: {}",
            String::from_utf8_lossy(&pip.stderr)
        ));
    }
    // A concurrent run may have won the race; either copy is complete.
    if std::fs::rename(&venv, &cache).is_err() && !installed(&cache) {
        return Err(format!(
            "could not move the virtualenv to {}",
            cache.display()
        ));
    }
    if installed(&cache) {
        Ok(cache)
    } else {
        Err("the installed client does not import".into())
    }
}

/// The client's venv, or `None` (with the reason printed) when PyPI is
/// unreachable outside CI.
async fn venv_or_skip() -> Option<PathBuf> {
    tokio::task::spawn_blocking(|| common::registry::or_skip(client_venv(), "pypi.org", CLIENT))
        .await
        .expect("join")
}

/// The calls: each prints one JSON line `{"call": ..., "result": ...}`; any
/// exception fails the script.
const SCRIPT: &str = r#"
import json, sys
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import BookParams, PricesHistoryParams

host = sys.argv[1]
c = ClobClient(host, chain_id=137)

def out(call, result):
    print(json.dumps({"call": call, "result": result}))

out("get_ok", c.get_ok())
out("get_server_time", c.get_server_time())
out("get_version", c.get_version())
markets = c.get_markets()
out("get_markets", markets)
m = markets["data"][0]
cid = m["condition_id"]
yes, no = m["tokens"][0]["token_id"], m["tokens"][1]["token_id"]
out("get_market", c.get_market(cid))
out("get_simplified_markets", c.get_simplified_markets())
out("get_sampling_markets", c.get_sampling_markets())
out("get_sampling_simplified_markets", c.get_sampling_simplified_markets())
out("get_clob_market_info", c.get_clob_market_info(cid))
book = c.get_order_book(yes)
out("get_order_book", book)
out("get_order_book_hash", c.get_order_book_hash(dict(book)))
out("get_order_books", c.get_order_books([BookParams(token_id=yes), BookParams(token_id=no)]))
out("get_midpoint", c.get_midpoint(yes))
out("get_midpoints", c.get_midpoints([BookParams(token_id=yes), BookParams(token_id=no)]))
out("get_price_buy", c.get_price(yes, "BUY"))
out("get_price_sell", c.get_price(yes, "SELL"))
out("get_prices", c.get_prices([BookParams(token_id=yes, side="BUY"), BookParams(token_id=no, side="SELL")]))
out("get_spread", c.get_spread(yes))
out("get_spreads", c.get_spreads([BookParams(token_id=yes), BookParams(token_id=no)]))
out("get_last_trade_price", c.get_last_trade_price(yes))
out("get_last_trades_prices", c.get_last_trades_prices([BookParams(token_id=yes), BookParams(token_id=no)]))
out("get_tick_size", c.get_tick_size(no))
out("get_neg_risk", c.get_neg_risk(no))
out("get_fee_rate_bps", c.get_fee_rate_bps(no))
out("get_prices_history", c.get_prices_history(PricesHistoryParams(market=yes, interval="1h", fidelity=1)))
fresh = ClobClient(host, chain_id=137)
out("get_tick_size_uncached", fresh.get_tick_size(yes))
out("get_neg_risk_uncached", fresh.get_neg_risk(yes))
try:
    c.get_order_book("12345678901234567890")
    out("unknown_book", "no error")
except Exception as e:
    out("unknown_book", getattr(e, "status_code", None))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_client_reads_the_sim() {
    let Some(venv) = venv_or_skip().await else {
        return;
    };
    let g = Generator::new(
        GeneratorConfig {
            seed: 17,
            markets: 3,
            step_ms: 1_000,
            ..GeneratorConfig::default()
        },
        pqap::venue::polymarket::websocket::client::now_ms(),
    );
    // A still market (one step an hour) stepped by hand: a little history and
    // some trades first, the same every run, so the client's calls made one
    // after the other read one book (two-sided with this seed).
    let sim = SimServer::start(
        SimConfig {
            step_every: Duration::from_secs(3_600),
            ..SimConfig::default()
        },
        Activity::Synthetic(g),
    )
    .await
    .expect("sim starts");
    for _ in 0..10 {
        sim.state.lock().expect("sim state").step();
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("calls.py");
    std::fs::write(&script, SCRIPT).expect("write script");
    let (stdout, stderr) = (dir.path().join("out.txt"), dir.path().join("err.txt"));
    let mut child = Command::new(python(&venv))
        .arg(&script)
        .arg(sim.clob_url())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("python runs");
    let status = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(s) = child.try_wait().expect("wait") {
                return Some(s);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .expect("join")
    .expect("the client finishes within 2 minutes");
    let stdout = std::fs::read_to_string(&stdout).unwrap_or_default();
    assert!(
        status.success(),
        "the client failed:\n{stdout}\n{}",
        std::fs::read_to_string(&stderr).unwrap_or_default()
    );
    let results: std::collections::BTreeMap<String, Value> = stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            (
                v["call"].as_str().unwrap_or_default().to_string(),
                v["result"].clone(),
            )
        })
        .collect();
    let r = |k: &str| {
        results
            .get(k)
            .unwrap_or_else(|| panic!("no {k} in {stdout}"))
    };
    assert_eq!(r("get_ok"), "OK");
    assert!(r("get_server_time").as_u64().is_some());
    assert_eq!(r("get_version"), 2);
    assert_eq!(r("get_markets")["data"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        r("get_market")["condition_id"],
        r("get_markets")["data"][0]["condition_id"]
    );
    assert_eq!(
        r("get_clob_market_info")["c"],
        r("get_market")["condition_id"]
    );
    // The client recomputes the venue's book hash and gets the served one.
    assert_eq!(r("get_order_book_hash"), &r("get_order_book")["hash"]);
    assert_eq!(r("get_order_books").as_array().map(Vec::len), Some(2));
    for k in [
        "get_midpoint",
        "get_price_buy",
        "get_price_sell",
        "get_spread",
    ] {
        let v = r(k)
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str);
        assert!(v.is_some_and(|p| p.parse::<f64>().is_ok()), "{k}: {}", r(k));
    }
    assert_eq!(r("get_midpoints").as_object().map(|o| o.len()), Some(2));
    assert_eq!(r("get_spreads").as_object().map(|o| o.len()), Some(2));
    assert_eq!(r("get_prices").as_object().map(|o| o.len()), Some(2));
    assert!(r("get_last_trade_price")["price"].is_string());
    assert_eq!(
        r("get_last_trades_prices").as_array().map(Vec::len),
        Some(2)
    );
    for k in ["get_tick_size", "get_tick_size_uncached"] {
        assert!(
            ["0.01", "0.001"].contains(&r(k).as_str().unwrap_or_default()),
            "{k}: {}",
            r(k)
        );
    }
    assert_eq!(r("get_neg_risk"), false);
    assert_eq!(r("get_neg_risk_uncached"), false);
    assert!(r("get_fee_rate_bps").is_u64());
    assert!(
        r("get_prices_history")["history"]
            .as_array()
            .is_some_and(|h| !h.is_empty())
    );
    assert_eq!(r("unknown_book"), 404);
}
