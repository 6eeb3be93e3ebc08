//! `pqap sim`'s public API against the real venue: every public CLOB route and
//! market-channel message has the key set (recursively) and JSON value types of
//! the captured payloads in `../shared/fixtures/polymarket` where one exists, and
//! of the reference's documented shape otherwise; unknown tokens get 404 and bad
//! parameters 400; resolved markets have no book; YES and NO books mirror.

#[path = "sim_public/shape.rs"]
mod shape;

use std::time::Duration;

use pqap::venue::sim::generator::{Generator, GeneratorConfig};
use pqap::venue::sim::{Activity, SimConfig, SimServer};
use serde_json::{Value, json};
use shape::{assert_conforms, fixture};

const UNKNOWN: &str = "12345678901234567890";

async fn sim(config: GeneratorConfig) -> SimServer {
    let wall = Duration::from_millis(config.step_ms);
    sim_stepping(config, wall).await
}

/// A simulator taking one generator step (of `config.step_ms` venue time)
/// every `wall`.
async fn sim_stepping(config: GeneratorConfig, wall: Duration) -> SimServer {
    let g = Generator::new(config, 1_767_225_600_000);
    SimServer::start(
        SimConfig {
            step_every: wall,
            ..SimConfig::default()
        },
        Activity::Synthetic(g),
    )
    .await
    .expect("sim starts")
}

fn quiet() -> GeneratorConfig {
    GeneratorConfig {
        seed: 21,
        markets: 3,
        step_ms: 50,
        ..GeneratorConfig::default()
    }
}

fn client() -> reqwest::Client {
    pqap::venue::polymarket::http::client::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

async fn get(sim: &SimServer, path: &str) -> (u16, Value) {
    let r = client()
        .get(format!("{}{path}", sim.clob_url()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"));
    (status, v)
}

async fn post(sim: &SimServer, path: &str, body: &Value) -> (u16, Value) {
    let r = client()
        .post(format!("{}{path}", sim.clob_url()))
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {path}: {e}: {text}"));
    (status, v)
}

async fn ok(sim: &SimServer, path: &str) -> Value {
    let (s, v) = get(sim, path).await;
    assert_eq!(s, 200, "GET {path}: {v}");
    v
}

/// (YES, NO) token ids of the first listed market.
async fn tokens(sim: &SimServer) -> (String, String, String) {
    let page = ok(sim, "/markets").await;
    let m = &page["data"][0];
    (
        m["condition_id"].as_str().unwrap().to_string(),
        m["tokens"][0]["token_id"].as_str().unwrap().to_string(),
        m["tokens"][1]["token_id"].as_str().unwrap().to_string(),
    )
}

/// A 404 with the venue's `{"error": "..."}` body.
async fn assert_not_found(sim: &SimServer, path: &str) {
    let (s, v) = get(sim, path).await;
    assert_eq!(s, 404, "GET {path}: {v}");
    assert!(
        v["error"].as_str().is_some_and(|e| !e.is_empty()),
        "GET {path}: {v}"
    );
}

/// A 400 whose message names `param`.
async fn assert_bad(sim: &SimServer, path: &str, param: &str) {
    let (s, v) = get(sim, path).await;
    assert_eq!(s, 400, "GET {path}: {v}");
    let e = v["error"].as_str().unwrap_or_default();
    assert!(
        e.contains(param),
        "GET {path}: {e:?} does not name `{param}`"
    );
}

#[tokio::test]
async fn health_time_and_version() {
    let sim = sim(quiet()).await;
    // The official Rust SDK's `ok()` reads `GET /` as the JSON string "OK".
    assert_eq!(ok(&sim, "/").await, json!("OK"));
    assert_eq!(ok(&sim, "/ok").await, json!("OK"));
    assert!(
        ok(&sim, "/time")
            .await
            .as_u64()
            .is_some_and(|t| t > 1_700_000_000)
    );
    assert_eq!(ok(&sim, "/version").await, json!({ "version": 2 }));
}

#[tokio::test]
async fn books_have_the_captured_shape() {
    let sim = sim(quiet()).await;
    let (_, yes, no) = tokens(&sim).await;
    let book = ok(&sim, &format!("/book?token_id={yes}")).await;
    // The 2024 capture predates the four newer keys the reference documents.
    let newer = [
        "$.min_order_size",
        "$.tick_size",
        "$.neg_risk",
        "$.last_trade_price",
    ];
    let documented = json!({
        "market": "0x1", "asset_id": "1", "timestamp": "1", "hash": "h",
        "bids": [{"price": "0.48", "size": "120"}], "asks": [{"price": "0.52", "size": "80"}],
        "min_order_size": "5", "tick_size": "0.01", "neg_risk": false, "last_trade_price": "0.50",
    });
    assert_conforms("/book (documented)", &[&book], &[&documented], &[], &[]);
    if let Some(captured) = fixture("nautilus_trader/resources/http_responses/book.json") {
        assert_conforms("/book (captured)", &[&book], &[&captured], &newer, &[]);
    }
    let got = ok(&sim, &format!("/books?token_ids={yes},{no}")).await;
    let posted = post(
        &sim,
        "/books",
        &json!([{ "token_id": yes }, { "token_id": no }, { "token_id": UNKNOWN }]),
    )
    .await;
    assert_eq!(posted.0, 200);
    for list in [&got, &posted.1] {
        let items: Vec<&Value> = list.as_array().expect("an array").iter().collect();
        assert_eq!(items.len(), 2, "unknown tokens are left out: {list}");
        assert_conforms("/books", &items, &[&documented], &[], &[]);
    }
    assert_not_found(&sim, &format!("/book?token_id={UNKNOWN}")).await;
    assert_bad(&sim, "/book", "token_id").await;
    assert_bad(&sim, "/book?token_id=abc", "token_id").await;
    assert_bad(&sim, "/books", "token_ids").await;
}

#[tokio::test]
async fn markets_carry_all_29_keys_of_the_captures() {
    let sim = sim(quiet()).await;
    let page = ok(&sim, "/markets?next_cursor=MA==").await;
    assert_eq!(page["next_cursor"], "LTE=");
    let data: Vec<&Value> = page["data"].as_array().unwrap().iter().collect();
    assert_eq!(data.len(), 3);
    assert_eq!(data[0].as_object().unwrap().len(), 29);
    let cid = data[0]["condition_id"].as_str().unwrap().to_string();
    let one = ok(&sim, &format!("/markets/{cid}")).await;
    // The same market (its token prices follow the book, which moves).
    let still = |v: &Value| {
        let mut v = v.clone();
        for t in v["tokens"].as_array_mut().unwrap() {
            t["price"] = json!(0);
        }
        v
    };
    assert_eq!(still(&one), still(data[0]));
    if let Some(captured) = fixture("nautilus_trader/resources/http_responses/markets.json") {
        // The envelope, then the markets against all 100 captured ones plus the
        // single-market and resolved-market captures.
        let envelope = |v: &Value| json!({"limit": v["limit"], "count": v["count"], "next_cursor": v["next_cursor"]});
        assert_conforms(
            "/markets envelope",
            &[&envelope(&page)],
            &[&envelope(&captured)],
            &[],
            &[],
        );
        let mut reference: Vec<Value> = captured["data"].as_array().unwrap().clone();
        for f in [
            "nautilus_trader/resources/http_responses/market.json",
            "nautilus_trader/test_data/clob_market_closed_binary_accepting_false.json",
            "nautilus_trader/test_data/clob_market_closed_binary_accepting_true.json",
        ] {
            reference.extend(fixture(f));
        }
        let reference: Vec<&Value> = reference.iter().collect();
        assert_conforms("/markets data", &data, &reference, &[], &[]);
        assert_conforms("/markets/{cid}", &[&one], &reference, &[], &[]);
    }
    assert_not_found(&sim, &format!("/markets/0x{}", "0".repeat(64))).await;
    assert_bad(&sim, "/markets?next_cursor=%21%21", "next_cursor").await;
    let empty = ok(&sim, "/markets?next_cursor=LTE=").await;
    assert_eq!(empty["count"], 0);
}

#[tokio::test]
async fn per_token_routes_have_the_documented_shapes() {
    let sim = sim(quiet()).await;
    let (cid, yes, no) = tokens(&sim).await;
    let t = |q: &str| q.replace("{yes}", &yes).replace("{no}", &no);
    let cases: Vec<(String, Value)> = vec![
        (
            t("/price?token_id={yes}&side=BUY"),
            json!({"price": "0.52"}),
        ),
        (
            t("/price?token_id={yes}&side=SELL"),
            json!({"price": "0.52"}),
        ),
        (
            t("/prices?token_ids={yes},{no}&sides=BUY,SELL"),
            json!({ "1": {"BUY": "0.5"}, "2": {"SELL": "0.5"} }),
        ),
        (t("/midpoint?token_id={yes}"), json!({"mid": "0.515"})),
        (
            t("/midpoints?token_ids={yes},{no}"),
            json!({ "1": "0.5", "2": "0.5" }),
        ),
        (t("/spread?token_id={yes}"), json!({"spread": "0.01"})),
        (
            t("/spreads?token_ids={yes},{no}"),
            json!({ "1": "0.01", "2": "0.01" }),
        ),
        (
            t("/last-trade-price?token_id={yes}"),
            json!({"price": "0.52", "side": "BUY"}),
        ),
        (
            t("/last-trades-prices?token_ids={yes},{no}"),
            json!([{"token_id": "1", "price": "0.5", "side": "BUY"}]),
        ),
        (
            t("/tick-size?token_id={yes}"),
            json!({"minimum_tick_size": 0.01}),
        ),
        (t("/tick-size/{no}"), json!({"minimum_tick_size": 0.01})),
        (t("/neg-risk?token_id={yes}"), json!({"neg_risk": false})),
        (t("/fee-rate?token_id={yes}"), json!({"base_fee": 0})),
        (
            t("/markets-by-token/{no}"),
            json!({"condition_id": "0x1", "primary_token_id": "1", "secondary_token_id": "2"}),
        ),
        (
            format!("/clob-markets/{cid}"),
            json!({
                "c": "0x1", "t": [{"t": "1", "o": "Yes"}], "mts": 0.01, "nr": false,
                "fd": {"r": 0.02, "e": 1, "to": true}, "mbf": 0, "tbf": 0,
                "r": {"rates": [{"asset_address": "0x1", "rewards_daily_rate": 1}], "min_size": 1, "max_spread": 1},
                "ao": true, "mos": 5, "sd": 0, "gst": null, "cbos": false, "aot": "2026-01-01T00:00:00Z",
                "rfqe": false, "itode": false, "ibce": false, "oas": 0,
            }),
        ),
    ];
    for (path, documented) in &cases {
        let got = ok(&sim, path).await;
        // Token-keyed maps: compare the shape of their values.
        let normalise = |v: &Value| match (
            v,
            path.contains("token_ids") && !path.contains("last-trades"),
        ) {
            (Value::Object(m), true) => json!({ "token": m.values().cloned().collect::<Vec<_>>() }),
            _ => v.clone(),
        };
        assert_conforms(
            path,
            &[&normalise(&got)],
            &[&normalise(documented)],
            &[],
            &[],
        );
    }
    // Token-keyed answers name every asked token (the books are two-sided).
    let m = ok(&sim, &t("/midpoints?token_ids={yes},{no}")).await;
    assert!(m.get(&yes).is_some() && m.get(&no).is_some(), "{m}");
    let prices = ok(&sim, &t("/prices?token_ids={yes},{no}&sides=BUY,SELL")).await;
    assert!(
        prices[&yes]["BUY"].is_string() && prices[&no]["SELL"].is_string(),
        "{prices}"
    );
    // POST forms answer like their GET forms.
    let body = json!([{ "token_id": yes, "side": "BUY" }, { "token_id": no, "side": "SELL" }]);
    for (path, get_path) in [
        ("/prices", t("/prices?token_ids={yes},{no}&sides=BUY,SELL")),
        ("/midpoints", t("/midpoints?token_ids={yes},{no}")),
        ("/spreads", t("/spreads?token_ids={yes},{no}")),
        (
            "/last-trades-prices",
            t("/last-trades-prices?token_ids={yes},{no}"),
        ),
    ] {
        let (s, posted) = post(&sim, path, &body).await;
        assert_eq!(s, 200, "POST {path}: {posted}");
        let got = ok(&sim, &get_path).await;
        assert_conforms(path, &[&posted], &[&got], &[], &[]);
    }
    // BUY is the best bid and SELL the best ask; the mid lies between.
    let book = ok(&sim, &t("/book?token_id={yes}")).await;
    let last = |side: &str| book[side].as_array().unwrap().last().unwrap()["price"].clone();
    assert_eq!(
        ok(&sim, &t("/price?token_id={yes}&side=BUY")).await["price"],
        last("bids")
    );
    assert_eq!(
        ok(&sim, &t("/price?token_id={yes}&side=SELL")).await["price"],
        last("asks")
    );
    for path in [
        "/price?token_id={u}&side=BUY",
        "/midpoint?token_id={u}",
        "/spread?token_id={u}",
        "/last-trade-price?token_id={u}",
        "/tick-size?token_id={u}",
        "/tick-size/{u}",
        "/neg-risk?token_id={u}",
        "/fee-rate?token_id={u}",
        "/markets-by-token/{u}",
    ] {
        assert_not_found(&sim, &path.replace("{u}", UNKNOWN)).await;
    }
    assert_not_found(&sim, &format!("/clob-markets/0x{}", "0".repeat(64))).await;
    assert_bad(&sim, &t("/price?token_id={yes}"), "side").await;
    assert_bad(&sim, &t("/price?token_id={yes}&side=UP"), "side").await;
    assert_bad(&sim, "/price?side=BUY", "token_id").await;
    assert_bad(&sim, &t("/prices?token_ids={yes}&sides=BUY,SELL"), "sides").await;
    assert_bad(&sim, "/spread?token_id=x", "token_id").await;
    assert_bad(&sim, "/markets-by-token/x", "token_id").await;
}

#[tokio::test]
async fn prices_history_takes_an_interval_or_bounds_and_a_fidelity() {
    // A venue minute every 20 ms, so history builds up fast.
    let config = GeneratorConfig {
        step_ms: 60_000,
        ..quiet()
    };
    let sim = sim_stepping(config, Duration::from_millis(20)).await;
    let (_, yes, _) = tokens(&sim).await;
    for _ in 0..100 {
        let h = ok(&sim, &format!("/prices-history?market={yes}&interval=max")).await;
        if h["history"].as_array().is_some_and(|a| a.len() >= 120) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all = ok(&sim, &format!("/prices-history?market={yes}&interval=all")).await;
    let documented = json!({"history": [{"t": 1_713_398_400, "p": 0.52}]});
    assert_conforms("/prices-history", &[&all], &[&documented], &[], &[]);
    let points = all["history"].as_array().unwrap();
    assert!(points.len() >= 120, "{} points", points.len());
    let now = ok(&sim, "/time").await.as_u64().unwrap();
    let hour = ok(&sim, &format!("/prices-history?market={yes}&interval=1h")).await;
    let hour = hour["history"].as_array().unwrap();
    assert!(
        (55..=62).contains(&hour.len()),
        "{} points in the last hour",
        hour.len()
    );
    assert!(hour.iter().all(|p| p["t"].as_u64().unwrap() + 3_600 >= now));
    // One point per `fidelity` minutes.
    let first = points[0]["t"].as_u64().unwrap();
    let last = points[points.len() - 1]["t"].as_u64().unwrap();
    let end = last.min(first + 3_600 * 2 - 1);
    let two_hours = format!("/prices-history?market={yes}&startTs={first}&endTs={end}");
    let fine = ok(&sim, &two_hours).await["history"]
        .as_array()
        .unwrap()
        .len();
    let coarse = ok(&sim, &format!("{two_hours}&fidelity=10")).await["history"]
        .as_array()
        .unwrap()
        .len();
    assert!(
        (115..=121).contains(&fine),
        "{fine} one-minute points in two hours"
    );
    assert!(
        (12..=13).contains(&coarse),
        "{coarse} ten-minute points in two hours"
    );
    let bounded = ok(
        &sim,
        &format!("/prices-history?market={yes}&startTs={first}&endTs={first}"),
    )
    .await;
    assert_eq!(bounded["history"].as_array().unwrap().len(), 1);
    assert_bad(
        &sim,
        &format!("/prices-history?market={yes}&interval=1h&startTs=1"),
        "interval",
    )
    .await;
    assert_bad(
        &sim,
        &format!("/prices-history?market={yes}&interval=5m"),
        "interval",
    )
    .await;
    assert_bad(
        &sim,
        &format!("/prices-history?market={yes}&fidelity=0"),
        "fidelity",
    )
    .await;
    assert_bad(
        &sim,
        &format!("/prices-history?market={yes}&startTs=yesterday"),
        "startTs",
    )
    .await;
    assert_bad(&sim, "/prices-history?interval=1h", "market").await;
}

#[path = "sim_public/resolution.rs"]
mod resolution;
#[path = "sim_public/ws.rs"]
mod ws;

use ws::collect as ws_collect;
