//! Shared plumbing of the exchange's HTTP handlers: locking the sim, the two
//! clocks, L2 authentication of a request and the venue's error bodies.

use std::sync::MutexGuard;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::check_l2;
use super::engine::Clock;
use super::place::Caller;
use crate::venue::polymarket::websocket::client::now_ms;
use crate::venue::sim::rest::AppState;
use crate::venue::sim::state::SimState;

pub fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// An error with a `Retry-After` header (seconds).
pub fn retry_after(status: StatusCode, message: &str, seconds: u64) -> Response {
    let mut r = error(status, message);
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        r.headers_mut().insert("Retry-After", v);
    }
    r
}

pub fn lock(app: &AppState) -> MutexGuard<'_, SimState> {
    app.sim.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn clock(sim: &SimState) -> Clock {
    Clock {
        venue_ms: sim.now_ms,
        wall_ms: now_ms(),
    }
}

/// The caller of an L2-signed request, or the venue's 401.
pub fn l2(
    sim: &SimState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Caller, Box<Response>> {
    check_l2(
        &sim.exchange,
        headers,
        method,
        path,
        body,
        sim.now_ms / 1_000,
    )
    .map_err(|m| Box::new(error(StatusCode::UNAUTHORIZED, m)))
}
