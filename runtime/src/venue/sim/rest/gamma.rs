//! Gamma market metadata under `/gamma`: camelCase markets with double-encoded arrays, offset and keyset lists, events.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{AppState, charges_fees, error, number};
use crate::venue::sim::generator::SimMarketInfo;
use crate::venue::sim::state::SimState;

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
                .live_book(t)
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
        "feesEnabled": charges_fees(i),
        "feeSchedule": if charges_fees(i) {
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
        None => error(StatusCode::NOT_FOUND, super::NO_MARKET),
    }
}
