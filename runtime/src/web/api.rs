//! The HTTP surface: `/healthz`, `/readyz` (open), `/metrics` (open on
//! loopback, else per `server.metrics_public`), and the JSON API
//! under `/api/v1`, which needs an API token: reads for any role; trading-state
//! changes for operators, each written to the audit log.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::actions;
use super::auth::{Caller, FailureLimiter};
use super::live::Live;
use super::metrics;
use crate::report::views;
use crate::store::auth::{Role, audit_log};
use crate::store::{Journal, Projections};

/// How stale the engine's published status may be before `/readyz` fails.
const READY_WITHIN_MS: u64 = 5_000;

/// What the handlers share.
#[derive(Clone)]
pub struct ServerState {
    pub live: Live,
    /// The environment's database, for reads, users, the audit log and control
    /// requests; only the engine appends to the journal.
    pub journal: Arc<Journal>,
    pub limiter: FailureLimiter,
    /// The journal's projections, kept current for reads.
    pub view: Arc<super::journal_view::JournalView>,
    /// Session cookies get `Secure` (the server is reached over TLS).
    pub secure_cookies: bool,
    /// Stored backtest runs shown on the dashboard.
    pub backtests_dir: std::path::PathBuf,
    /// Uploaded strategy components, if this server takes uploads.
    pub artifacts: Option<Arc<crate::strategy::ArtifactLibrary>>,
    /// `/metrics` answers without a token (see `server.metrics_public`).
    pub metrics_public: bool,
    /// Users, API tokens, sessions and the audit log (`store::auth_db`): a
    /// database apart from the journal's.
    pub auth: sqlx::SqlitePool,
    /// Proxies whose `X-Forwarded-For` names the client (`server.trusted_proxies`).
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The router of the server.
pub fn router(state: ServerState) -> Router {
    // Uploads may be as large as the artifact limit; the check itself names it.
    let upload_limit = state
        .artifacts
        .as_ref()
        .map_or(0, |a| a.max_bytes())
        .saturating_add(1);
    Router::new()
        .route(
            "/api/v1/artifacts",
            post(super::artifacts::upload)
                .get(super::artifacts::list)
                .layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/api/v1/artifacts/{sha256}",
            axum::routing::delete(super::artifacts::delete),
        )
        .route(
            "/api/v1/strategies/{name}/deploy",
            post(super::deploy::deploy),
        )
        .route(
            "/api/v1/strategies/{name}/retire",
            post(super::deploy::retire),
        )
        .route("/api/v1/deployments", get(super::deploy::list))
        .route("/api/v1/deployments/{id}", get(super::deploy::one))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/api/v1/status", get(status))
        .route("/api/v1/strategies", get(strategies))
        .route("/api/v1/strategies/{name}", get(strategy_detail))
        .route("/api/v1/positions", get(positions))
        .route("/api/v1/trades", get(trades))
        .route("/api/v1/trades/{seq}/explain", get(explain))
        .route("/api/v1/orders", get(orders))
        .route("/api/v1/journal/verify", get(verify))
        .route("/api/v1/performance", get(performance))
        .route("/api/v1/risk", post(risk))
        .route("/api/v1/strategies/{name}/pause", post(pause))
        .route("/api/v1/strategies/{name}/resume", post(resume))
        .route("/api/v1/audit", get(audit_entries))
        .route("/api/v1/alerts", get(alerts))
        .merge(super::ui::router(upload_limit))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// What every answer tells the browser: scripts only from this server, no
/// framing by other sites (clickjacking), no MIME sniffing, and no referrer
/// sent to other sites. Not `no-referrer`: under it browsers send
/// `Origin: null` on the dashboard's own form posts, which the same-origin
/// check of login and every form must then refuse. Inline styles stay
/// allowed: reports colour their chart legends inline.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: header::HeaderName, value: &'static str| {
        h.entry(name)
            .or_insert(axum::http::HeaderValue::from_static(value));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "same-origin");
    response
}

pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint (see docs/API_REFERENCE.md)",
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<ServerState>) -> Response {
    let Ok(live) = s.live.read().map(|l| l.clone()) else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "status unavailable");
    };
    let mut problems = Vec::new();
    if !live.feed_connected {
        problems.push("market feed not connected");
    }
    if !live.journal_ok {
        problems.push("journal not writable");
    }
    if now_ms().saturating_sub(live.updated_ms) > READY_WITHIN_MS {
        problems.push("engine loop not reporting");
    }
    if problems.is_empty() {
        Json(json!({ "ready": true })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ready": false, "problems": problems })),
        )
            .into_response()
    }
}

async fn metrics_text(State(s): State<ServerState>, request: axum::extract::Request) -> Response {
    if !s.metrics_public {
        // Strategy names, PnL and exposure: for callers with a token.
        let (mut parts, _) = request.into_parts();
        if let Err(refused) =
            <Caller as axum::extract::FromRequestParts<ServerState>>::from_request_parts(
                &mut parts, &s,
            )
            .await
        {
            return refused;
        }
    }
    let Ok(live) = s.live.read().map(|l| l.clone()) else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "status unavailable");
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::render(&live),
    )
        .into_response()
}

/// The journal's projections as of now.
pub(super) async fn projections(
    s: &ServerState,
) -> Result<tokio::sync::MutexGuard<'_, Projections>, Response> {
    s.view
        .current(&s.journal)
        .await
        .map_err(|e| error(StatusCode::SERVICE_UNAVAILABLE, format!("journal: {e}")))
}

async fn status(State(s): State<ServerState>, _: Caller) -> Response {
    let next_seq = s.live.read().map_or(0, |l| l.journal_next_seq);
    let mut doc = match projections(&s).await {
        Ok(p) => views::status(&p, next_seq),
        Err(r) => return r,
    };
    if let Ok(live) = s.live.read() {
        doc["feed"] = json!({
            "connected": live.feed_connected,
            "updates": live.feed_updates,
            "reconnects": live.feed_reconnects,
            "last_update_ms": live.last_update_ms,
        });
        doc["started_ms"] = json!(live.started_ms);
    }
    Json(doc).into_response()
}

async fn strategies(State(s): State<ServerState>, _: Caller) -> Response {
    match s.live.read() {
        Ok(live) => Json(json!(live.strategies)).into_response(),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "status unavailable"),
    }
}

/// One strategy: its live state, its fault history from the journal, its
/// deployments, and the manifest (parameter schema) of the version it runs.
async fn strategy_detail(
    State(s): State<ServerState>,
    _: Caller,
    Path(name): Path<String>,
) -> Response {
    let live = s
        .live
        .read()
        .ok()
        .and_then(|l| l.strategies.iter().find(|st| st.name == name).cloned());
    let p = match projections(&s).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let id = p
        .strategies
        .iter()
        .find(|(_, (n, _))| *n == name)
        .map(|(id, _)| *id);
    let (Some(id), live) = (id.or(live.as_ref().map(|l| l.id)), live) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("strategy {name:?}: not known here (see GET /api/v1/strategies)"),
        );
    };
    let faults: Vec<_> = p
        .faults
        .iter()
        .filter(|(_, st, _)| *st == id)
        .map(|(seq, _, fault)| json!({ "seq": seq, "fault": fault }))
        .collect();
    let deployments: Vec<_> = crate::store::deploys::recent(s.journal.pool(), 10_000)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d.strategy == name)
        .collect();
    let manifest = live
        .as_ref()
        .zip(s.artifacts.as_ref())
        .and_then(|(l, lib)| lib.manifest(&l.sha256).ok());
    Json(json!({
        "id": id,
        "name": name,
        "live": live,
        "faults": faults,
        "deployments": deployments,
        "manifest": manifest,
    }))
    .into_response()
}

async fn positions(State(s): State<ServerState>, _: Caller) -> Response {
    match projections(&s).await {
        Ok(p) => Json(json!(views::positions(&p))).into_response(),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
struct TradesQuery {
    last: Option<usize>,
}

async fn trades(State(s): State<ServerState>, _: Caller, Query(q): Query<TradesQuery>) -> Response {
    let last = q.last.unwrap_or(50).min(10_000);
    match projections(&s).await {
        Ok(p) => Json(json!(views::trades(&p, last))).into_response(),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
struct PerformanceQuery {
    period: Option<String>,
}

async fn performance(
    State(s): State<ServerState>,
    _: Caller,
    Query(q): Query<PerformanceQuery>,
) -> Response {
    let text = q.period.unwrap_or_else(|| "7d".into());
    let Some(period) = parse_period(&text) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("period={text}: expected a number and a unit (s, m, h, d), e.g. 7d"),
        );
    };
    match projections(&s).await {
        Ok(p) => {
            let ns = i64::try_from(period.as_nanos()).unwrap_or(i64::MAX);
            Json(json!(views::performance(&p, ns))).into_response()
        }
        Err(r) => r,
    }
}

/// An action's answer: `ok` with its document, or the refusal's status and message.
pub(super) fn respond<T: serde::Serialize>(
    outcome: actions::Outcome<T>,
    ok: StatusCode,
) -> Response {
    match outcome {
        Ok(doc) => (ok, Json(json!(doc))).into_response(),
        Err(r) => error(r.status, r.message),
    }
}

#[derive(Debug, Deserialize)]
struct RiskRequest {
    state: String,
}

/// Queues a trading-state change for the engine (applied and journaled within
/// half a second), and audits it.
async fn risk(State(s): State<ServerState>, caller: Caller, body: axum::body::Bytes) -> Response {
    let state = match serde_json::from_slice::<RiskRequest>(&body) {
        Ok(r) => r.state,
        Err(e) => {
            // Still through the action, so the refusal is audited.
            let shown = String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>();
            let outcome = actions::risk(&s, &caller.0, &shown).await;
            return match outcome {
                Err(r) if r.status == StatusCode::FORBIDDEN => error(r.status, r.message),
                _ => error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "body: expected {{\"state\": \"halt\" | \"reduce\" | \"resume\"}} ({e})"
                    ),
                ),
            };
        }
    };
    respond(
        actions::risk(&s, &caller.0, &state).await,
        StatusCode::ACCEPTED,
    )
}

async fn pause(State(s): State<ServerState>, caller: Caller, Path(name): Path<String>) -> Response {
    respond(
        actions::pause(&s, &caller.0, &name, true).await,
        StatusCode::ACCEPTED,
    )
}

async fn resume(
    State(s): State<ServerState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Response {
    respond(
        actions::pause(&s, &caller.0, &name, false).await,
        StatusCode::ACCEPTED,
    )
}

async fn orders(State(s): State<ServerState>, _: Caller) -> Response {
    match projections(&s).await {
        Ok(p) => Json(json!(views::orders(&p))).into_response(),
        Err(r) => r,
    }
}

async fn explain(State(s): State<ServerState>, _: Caller, Path(seq): Path<i64>) -> Response {
    match s.view.explain(&s.journal, seq).await {
        Ok(Some(doc)) => Json(doc).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("journal entry {seq} is not a fill (see /api/v1/trades)"),
        ),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("journal: {e}")),
    }
}

async fn verify(State(s): State<ServerState>, caller: Caller) -> Response {
    if let Err(r) = caller.require(Role::Operator) {
        return *r;
    }
    match s.journal.verify().await {
        Ok(report) => Json(json!(report)).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("journal: {e}")),
    }
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    last: Option<u32>,
}

async fn audit_entries(
    State(s): State<ServerState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Response {
    if let Err(r) = caller.require(Role::Operator) {
        return *r;
    }
    match audit_log(&s.auth, q.last.unwrap_or(100).min(10_000)).await {
        Ok(entries) => Json(json!(entries)).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("audit log: {e}")),
    }
}

async fn alerts(State(s): State<ServerState>, _: Caller, Query(q): Query<AuditQuery>) -> Response {
    match crate::alerts::recent(s.journal.pool(), q.last.unwrap_or(100).min(10_000)).await {
        Ok(a) => Json(json!(a)).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("alerts: {e}")),
    }
}

fn parse_period(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3_600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        assert_eq!(parse_period("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_period("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_period("7"), None);
        assert_eq!(parse_period("d"), None);
        assert_eq!(parse_period("3w"), None);
    }
}
