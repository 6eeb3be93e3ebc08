//! `POST /order`, `POST /orders`, the cancel routes and `POST /v1/heartbeats`,
//! with per-key rate limits and the order-post fault switches.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::http::{clock, error, l2, lock, retry_after};
use super::limits::{Class, ForcedStatus};
use super::place::{Caller, Placed};
use crate::venue::polymarket::signing::{MAX_BATCH, OrderRequest};
use crate::venue::sim::rest::AppState;
use crate::venue::sim::state::SimState;

fn placed_json(p: &Placed) -> Value {
    json!({
        "success": true,
        "errorMsg": "",
        "orderID": p.order_id,
        "status": p.status,
        "makingAmount": p.making,
        "takingAmount": p.taking,
        "transactionsHashes": p.tx_hashes,
        "tradeIDs": p.trade_ids,
    })
}

/// A response whose body breaks off: the client loses the answer.
fn dropped() -> Response {
    let broken = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("sim fault: response dropped"))
    });
    Response::new(Body::from_stream(broken))
}

/// Rate limit and forced answers before an order post is looked at.
fn gate(sim: &mut SimState, caller: &Caller, cost: u32) -> Result<(), Box<Response>> {
    let now = clock(sim).wall_ms;
    let limited = sim
        .exchange
        .limits
        .take(&caller.api_key, Class::Order, cost, now);
    let forced = match limited {
        Err(wait) => retry_after(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", wait),
        Ok(()) => match sim.exchange.faults.take_forced() {
            // The text the SDKs look for before asking /version again.
            Some(ForcedStatus::VersionMismatch) => {
                error(StatusCode::BAD_REQUEST, "order_version_mismatch")
            }
            Some(ForcedStatus::TooEarly) => error(
                StatusCode::TOO_EARLY,
                "the matching engine is restarting, retry later",
            ),
            Some(ForcedStatus::Unavailable) => retry_after(
                StatusCode::SERVICE_UNAVAILABLE,
                "trading is temporarily disabled (cancel-only mode)",
                1,
            ),
            Some(ForcedStatus::TooMany) => {
                retry_after(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", 1)
            }
            None => return Ok(()),
        },
    };
    Err(Box::new(forced))
}

fn place_one(sim: &mut SimState, caller: &Caller, req: &OrderRequest) -> Result<Placed, String> {
    let token = req.order.order.token_id.to_string();
    let market = sim.market_ref(&token);
    let c = clock(sim);
    let (exchange, books) = (&mut sim.exchange, &sim.books);
    exchange.place(caller, req, market, books, c)
}

/// `POST /order`.
pub async fn post_order(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = place_posted(&app, &headers, &body);
    held(&app, answer).await
}

fn place_posted(app: &AppState, headers: &HeaderMap, body: &Bytes) -> Response {
    let mut sim = lock(app);
    let caller = match l2(&sim, headers, "POST", "/order", body) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    if let Err(r) = gate(&mut sim, &caller, 1) {
        return *r;
    }
    let text = String::from_utf8_lossy(body);
    let req = match OrderRequest::from_json(&text) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid order payload: {e}"),
            );
        }
    };
    match place_one(&mut sim, &caller, &req) {
        Ok(p) => {
            if sim.exchange.faults.take_drop_response() {
                tracing::info!(order = %p.order_id, "sim fault: order accepted, response dropped");
                return dropped();
            }
            Json(placed_json(&p)).into_response()
        }
        Err(m) => error(StatusCode::BAD_REQUEST, &m),
    }
}

/// The answer to an order post, once a pending answer delay is over. The
/// post took effect before the wait (the lock is not held across it), so the
/// exchange trades the order, and reports it on the user channel, while its
/// sender still waits for the answer.
async fn held(app: &AppState, answer: Response) -> Response {
    let hold = {
        let sim = lock(app);
        sim.exchange.faults.answer_hold(clock(&sim).wall_ms)
    };
    if let Some(wait) = hold {
        tracing::info!(?wait, "sim fault: order answer held back");
        tokio::time::sleep(wait).await;
    }
    answer
}

/// `POST /orders`: at most 15, one result per order.
pub async fn post_orders(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = place_batch(&app, &headers, &body);
    held(&app, answer).await
}

fn place_batch(app: &AppState, headers: &HeaderMap, body: &Bytes) -> Response {
    let mut sim = lock(app);
    let caller = match l2(&sim, headers, "POST", "/orders", body) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let raw: Vec<Value> = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid order payload: {e}"),
            );
        }
    };
    if raw.len() > MAX_BATCH {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Too many orders in payload: {}, max allowed: {MAX_BATCH}",
                raw.len()
            ),
        );
    }
    if let Err(r) = gate(&mut sim, &caller, raw.len().max(1) as u32) {
        return *r;
    }
    let results: Vec<Value> = raw
        .iter()
        .map(|v| {
            let outcome = OrderRequest::from_json(&v.to_string())
                .map_err(|e| format!("Invalid order payload: {e}"))
                .and_then(|req| place_one(&mut sim, &caller, &req));
            match outcome {
                Ok(p) => placed_json(&p),
                Err(m) => json!({ "success": false, "errorMsg": m, "orderID": "", "status": "",
                    "makingAmount": "", "takingAmount": "", "transactionsHashes": [], "tradeIDs": [] }),
            }
        })
        .collect();
    if sim.exchange.faults.take_drop_response() {
        return dropped();
    }
    Json(results).into_response()
}

fn cancel_answer(out: super::cancel::CancelOutcome) -> Response {
    Json(json!({ "canceled": out.0, "not_canceled": out.1 })).into_response()
}

/// Authenticates a cancel route and charges its bucket.
fn cancel_gate(
    sim: &mut SimState,
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
    cost: u32,
) -> Result<Caller, Box<Response>> {
    let caller = l2(sim, headers, "DELETE", path, body)?;
    let now = clock(sim).wall_ms;
    sim.exchange
        .limits
        .take(&caller.api_key, Class::Cancel, cost, now)
        .map_err(|wait| {
            Box::new(retry_after(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                wait,
            ))
        })?;
    Ok(caller)
}

/// `/cancel-all` and `/cancel-market-orders` cost one more token per order
/// they cancel.
fn charge_cancelled(sim: &mut SimState, caller: &Caller, n: usize) -> Result<(), Box<Response>> {
    if n == 0 {
        return Ok(());
    }
    let now = clock(sim).wall_ms;
    let cost = u32::try_from(n).unwrap_or(u32::MAX);
    sim.exchange
        .limits
        .take(&caller.api_key, Class::Cancel, cost, now)
        .map_err(|wait| {
            Box::new(retry_after(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                wait,
            ))
        })
}

/// `DELETE /order` `{"orderID": "0x…"}`.
pub async fn cancel_order(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut sim = lock(&app);
    let caller = match cancel_gate(&mut sim, &headers, "/order", &body, 1) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("orderID").and_then(Value::as_str).map(str::to_string));
    let Some(id) = id else {
        return error(
            StatusCode::BAD_REQUEST,
            "Invalid payload: expected {\"orderID\": \"0x…\"}",
        );
    };
    let c = clock(&sim);
    cancel_answer(sim.exchange.cancel_owned(Some(caller.address), &[id], c))
}

/// `DELETE /orders` `["0x…", …]`.
pub async fn cancel_orders(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut sim = lock(&app);
    let ids: Vec<String> = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid payload: expected an array of order ids: {e}"),
            );
        }
    };
    if ids.len() > 3_000 {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Too many orders in payload: {}, max allowed: 3000",
                ids.len()
            ),
        );
    }
    let caller = match cancel_gate(
        &mut sim,
        &headers,
        "/orders",
        &body,
        ids.len().max(1) as u32,
    ) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let c = clock(&sim);
    cancel_answer(sim.exchange.cancel_owned(Some(caller.address), &ids, c))
}

/// `DELETE /cancel-all`.
pub async fn cancel_all(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let mut sim = lock(&app);
    let caller = match cancel_gate(&mut sim, &headers, "/cancel-all", &body, 1) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let ids = sim.exchange.open_ids(caller.address, None, None);
    if let Err(r) = charge_cancelled(&mut sim, &caller, ids.len()) {
        return *r;
    }
    let c = clock(&sim);
    cancel_answer(sim.exchange.cancel_owned(Some(caller.address), &ids, c))
}

/// `DELETE /cancel-market-orders` `{"market": "0x…", "asset_id": "…"}`.
pub async fn cancel_market(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut sim = lock(&app);
    let caller = match cancel_gate(&mut sim, &headers, "/cancel-market-orders", &body, 1) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let market = v.get("market").and_then(Value::as_str);
    let asset = v.get("asset_id").and_then(Value::as_str);
    let ids = sim.exchange.open_ids(caller.address, market, asset);
    if let Err(r) = charge_cancelled(&mut sim, &caller, ids.len()) {
        return *r;
    }
    let c = clock(&sim);
    cancel_answer(sim.exchange.cancel_owned(Some(caller.address), &ids, c))
}

/// `POST /v1/heartbeats` `{"heartbeat_id": null | "<id>"}`.
pub async fn heartbeat(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let mut sim = lock(&app);
    let caller = match l2(&sim, &headers, "POST", "/v1/heartbeats", &body) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = v
        .get("heartbeat_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let now = clock(&sim).wall_ms;
    if now < sim.exchange.faults.heartbeats_down_until_ms {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "heartbeats unavailable (sim fault)" })),
        )
            .into_response();
    }
    match sim.exchange.heartbeats.beat(&caller.api_key, id, now) {
        Ok(next) => Json(json!({ "heartbeat_id": next, "error": Value::Null })).into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "heartbeat_id": Value::Null, "error": e.to_string() })),
        )
            .into_response(),
    }
}
