//! Prices from the books and trades: `/price(s)`, `/midpoint(s)`, `/spread(s)`,
//! `/last-trade(s)-price(s)` and `/prices-history`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{
    AppState, BookParam, bad_request, body_tokens, market_of, no_book, no_market, number,
    parse_side, token_list, token_param,
};
use crate::model::{Price, Side, TokenId};
use crate::venue::sim::state::SimState;

fn side_name(s: Side) -> &'static str {
    match s {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// The best price on one side of a live book. `BUY` is the best bid and `SELL`
/// the best ask: what the live venue answers (a third-party probe of
/// production, Vex-Foundation/Vex PR #72, 2026-07).
fn best(sim: &SimState, token: &TokenId, side: Side) -> Option<Price> {
    let book = sim.live_book(token)?;
    match side {
        Side::Buy => book.best_bid(),
        Side::Sell => book.best_ask(),
    }
    .map(|l| l.price)
}

fn mid(sim: &SimState, token: &TokenId) -> Option<Price> {
    sim.live_book(token)?.mid()
}

fn spread_of(sim: &SimState, token: &TokenId) -> Option<Price> {
    let book = sim.live_book(token)?;
    let (bid, ask) = (book.best_bid()?, book.best_ask()?);
    ask.price.checked_sub(bid.price)
}

/// The last trade as the venue reports it: price and taker side, `"0.5"` and
/// `""` before the first trade.
fn last_trade(sim: &SimState, token: &TokenId) -> (String, &'static str) {
    match sim.last_trade.get(token) {
        Some((p, s)) => (p.to_string(), s.map_or("", side_name)),
        None => ("0.5".to_string(), ""),
    }
}

/// `GET /price?token_id=&side=` → `{"price": "0.52"}`.
pub async fn price(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = match token_param(&q, "token_id") {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let side = match q.get("side").map(|s| parse_side("side", s)) {
        Some(Ok(s)) => s,
        Some(Err(r)) => return *r,
        None => return bad_request("missing `side`"),
    };
    match best(&app.sim(), &token, side) {
        Some(p) => Json(json!({ "price": p.to_string() })).into_response(),
        None => no_book(),
    }
}

/// `{"<token>": {"BUY": "0.52", ...}, ...}` for the pairs that have a price.
fn prices_for(sim: &SimState, pairs: &[(TokenId, Side)]) -> Value {
    let mut out = Map::new();
    for (t, s) in pairs {
        if let Some(p) = best(sim, t, *s) {
            let entry = out
                .entry(t.as_str().to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            entry[side_name(*s)] = json!(p.to_string());
        }
    }
    Value::Object(out)
}

/// `POST /prices` with `[{"token_id", "side"}]`.
pub async fn prices_post(
    State(app): State<AppState>,
    Json(body): Json<Vec<BookParam>>,
) -> Response {
    let list = match body_tokens(&body) {
        Ok(l) => l,
        Err(r) => return *r,
    };
    let mut pairs = Vec::new();
    for (t, s) in list {
        match s {
            Some(s) => pairs.push((t, s)),
            None => return bad_request("missing `side`"),
        }
    }
    Json(prices_for(&app.sim(), &pairs)).into_response()
}

/// `GET /prices?token_ids=a,b&sides=BUY,SELL` (one side per token).
pub async fn prices_get(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let tokens = match token_list(&q, "token_ids") {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let Some(raw) = q.get("sides") else {
        return bad_request("missing `sides`");
    };
    let sides: Result<Vec<Side>, _> = raw.split(',').map(|s| parse_side("sides", s)).collect();
    let sides = match sides {
        Ok(s) if s.len() == tokens.len() => s,
        Ok(_) => return bad_request("`sides` must name one side per entry of `token_ids`"),
        Err(r) => return *r,
    };
    let pairs: Vec<(TokenId, Side)> = tokens.into_iter().zip(sides).collect();
    Json(prices_for(&app.sim(), &pairs)).into_response()
}

/// `GET /midpoint?token_id=` → `{"mid": "0.515"}`.
pub async fn midpoint(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = match token_param(&q, "token_id") {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match mid(&app.sim(), &token) {
        Some(m) => Json(json!({ "mid": m.to_string() })).into_response(),
        None => no_book(),
    }
}

/// `{"<token>": "<value>"}` for the tokens `f` has a value for.
fn per_token(
    sim: &SimState,
    tokens: &[TokenId],
    f: fn(&SimState, &TokenId) -> Option<Price>,
) -> Value {
    let out: Map<String, Value> = tokens
        .iter()
        .filter_map(|t| f(sim, t).map(|p| (t.as_str().to_string(), json!(p.to_string()))))
        .collect();
    Value::Object(out)
}

fn listed(body: &[BookParam]) -> Result<Vec<TokenId>, Box<Response>> {
    Ok(body_tokens(body)?.into_iter().map(|(t, _)| t).collect())
}

/// `POST /midpoints` with `[{"token_id"}]` → `{"<token>": "0.515"}`.
pub async fn midpoints_post(
    State(app): State<AppState>,
    Json(body): Json<Vec<BookParam>>,
) -> Response {
    match listed(&body) {
        Ok(tokens) => Json(per_token(&app.sim(), &tokens, mid)).into_response(),
        Err(r) => *r,
    }
}

/// `GET /midpoints?token_ids=a,b`.
pub async fn midpoints_get(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match token_list(&q, "token_ids") {
        Ok(tokens) => Json(per_token(&app.sim(), &tokens, mid)).into_response(),
        Err(r) => *r,
    }
}

/// `GET /spread?token_id=` → `{"spread": "0.01"}`.
pub async fn spread(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = match token_param(&q, "token_id") {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match spread_of(&app.sim(), &token) {
        Some(s) => Json(json!({ "spread": s.to_string() })).into_response(),
        None => no_book(),
    }
}

/// `POST /spreads` with `[{"token_id"}]` → `{"<token>": "0.01"}`.
pub async fn spreads_post(
    State(app): State<AppState>,
    Json(body): Json<Vec<BookParam>>,
) -> Response {
    match listed(&body) {
        Ok(tokens) => Json(per_token(&app.sim(), &tokens, spread_of)).into_response(),
        Err(r) => *r,
    }
}

/// `GET /spreads?token_ids=a,b`.
pub async fn spreads_get(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match token_list(&q, "token_ids") {
        Ok(tokens) => Json(per_token(&app.sim(), &tokens, spread_of)).into_response(),
        Err(r) => *r,
    }
}

/// `GET /last-trade-price?token_id=` → `{"price": "0.52", "side": "BUY"}`.
pub async fn last_trade_price(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = match token_param(&q, "token_id") {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let sim = app.sim();
    if market_of(&sim, &token).is_none() {
        return no_market();
    }
    let (price, side) = last_trade(&sim, &token);
    Json(json!({ "price": price, "side": side })).into_response()
}

fn last_trades(sim: &SimState, tokens: &[TokenId]) -> Value {
    let out: Vec<Value> = tokens
        .iter()
        .filter(|t| market_of(sim, t).is_some())
        .map(|t| {
            let (price, side) = last_trade(sim, t);
            json!({ "token_id": t.as_str(), "price": price, "side": side })
        })
        .collect();
    Value::Array(out)
}

/// At most this many tokens per `/last-trades-prices` request, as on the venue.
const MAX_LAST_TRADES: usize = 500;

fn last_trades_response(app: &AppState, tokens: &[TokenId]) -> Response {
    if tokens.len() > MAX_LAST_TRADES {
        return bad_request(&format!(
            "too many `token_id`s: {} (max {MAX_LAST_TRADES})",
            tokens.len()
        ));
    }
    Json(last_trades(&app.sim(), tokens)).into_response()
}

/// `POST /last-trades-prices` with `[{"token_id"}]` → `[{"token_id","price","side"}]`.
pub async fn last_trades_prices_post(
    State(app): State<AppState>,
    Json(body): Json<Vec<BookParam>>,
) -> Response {
    match listed(&body) {
        Ok(tokens) => last_trades_response(&app, &tokens),
        Err(r) => *r,
    }
}

/// `GET /last-trades-prices?token_ids=a,b`.
pub async fn last_trades_prices_get(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match token_list(&q, "token_ids") {
        Ok(tokens) => last_trades_response(&app, &tokens),
        Err(r) => *r,
    }
}

/// The window an `interval` covers, in seconds back from now (`None`: all).
fn interval_secs(name: &str) -> Option<Option<u64>> {
    match name {
        "max" | "all" => Some(None),
        "1m" => Some(Some(30 * 86_400)),
        "1w" => Some(Some(7 * 86_400)),
        "1d" => Some(Some(86_400)),
        "6h" => Some(Some(6 * 3_600)),
        "1h" => Some(Some(3_600)),
        _ => None,
    }
}

/// A non-negative integer query parameter; 400 naming it when malformed.
fn u64_param(q: &HashMap<String, String>, key: &str) -> Result<Option<u64>, Box<Response>> {
    q.get(key)
        .map(|v| {
            v.trim().parse::<u64>().map_err(|_| {
                Box::new(bad_request(&format!(
                    "invalid `{key}` `{v}`: expected a non-negative integer"
                )))
            })
        })
        .transpose()
}

/// The `[start, end]` seconds and bucket width a `/prices-history` query asks for.
fn history_window(
    q: &HashMap<String, String>,
    now_s: u64,
) -> Result<(u64, u64, u64), Box<Response>> {
    let start = u64_param(q, "startTs")?;
    let end = u64_param(q, "endTs")?;
    let fidelity = u64_param(q, "fidelity")?.unwrap_or(1);
    if fidelity == 0 {
        return Err(Box::new(bad_request(
            "invalid `fidelity` `0`: the resolution is a positive number of minutes",
        )));
    }
    let step = fidelity.saturating_mul(60);
    let Some(interval) = q.get("interval") else {
        return Ok((start.unwrap_or(0), end.unwrap_or(u64::MAX), step));
    };
    if start.is_some() || end.is_some() {
        return Err(Box::new(bad_request(
            "`interval` is mutually exclusive with `startTs` and `endTs`",
        )));
    }
    match interval_secs(interval) {
        Some(None) => Ok((0, u64::MAX, step)),
        Some(Some(span)) => Ok((now_s.saturating_sub(span), u64::MAX, step)),
        None => Err(Box::new(bad_request(&format!(
            "invalid `interval` `{interval}`: expected one of max, all, 1m, 1w, 1d, 6h, 1h"
        )))),
    }
}

/// `GET /prices-history?market=<token>&(interval=|startTs=&endTs=)&fidelity=`
/// → `{"history": [{"t": <s>, "p": <number>}]}`, one point per `fidelity`
/// minutes. A token without history gets an empty list, as on the venue.
pub async fn prices_history(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = match token_param(&q, "market") {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let sim = app.sim();
    let (start, end, step) = match history_window(&q, sim.now_ms / 1_000) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let mut last_bucket = None;
    let history: Vec<Value> = sim
        .history
        .get(&token)
        .into_iter()
        .flatten()
        .filter(|(t, _)| *t >= start && *t <= end)
        .filter(|(t, _)| {
            let bucket = t / step;
            let keep = last_bucket != Some(bucket);
            last_bucket = Some(bucket);
            keep
        })
        .map(|(t, p)| json!({ "t": t, "p": number(p.to_string()) }))
        .collect();
    Json(json!({ "history": history })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn intervals_end_now_and_exclude_explicit_bounds() {
        let now = 1_000_000;
        assert_eq!(history_window(&q(&[]), now).ok(), Some((0, u64::MAX, 60)));
        assert_eq!(
            history_window(&q(&[("interval", "1h"), ("fidelity", "5")]), now).ok(),
            Some((now - 3_600, u64::MAX, 300))
        );
        assert_eq!(
            history_window(&q(&[("interval", "1w")]), now).ok(),
            Some((now - 7 * 86_400, u64::MAX, 60))
        );
        for all in ["max", "all"] {
            assert_eq!(
                history_window(&q(&[("interval", all)]), now).ok(),
                Some((0, u64::MAX, 60))
            );
        }
        assert_eq!(
            history_window(&q(&[("startTs", "5"), ("endTs", "9")]), now).ok(),
            Some((5, 9, 60))
        );
        for bad in [
            q(&[("interval", "1h"), ("startTs", "5")]),
            q(&[("interval", "1h"), ("endTs", "5")]),
            q(&[("interval", "2h")]),
            q(&[("fidelity", "0")]),
            q(&[("fidelity", "x")]),
            q(&[("startTs", "-1")]),
        ] {
            let r = history_window(&bad, now).expect_err("rejected");
            assert_eq!(r.status(), axum::http::StatusCode::BAD_REQUEST);
        }
    }
}
