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

use super::api::{ServerState, error, now_ms};
use super::artifacts::status_of;
use super::auth::Caller;
use crate::engine::deployments::merged_limits;
use crate::risk::RiskLimits;
use crate::store::auth::{Role, audit};
use crate::store::deploys::{self, DeployRequest};
use crate::strategy::parse_assignments;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeployBody {
    sha256: String,
    #[serde(default)]
    params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    limits: serde_json::Map<String, serde_json::Value>,
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
    if let Err(r) = caller.require(Role::Admin) {
        return *r;
    }
    let who = caller.0.name.clone();
    let pool = s.journal.pool().clone();
    let refuse = |status: StatusCode, message: String| {
        let pool = pool.clone();
        let who = who.clone();
        let name = name.clone();
        async move {
            let _ = audit(
                &pool,
                now_ms() * 1_000_000,
                &who,
                "deploy",
                &name,
                &format!("rejected: {message}"),
            )
            .await;
            error(status, message)
        }
    };
    let Some(library) = s.artifacts.clone() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "this server takes no deployments".into(),
        )
        .await;
    };
    let body: DeployBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!(
                    "body: expected {{\"sha256\": \"<64 hex>\", \"params\": {{...}}, \"limits\": {{...}}}} ({e})"
                ),
            )
            .await;
        }
    };
    let sha = body.sha256.to_ascii_lowercase();
    let lib = library.clone();
    let sha_for_load = sha.clone();
    let artifact = match tokio::task::spawn_blocking(move || lib.load(&sha_for_load)).await {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return refuse(status_of(&e), e.to_string()).await,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).await,
    };
    if artifact.info.name != name {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "component {sha} is strategy `{}`, not `{name}`",
                artifact.info.name
            ),
        )
        .await;
    }
    let params: BTreeMap<String, String> = body
        .params
        .iter()
        .map(|(k, v)| (k.clone(), param_text(v)))
        .collect();
    let assignments: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if let Err(e) = parse_assignments(&artifact.info, &assignments) {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, format!("params: {e}")).await;
    }
    if let Err(e) = merged_limits(&RiskLimits::default(), &body.limits) {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, e).await;
    }
    let now_ns = now_ms() * 1_000_000;
    let request = DeployRequest::Deploy {
        sha256: sha.clone(),
        params: params.clone(),
        limits: body.limits.clone(),
    };
    match deploys::request(&pool, &name, &request, &who, now_ns).await {
        Ok(id) => {
            let detail = format!(
                "{name} {} {sha} params={} limits={}",
                artifact.info.version,
                json!(params),
                json!(body.limits)
            );
            let _ = audit(
                &pool,
                now_ns,
                &who,
                "deploy",
                &detail,
                &format!("queued deployment {id}"),
            )
            .await;
            (
                StatusCode::ACCEPTED,
                Json(json!({
                    "deployment": id,
                    "strategy": name,
                    "version": artifact.info.version,
                    "sha256": sha,
                    "status": "pending",
                    "poll": format!("/api/v1/deployments/{id}"),
                })),
            )
                .into_response()
        }
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("queueing the deployment: {e}"),
        ),
    }
}

pub(super) async fn retire(
    State(s): State<ServerState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = caller.require(Role::Admin) {
        return *r;
    }
    let who = caller.0.name.clone();
    let pool = s.journal.pool();
    let now_ns = now_ms() * 1_000_000;
    let running = s
        .live
        .read()
        .map(|l| l.strategies.iter().any(|st| st.name == name))
        .unwrap_or(false);
    if !running {
        let _ = audit(pool, now_ns, &who, "retire", &name, "rejected: not running").await;
        return error(
            StatusCode::NOT_FOUND,
            format!("strategy {name:?}: not running here (see GET /api/v1/strategies)"),
        );
    }
    match deploys::request(pool, &name, &DeployRequest::Retire, &who, now_ns).await {
        Ok(id) => {
            let _ = audit(
                pool,
                now_ns,
                &who,
                "retire",
                &name,
                &format!("queued deployment {id}"),
            )
            .await;
            (
                StatusCode::ACCEPTED,
                Json(
                    json!({ "deployment": id, "strategy": name, "status": "pending",
                             "poll": format!("/api/v1/deployments/{id}") }),
                ),
            )
                .into_response()
        }
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("queueing the retirement: {e}"),
        ),
    }
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
