//! Conformance with real Polymarket payloads in `../shared/fixtures/polymarket`
//! (its README classifies each file and states the facts asserted here). The
//! fixtures are read at run time; on a bare clone without `../shared` every test
//! says so and passes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;

use pqap::data::archive::Archive;
use pqap::data::books::Books;
use pqap::model::{MarketEvent, Price, Side, Size, TokenId};
use pqap::venue::polymarket::http::book::OrderBookSummary;
use pqap::venue::polymarket::http::markets::parse_market;
use pqap::venue::polymarket::rtds::decode_prices;
use pqap::venue::polymarket::websocket::decode::{Frame, decode_frame, decode_message};
use pqap::venue::polymarket::websocket::user::{
    OrderEventKind, OrderStatusText, TradeStatus, UserMessage, decode_user,
};
use rust_decimal::Decimal;
use serde_json::Value;

fn root() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/polymarket");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipped: no ../shared/fixtures/polymarket beside the repository");
        None
    }
}

macro_rules! fixtures {
    () => {
        match root() {
            Some(r) => r,
            None => return,
        }
    };
}

fn text(root: &std::path::Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(root: &std::path::Path, rel: &str) -> Value {
    serde_json::from_str(&text(root, rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn gunzip(root: &std::path::Path, rel: &str) -> String {
    let f = std::fs::File::open(root.join(rel)).unwrap();
    let mut s = String::new();
    flate2::read::GzDecoder::new(f)
        .read_to_string(&mut s)
        .unwrap();
    s
}

fn px(s: &str) -> Price {
    s.parse().unwrap()
}

fn sz(s: &str) -> Size {
    s.parse().unwrap()
}

fn one(frame: &str) -> MarketEvent {
    match decode_frame(frame) {
        Frame::Messages(mut m) if m.len() == 1 => m.remove(0).unwrap_or_else(|e| panic!("{e}")),
        other => panic!("{other:?}"),
    }
}

/// CSV records (RFC 4180: quoted fields may hold commas, quotes and newlines).
fn csv(data: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = data.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[test]
fn ws_book_capture_builds_the_stated_book() {
    let r = fixtures!();
    let event = one(&text(&r, "nautilus_trader/resources/ws_messages/book.json"));
    let MarketEvent::Book { hash, token, .. } = &event else {
        panic!()
    };
    assert!(hash.as_deref().unwrap().starts_with("655a38d4"));
    let mut books = Books::default();
    books.apply(&event, 0, &mut Vec::new());
    let b = books.book(token).unwrap();
    assert_eq!(
        (b.level_count(Side::Buy), b.level_count(Side::Sell)),
        (76, 86)
    );
    assert_eq!(
        b.best_bid().map(|l| (l.price, l.size)),
        Some((px("0.511"), sz("1304.72")))
    );
    assert_eq!(
        b.best_ask().map(|l| (l.price, l.size)),
        Some((px("0.514"), sz("20230.87")))
    );

    // The (older, single-level) price_change capture is on the same token.
    let change = one(&text(
        &r,
        "nautilus_trader/resources/ws_messages/price_change.json",
    ));
    let MarketEvent::PriceChange { changes, ts_ms, .. } = &change else {
        panic!()
    };
    assert_eq!(
        (changes[0].side, changes[0].price, changes[0].size, *ts_ms),
        (Side::Sell, px("0.514"), sz("21574.08"), 1_723_967_931_411)
    );
    books.apply(&change, 0, &mut Vec::new());
    assert_eq!(
        books.book(token).unwrap().best_ask().unwrap().size,
        sz("21574.08")
    );
}

#[test]
fn rest_book_capture_builds_the_stated_book() {
    let r = fixtures!();
    let s: OrderBookSummary = serde_json::from_str(&text(
        &r,
        "nautilus_trader/resources/http_responses/book.json",
    ))
    .unwrap();
    assert_eq!(
        s.hash_matches(),
        None,
        "the capture lacks fields the hash covers"
    );
    let event = s.to_event().unwrap();
    let mut books = Books::default();
    books.apply(&event, 0, &mut Vec::new());
    let token = TokenId::parse(&s.asset_id).unwrap();
    let b = books.book(&token).unwrap();
    assert_eq!(
        (b.level_count(Side::Buy), b.level_count(Side::Sell)),
        (5, 7)
    );
    assert_eq!(
        b.best_bid().map(|l| (l.price, l.size)),
        Some((px("0.1"), sz("125")))
    );
    assert_eq!(
        b.best_ask().map(|l| (l.price, l.size)),
        Some((px("0.14"), sz("705")))
    );
}

#[test]
fn ws_trade_and_tick_captures() {
    let r = fixtures!();
    let MarketEvent::LastTrade {
        price,
        size,
        side,
        ts_ms,
        ..
    } = one(&text(
        &r,
        "nautilus_trader/resources/ws_messages/last_trade_price.json",
    ))
    else {
        panic!()
    };
    assert_eq!(
        (price, size, side, ts_ms),
        (
            px("0.491"),
            sz("85.36"),
            Some(Side::Sell),
            1_724_564_136_087
        )
    );
    let MarketEvent::TickSize {
        old,
        new,
        market,
        ts_ms,
        ..
    } = one(&text(
        &r,
        "nautilus_trader/resources/ws_messages/tick_size_change.json",
    ))
    else {
        panic!()
    };
    assert_eq!(
        (old, new, ts_ms),
        (px("0.01"), px("0.001"), 1_739_068_041_853)
    );
    assert!(market.as_str().starts_with("0xbacdf04b"));
}

#[test]
fn user_channel_captures() {
    let r = fixtures!();
    let user = |rel: &str| decode_user(&text(&r, rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let UserMessage::Order(o) = user("nautilus_trader/resources/ws_messages/order_placement.json")
    else {
        panic!()
    };
    assert_eq!(
        (o.kind, o.status, o.side, o.price, o.original_size),
        (
            OrderEventKind::Placement,
            OrderStatusText::Live,
            Side::Buy,
            px("0.513"),
            sz("5")
        )
    );
    let UserMessage::Order(o) = user("nautilus_trader/resources/ws_messages/order_cancel.json")
    else {
        panic!()
    };
    assert_eq!(
        (o.kind, o.side, o.price, o.original_size),
        (
            OrderEventKind::Cancellation,
            Side::Sell,
            px("0.513"),
            sz("5")
        )
    );
    let UserMessage::Trade(t) = user("nautilus_trader/resources/ws_messages/trades.json") else {
        panic!()
    };
    assert_eq!(
        (
            t.side,
            t.price,
            t.size,
            t.status.clone(),
            t.trader_side.as_deref(),
            t.maker_orders.len()
        ),
        (
            Side::Buy,
            px("0.489"),
            sz("5"),
            TradeStatus::Confirmed,
            Some("TAKER"),
            1
        )
    );
    let UserMessage::Trade(t) = user("nautilus_trader/resources/ws_messages/user_trade1.json")
    else {
        panic!()
    };
    assert_eq!(
        (
            t.status.clone(),
            t.trader_side.as_deref(),
            t.maker_orders.len()
        ),
        (TradeStatus::Mined, Some("MAKER"), 6)
    );
    let no: Vec<_> = t
        .maker_orders
        .iter()
        .filter(|m| m.outcome == "No")
        .collect();
    assert_eq!((no.len(), no[0].price), (1, px("0.482")));
    assert!(
        t.maker_orders
            .iter()
            .filter(|m| m.outcome == "Yes")
            .all(|m| m.price == px("0.518"))
    );
    let UserMessage::Trade(t) = user("nautilus_trader/resources/ws_messages/user_trade2.json")
    else {
        panic!()
    };
    assert_eq!(
        (t.status, t.side, t.size, t.price, t.maker_orders.len()),
        (TradeStatus::Matched, Side::Buy, sz("5"), px("0.52"), 1)
    );
    let UserMessage::Trade(t3) = user("nautilus_trader/resources/ws_messages/user_trade3.json")
    else {
        panic!()
    };
    let UserMessage::Trade(t4) = user("nautilus_trader/resources/ws_messages/user_trade4.json")
    else {
        panic!()
    };
    assert_eq!(
        t3.id, t4.id,
        "the edited captures share a trade id (a dedupe case)"
    );
    let prices: Vec<Price> = t4.maker_orders.iter().map(|m| m.price).collect();
    assert_eq!(prices, vec![px("0.4"), px("0.35"), px("0.3")]);
    let UserMessage::Order(o) = user("nautilus_trader/test_data/ws_user_order_fok_killed.json")
    else {
        panic!()
    };
    assert!(matches!(o.status, OrderStatusText::Canceled { ref detail } if detail.contains("FOK")));
    assert!(o.size_matched.is_zero());
    let UserMessage::Order(o) = user("nautilus_trader/test_data/ws_user_order_venue_cancel.json")
    else {
        panic!()
    };
    assert_eq!(
        (o.kind, o.status),
        (OrderEventKind::Cancellation, OrderStatusText::Invalid)
    );
    for rel in [
        "ws_user_order_cancellation.json",
        "ws_user_order_matched.json",
        "ws_user_order_msg.json",
        "ws_user_order_placement.json",
        "ws_user_order_update.json",
        "ws_user_trade.json",
        "ws_user_trade_msg.json",
    ] {
        user(&format!("nautilus_trader/test_data/{rel}"));
    }
}

#[test]
fn clob_markets_page_and_market() {
    let r = fixtures!();
    let page = json(&r, "nautilus_trader/resources/http_responses/markets.json");
    assert_eq!(
        (
            page["next_cursor"].as_str(),
            page["limit"].as_u64(),
            page["count"].as_u64()
        ),
        (Some("MTAw"), Some(100), Some(100))
    );
    let data = page["data"].as_array().unwrap();
    assert_eq!(data.len(), 100);
    let mut ticks: BTreeMap<String, usize> = BTreeMap::new();
    let mut states: BTreeMap<(bool, bool), usize> = BTreeMap::new();
    for m in data {
        let tick: Price = m["minimum_tick_size"].to_string().parse().unwrap();
        *ticks.entry(tick.to_string()).or_default() += 1;
        *states
            .entry((
                m["closed"].as_bool().unwrap(),
                m["accepting_orders"].as_bool().unwrap(),
            ))
            .or_default() += 1;
        let tokens = m["tokens"].as_array().unwrap();
        assert_eq!(tokens.len(), 2);
        assert_eq!(m["neg_risk"], false);
        pqap::model::ConditionId::parse(m["condition_id"].as_str().unwrap()).unwrap();
    }
    assert_eq!(
        ticks,
        BTreeMap::from([("0.001".to_string(), 17), ("0.01".to_string(), 83)])
    );
    // The fixtures README says 97 closed and 2 in other states; the file has 98 closed.
    assert_eq!(
        states,
        BTreeMap::from([((true, false), 98), ((false, true), 1), ((false, false), 1)])
    );
    assert_eq!(
        data[0]["market_slug"],
        "will-ron-desantis-win-the-us-2024-republican-presidential-nomination"
    );

    let m = json(&r, "nautilus_trader/resources/http_responses/market.json");
    let prices: Vec<String> = m["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["price"].to_string())
        .collect();
    assert_eq!(prices, vec!["0.4865", "0.5135"]);
    assert_eq!(
        (
            m["neg_risk"].as_bool(),
            m["minimum_order_size"].as_u64(),
            m["tags"].as_array().map(Vec::len)
        ),
        (Some(true), Some(5), Some(28))
    );
    assert_eq!(
        m["minimum_tick_size"].to_string().parse::<Price>().unwrap(),
        px("0.001")
    );
}

#[test]
fn gamma_markets_events_tags_search() {
    let r = fixtures!();
    let g = |rel: &str| json(&r, &format!("nautilus_trader/test_data/{rel}"));
    let m = parse_market(&g("gamma_market.json")).unwrap();
    assert_eq!(
        (
            m.tokens[0].1.as_str(),
            m.tokens[1].1.as_str(),
            m.tick,
            m.min_size
        ),
        ("Up", "Down", px("0.01"), sz("5"))
    );
    assert_eq!(m.slug, "btc-updown-5m-1773307200");
    let raw = g("gamma_market.json");
    assert_eq!(
        (raw["bestBid"].to_string(), raw["bestAsk"].to_string()),
        ("0.5".into(), "0.51".into())
    );
    assert_eq!(raw["feeType"], "crypto_fees");

    // The same markets seen through Gamma and CLOB agree on the winner.
    for (gamma, clob, winner) in [
        (
            "gamma_market_closed_binary_accepting_false.json",
            "clob_market_closed_binary_accepting_false.json",
            "No",
        ),
        (
            "gamma_market_closed_binary_accepting_true.json",
            "clob_market_closed_binary_accepting_true.json",
            "Yes",
        ),
    ] {
        let gm = g(gamma);
        let parsed = parse_market(&gm).unwrap();
        assert!(parsed.closed);
        let prices: Vec<String> =
            serde_json::from_str(gm["outcomePrices"].as_str().unwrap()).unwrap();
        let won = parsed.tokens[prices.iter().position(|p| p == "1").unwrap()]
            .1
            .clone();
        assert_eq!(won, winner);
        let cm = g(clob);
        let clob_winner = cm["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["winner"] == true)
            .unwrap();
        assert_eq!(clob_winner["outcome"], winner);
        assert_eq!(
            clob_winner["token_id"].as_str().unwrap(),
            parsed
                .tokens
                .iter()
                .find(|(_, o)| o == winner)
                .unwrap()
                .0
                .as_str()
        );
    }
    // Legacy markets: fractional and zero-zero outcome prices, exact as decimals.
    let legacy = g("gamma_market_closed_nonbinary_legacy.json");
    let lp: Vec<String> = serde_json::from_str(legacy["outcomePrices"].as_str().unwrap()).unwrap();
    let sum: Decimal = lp.iter().map(|p| p.parse::<Decimal>().unwrap()).sum();
    assert_eq!(sum, Decimal::ONE);
    assert_eq!(parse_market(&legacy).unwrap().tokens[0].1, "Long");
    let zz = g("gamma_market_closed_zero_zero_legacy.json");
    assert_eq!(zz["outcomePrices"], "[\"0\", \"0\"]");
    for sports in [
        "gamma_market_sports_market_money_line.json",
        "gamma_market_sports_market_map_handicap.json",
    ] {
        let s = g(sports);
        assert_eq!(s["feeType"], "sports_fees_v2");
        assert_eq!(
            (
                s["feeSchedule"]["rate"].to_string(),
                s["feeSchedule"]["rebateRate"].to_string(),
                s["feeSchedule"]["takerOnly"].as_bool()
            ),
            ("0.03".into(), "0.25".into(), Some(true))
        );
        assert_eq!(parse_market(&s).unwrap().tokens[0].1, "FaZe");
    }
    assert_eq!(
        g("gamma_market_sports_market_map_handicap.json")["line"].to_string(),
        "-1.5"
    );

    let events = g("gamma_event.json");
    assert_eq!(
        (
            events[0]["slug"].as_str(),
            events[0]["negRisk"].as_bool(),
            events[0]["markets"].as_array().map(Vec::len)
        ),
        (
            Some("democratic-presidential-nominee-2028"),
            Some(true),
            Some(2)
        )
    );
    let tags: Vec<String> = g("gamma_tags.json")
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tags, vec!["101259", "101842", "101302", "102067", "101944"]);
    let search = g("search_response.json");
    assert_eq!(
        (
            search["pagination"]["hasMore"].as_bool(),
            search["pagination"]["totalResults"].as_u64()
        ),
        (Some(true), Some(46_940))
    );
    assert_eq!(search["events"][0]["slug"], "bitcoin-above-on-march-11");

    let h = |rel: &str| {
        json(
            &r,
            &format!("nautilus_trader/resources/http_responses/{rel}"),
        )
    };
    let event = h("event.json");
    assert_eq!(
        (
            event["id"].to_string(),
            event["markets"].as_array().map(Vec::len)
        ),
        ("\"185377\"".into(), Some(3))
    );
    let ids: Vec<String> = h("events_list.json")
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec!["2890", "2891", "2892"]);
    // Edited capture: `clobTokenIds` as a real array, no outcomes; refused by name.
    let err = parse_market(&h("market_slug.json")).unwrap_err();
    assert!(err.contains("outcomes"), "{err}");
    assert_eq!(
        h("market_slug.json")["slug"],
        "kamala-harris-divorce-in-2025"
    );
}

#[test]
fn documented_and_synthetic_market_messages_decode() {
    let r = fixtures!();
    let t = |rel: &str| text(&r, &format!("nautilus_trader/test_data/{rel}"));
    assert!(matches!(
        one(&t("ws_market_book_msg.json")),
        MarketEvent::Book { .. }
    ));
    assert!(matches!(
        one(&t("ws_market_price_change_msg.json")),
        MarketEvent::PriceChange { .. }
    ));
    assert!(matches!(
        one(&t("ws_market_last_trade_msg.json")),
        MarketEvent::LastTrade { .. }
    ));
    assert!(matches!(
        one(&t("ws_market_tick_size_msg.json")),
        MarketEvent::TickSize { .. }
    ));
    let MarketEvent::BestBidAsk { bid, ask, .. } = one(&t("ws_market_best_bid_ask_msg.json"))
    else {
        panic!()
    };
    assert_eq!((bid, ask), (Some(px("0.73")), Some(px("0.77"))));
    let MarketEvent::NewMarket {
        question,
        tokens,
        tick,
        ..
    } = one(&t("ws_market_new_market_msg.json"))
    else {
        panic!()
    };
    assert!(question.contains("NVIDIA") && tokens.len() == 2 && tick == Some(px("0.01")));
    let MarketEvent::Resolved {
        winner,
        tokens,
        winning_outcome,
        ..
    } = one(&t("ws_market_resolved_msg.json"))
    else {
        panic!()
    };
    assert_eq!(
        (winner, winning_outcome.as_str()),
        (tokens[0].clone(), "Yes")
    );
    let MarketEvent::PriceChange { changes, .. } = one(&text(
        &r,
        "nautilus_trader/resources/ws_messages/price_change_v2.json",
    )) else {
        panic!()
    };
    assert_eq!(changes.len(), 3);
    // NautilusTrader's internal shapes carry no `event_type`: typed here.
    for (rel, kind) in [
        ("ws_book_snapshot.json", "book"),
        ("ws_quotes.json", "price_change"),
        ("ws_last_trade.json", "last_trade_price"),
        ("ws_tick_size_change.json", "tick_size_change"),
        ("clob_book_response.json", "book"),
    ] {
        let mut v: Value = serde_json::from_str(&t(rel)).unwrap();
        v["event_type"] = Value::String(kind.into());
        let e = decode_message(&v.to_string()).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(e.kind(), kind, "{rel}");
    }
}

#[test]
fn rtds_captures() {
    let r = fixtures!();
    let t =
        |rel: &str| decode_prices(&text(&r, &format!("nautilus_trader/test_data/{rel}"))).unwrap();
    let s = t("rtds_crypto_prices_subscribe.json");
    assert_eq!(
        (s.symbol.as_str(), s.kind.as_str(), s.points.len()),
        ("btcusdt", "subscribe", 3)
    );
    assert!(
        s.points
            .iter()
            .all(|p| p.value > Decimal::from(61_100) && p.value < Decimal::from(61_200))
    );
    let u = t("rtds_crypto_prices_update.json");
    assert_eq!(u.points[0].value, "61035.86".parse::<Decimal>().unwrap());
    let e = t("rtds_equity_prices_subscribe.json");
    assert_eq!((e.symbol.as_str(), e.points.len()), ("aapl", 3));
    assert!(
        e.points
            .iter()
            .all(|p| p.value > Decimal::from(307) && p.value < Decimal::from(309))
    );
    // The full-accuracy value is kept; the README quotes it rounded.
    assert_eq!(
        t("rtds_equity_prices_update.json").points[0].value,
        "198.4523".parse::<Decimal>().unwrap()
    );
}

#[test]
fn synthetic_account_and_data_api_shapes_are_json() {
    // No typed parser yet (live trading and the Data API come later): these only
    // need to be the JSON their names say.
    let r = fixtures!();
    for rel in [
        "http_balance_allowance_collateral.json",
        "http_balance_allowance_no_allowance.json",
        "http_batch_cancel_response.json",
        "http_cancel_response_failed.json",
        "http_cancel_response_ok.json",
        "http_open_order.json",
        "http_open_order_sell_fok.json",
        "http_open_orders_page.json",
        "http_order_response_error_500.json",
        "http_order_response_failed.json",
        "http_order_response_ok.json",
        "http_signed_order.json",
        "http_trade_report.json",
        "http_trades_page.json",
        "data_api_trades_response.json",
        "data_api_positions_response.json",
        "clob_fee_rate_response_zero.json",
        "clob_fee_rate_response_nonzero.json",
    ] {
        let v = json(&r, &format!("nautilus_trader/test_data/{rel}"));
        assert!(v.is_object() || v.is_array(), "{rel}");
    }
    assert_eq!(
        json(
            &r,
            "nautilus_trader/test_data/clob_fee_rate_response_zero.json"
        )["base_fee"],
        "0"
    );
    assert_eq!(
        json(&r, "nautilus_trader/resources/http_responses/trades.json")
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    assert_eq!(
        json(
            &r,
            "nautilus_trader/resources/http_responses/markets_list.json"
        )
        .as_array()
        .map(Vec::len),
        Some(3)
    );
}

#[test]
fn recorded_day_samples() {
    let r = fixtures!();
    let manifest = json(&r, "polymarket-data-samples/samples/manifest.json");
    for f in manifest["files"].as_array().unwrap() {
        let path = r
            .join("polymarket-data-samples/samples")
            .join(f["name"].as_str().unwrap());
        if let Ok(bytes) = std::fs::read(&path) {
            use sha2::Digest;
            assert_eq!(
                hex::encode(sha2::Sha256::digest(&bytes)),
                f["sha256"].as_str().unwrap(),
                "{}",
                path.display()
            );
        }
    }
    let rows: Vec<Value> = gunzip(
        &r,
        "polymarket-data-samples/samples/BTC-5m-markets-2026-07-24.jsonl.gz",
    )
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert_eq!(rows.len(), 292);
    let (mut up, mut down) = (0, 0);
    for row in &rows {
        let m = parse_market(&row["raw"]).unwrap_or_else(|e| panic!("{}: {e}", row["slug"]));
        assert_eq!(
            m.tokens[0].0.as_str(),
            row["token_ids"][0].as_str().unwrap()
        );
        match row["outcome_prices"][0].as_str() {
            Some("1") => up += 1,
            Some("0") => down += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((up, down), (140, 152));
    let prices = csv(&gunzip(
        &r,
        "polymarket-data-samples/samples/BTCUSD-prices-2026-07-24.csv.gz",
    ));
    let data = &prices[1..];
    assert_eq!(data.len(), 78_515);
    let ts: Vec<u64> = data.iter().map(|row| row[0].parse().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] < w[1]), "unique and in order");
    let values: Vec<Decimal> = data.iter().map(|row| row[1].parse().unwrap()).collect();
    // Exact values; the README quotes them to the cent.
    assert_eq!(
        values.iter().min().unwrap().round_dp(2).to_string(),
        "63676.34"
    );
    assert_eq!(
        values.iter().max().unwrap().round_dp(2).to_string(),
        "65756.86"
    );
}

#[tokio::test]
async fn betting_on_war_prices_import_and_tables() {
    let r = fixtures!();
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).await.unwrap();
    let report = archive
        .import_prices(&r.join("Betting-On-War/data/polymarket_prices.csv"), None)
        .await
        .unwrap();
    assert_eq!(
        (report.lines, report.imported, report.bad),
        (14_184, 14_184, 0)
    );
    let prices = csv(&text(&r, "Betting-On-War/data/polymarket_prices.csv"));
    let tokens: BTreeSet<&str> = prices[1..].iter().map(|row| row[1].as_str()).collect();
    let markets: BTreeSet<&str> = prices[1..].iter().map(|row| row[0].as_str()).collect();
    assert_eq!((tokens.len(), markets.len()), (184, 92));
    let markets_csv = csv(&text(&r, "Betting-On-War/data/polymarket_markets.csv"));
    assert_eq!(
        markets_csv.len() - 1,
        475,
        "records, with newlines inside quoted descriptions"
    );
    let summary = csv(&text(&r, "Betting-On-War/data/polymarket_summary.csv"));
    let n_obs = summary[0].iter().position(|c| c == "n_obs").unwrap();
    let total: u64 = summary[1..]
        .iter()
        .map(|row| row[n_obs].parse::<u64>().unwrap())
        .sum();
    assert_eq!((summary.len() - 1, total), (92, 14_184));

    let updown = csv(&text(&r, "polymarket-data/data/updown_markets.csv"));
    let header = &updown[0];
    let col = |name: &str| header.iter().position(|c| c == name).unwrap();
    let mut by_asset: BTreeMap<String, usize> = BTreeMap::new();
    let mut five = 0;
    for row in &updown[1..] {
        *by_asset.entry(row[col("asset")].clone()).or_default() += 1;
        TokenId::parse(&row[col("yes_token_id")]).unwrap();
        TokenId::parse(&row[col("no_token_id")]).unwrap();
        if row[col("duration")] == "5m" {
            five += 1;
        }
    }
    assert_eq!(updown.len() - 1, 120);
    assert_eq!(five, 97);
    assert_eq!(
        by_asset
            .values()
            .copied()
            .collect::<Vec<_>>()
            .iter()
            .sum::<usize>(),
        120
    );
    assert_eq!(
        by_asset.get("BTC").or(by_asset.get("btc")).copied(),
        Some(31)
    );
}
