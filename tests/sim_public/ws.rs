//! The market channel: frames have the captured / documented shapes, empty book
//! sides never show as `""`, the custom-feature messages carry `id`, and the
//! YES and NO books mirror each other in REST, snapshots and changes.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pqap::model::{ConditionId, MarketEvent, Price, TokenId};
use pqap::venue::sim::generator::GeneratorConfig;
use pqap::venue::sim::wire;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::shape::{assert_conforms, fixture};
use super::{ok, sim, tokens};

/// Subscribes to `assets` and collects the JSON messages (array frames
/// flattened) that arrive within `wait`, or until `enough` holds.
pub(super) async fn collect(
    url: &str,
    assets: &[String],
    wait: Duration,
    enough: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(url),
    )
    .await
    .expect("connect in time")
    .expect("connect");
    let sub = json!({"assets_ids": assets, "type": "market", "initial_dump": true, "custom_feature_enabled": true});
    ws.send(Message::Text(sub.to_string().into()))
        .await
        .expect("subscribe");
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while tokio::time::Instant::now() < deadline && !enough(&out) {
        let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await else {
            break;
        };
        if let Message::Text(t) = msg {
            match serde_json::from_str::<Value>(&t) {
                Ok(Value::Array(a)) => out.extend(a),
                Ok(v) => out.push(v),
                Err(e) => panic!("not JSON: {e}: {t}"),
            }
        }
    }
    out
}

fn of_type<'a>(msgs: &'a [Value], t: &str) -> Vec<&'a Value> {
    msgs.iter().filter(|m| m["event_type"] == t).collect()
}

/// Best-first (price, size) pairs of a book side as strings.
fn levels(side: &Value) -> Vec<(Price, String)> {
    side.as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["price"].as_str().unwrap().parse().unwrap(),
                l["size"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// YES bids are NO asks at 1 - p with the same sizes, and the other way round.
fn assert_mirror(yes: &Value, no: &Value) {
    let flip = |v: Vec<(Price, String)>| -> BTreeMap<Price, String> {
        v.into_iter().map(|(p, s)| (p.complement(), s)).collect()
    };
    let set = |v: Vec<(Price, String)>| -> BTreeMap<Price, String> { v.into_iter().collect() };
    assert_eq!(
        flip(levels(&yes["bids"])),
        set(levels(&no["asks"])),
        "YES bids vs NO asks"
    );
    assert_eq!(
        flip(levels(&yes["asks"])),
        set(levels(&no["bids"])),
        "YES asks vs NO bids"
    );
}

#[tokio::test]
async fn frames_have_the_captured_shapes_and_books_mirror() {
    let sim = sim(GeneratorConfig {
        seed: 5,
        markets: 2,
        step_ms: 20,
        trades_milli: 900,
        ..GeneratorConfig::default()
    })
    .await;
    let (_, yes, no) = tokens(&sim).await;
    // REST: the same state, read under one lock per request; repeat a few times.
    for _ in 0..5 {
        let pair = ok(&sim, &format!("/books?token_ids={yes},{no}")).await;
        assert_mirror(&pair[0], &pair[1]);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let msgs = collect(
        &sim.ws_url(),
        &[yes.clone(), no.clone()],
        Duration::from_secs(10),
        |m| of_type(m, "price_change").len() >= 20 && !of_type(m, "last_trade_price").is_empty(),
    )
    .await;
    let books = of_type(&msgs, "book");
    assert!(books.len() >= 2, "initial dump: {msgs:?}");
    let snap = |t: &str| *books.iter().find(|b| b["asset_id"] == t).expect("snapshot");
    assert_mirror(snap(&yes), snap(&no));
    let changes = of_type(&msgs, "price_change");
    assert!(changes.len() >= 20, "{} price changes", changes.len());
    for c in &changes {
        // Every YES change comes with its NO mirror in the same message.
        let entries = c["price_changes"].as_array().unwrap();
        let key = |e: &Value| {
            (
                e["asset_id"].as_str().unwrap().to_string(),
                e["side"].as_str().unwrap().to_string(),
                e["price"].as_str().unwrap().parse::<Price>().unwrap(),
                e["size"].as_str().unwrap().to_string(),
            )
        };
        let all: Vec<_> = entries.iter().map(key).collect();
        for (asset, side, price, size) in &all {
            if *asset == yes {
                let other = if side == "BUY" { "SELL" } else { "BUY" };
                assert!(
                    all.contains(&(
                        no.clone(),
                        other.to_string(),
                        price.complement(),
                        size.clone()
                    )),
                    "no mirror in {c}"
                );
            }
        }
        for e in entries {
            for k in ["best_bid", "best_ask"] {
                assert_ne!(e.get(k), Some(&json!("")), "empty {k} sent as \"\": {c}");
            }
        }
    }
    // Shapes against the captures (and the documented batched price_change).
    let refs = [
        (
            "book",
            "nautilus_trader/resources/ws_messages/book.json",
            vec!["$.tick_size"],
        ),
        (
            "last_trade_price",
            "nautilus_trader/resources/ws_messages/last_trade_price.json",
            vec![],
        ),
        (
            "price_change",
            "nautilus_trader/test_data/ws_market_price_change_msg.json",
            vec![],
        ),
    ];
    for (kind, file, extra) in refs {
        let ours = of_type(&msgs, kind);
        assert!(!ours.is_empty(), "no {kind} message");
        // The per-change book `hash` is not simulated (clients treat it as optional).
        let absent = ["$.price_changes[].hash"];
        let documented = match kind {
            "book" => {
                json!({"event_type": "book", "asset_id": "1", "market": "0x1", "timestamp": "1", "hash": "h", "bids": [{"price": "0.5", "size": "1"}], "asks": [{"price": "0.5", "size": "1"}], "tick_size": "0.01"})
            }
            "last_trade_price" => {
                json!({"event_type": "last_trade_price", "asset_id": "1", "market": "0x1", "price": "0.5", "side": "BUY", "size": "1", "fee_rate_bps": "0", "timestamp": "1"})
            }
            _ => {
                json!({"event_type": "price_change", "market": "0x1", "timestamp": "1", "price_changes": [{"asset_id": "1", "price": "0.5", "size": "1", "side": "BUY", "hash": "h", "best_bid": "0.5", "best_ask": "0.6"}]})
            }
        };
        assert_conforms(kind, &ours, &[&documented], &[], &absent);
        if let Some(captured) = fixture(file) {
            assert_conforms(kind, &ours, &[&captured], &extra, &absent);
        }
    }
}

#[test]
fn custom_feature_messages_have_the_documented_keys() {
    let market = ConditionId::parse(&format!("0x{}", "ab".repeat(32))).unwrap();
    let (a, b) = (
        TokenId::parse("111").unwrap(),
        TokenId::parse("222").unwrap(),
    );
    let meta = |_: &ConditionId| {
        Some(wire::MarketMeta {
            id: "7".into(),
            question: "Q?".into(),
            slug: "q".into(),
            description: "D".into(),
            outcomes: vec!["Yes".into(), "No".into()],
        })
    };
    let all = |_: &TokenId| true;
    let px = |s: &str| s.parse::<Price>().unwrap();
    let bba = |bid: Option<Price>, ask: Option<Price>| MarketEvent::BestBidAsk {
        token: a.clone(),
        market: market.clone(),
        ts_ms: 1,
        bid,
        ask,
    };
    let resolved = MarketEvent::Resolved {
        market: market.clone(),
        ts_ms: 1,
        tokens: vec![a.clone(), b.clone()],
        winner: a.clone(),
        winning_outcome: "Yes".into(),
        payouts: vec![],
    };
    let new_market = MarketEvent::NewMarket {
        market: market.clone(),
        ts_ms: 1,
        question: "Q?".into(),
        slug: "q".into(),
        tokens: vec![a.clone(), b.clone()],
        outcomes: vec!["Yes".into(), "No".into()],
        tick: Some(px("0.01")),
    };
    let msg = |e: &MarketEvent| wire::message_with(e, &all, &meta);
    let two_sided = msg(&bba(Some(px("0.73")), Some(px("0.77")))).unwrap();
    assert_eq!(two_sided["spread"], "0.04");
    // A one-sided book has no valid best_bid_ask for the SDKs' types: not sent.
    assert_eq!(msg(&bba(None, Some(px("0.77")))), None);
    let resolved = msg(&resolved).unwrap();
    let new_market = msg(&new_market).unwrap();
    assert_eq!(
        (resolved["id"].as_str(), new_market["id"].as_str()),
        (Some("7"), Some("7"))
    );
    // The optional keys of market_resolved the official Rust SDK requires.
    let sdk_extra = [
        "$.question",
        "$.slug",
        "$.description",
        "$.outcomes",
        "$.event_message",
    ];
    let cases = [
        (
            two_sided,
            "nautilus_trader/test_data/ws_market_best_bid_ask_msg.json",
            &[][..],
        ),
        (
            resolved,
            "nautilus_trader/test_data/ws_market_resolved_msg.json",
            &sdk_extra[..],
        ),
        (
            new_market,
            "nautilus_trader/test_data/ws_market_new_market_msg.json",
            &[][..],
        ),
    ];
    for (ours, file, extra) in &cases {
        if let Some(docs) = fixture(file) {
            assert_conforms(file, &[ours], &[&docs], extra, &[]);
        }
        // And the keys the reference (§5.1) lists for each.
        let listed: &[&str] = match ours["event_type"].as_str().unwrap() {
            "best_bid_ask" => &[
                "market",
                "asset_id",
                "best_bid",
                "best_ask",
                "spread",
                "timestamp",
            ],
            "new_market" => &[
                "id",
                "question",
                "market",
                "slug",
                "description",
                "assets_ids",
                "outcomes",
                "event_message",
                "timestamp",
            ],
            _ => &[
                "id",
                "market",
                "assets_ids",
                "winning_asset_id",
                "winning_outcome",
                "timestamp",
            ],
        };
        for k in listed {
            assert!(ours.get(*k).is_some(), "{file}: no `{k}` in {ours}");
        }
    }
}
