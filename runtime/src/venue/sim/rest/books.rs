//! Book and per-token market parameters: `/book`, `/books`, `/tick-size`, `/neg-risk`, `/fee-rate`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{
    AppState, BookParam, body_tokens, charges_fees, injected_failure, market_of, no_book,
    no_market, number, token_list, token_param,
};
use crate::model::{Price, TokenId};
use crate::venue::sim::state::SimState;
use crate::venue::sim::wire;

/// A token's `OrderBookSummary`; `None` for unknown tokens and resolved markets.
pub(super) fn book_json(sim: &SimState, token: &TokenId) -> Option<Value> {
    let snapshot = sim.snapshot(token)?;
    let (_, m) = sim.market_of(token)?;
    let last = sim
        .last_trade
        .get(token)
        .map_or_else(|| "0.5".to_string(), |(p, _)| p.to_string());
    let s = wire::summary(&snapshot, &m.min_size.to_string(), &last)?;
    serde_json::to_value(s).ok()
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
        None => no_book(),
    }
}

/// Books of the listed tokens that have one (unknown and resolved ones are
/// left out).
fn books_for(app: &AppState, tokens: &[TokenId]) -> Response {
    if let Some(r) = injected_failure(app) {
        return r;
    }
    let sim = app.sim();
    let out: Vec<Value> = tokens.iter().filter_map(|t| book_json(&sim, t)).collect();
    Json(out).into_response()
}

pub async fn books_post(State(app): State<AppState>, Json(body): Json<Vec<BookParam>>) -> Response {
    match body_tokens(&body) {
        Ok(list) => {
            let tokens: Vec<TokenId> = list.into_iter().map(|(t, _)| t).collect();
            books_for(&app, &tokens)
        }
        Err(r) => *r,
    }
}

pub async fn books_get(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match token_list(&q, "token_ids") {
        Ok(tokens) => books_for(&app, &tokens),
        Err(r) => *r,
    }
}

/// The current tick of a listed token: its book's, else its market's.
fn tick_of(sim: &SimState, token: &TokenId) -> Option<Price> {
    let (_, m) = market_of(sim, token)?;
    Some(
        sim.books
            .book(token)
            .and_then(|b| b.tick())
            .unwrap_or(m.tick),
    )
}

fn tick_response(app: &AppState, token: &TokenId) -> Response {
    match tick_of(&app.sim(), token) {
        Some(t) => Json(json!({ "minimum_tick_size": number(t.to_string()) })).into_response(),
        None => no_market(),
    }
}

/// `GET /tick-size?token_id=`.
pub async fn tick_size(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match token_param(&q, "token_id") {
        Ok(t) => tick_response(&app, &t),
        Err(r) => *r,
    }
}

/// `GET /tick-size/{token_id}`.
pub async fn tick_size_path(State(app): State<AppState>, Path(raw): Path<String>) -> Response {
    match super::parse_token("token_id", &raw) {
        Ok(t) => tick_response(&app, &t),
        Err(r) => *r,
    }
}

/// `GET /neg-risk?token_id=`: no simulated market is neg-risk.
pub async fn neg_risk(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = match token_param(&q, "token_id") {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match market_of(&app.sim(), &token) {
        Some(_) => Json(json!({ "neg_risk": false })).into_response(),
        None => no_market(),
    }
}

/// The V1-era base fee in bps: 1000 on fee-charging markets, else 0.
pub(super) fn base_fee_bps(i: usize) -> u32 {
    if charges_fees(i) { 1_000 } else { 0 }
}

/// `GET /fee-rate?token_id=`: `{"base_fee": <integer bps>}` (a JSON number, as
/// the official SDKs' types require).
pub async fn fee_rate(
    State(app): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = match token_param(&q, "token_id") {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match market_of(&app.sim(), &token) {
        Some((i, _)) => Json(json!({ "base_fee": base_fee_bps(i) })).into_response(),
        None => no_market(),
    }
}
