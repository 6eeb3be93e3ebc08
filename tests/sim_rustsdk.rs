//! Polymarket's official Rust SDK (`polymarket_client_sdk_v2` from crates.io)
//! against `pqap sim`: public reads, L1 keys, a resting limit order listed and
//! cancelled, a marketable order that fills, trades and balances.
//!
//! The client is `tests/sdk-rust/`, a program outside the workspace (so the
//! platform's build and lockfile never see the SDK), built with its own
//! committed lockfile into `target/sdk-rust/`. Without crates.io the test is
//! skipped (with the reason printed), unless `CI` is set, when it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

use alloy_primitives::Address;
use common::registry::run_bounded;
use pqap::venue::sim::exchange::{AccountConfig, ExchangeConfig};
use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use pqap::venue::sim::{Activity, SimConfig, SimServer};
use rust_decimal::Decimal;
use serde_json::Value;

/// Hardhat's first development key: a well-known test key, never a real account.
const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/// The account's pUSD, in 6-decimal units ($1 000).
const FUNDS: u64 = 1_000_000_000;

fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/sdk-rust")
}

/// The client's target directory: inside the workspace's target directory (the
/// parent of `CARGO_TARGET_TMPDIR`), so CI's one target directory caches it.
fn client_target() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("sdk-rust")
}

fn cargo() -> Command {
    // The cargo running this test (same toolchain), from the client's directory.
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(client_dir());
    c
}

/// Fetches the SDK and the client's other dependencies (the one step that
/// needs crates.io); why not, when it fails.
fn fetch_client() -> Result<(), String> {
    let mut fetch = cargo();
    fetch
        .arg("fetch")
        .arg("--locked")
        .arg("--manifest-path")
        .arg(client_dir().join("Cargo.toml"));
    let fetched = run_bounded(fetch, Duration::from_secs(300))
        .ok_or_else(|| "cargo fetch took over 5 minutes".to_string())?;
    if fetched.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&fetched.stderr).into_owned())
    }
}

/// Builds the fetched client offline; its path. A build failure is always
/// the test's failure.
fn build_client() -> PathBuf {
    let mut build = cargo();
    build
        .args(["build", "--locked", "--offline", "--manifest-path"])
        .arg(client_dir().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(client_target());
    // A cold build takes a few minutes on two busy cores; 20 is a hang.
    let built = run_bounded(build, Duration::from_secs(1_200))
        .unwrap_or_else(|| panic!("building the client took over 20 minutes"));
    assert!(
        built.status.success(),
        "the client does not build:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    client_target().join("debug/pqap-sdk-rust-client")
}

/// Collateral units as dollars.
fn dollars(units: &Value) -> Decimal {
    let s = units
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {units}"));
    Decimal::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}")) / Decimal::from(1_000_000)
}

fn dec(v: &Value) -> Decimal {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    Decimal::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_rust_sdk_trades_on_the_sim() {
    let fetched = tokio::task::spawn_blocking(|| {
        common::registry::or_skip(
            fetch_client(),
            "index.crates.io",
            "polymarket_client_sdk_v2",
        )
    })
    .await
    .expect("join");
    if fetched.is_none() {
        return;
    }
    let client = tokio::task::spawn_blocking(build_client)
        .await
        .expect("join");

    let address: Address = ADDRESS.parse().expect("address");
    let mut exchange = ExchangeConfig::default();
    exchange.accounts.insert(
        address,
        AccountConfig {
            collateral: FUNDS,
            ..Default::default()
        },
    );
    // A still market (one step an hour) stepped by hand: some history and
    // trades first, then nothing moves while the client runs, so the book it
    // prices its market order from is the one the order meets. Venue time
    // starts at wall time, so the client's own clock signs in the window.
    let g = Generator::new(
        GeneratorConfig {
            seed: 17,
            markets: 3,
            step_ms: 1_000,
            ..GeneratorConfig::default()
        },
        pqap::venue::polymarket::websocket::client::now_ms(),
    );
    let sim = SimServer::start(
        SimConfig {
            step_every: Duration::from_secs(3_600),
            exchange,
            ..SimConfig::default()
        },
        Activity::Synthetic(g),
    )
    .await
    .expect("sim starts");
    for _ in 0..10 {
        sim.state.lock().expect("sim state").step();
    }

    let mut run = Command::new(&client);
    run.arg(sim.clob_url()).env("POLYMARKET_PRIVATE_KEY", KEY);
    let out = tokio::task::spawn_blocking(move || run_bounded(run, Duration::from_secs(180)))
        .await
        .expect("join")
        .expect("the client finishes within 3 minutes");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));

    // Public data.
    assert_eq!(s["ok"], true, "{s}");
    assert_eq!(s["health"], "OK");
    assert!(s["server_time"].as_i64().is_some_and(|t| t > 1_600_000_000));
    assert_eq!(s["version"], 2);
    let m = &s["market"];
    assert_eq!(m["clob_info_condition"], m["condition_id"]);
    assert_eq!(m["by_token_condition"], m["condition_id"]);
    assert_eq!(s["book"]["asset_id"], m["token_id"]);
    assert_eq!(
        s["fee_rate_bps"], 0,
        "a fee-free market, so costs are exact"
    );
    assert_eq!(s["neg_risk"], false);
    assert!(["0.01", "0.001"].contains(&s["tick_size"].as_str().unwrap_or_default()));
    let best = |side: &str, pick: fn(Decimal, Decimal) -> Decimal| {
        s["book"][side]
            .as_array()
            .expect("levels")
            .iter()
            .map(|l| dec(&l[0]))
            .reduce(pick)
            .expect("a two-sided book")
    };
    let (bid, ask) = (best("bids", Decimal::max), best("asks", Decimal::min));
    assert!(bid < ask);
    assert_eq!(dec(&s["midpoint"]), (bid + ask) / Decimal::TWO);
    assert_eq!(dec(&s["spread"]), ask - bid);
    let mut quoted = [dec(&s["price_buy"]), dec(&s["price_sell"])];
    quoted.sort();
    assert_eq!(quoted, [bid, ask], "BUY/SELL prices are the touch");

    // Keys: the second create-or-derive derives the same key, which is listed.
    assert!(s["api_key"].as_str().is_some_and(|k| k.len() == 36));
    assert_eq!(s["api_key_again"], s["api_key"]);
    assert_eq!(s["api_keys_listed"], true);
    assert_eq!(s["closed_only"], false);

    // The resting order: accepted, listed, cancelled.
    let rest = &s["rest"];
    let rest_id = &rest["order_id"];
    assert_eq!(rest["success"], true);
    assert_eq!(rest["status"], "LIVE", "{rest}");
    assert_eq!(rest["listed_status"], "LIVE");
    assert_eq!(dec(&rest["listed_original_size"]), dec(&rest["size"]));
    assert!(
        s["open_orders"]
            .as_array()
            .is_some_and(|o| o.contains(rest_id)),
        "{s}"
    );
    assert_eq!(s["cancel"]["canceled"], serde_json::json!([rest_id]));
    assert_eq!(s["cancel"]["not_canceled"], serde_json::json!({}));
    assert!(
        s["open_after_cancel"]
            .as_array()
            .is_some_and(|o| !o.contains(rest_id))
    );
    let before = dollars(&s["balance_before"]);
    assert_eq!(before, Decimal::from(FUNDS) / Decimal::from(1_000_000));
    // The venue reports the (cached on-chain) balance: an open order moves
    // nothing until it trades.
    assert_eq!(dollars(&s["balance_resting"]), before);
    assert_eq!(dollars(&s["balance_after_cancel"]), before);

    // The marketable order filled whole, as taker, at the book's asks; the
    // balance moved by exactly its cost and the position by its size.
    let fill = &s["fill"];
    assert_eq!(fill["success"], true);
    assert_eq!(fill["status"], "MATCHED", "{fill}");
    let ours: Vec<&Value> = s["trades"]
        .as_array()
        .expect("trades")
        .iter()
        .filter(|t| t["taker_order_id"] == fill["order_id"])
        .collect();
    assert!(!ours.is_empty(), "no trade of the fill in {s}");
    let trade_ids: Vec<&Value> = ours.iter().map(|t| &t["id"]).collect();
    let reported: Vec<&Value> = fill["trade_ids"].as_array().expect("ids").iter().collect();
    assert_eq!(reported, trade_ids, "the post answer names the trades");
    assert_eq!(
        fill["transaction_hashes"].as_array().map(Vec::len),
        Some(ours.len()),
        "the SDK resolved each trade's settlement hash"
    );
    let mut shares = Decimal::ZERO;
    let mut cost = Decimal::ZERO;
    for t in &ours {
        assert_eq!(t["side"], "BUY");
        assert_eq!(t["trader_side"], "Taker");
        assert_eq!(t["asset_id"], m["token_id"]);
        assert_eq!(t["maker_orders"], 1);
        assert!(dec(&t["price"]) >= ask);
        shares += dec(&t["size"]);
        cost += dec(&t["size"]) * dec(&t["price"]);
    }
    assert_eq!(shares, dec(&fill["size"]), "FOK fills whole");
    assert_eq!(dec(&fill["making_amount"]), cost, "{fill}");
    assert_eq!(dec(&fill["taking_amount"]), shares, "{fill}");
    assert_eq!(
        before - dollars(&s["balance_after_fill"]),
        cost,
        "the balance moves by exactly the fill's cost"
    );
    assert_eq!(dollars(&s["position_after_fill"]), shares);
}
