//! The simulator's REST surface: the CLOB public paths at the root and Gamma under
//! `/gamma`, with the venue's JSON shapes (decimal strings, double-encoded Gamma
//! arrays, cursor paging, best-last book levels and book hashes).

mod books;
mod gamma;
mod markets;
mod prices;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

pub use books::{book, books_get, books_post, fee_rate, neg_risk, tick_size, tick_size_path};
pub use gamma::{gamma_events, gamma_market_by_id, gamma_markets, gamma_markets_keyset};
pub use markets::{
    clob_market_info, market, market_by_token, markets, sampling_markets,
    sampling_simplified_markets, simplified_markets,
};
pub use prices::{
    last_trade_price, last_trades_prices_get, last_trades_prices_post, midpoint, midpoints_get,
    midpoints_post, price, prices_get, prices_history, prices_post, spread, spreads_get,
    spreads_post,
};

use super::faults::{FaultRequest, Faults};
use super::generator::SimMarketInfo;
use super::state::SimState;
use crate::model::{Side, TokenId};
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

/// The venue's error body, `{"error": "..."}`.
fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// What the venue answers for a token without a (live) book.
const NO_BOOK: &str = "No orderbook exists for the requested token id";

/// What the venue answers for a token or condition it does not list.
const NO_MARKET: &str = "market not found";

fn no_book() -> Response {
    error(StatusCode::NOT_FOUND, NO_BOOK)
}

fn no_market() -> Response {
    error(StatusCode::NOT_FOUND, NO_MARKET)
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

/// An exact decimal as a JSON number (the venue sends some prices as numbers).
fn number(text: String) -> Box<RawValue> {
    RawValue::from_string(text).unwrap_or_else(|_| {
        RawValue::from_string("0".into()).unwrap_or_else(|_| unreachable!("`0` is valid JSON"))
    })
}

/// A required token id query parameter; 400 naming `key` when missing or bad.
fn token_param(q: &HashMap<String, String>, key: &str) -> Result<TokenId, Box<Response>> {
    let raw = q
        .get(key)
        .ok_or_else(|| Box::new(bad_request(&format!("missing `{key}`"))))?;
    parse_token(key, raw)
}

fn parse_token(key: &str, raw: &str) -> Result<TokenId, Box<Response>> {
    TokenId::parse(raw.trim())
        .map_err(|e| Box::new(bad_request(&format!("invalid `{key}` `{raw}`: {e}"))))
}

/// `BUY` or `SELL` (any case); 400 naming `key` otherwise.
fn parse_side(key: &str, raw: &str) -> Result<Side, Box<Response>> {
    match raw.trim().to_ascii_uppercase().as_str() {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        _ => Err(Box::new(bad_request(&format!(
            "invalid `{key}` `{raw}`: expected BUY or SELL"
        )))),
    }
}

/// A comma-separated list of token ids in query parameter `key`.
fn token_list(q: &HashMap<String, String>, key: &str) -> Result<Vec<TokenId>, Box<Response>> {
    let raw = q
        .get(key)
        .ok_or_else(|| Box::new(bad_request(&format!("missing `{key}`"))))?;
    raw.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_token(key, s))
        .collect()
}

/// One entry of the POSTed lists (`/books`, `/midpoints`, `/prices`, ...).
#[derive(Debug, Deserialize)]
pub struct BookParam {
    token_id: String,
    #[serde(default)]
    side: Option<String>,
}

/// The token ids (and sides, where given) of a POSTed list.
fn body_tokens(body: &[BookParam]) -> Result<Vec<(TokenId, Option<Side>)>, Box<Response>> {
    body.iter()
        .map(|b| {
            let t = parse_token("token_id", &b.token_id)?;
            let s = b
                .side
                .as_deref()
                .map(|s| parse_side("side", s))
                .transpose()?;
            Ok((t, s))
        })
        .collect()
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

/// Taker fee schedule of market number `i`: every other market charges the V2
/// taker fee (rate 0.02, exponent 1), so both kinds get exercised.
pub(crate) fn charges_fees(i: usize) -> bool {
    i % 2 == 1
}

/// The market listing `token`, with its index.
fn market_of<'a>(sim: &'a SimState, token: &TokenId) -> Option<(usize, &'a SimMarketInfo)> {
    sim.market_of(token)
}

/// `GET /`: the official Rust SDK's health check expects the JSON string "OK".
pub async fn root() -> Json<&'static str> {
    Json("OK")
}

/// `GET /ok`: the Python and TypeScript SDKs read the body as text or JSON; the
/// JSON string satisfies both.
pub async fn ok() -> Json<&'static str> {
    Json("OK")
}

pub async fn time(State(app): State<AppState>) -> Json<u64> {
    Json(app.sim().now_ms / 1_000)
}

pub async fn version(State(app): State<AppState>) -> Json<Value> {
    Json(json!({ "version": app.sim().exchange.faults.order_version() }))
}

/// `GET /api/geoblock` (polymarket.com's, served here too): blocked only
/// when a fault says so.
pub async fn geoblock(State(app): State<AppState>) -> Json<Value> {
    let country = app.sim().exchange.faults.geoblocked_in.clone();
    Json(json!({
        "blocked": country.is_some(),
        "ip": "127.0.0.1",
        "country": country.clone().unwrap_or_else(|| "ZZ".into()),
        "region": country.map_or("", |_| "sim"),
    }))
}

pub async fn inject_faults(
    State(app): State<AppState>,
    Json(req): Json<FaultRequest>,
) -> Json<Value> {
    app.faults.inject(&req, now_ms());
    let mut sim = app.sim();
    sim.exchange.faults.inject(&req, now_ms());
    if let Some(micros) = req.dislocate_no_micros {
        sim.dislocate_no(micros);
    }
    Json(json!({ "ok": true }))
}
