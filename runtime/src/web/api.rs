//! The HTTP surface: `/healthz`, `/readyz`, `/metrics` and the read-only JSON API
//! under `/api/v1` (status, strategies, positions, trades, performance). Nothing
//! here mutates; mutating endpoints arrive with authentication.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::live::Live;
use super::metrics;
use crate::report::views;
use crate::store::{Journal, Projections};

/// How stale the engine's published status may be before `/readyz` fails.
const READY_WITHIN_MS: u64 = 5_000;

/// What the handlers share.
#[derive(Clone)]
pub struct ServerState {
    pub live: Live,
    /// The environment's journal database (read per request).
    pub database: PathBuf,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The router of the server.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/api/v1/status", get(status))
        .route("/api/v1/strategies", get(strategies))
        .route("/api/v1/positions", get(positions))
        .route("/api/v1/trades", get(trades))
        .route("/api/v1/performance", get(performance))
        .fallback(not_found)
        .with_state(state)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
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

async fn metrics_text(State(s): State<ServerState>) -> Response {
    let Ok(live) = s.live.read().map(|l| l.clone()) else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "status unavailable");
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics::render(&live),
    )
        .into_response()
}

/// The journal's projections, read fresh.
async fn projections(
    s: &ServerState,
) -> Result<(Journal, Vec<crate::store::Stored>, Projections), Response> {
    let journal = Journal::open(&s.database)
        .await
        .map_err(|e| error(StatusCode::SERVICE_UNAVAILABLE, format!("journal: {e}")))?;
    let entries = journal
        .read_from(1)
        .await
        .map_err(|e| error(StatusCode::SERVICE_UNAVAILABLE, format!("journal: {e}")))?;
    let p = Projections::replay(&entries);
    Ok((journal, entries, p))
}

async fn status(State(s): State<ServerState>) -> Response {
    let (journal, entries, p) = match projections(&s).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut doc = views::status(&entries, &p, journal.next_seq());
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

async fn strategies(State(s): State<ServerState>) -> Response {
    match s.live.read() {
        Ok(live) => Json(json!(live.strategies)).into_response(),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "status unavailable"),
    }
}

async fn positions(State(s): State<ServerState>) -> Response {
    match projections(&s).await {
        Ok((_, _, p)) => Json(json!(views::positions(&p))).into_response(),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
struct TradesQuery {
    last: Option<usize>,
}

async fn trades(State(s): State<ServerState>, Query(q): Query<TradesQuery>) -> Response {
    let last = q.last.unwrap_or(50).min(10_000);
    match projections(&s).await {
        Ok((_, _, p)) => Json(json!(views::trades(&p, last))).into_response(),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
struct PerformanceQuery {
    period: Option<String>,
}

async fn performance(State(s): State<ServerState>, Query(q): Query<PerformanceQuery>) -> Response {
    let text = q.period.unwrap_or_else(|| "7d".into());
    let Some(period) = parse_period(&text) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("period={text}: expected a number and a unit (s, m, h, d), e.g. 7d"),
        );
    };
    match projections(&s).await {
        Ok((_, _, p)) => {
            let ns = i64::try_from(period.as_nanos()).unwrap_or(i64::MAX);
            Json(json!(views::performance(&p, ns))).into_response()
        }
        Err(r) => r,
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
