//! The official Python client's trading calls against the sim's exchange: API
//! keys, a resting and a crossing limit buy, open orders, a cancel, trades.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use pqap::venue::sim::{Activity, SimConfig, SimServer};
use serde_json::Value;

use super::{python, venv_or_skip};

/// Runs `script` with `args` (2 minutes at most); its `{"call","result"}` lines.
async fn run_script(
    venv: &Path,
    script: &str,
    args: &[String],
) -> std::collections::BTreeMap<String, Value> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("calls.py");
    std::fs::write(&path, script).expect("write script");
    let (stdout, stderr) = (dir.path().join("out.txt"), dir.path().join("err.txt"));
    let mut child = Command::new(python(venv))
        .arg(&path)
        .args(args)
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
    let out = std::fs::read_to_string(&stdout).unwrap_or_default();
    assert!(
        status.success(),
        "the client failed:\n{out}\n{}",
        std::fs::read_to_string(&stderr).unwrap_or_default()
    );
    out.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            (
                v["call"].as_str().unwrap_or_default().to_string(),
                v["result"].clone(),
            )
        })
        .collect()
}

/// Trading calls: keys, a resting and a crossing GTC buy, open orders, a
/// cancel, trades.
const TRADING: &str = r#"
import json, sys
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import OrderArgs, OrderPayload

host, key = sys.argv[1], sys.argv[2]
def out(call, result):
    print(json.dumps({"call": call, "result": result}))

creds = ClobClient(host, chain_id=137, key=key).create_or_derive_api_key()
c = ClobClient(host, chain_id=137, key=key, creds=creds)
again = c.create_or_derive_api_key()
out("same_key", again.api_key == creds.api_key)
yes = c.get_markets()["data"][0]["tokens"][0]["token_id"]
tick = c.get_tick_size(yes)
dp = len(tick.split(".")[1])
book = c.get_order_book(yes)
bid = max(float(l["price"]) for l in book["bids"])
ask = min(float(l["price"]) for l in book["asks"])
rest = c.create_and_post_order(OrderArgs(token_id=yes, price=0.02, size=10, side="BUY"))
out("rest", rest)
cross = c.create_and_post_order(OrderArgs(token_id=yes, price=round(min(ask + 0.05, 0.99), dp), size=max(5, int(2 / ask) + 1), side="BUY"))
out("cross", cross)
out("open", c.get_open_orders())
out("cancel", c.cancel_order(OrderPayload(orderID=rest["orderID"])))
out("open_after", [o["id"] for o in c.get_open_orders()])
out("trades", c.get_trades())
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_client_trades_on_the_sim() {
    let Some(venv) = venv_or_skip().await else {
        return;
    };
    let key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    let address: alloy_primitives::Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        .parse()
        .expect("address");
    let mut exchange = pqap::venue::sim::exchange::ExchangeConfig::default();
    exchange.accounts.insert(
        address,
        pqap::venue::sim::exchange::AccountConfig {
            collateral: 1_000_000_000,
            ..Default::default()
        },
    );
    // Venue time runs with wall time, so the client's own clock signs in the window.
    let g = Generator::new(
        GeneratorConfig {
            seed: 19,
            markets: 2,
            step_ms: 100,
            ..GeneratorConfig::default()
        },
        pqap::venue::polymarket::websocket::client::now_ms(),
    );
    let sim = SimServer::start(
        SimConfig {
            step_every: Duration::from_millis(100),
            exchange,
            ..SimConfig::default()
        },
        Activity::Synthetic(g),
    )
    .await
    .expect("sim starts");
    let r = run_script(&venv, TRADING, &[sim.clob_url(), key.to_string()]).await;
    let get = |k: &str| r.get(k).unwrap_or_else(|| panic!("no {k} in {r:?}"));
    assert_eq!(get("same_key"), true);
    assert_eq!(get("rest")["status"], "live", "{}", get("rest"));
    assert_eq!(get("rest")["success"], true);
    assert_eq!(get("cross")["status"], "matched", "{}", get("cross"));
    let rest_id = get("rest")["orderID"].clone();
    assert!(
        get("open")
            .as_array()
            .is_some_and(|o| o.iter().any(|o| o["id"] == rest_id)),
        "{}",
        get("open")
    );
    assert_eq!(get("cancel")["canceled"], serde_json::json!([rest_id]));
    assert!(
        !get("open_after")
            .as_array()
            .is_some_and(|o| o.contains(&rest_id))
    );
    let trades = get("trades").as_array().expect("trades");
    assert!(!trades.is_empty());
    assert_eq!(trades[0]["trader_side"], "TAKER");
    assert_eq!(trades[0]["taker_order_id"], get("cross")["orderID"]);
}
