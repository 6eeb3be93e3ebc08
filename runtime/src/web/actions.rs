//! The server's mutating actions, shared by the JSON API and the dashboard's
//! forms: each checks the caller's role and its input, queues the request for
//! the engine or stores the upload, and writes the audit log — refusals too.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::api::{ServerState, now_ms};
use super::artifacts::status_of;
use crate::engine::deployments::merged_limits;
use crate::risk::{RiskLimits, TradingState};
use crate::store::auth::{Principal, Role, audit};
use crate::store::control;
use crate::store::deploys::{self, DeployRequest};
use crate::strategy::{Manifest, parse_assignments};

/// Why an action was not taken: the HTTP status and a message naming the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

pub type Outcome<T> = Result<T, Refusal>;

fn refusal(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

/// An action's audit trail and outcome in one place.
struct Audited<'a> {
    s: &'a ServerState,
    who: &'a Principal,
    action: &'a str,
}

impl Audited<'_> {
    async fn record(&self, detail: &str, outcome: &str) {
        let now_ns = now_ms() * 1_000_000;
        if let Err(e) = audit(
            &self.s.auth,
            now_ns,
            &self.who.name,
            self.action,
            detail,
            outcome,
        )
        .await
        {
            tracing::error!(error = %e, action = self.action, "writing the audit log");
        }
    }

    /// Refuses (audited) unless the caller has `role`.
    async fn require(&self, role: Role, detail: &str) -> Outcome<()> {
        if self.who.role >= role {
            return Ok(());
        }
        let message = format!(
            "{} is a {}; this needs {role}",
            self.who.name, self.who.role
        );
        self.record(detail, &format!("rejected: {message}")).await;
        Err(refusal(StatusCode::FORBIDDEN, message))
    }

    async fn refuse<T>(&self, detail: &str, r: Refusal) -> Outcome<T> {
        self.record(detail, &format!("rejected: {}", r.message))
            .await;
        Err(r)
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Refusal {
    refusal(StatusCode::SERVICE_UNAVAILABLE, format!("{what}: {e}"))
}

fn running(s: &ServerState, name: &str) -> bool {
    s.live
        .read()
        .map(|l| l.strategies.iter().any(|st| st.name == name))
        .unwrap_or(false)
}

/// Queues a trading-state change (`halt`, `reduce`, `resume`, or a state name).
pub async fn risk(s: &ServerState, who: &Principal, state: &str) -> Outcome<Value> {
    let a = Audited {
        s,
        who,
        action: "risk",
    };
    let detail = format!("state={state}");
    a.require(Role::Operator, &detail).await?;
    let parsed = match state.parse::<TradingState>() {
        Ok(p) => p,
        Err(e) => {
            return a
                .refuse(
                    &detail,
                    refusal(StatusCode::BAD_REQUEST, format!("state {state:?}: {e}")),
                )
                .await;
        }
    };
    let now_ns = now_ms() * 1_000_000;
    let id = control::request(s.journal.pool(), parsed, &who.name, now_ns)
        .await
        .map_err(|e| unavailable("queueing the request", e))?;
    a.record(&format!("state={parsed}"), &format!("queued request {id}"))
        .await;
    Ok(json!({ "request": id, "state": parsed.to_string() }))
}

/// Queues pausing (`pause`) or resuming a running strategy.
pub async fn pause(s: &ServerState, who: &Principal, name: &str, pause: bool) -> Outcome<Value> {
    let action = if pause { "pause" } else { "resume" };
    let a = Audited { s, who, action };
    a.require(Role::Operator, name).await?;
    if !running(s, name) {
        return a
            .refuse(
                name,
                refusal(
                    StatusCode::NOT_FOUND,
                    format!("strategy {name:?}: not running here (see GET /api/v1/strategies)"),
                ),
            )
            .await;
    }
    let now_ns = now_ms() * 1_000_000;
    let id = control::request_strategy(s.journal.pool(), name, pause, &who.name, now_ns)
        .await
        .map_err(|e| unavailable("queueing the request", e))?;
    a.record(name, &format!("queued request {id}")).await;
    Ok(json!({ "request": id, "strategy": name, "action": action }))
}

/// Stores an uploaded component in the strategy library.
pub async fn upload(s: &ServerState, who: &Principal, bytes: Vec<u8>) -> Outcome<Manifest> {
    let a = Audited {
        s,
        who,
        action: "upload",
    };
    let size = bytes.len();
    let detail = format!("{size} bytes");
    a.require(Role::Admin, &detail).await?;
    let Some(library) = s.artifacts.clone() else {
        return Err(refusal(
            StatusCode::NOT_FOUND,
            "this server takes no uploads",
        ));
    };
    // Compiling takes a while: off the async workers.
    match tokio::task::spawn_blocking(move || library.put(&bytes)).await {
        Ok(Ok(m)) => {
            a.record(
                &format!("{} {} {} ({size} bytes)", m.name, m.version, m.sha256),
                "stored",
            )
            .await;
            Ok(m)
        }
        Ok(Err(e)) => {
            let r = refusal(
                status_of(&e),
                format!("upload of {size} bytes refused: {e}"),
            );
            a.record(&detail, &format!("rejected: {e}")).await;
            Err(r)
        }
        Err(e) => Err(refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("upload: {e}"),
        )),
    }
}

/// Queues deploying stored component `sha256` as strategy `name`, with
/// parameter values (checked against its schema) and risk-limit overrides.
pub async fn deploy(
    s: &ServerState,
    who: &Principal,
    name: &str,
    sha256: &str,
    params: BTreeMap<String, String>,
    limits: serde_json::Map<String, Value>,
    markets: Vec<String>,
) -> Outcome<Value> {
    let a = Audited {
        s,
        who,
        action: "deploy",
    };
    let sha = sha256.trim().to_ascii_lowercase();
    let detail = format!("{name} {sha}");
    a.require(Role::Admin, &detail).await?;
    let Some(library) = s.artifacts.clone() else {
        return Err(refusal(
            StatusCode::NOT_FOUND,
            "this server takes no deployments",
        ));
    };
    let key = sha.clone();
    let artifact = match tokio::task::spawn_blocking(move || library.load(&key)).await {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            return a
                .refuse(&detail, refusal(status_of(&e), e.to_string()))
                .await;
        }
        Err(e) => {
            return Err(refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()));
        }
    };
    let unprocessable = |m: String| refusal(StatusCode::UNPROCESSABLE_ENTITY, m);
    if artifact.info.name != name {
        let m = format!(
            "component {sha} is strategy `{}`, not `{name}`",
            artifact.info.name
        );
        return a.refuse(&detail, unprocessable(m)).await;
    }
    let assignments: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if let Err(e) = parse_assignments(&artifact.info, &assignments) {
        return a
            .refuse(&detail, unprocessable(format!("params: {e}")))
            .await;
    }
    if let Err(e) = merged_limits(&RiskLimits::default(), &limits) {
        return a.refuse(&detail, unprocessable(e)).await;
    }
    if markets.len() > 1_000 || markets.iter().any(|m| m.trim().is_empty() || m.len() > 200) {
        let m = "markets: up to 1000 names, each 1-200 characters".to_string();
        return a.refuse(&detail, unprocessable(m)).await;
    }
    let now_ns = now_ms() * 1_000_000;
    let request = DeployRequest::Deploy {
        sha256: sha.clone(),
        params: params.clone(),
        limits: limits.clone(),
        markets: markets.clone(),
    };
    let id = deploys::request(s.journal.pool(), name, &request, &who.name, now_ns)
        .await
        .map_err(|e| unavailable("queueing the deployment", e))?;
    a.record(
        &format!(
            "{name} {} {sha} params={} limits={} markets={}",
            artifact.info.version,
            json!(params),
            json!(limits),
            json!(markets)
        ),
        &format!("queued deployment {id}"),
    )
    .await;
    Ok(json!({
        "deployment": id,
        "strategy": name,
        "version": artifact.info.version,
        "sha256": sha,
        "status": "pending",
        "poll": format!("/api/v1/deployments/{id}"),
    }))
}

/// Queues retiring a running strategy.
pub async fn retire(s: &ServerState, who: &Principal, name: &str) -> Outcome<Value> {
    let a = Audited {
        s,
        who,
        action: "retire",
    };
    a.require(Role::Admin, name).await?;
    if !running(s, name) {
        let m = format!("strategy {name:?}: not running here (see GET /api/v1/strategies)");
        return a.refuse(name, refusal(StatusCode::NOT_FOUND, m)).await;
    }
    let now_ns = now_ms() * 1_000_000;
    let id = deploys::request(
        s.journal.pool(),
        name,
        &DeployRequest::Retire,
        &who.name,
        now_ns,
    )
    .await
    .map_err(|e| unavailable("queueing the retirement", e))?;
    a.record(name, &format!("queued deployment {id}")).await;
    Ok(
        json!({ "deployment": id, "strategy": name, "status": "pending",
               "poll": format!("/api/v1/deployments/{id}") }),
    )
}

/// Deletes a stored component no strategy runs.
pub async fn delete_artifact(s: &ServerState, who: &Principal, sha256: &str) -> Outcome<Value> {
    let a = Audited {
        s,
        who,
        action: "delete_artifact",
    };
    let sha = sha256.to_ascii_lowercase();
    a.require(Role::Admin, &sha).await?;
    let Some(library) = s.artifacts.clone() else {
        return Err(refusal(
            StatusCode::NOT_FOUND,
            "this server takes no uploads",
        ));
    };
    let users: Vec<String> = deploys::running(s.journal.pool())
        .await
        .map_err(|e| unavailable("deployments", e))?
        .into_iter()
        .filter(|d| d.sha256.as_deref() == Some(sha.as_str()))
        .map(|d| d.strategy)
        .collect();
    if !users.is_empty() {
        let m = format!(
            "{sha} is deployed for {}; retire or redeploy first",
            users.join(", ")
        );
        return a.refuse(&sha, refusal(StatusCode::CONFLICT, m)).await;
    }
    match library.delete(&sha) {
        Ok(()) => {
            a.record(&sha, "deleted").await;
            Ok(json!({ "deleted": sha }))
        }
        Err(e) => a.refuse(&sha, refusal(status_of(&e), e.to_string())).await,
    }
}
