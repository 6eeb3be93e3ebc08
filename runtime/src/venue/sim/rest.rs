//! The simulator's REST surface: the CLOB public paths at the root and Gamma under
//! `/gamma`, with the venue's JSON shapes (decimal strings, double-encoded Gamma
//! arrays, cursor paging, best-last book levels and book hashes).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::faults::{FaultRequest, Faults};
use super::generator::SimMarketInfo;
use super::state::SimState;
use super::wire;
use crate::model::{Price, TokenId};
use crate::venue::polymarket::websocket::client::now_ms;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub sim: Arc<Mutex<SimState>>,
    pub faults: Arc<Faults>,
}

impl AppState {
    fn sim(&self) -> std::sync::MutexGuard<'_, SimState> {
        // A panicked handler cannot leave the state half-updated (all updates
        // happen in `step`), so a poisoned lock is still usable.
        self.sim.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// An exact decimal as a JSON number (the venue sends some prices as numbers).
fn number(text: String) -> Box<RawValue> {
    RawValue::from_string(text).unwrap_or_else(|_| {
        RawValue::from_string("0".into()).unwrap_or_else(|_| unreachable!("`0` is valid JSON"))
    })
}

fn token_param(q: &HashMap<String, String>, key: &str) -> Result<TokenId, Box<Response>> {
    let raw = q
        .get(key)
        .ok_or_else(|| Box::new(error(StatusCode::BAD_REQUEST, &format!("missing `{key}`"))))?;
    TokenId::parse(raw).map_err(|e| Box::new(error(StatusCode::BAD_REQUEST, &e.to_string())))
}

fn book_json(sim: &SimState, token: &TokenId) -> Option<Value> {
    let snapshot = sim.snapshot(token)?;
    let last = sim
        .last_trade
        .get(token)
        .map_or_else(|| "0.5".to_string(), Price::to_string);
    let s = wire::summary(&snapshot, "5", &last)?;
    serde_json::to_value(s).ok()
}

pub async fn ok() -> &'static str {
    "OK"
}

pub async fn time(State(app): State<AppState>) -> Json<u64> {
    Json(app.sim().now_ms / 1_000)
}

pub async fn version() -> Json<Value> {
    Json(json!({ "version": 2 }))
}

pub async fn book(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = injected_failure(&app) {
        return r;
    }
    let token = match token_param(&q, "token_id") {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match book_json(&app.sim(), &token) {
        Some(b) => Json(b).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "No orderbook exists for the requested token id",
        ),
    }
}

#[derive(Debug, Deserialize)]
pub struct BookRequest {
    token_id: String,
}

/// The injected REST failure: a 503 asking to retry at once.
fn injected_failure(app: &AppState) -> Option<Response> {
    app.faults.take_http_error().then(|| {
        let mut r = error(StatusCode::SERVICE_UNAVAILABLE, "injected failure");
        r.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("0"),
        );
        r
    })
}

fn books_for(app: &AppState, ids: &[String]) -> Response {
    if let Some(r) = injected_failure(app) {
        return r;
    }
    let sim = app.sim();
    let mut out = Vec::new();
    for id in ids {
        let Ok(token) = TokenId::parse(id) else {
            return error(StatusCode::BAD_REQUEST, &format!("bad token id `{id}`"));
        };
        if let Some(b) = book_json(&sim, &token) {
            out.push(b);
        }
    }
    Json(out).into_response()
}

pub async fn books_post(
    State(app): State<AppState>,
    Json(body): Json<Vec<BookRequest>>,
) -> Response {
    let ids: Vec<String> = body.into_iter().map(|b| b.token_id).collect();
    books_for(&app, &ids)
}

pub async fn books_get(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let ids: Vec<String> = q
        .get("token_ids")
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    books_for(&app, &ids)
}

pub async fn tick_size(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = match token_param(&q, "token_id") {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let sim = app.sim();
    match sim.books.book(&token).and_then(|b| b.tick()) {
        Some(t) => Json(json!({ "minimum_tick_size": number(t.to_string()) })).into_response(),
        None => error(StatusCode::NOT_FOUND, "market not found"),
    }
}

pub async fn midpoint(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = match token_param(&q, "token_id") {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match app.sim().books.book(&token).and_then(|b| b.mid()) {
        Some(m) => Json(json!({ "mid": m.to_string() })).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "No orderbook exists for the requested token id",
        ),
    }
}

pub async fn prices_history(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = match token_param(&q, "market") {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let parse = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok());
    let start = parse("startTs").unwrap_or(0);
    let end = parse("endTs").unwrap_or(u64::MAX);
    let step = parse("fidelity").unwrap_or(1).max(1) * 60;
    let sim = app.sim();
    let mut last_t = None;
    let history: Vec<Value> = sim
        .history
        .get(&token)
        .into_iter()
        .flatten()
        .filter(|(t, _)| *t >= start && *t <= end)
        .filter(|(t, _)| {
            let bucket = t / step;
            let keep = last_t != Some(bucket);
            last_t = Some(bucket);
            keep
        })
        .map(|(t, p)| json!({ "t": t, "p": number(p.to_string()) }))
        .collect();
    Json(json!({ "history": history })).into_response()
}

fn clob_market(m: &SimMarketInfo) -> Value {
    json!({
        "enable_order_book": true,
        "active": !m.closed,
        "closed": m.closed,
        "archived": false,
        "accepting_orders": !m.closed,
        "minimum_order_size": number(m.min_size.to_string()),
        "minimum_tick_size": number(m.tick.to_string()),
        "condition_id": m.condition.as_str(),
        "question": m.question,
        "market_slug": m.slug,
        "neg_risk": false,
        "tokens": m.tokens.iter().map(|(t, o)| json!({
            "token_id": t.as_str(),
            "outcome": o,
            "winner": m.winner.as_ref() == Some(t),
        })).collect::<Vec<_>>(),
    })
}

pub async fn markets(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    // One page holds everything; the cursor convention is the venue's.
    let _ = q.get("next_cursor");
    let data: Vec<Value> = app.sim().markets.iter().map(clob_market).collect();
    Json(json!({
        "limit": 1000,
        "count": data.len(),
        "next_cursor": "LTE=",
        "data": data,
    }))
}

pub async fn market(State(app): State<AppState>, Path(cid): Path<String>) -> Response {
    match app
        .sim()
        .markets
        .iter()
        .find(|m| m.condition.as_str().eq_ignore_ascii_case(&cid))
    {
        Some(m) => Json(clob_market(m)).into_response(),
        None => error(StatusCode::NOT_FOUND, "market not found"),
    }
}

fn gamma_market(i: usize, m: &SimMarketInfo, sim: &SimState) -> Value {
    let outcomes: Vec<&str> = m.tokens.iter().map(|(_, o)| o.as_str()).collect();
    let ids: Vec<&str> = m.tokens.iter().map(|(t, _)| t.as_str()).collect();
    let prices: Vec<String> = m
        .tokens
        .iter()
        .map(|(t, _)| match &m.winner {
            _ if m.split => "0.5".to_string(),
            Some(w) if w == t => "1".to_string(),
            Some(_) => "0".to_string(),
            None => sim
                .books
                .book(t)
                .and_then(|b| b.mid())
                .map_or_else(|| "0.5".to_string(), |p| p.to_string()),
        })
        .collect();
    // Gamma double-encodes these arrays as JSON strings.
    let encode = |v: &[&str]| serde_json::to_string(v).unwrap_or_default();
    let prices: Vec<&str> = prices.iter().map(String::as_str).collect();
    json!({
        "id": (i + 1).to_string(),
        "question": m.question,
        "conditionId": m.condition.as_str(),
        "slug": m.slug,
        "outcomes": encode(&outcomes),
        "outcomePrices": encode(&prices),
        "clobTokenIds": encode(&ids),
        "active": !m.closed,
        "closed": m.closed,
        "acceptingOrders": !m.closed,
        "enableOrderBook": true,
        "orderPriceMinTickSize": number(m.tick.to_string()),
        "orderMinSize": number(m.min_size.to_string()),
        "negRisk": false,
        // Every other market charges the V2 taker fee, so both kinds get exercised.
        "feesEnabled": i % 2 == 1,
        "feeSchedule": if i % 2 == 1 {
            json!({"rate": 0.02, "exponent": 1, "takerOnly": true, "rebateRate": 0.2})
        } else {
            Value::Null
        },
        "version": "v1",
    })
}

/// The markets a Gamma list query selects: `closed`, `active` and the
/// repeatable `clob_token_ids`, `condition_ids` and `slug` filters.
fn gamma_selected(sim: &SimState, query: Option<&str>) -> Vec<Value> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let all = |k: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let flag = |k: &str| all(k).first().map(|v| *v == "true");
    let (closed, active) = (flag("closed"), flag("active"));
    let (tokens, conditions, slugs) = (all("clob_token_ids"), all("condition_ids"), all("slug"));
    sim.markets
        .iter()
        .enumerate()
        .filter(|(_, m)| closed.is_none_or(|c| c == m.closed))
        .filter(|(_, m)| active.is_none_or(|a| a != m.closed))
        .filter(|(_, m)| {
            tokens.is_empty() || m.tokens.iter().any(|(t, _)| tokens.contains(&t.as_str()))
        })
        .filter(|(_, m)| conditions.is_empty() || conditions.contains(&m.condition.as_str()))
        .filter(|(_, m)| slugs.is_empty() || slugs.contains(&m.slug.as_str()))
        .map(|(i, m)| gamma_market(i, m, sim))
        .collect()
}

/// The legacy offset-paged list (a bare array).
pub async fn gamma_markets(State(app): State<AppState>, RawQuery(query): RawQuery) -> Json<Value> {
    let sim = app.sim();
    Json(Value::Array(gamma_selected(&sim, query.as_deref())))
}

/// The cursor-paged list: `limit` (≤ 100) a page, `after_cursor` the previous
/// page's `next_cursor`, which the last page leaves out.
pub async fn gamma_markets_keyset(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> Response {
    let sim = app.sim();
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("offset").is_some() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "offset is not supported on keyset endpoints; use after_cursor"})),
        )
            .into_response();
    }
    let limit = get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let start = match get("after_cursor") {
        None => 0,
        Some(c) => match c.parse::<usize>() {
            Ok(n) => n,
            Err(_) => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": "invalid after_cursor"})),
                )
                    .into_response();
            }
        },
    };
    let selected = gamma_selected(&sim, query.as_deref());
    let page: Vec<Value> = selected.iter().skip(start).take(limit).cloned().collect();
    let next = start + page.len();
    let mut body = json!({ "markets": page });
    if next < selected.len() {
        body["next_cursor"] = json!(next.to_string());
    }
    Json(body).into_response()
}

pub async fn gamma_events(State(app): State<AppState>) -> Json<Value> {
    let sim = app.sim();
    let events: Vec<Value> = sim
        .markets
        .iter()
        .enumerate()
        .map(|(i, m)| {
            json!({
                "id": (i + 1).to_string(),
                "slug": m.slug,
                "title": m.question,
                "active": !m.closed,
                "closed": m.closed,
                "negRisk": false,
                "markets": [gamma_market(i, m, &sim)],
            })
        })
        .collect();
    Json(Value::Array(events))
}

pub async fn gamma_market_by_id(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    let sim = app.sim();
    let found = id
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| sim.markets.get(i).map(|m| gamma_market(i, m, &sim)));
    match found {
        Some(v) => Json(v).into_response(),
        None => error(StatusCode::NOT_FOUND, "market not found"),
    }
}

pub async fn inject_faults(
    State(app): State<AppState>,
    Json(req): Json<FaultRequest>,
) -> Json<Value> {
    app.faults.inject(&req, now_ms());
    Json(json!({ "ok": true }))
}
