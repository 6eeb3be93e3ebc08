//! Deployments over HTTP: `POST /api/v1/strategies/{name}/deploy` (admin) checks
//! a stored component, its parameters and limit overrides, and queues it for the
//! engine; `POST /api/v1/strategies/{name}/retire` (admin); `GET
//! /api/v1/deployments[/{id}]` shows what was asked and what came of it.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;
use serde_json::json;

use super::actions;
use super::api::{ServerState, error, respond};
use super::auth::Caller;
use crate::store::deploys;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeployBody {
    sha256: String,
    #[serde(default)]
    params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    limits: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    markets: Vec<String>,
}

/// A parameter value as the text `NAME=VALUE` takes.
fn param_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) async fn deploy(
    State(s): State<ServerState>,
    caller: Caller,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let body: DeployBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "body: expected {{\"sha256\": \"<64 hex>\", \"params\": {{...}}, \"limits\": {{...}}, \"markets\": [...]}} ({e})"
                ),
            );
        }
    };
    let params = body
        .params
        .iter()
        .map(|(k, v)| (k.clone(), param_text(v)))
        .collect();
    respond(
        actions::deploy(
            &s,
            &caller.0,
            &name,
            &body.sha256,
            params,
            body.limits,
            body.markets,
        )
        .await,
        StatusCode::ACCEPTED,
    )
}

pub(super) async fn retire(
    State(s): State<ServerState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Response {
    respond(
        actions::retire(&s, &caller.0, &name).await,
        StatusCode::ACCEPTED,
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    last: Option<u32>,
}

pub(super) async fn list(
    State(s): State<ServerState>,
    _: Caller,
    Query(q): Query<ListQuery>,
) -> Response {
    match deploys::recent(s.journal.pool(), q.last.unwrap_or(100).min(10_000)).await {
        Ok(d) => Json(json!(d)).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("deployments: {e}")),
    }
}

pub(super) async fn one(State(s): State<ServerState>, _: Caller, Path(id): Path<i64>) -> Response {
    match deploys::get(s.journal.pool(), id).await {
        Ok(Some(d)) => {
            let status = if d.outcome.is_some() {
                "applied"
            } else {
                "pending"
            };
            let mut doc = json!(d);
            doc["status"] = json!(status);
            Json(doc).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no deployment {id}")),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("deployments: {e}")),
    }
}
