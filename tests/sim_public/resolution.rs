//! Resolution as the venue shows it: the market channel announces new and
//! resolved markets with their ids; afterwards the market is closed, not
//! accepting orders, names its winner, and has no book in REST or on the socket.

use std::time::Duration;

use pqap::venue::sim::generator::GeneratorConfig;
use serde_json::Value;

use super::ws_collect as collect;
use super::{assert_not_found, get, ok, sim};

#[tokio::test]
async fn resolved_markets_are_closed_and_have_no_book() {
    let sim = sim(GeneratorConfig {
        seed: 9,
        markets: 2,
        step_ms: 20,
        add_market_after: Some(5),
        resolve_after: Some(40),
        resolve_markets: Some(1),
        ..GeneratorConfig::default()
    })
    .await;
    let page = ok(&sim, "/markets").await;
    let first = &page["data"][0];
    let cid = first["condition_id"].as_str().unwrap().to_string();
    let yes = first["tokens"][0]["token_id"].as_str().unwrap().to_string();
    let no = first["tokens"][1]["token_id"].as_str().unwrap().to_string();
    assert_eq!(first["closed"], false);
    let msgs = collect(
        &sim.ws_url(),
        &[yes.clone(), no.clone()],
        Duration::from_secs(10),
        |m| m.iter().any(|v| v["event_type"] == "market_resolved"),
    )
    .await;
    let resolved = msgs
        .iter()
        .find(|m| m["event_type"] == "market_resolved")
        .expect("market_resolved");
    assert_eq!(resolved["id"], "1");
    assert_eq!(resolved["market"], cid.as_str());
    // The added market is announced to subscribers of any token.
    let added = msgs
        .iter()
        .find(|m| m["event_type"] == "new_market")
        .expect("new_market");
    assert_eq!(added["id"], "3");

    let winner = resolved["winning_asset_id"].as_str().unwrap().to_string();
    let m = ok(&sim, &format!("/markets/{cid}")).await;
    assert_eq!(
        (m["closed"].as_bool(), m["accepting_orders"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(m["enable_order_book"], false);
    let tokens = m["tokens"].as_array().unwrap();
    for t in tokens {
        let won = t["token_id"] == winner.as_str();
        assert_eq!(t["winner"], won, "{m}");
        assert_eq!(t["price"], if won { 1 } else { 0 }, "{m}");
    }
    let listed = ok(&sim, "/markets").await;
    assert_eq!(listed["data"][0], m, "/markets shows the resolution too");
    assert_eq!(
        listed["data"][1]["closed"], false,
        "only the first market resolves"
    );
    for t in [&yes, &no] {
        for path in [
            "/book?token_id=",
            "/midpoint?token_id=",
            "/spread?token_id=",
        ] {
            assert_not_found(&sim, &format!("{path}{t}")).await;
        }
        assert_not_found(&sim, &format!("/price?side=BUY&token_id={t}")).await;
    }
    let (_, books) = get(&sim, &format!("/books?token_ids={yes},{no}")).await;
    assert_eq!(books, Value::Array(vec![]));
    let info = ok(&sim, &format!("/clob-markets/{cid}")).await;
    assert_eq!(info["ao"], false);
    // A new subscriber gets no snapshot of a resolved market.
    let again = collect(
        &sim.ws_url(),
        std::slice::from_ref(&yes),
        Duration::from_millis(500),
        |_| false,
    )
    .await;
    assert!(again.iter().all(|m| m["event_type"] != "book"), "{again:?}");
}
