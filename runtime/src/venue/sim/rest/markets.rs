//! CLOB market listings: `/markets` (cursor-paged), `/markets/{cid}`, `/clob-markets/{cid}`, `/markets-by-token/{token}`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::books::base_fee_bps;
use super::{AppState, bad_request, charges_fees, no_market, number, parse_token};
use crate::model::Price;
use crate::model::time::utc_datetime;
use crate::venue::sim::generator::SimMarketInfo;
use crate::venue::sim::state::SimState;
use crate::venue::sim::wire;

/// Markets per `/markets` page, as the venue's captured first page.
const PAGE: usize = 100;

/// The cursor convention: base64 of the decimal offset; `LTE=` ("-1") ends.
const END_CURSOR: &str = "LTE=";

/// The collateral token rewards are paid in (pUSD).
const REWARD_ASSET: &str = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB";

/// Days between a simulated market opening and its stated end date.
const LIFETIME_DAYS: u64 = 30;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let v = B64.iter().position(|b| *b == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits & 0xff) as u8);
        }
    }
    Some(out)
}

/// The offset a `next_cursor` names; `None` when it is not a cursor.
fn cursor_offset(cursor: &str) -> Option<usize> {
    String::from_utf8(b64_decode(cursor)?).ok()?.parse().ok()
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a millisecond timestamp.
fn iso(ms: u64) -> String {
    let ns = i64::try_from(ms).unwrap_or(i64::MAX / 1_000_000) * 1_000_000;
    format!("{}Z", utc_datetime(ns).replace(' ', "T"))
}

/// A stable bytes32 derived from a market's condition id and a label.
fn derived_id(m: &SimMarketInfo, label: &str) -> String {
    let digest = Sha256::digest(format!("{label}:{}", m.condition.as_str()).as_bytes());
    format!("0x{}", hex::encode(digest))
}

/// A token's price as `/markets` lists it: 1 / 0 once resolved (0.5 each for a
/// 50-50 resolution), else its book's mid, else its last trade, else 0.5.
fn token_price(sim: &SimState, m: &SimMarketInfo, token: &crate::model::TokenId) -> Price {
    let half = Price::new(500_000).unwrap_or(Price::ZERO);
    if m.split {
        return half;
    }
    if let Some(w) = &m.winner {
        return if w == token { Price::ONE } else { Price::ZERO };
    }
    sim.live_book(token)
        .and_then(|b| b.mid())
        .or_else(|| sim.last_trade.get(token).map(|(p, _)| *p))
        .unwrap_or(half)
}

fn rewards() -> Value {
    json!({
        "rates": [{ "asset_address": REWARD_ASSET, "rewards_daily_rate": 10 }],
        "min_size": 50,
        "max_spread": 3.5,
    })
}

fn image(m: &SimMarketInfo) -> String {
    format!(
        "https://polymarket-upload.s3.us-east-2.amazonaws.com/{}.png",
        m.slug
    )
}

/// Market number `i` as a CLOB `Market` object, all 29 keys in the venue's
/// order and JSON types. A resolved market stays `active` but is `closed`, no
/// longer accepting orders, without an order book, and names its winner.
pub(super) fn clob_market(i: usize, m: &SimMarketInfo, sim: &SimState) -> Value {
    json!({
        "enable_order_book": !m.closed,
        "active": true,
        "closed": m.closed,
        "archived": false,
        "accepting_orders": !m.closed,
        "accepting_order_timestamp": iso(sim.start_ms),
        "minimum_order_size": number(m.min_size.to_string()),
        "minimum_tick_size": number(m.tick.to_string()),
        "condition_id": m.condition.as_str(),
        "question_id": derived_id(m, "question"),
        "question": m.question,
        "description": wire::description(m),
        "market_slug": m.slug,
        "end_date_iso": iso(sim.start_ms + LIFETIME_DAYS * 86_400_000),
        "game_start_time": Value::Null,
        "seconds_delay": 0,
        "fpmm": "",
        "maker_base_fee": 0,
        "taker_base_fee": base_fee_bps(i),
        "notifications_enabled": true,
        "neg_risk": false,
        "neg_risk_market_id": "",
        "neg_risk_request_id": "",
        "icon": image(m),
        "image": image(m),
        "rewards": rewards(),
        "is_50_50_outcome": m.split,
        "tokens": m.tokens.iter().map(|(t, o)| json!({
            "token_id": t.as_str(),
            "outcome": o,
            "price": number(token_price(sim, m, t).to_string()),
            "winner": m.winner.as_ref() == Some(t),
        })).collect::<Vec<_>>(),
        "tags": [wire::SIM_TAG],
    })
}

/// `GET /markets?next_cursor=`: `{"limit","count","next_cursor","data"}`,
/// 100 markets a page, from `MA==` until `LTE=`.
pub async fn markets(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let start = match q.get("next_cursor").map(String::as_str) {
        None | Some("") => 0,
        Some(END_CURSOR) => usize::MAX,
        Some(c) => match cursor_offset(c) {
            Some(n) => n,
            None => return bad_request(&format!("invalid `next_cursor` `{c}`")),
        },
    };
    let sim = app.sim();
    let data: Vec<Value> = sim
        .markets
        .iter()
        .enumerate()
        .skip(start)
        .take(PAGE)
        .map(|(i, m)| clob_market(i, m, &sim))
        .collect();
    let next = start.saturating_add(data.len());
    let next_cursor = if next < sim.markets.len() {
        b64_encode(next.to_string().as_bytes())
    } else {
        END_CURSOR.to_string()
    };
    Json(json!({
        "limit": PAGE,
        "count": data.len(),
        "next_cursor": next_cursor,
        "data": data,
    }))
    .into_response()
}

fn find_condition<'a>(sim: &'a SimState, cid: &str) -> Option<(usize, &'a SimMarketInfo)> {
    sim.markets
        .iter()
        .enumerate()
        .find(|(_, m)| m.condition.as_str().eq_ignore_ascii_case(cid))
}

/// `GET /markets/{condition_id}`.
pub async fn market(State(app): State<AppState>, Path(cid): Path<String>) -> Response {
    let sim = app.sim();
    match find_condition(&sim, &cid) {
        Some((i, m)) => Json(clob_market(i, m, &sim)).into_response(),
        None => no_market(),
    }
}

/// Market number `i` in the compact `/clob-markets/{cid}` form the V2 SDKs cache
/// (tick, neg-risk, fee details). `r` repeats the `rewards` object of
/// `/markets` (its compact shape is not documented).
pub(super) fn compact_market(i: usize, m: &SimMarketInfo, sim: &SimState) -> Value {
    let rate = if charges_fees(i) {
        number("0.02".into())
    } else {
        number("0".into())
    };
    json!({
        "c": m.condition.as_str(),
        "t": m.tokens.iter().map(|(t, o)| json!({ "t": t.as_str(), "o": o })).collect::<Vec<_>>(),
        "mts": number(m.tick.to_string()),
        "nr": false,
        "fd": { "r": rate, "e": 1, "to": true },
        "mbf": 0,
        "tbf": base_fee_bps(i),
        "r": rewards(),
        "ao": !m.closed,
        "mos": number(m.min_size.to_string()),
        "sd": 0,
        "gst": Value::Null,
        "cbos": false,
        "aot": iso(sim.start_ms),
        "rfqe": false,
        "itode": false,
        "ibce": false,
        "oas": 0,
    })
}

/// `GET /clob-markets/{condition_id}`.
pub async fn clob_market_info(State(app): State<AppState>, Path(cid): Path<String>) -> Response {
    let sim = app.sim();
    match find_condition(&sim, &cid) {
        Some((i, m)) => Json(compact_market(i, m, &sim)).into_response(),
        None => no_market(),
    }
}

/// `GET /markets-by-token/{token_id}` → `{"condition_id", "primary_token_id",
/// "secondary_token_id"}` (primary = the first outcome, Yes).
pub async fn market_by_token(State(app): State<AppState>, Path(raw): Path<String>) -> Response {
    let token = match parse_token("token_id", &raw) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let sim = app.sim();
    match sim.market_of(&token) {
        Some((_, m)) => Json(json!({
            "condition_id": m.condition.as_str(),
            "primary_token_id": m.tokens[0].0.as_str(),
            "secondary_token_id": m.tokens[1].0.as_str(),
        }))
        .into_response(),
        None => no_market(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_base64_offsets() {
        assert_eq!(b64_encode(b"0"), "MA==");
        assert_eq!(b64_encode(b"-1"), "LTE=");
        assert_eq!(b64_encode(b"100"), "MTAw");
        assert_eq!(cursor_offset("MA=="), Some(0));
        assert_eq!(cursor_offset("MTAw"), Some(100));
        assert_eq!(cursor_offset(&b64_encode(b"12345")), Some(12_345));
        assert_eq!(cursor_offset("!!"), None);
        assert_eq!(cursor_offset("LTE="), None);
    }

    #[test]
    fn iso_dates() {
        assert_eq!(iso(1_767_225_600_000), "2026-01-01T00:00:00Z");
    }
}
