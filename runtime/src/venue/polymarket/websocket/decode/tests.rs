//! Decoder tests on small payloads shaped like the venue's (the real captures in
//! ../shared are covered by the conformance tests in tests/).

use proptest::prelude::*;

use super::*;

const TOKEN: &str = "48331043336612883890938759509493159234755048973500640148014422747788308965732";
const MARKET: &str = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917";

fn one(json: &str) -> Result<MarketEvent, DecodeError> {
    match decode_frame(json) {
        Frame::Messages(mut m) if m.len() == 1 => m.remove(0),
        other => panic!("expected one message, got {other:?}"),
    }
}

#[test]
fn keepalives() {
    assert_eq!(decode_frame("PONG"), Frame::Pong);
    assert_eq!(decode_frame(" pong\n"), Frame::Pong);
    assert_eq!(decode_frame("PING"), Frame::Ping);
}

#[test]
fn book_keeps_levels_as_given() {
    let json = format!(
        r#"{{"event_type":"book","asset_id":"{TOKEN}","market":"{MARKET}","timestamp":"1728799418260",
        "hash":"abc","bids":[{{"price":"0.09","size":"5"}},{{"price":"0.1","size":"125"}}],
        "asks":[{{"price":"0.15","size":"10.5"}},{{"price":"0.14","size":"705"}}],"tick_size":"0.01"}}"#
    );
    let MarketEvent::Book {
        bids,
        asks,
        ts_ms,
        tick,
        hash,
        ..
    } = one(&json).unwrap()
    else {
        panic!()
    };
    assert_eq!(ts_ms, 1_728_799_418_260);
    assert_eq!(bids[1].price.micros(), 100_000);
    assert_eq!(bids[1].size, Size::from_shares(125).unwrap());
    assert_eq!(asks[0].size.micros(), 10_500_000);
    assert_eq!(tick.unwrap().micros(), 10_000);
    assert_eq!(hash.as_deref(), Some("abc"));
}

#[test]
fn price_change_current_and_old_shapes() {
    let new = format!(
        r#"{{"market":"{MARKET}","price_changes":[{{"asset_id":"{TOKEN}","price":"0.6","size":"3300","side":"BUY","hash":"h1","best_bid":"0.6","best_ask":"0.7"}},
        {{"asset_id":"{TOKEN}","price":"0.7","size":"0","side":"SELL","best_bid":"0.6","best_ask":""}}],"event_type":"price_change","timestamp":"1729084877448"}}"#
    );
    let MarketEvent::PriceChange { changes, .. } = one(&new).unwrap() else {
        panic!()
    };
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].side, Side::Buy);
    assert_eq!(changes[0].best_ask.unwrap().micros(), 700_000);
    assert!(changes[1].size.is_zero());
    assert_eq!(changes[1].best_ask, None, "empty best price means none");

    let old = format!(
        r#"{{"asset_id":"{TOKEN}","event_type":"price_change","hash":"x","market":"{MARKET}","price":"0.514","side":"SELL","size":"21574.08","timestamp":"1723967931411"}}"#
    );
    let MarketEvent::PriceChange { changes, .. } = one(&old).unwrap() else {
        panic!()
    };
    assert_eq!(changes[0].price.micros(), 514_000);
    assert_eq!(changes[0].size.micros(), 21_574_080_000);

    let older = format!(
        r#"{{"asset_id":"{TOKEN}","event_type":"price_change","market":"{MARKET}","timestamp":1,"changes":[{{"price":"0.5","side":"BUY","size":"1"}}]}}"#
    );
    assert!(matches!(one(&older), Ok(MarketEvent::PriceChange { .. })));
}

#[test]
fn arrays_decode_each_element_on_its_own() {
    let frame = format!(
        r#"[{{"event_type":"tick_size_change","asset_id":"{TOKEN}","market":"{MARKET}","old_tick_size":"0.01","new_tick_size":"0.001","timestamp":"1"}},
        {{"event_type":"mystery"}},
        {{"event_type":"last_trade_price","asset_id":"{TOKEN}","market":"{MARKET}","price":"1.5","size":"1","side":"BUY","timestamp":"1"}},
        {{"event_type":"best_bid_ask","asset_id":"{TOKEN}","market":"{MARKET}","best_bid":"0.73","best_ask":"0.77","timestamp":"2"}}]"#
    );
    let Frame::Messages(m) = decode_frame(&frame) else {
        panic!()
    };
    assert!(matches!(m[0], Ok(MarketEvent::TickSize { .. })));
    assert_eq!(m[1], Err(DecodeError::UnknownEventType("mystery".into())));
    assert!(
        matches!(&m[2], Err(DecodeError::Bad { field: "price", value, .. }) if value == "1.5"),
        "{:?}",
        m[2]
    );
    assert!(matches!(m[3], Ok(MarketEvent::BestBidAsk { .. })));
}

#[test]
fn errors_name_the_field() {
    let e = one(&format!(
        r#"{{"event_type":"book","asset_id":"{TOKEN}","market":"{MARKET}","bids":[],"asks":[]}}"#
    ))
    .unwrap_err();
    assert_eq!(
        e,
        DecodeError::Missing {
            event: "book",
            field: "timestamp"
        }
    );
    let e = one(r#"{"event_type":"book","asset_id":"0x1"}"#).unwrap_err();
    assert!(e.to_string().contains("asset_id"), "{e}");
    assert!(matches!(one("{not json"), Err(DecodeError::NotJson(_))));
    assert_eq!(one("{}"), Err(DecodeError::NoEventType));
}

#[test]
fn resolution_winner_must_be_an_asset() {
    let other = "1";
    let json = format!(
        r#"{{"event_type":"market_resolved","market":"{MARKET}","assets_ids":["{TOKEN}","{other}"],"winning_asset_id":"{TOKEN}","winning_outcome":"Yes","timestamp":"5"}}"#
    );
    assert!(matches!(one(&json), Ok(MarketEvent::Resolved { .. })));
    let json = json.replace(
        &format!(r#""winning_asset_id":"{TOKEN}""#),
        r#""winning_asset_id":"7""#,
    );
    assert!(matches!(
        one(&json),
        Err(DecodeError::Bad {
            field: "winning_asset_id",
            ..
        })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = decode_frame(&s);
    }

    #[test]
    fn mutated_messages_never_panic(
        cut in 0usize..400,
        flip in 0usize..400,
        byte in any::<u8>(),
    ) {
        let base = format!(
            r#"{{"market":"{MARKET}","price_changes":[{{"asset_id":"{TOKEN}","price":"0.6","size":"3300","side":"BUY","hash":"h","best_bid":"0.6","best_ask":"0.7"}}],"event_type":"price_change","timestamp":"1729084877448"}}"#
        );
        let mut bytes = base.into_bytes();
        let i = flip % bytes.len();
        bytes[i] = byte;
        bytes.truncate(cut.max(1).min(bytes.len()));
        let text = String::from_utf8_lossy(&bytes);
        let _ = decode_frame(&text);
    }
}

fn reorder_and_space(json: &str, seed: u64) -> String {
    // Re-serialise with keys in a seed-dependent order and random whitespace.
    fn next(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }
    fn walk(v: &serde_json::Value, seed: &mut u64, out: &mut String) {
        let pad = |n: u64| [" ", "", "\n", "\t "][(n % 4) as usize];
        match v {
            serde_json::Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                let n = keys.len();
                for i in 0..n {
                    let j = (next(seed) % n as u64) as usize;
                    keys.swap(i, j);
                }
                out.push('{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(pad(next(seed)));
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push_str(pad(next(seed)));
                    out.push(':');
                    walk(&m[*k], seed, out);
                }
                out.push('}');
            }
            serde_json::Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    walk(x, seed, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut s = seed | 1;
    let mut out = String::new();
    walk(&v, &mut s, &mut out);
    out
}

#[test]
fn fast_path_agrees_with_the_general_path() {
    let base = format!(
        r#"{{"market":"{MARKET}","price_changes":[{{"asset_id":"{TOKEN}","price":"0.6","size":"3300","side":"BUY","hash":"h1","best_bid":"0.6","best_ask":"0.7"}},
        {{"asset_id":"1","price":"0.7","size":"0","side":"SELL","best_bid":"0.6","best_ask":"","extra":{{"a":[1,"x\"y"]}}}}],"event_type":"price_change","timestamp":"1729084877448","unknown":[{{}}]}}"#
    );
    for seed in 0..200 {
        let json = reorder_and_space(&base, seed);
        assert_eq!(decode_message(&json), decode_general(&json), "{json}");
    }
    // Cases the scanner hands over: escapes, duplicates, other types, old shapes,
    // missing type, trailing garbage.
    for json in [
        base.replace("\"h1\"", "\"h\\u0031\""),
        // Invalid escapes in a skipped field (found by the proptest below).
        base.replace("\"h1\"", "\"\\1\""),
        base.replace("\"h1\"", "\"h\\u00g1\""),
        base.replace("\"h1\"", "\"h\\u00\""),
        base.replace("\"timestamp\"", "\"timestamp\":\"1\",\"timestamp\""),
        base.replace("price_change\"", "book\""),
        base.replace("\"event_type\":\"price_change\",", ""),
        format!("{base}x"),
        base.replace("\"price\":\"0.6\"", "\"price\":0.6"),
    ] {
        assert_eq!(decode_message(&json), decode_general(&json), "{json}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn fast_path_agrees_on_mutations(cut in 0usize..600, flip in 0usize..600, byte in any::<u8>()) {
        let base = format!(
            r#"{{"market":"{MARKET}","price_changes":[{{"asset_id":"{TOKEN}","price":"0.6","size":"3300","side":"BUY","hash":"h1","best_bid":"0.6","best_ask":"0.7"}}],"event_type":"price_change","timestamp":"1"}}"#
        );
        let mut bytes = base.into_bytes();
        let i = flip % bytes.len();
        bytes[i] = byte;
        bytes.truncate(cut.max(1).min(bytes.len()));
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let fast = decode_message(&text);
        let general = decode_general(&text);
        // The scanner may hand over (then both are the general answer) but must
        // never accept something the general path rejects, or disagree.
        if fast.is_ok() || general.is_ok() {
            prop_assert_eq!(fast, general);
        }
    }
}
