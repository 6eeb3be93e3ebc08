//! `/auth/*`: creating and deriving API keys with L1 headers; listing and
//! deleting them, and the closed-only status, with L2 headers.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::check_l1;
use super::http::{error, l2, lock};
use super::keys::ApiKey;
use crate::venue::sim::rest::AppState;

fn creds(k: &ApiKey) -> Response {
    Json(json!({ "apiKey": k.key, "secret": k.secret_b64, "passphrase": k.passphrase }))
        .into_response()
}

/// `POST /auth/api-key`.
pub async fn create(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let mut sim = lock(&app);
    let now_s = sim.now_ms / 1_000;
    let (address, nonce) = match check_l1(&sim.exchange, &headers, now_s) {
        Ok(v) => v,
        Err(m) => return error(StatusCode::UNAUTHORIZED, m),
    };
    match sim.exchange.keys.create(address, &nonce) {
        Ok(k) => {
            tracing::info!(%address, api_key = %k.key, "sim API key created");
            creds(&k)
        }
        Err(_) => error(StatusCode::BAD_REQUEST, "Could not create api key"),
    }
}

/// `GET /auth/derive-api-key`.
pub async fn derive(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let mut sim = lock(&app);
    let now_s = sim.now_ms / 1_000;
    let (address, nonce) = match check_l1(&sim.exchange, &headers, now_s) {
        Ok(v) => v,
        Err(m) => return error(StatusCode::UNAUTHORIZED, m),
    };
    match sim.exchange.keys.derive(address, &nonce) {
        Ok(k) => creds(&k),
        Err(_) => error(StatusCode::BAD_REQUEST, "Could not derive api key!"),
    }
}

/// `GET /auth/api-keys`.
pub async fn list(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let sim = lock(&app);
    match l2(&sim, &headers, "GET", "/auth/api-keys", b"") {
        Ok(c) => Json(json!({ "apiKeys": sim.exchange.keys.of(c.address) })).into_response(),
        Err(r) => *r,
    }
}

/// `DELETE /auth/api-key`: deletes the calling key.
pub async fn delete(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let mut sim = lock(&app);
    match l2(&sim, &headers, "DELETE", "/auth/api-key", b"") {
        Ok(c) => {
            sim.exchange.keys.delete(&c.api_key);
            Json(json!("OK")).into_response()
        }
        Err(r) => *r,
    }
}

/// `GET /auth/ban-status/closed-only`.
pub async fn closed_only(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let sim = lock(&app);
    match l2(&sim, &headers, "GET", "/auth/ban-status/closed-only", b"") {
        Ok(c) => {
            let closed = sim
                .exchange
                .ledgers
                .get(&c.address)
                .is_some_and(|l| l.closed_only);
            Json(json!({ "closed_only": closed })).into_response()
        }
        Err(r) => *r,
    }
}
