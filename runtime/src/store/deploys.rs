//! Deployment requests queued in the database for the running engine: deploy a
//! stored component (with parameters and risk-limit overrides) or retire a
//! strategy. The engine applies them in order and writes back the outcome; the
//! latest applied deployment of each strategy is what a restarted server runs.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::{Row, SqlitePool, sqlite::SqliteRow};

use super::journal::StoreError;

/// One request and, once applied, what came of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deployment {
    pub id: i64,
    pub requested_ns: i64,
    pub actor: String,
    pub strategy: String,
    /// `deploy` or `retire`.
    pub action: String,
    pub sha256: Option<String>,
    /// Parameter values as written (`NAME` → text), checked against the schema.
    pub params: BTreeMap<String, String>,
    /// Risk-limit overrides over the configured per-strategy limits.
    pub limits: serde_json::Map<String, serde_json::Value>,
    /// The markets it trades; empty: every market of the server.
    pub markets: Vec<String>,
    /// The journal entry that applied it (0 when nothing was journaled).
    pub applied_seq: Option<i64>,
    /// `started`, `reloaded`, `rolled_back`, `retired`, `not_running`, `failed`.
    pub outcome: Option<String>,
    pub message: Option<String>,
}

/// What to ask for.
#[derive(Debug, Clone)]
pub enum DeployRequest {
    Deploy {
        sha256: String,
        params: BTreeMap<String, String>,
        limits: serde_json::Map<String, serde_json::Value>,
        markets: Vec<String>,
    },
    Retire,
}

const COLUMNS: &str = "id, requested_ns, actor, strategy, action, sha256, params, limits, markets, applied_seq, outcome, message";

fn from_row(r: &SqliteRow) -> Result<Deployment, StoreError> {
    let id: i64 = r.try_get("id")?;
    let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt {
        seq: id,
        message: format!("deployment {id}: {what}: {e}"),
    };
    let params: String = r.try_get("params")?;
    let limits: String = r.try_get("limits")?;
    let markets: String = r.try_get("markets")?;
    Ok(Deployment {
        id,
        requested_ns: r.try_get("requested_ns")?,
        actor: r.try_get("actor")?,
        strategy: r.try_get("strategy")?,
        action: r.try_get("action")?,
        sha256: r.try_get("sha256")?,
        params: serde_json::from_str(&params).map_err(|e| corrupt("params", e))?,
        limits: serde_json::from_str(&limits).map_err(|e| corrupt("limits", e))?,
        markets: serde_json::from_str(&markets).map_err(|e| corrupt("markets", e))?,
        applied_seq: r.try_get("applied_seq")?,
        outcome: r.try_get("outcome")?,
        message: r.try_get("message")?,
    })
}

/// Queues a request for `strategy`; its id.
pub async fn request(
    pool: &SqlitePool,
    strategy: &str,
    request: &DeployRequest,
    actor: &str,
    now_ns: u64,
) -> Result<i64, StoreError> {
    let (action, sha, params, limits, markets) = match request {
        DeployRequest::Deploy {
            sha256,
            params,
            limits,
            markets,
        } => (
            "deploy",
            Some(sha256.to_ascii_lowercase()),
            serde_json::to_string(params).unwrap_or_else(|_| "{}".into()),
            serde_json::to_string(limits).unwrap_or_else(|_| "{}".into()),
            serde_json::to_string(markets).unwrap_or_else(|_| "[]".into()),
        ),
        DeployRequest::Retire => ("retire", None, "{}".into(), "{}".into(), "[]".into()),
    };
    let row = sqlx::query(
        "INSERT INTO deployments (requested_ns, actor, strategy, action, sha256, params, limits, markets) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(i64::try_from(now_ns).unwrap_or(i64::MAX))
    .bind(actor)
    .bind(strategy)
    .bind(action)
    .bind(sha)
    .bind(params)
    .bind(limits)
    .bind(markets)
    .fetch_one(pool)
    .await?;
    Ok(row.try_get("id")?)
}

/// Requests not yet applied, oldest first.
pub async fn pending(pool: &SqlitePool) -> Result<Vec<Deployment>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM deployments WHERE outcome IS NULL ORDER BY id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Records what applying request `id` did.
pub async fn finish(
    pool: &SqlitePool,
    id: i64,
    seq: i64,
    outcome: &str,
    message: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE deployments SET applied_seq = ?, outcome = ?, message = ? WHERE id = ?")
        .bind(seq)
        .bind(outcome)
        .bind(message)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// One request by id.
pub async fn get(pool: &SqlitePool, id: i64) -> Result<Option<Deployment>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM deployments WHERE id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The latest `last` requests, newest first.
pub async fn recent(pool: &SqlitePool, last: u32) -> Result<Vec<Deployment>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM deployments ORDER BY id DESC LIMIT ?"
    ))
    .bind(last)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// What runs: per strategy, its latest deployment that took effect, unless a
/// retirement came after it. By strategy name.
pub async fn running(pool: &SqlitePool) -> Result<Vec<Deployment>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM deployments d WHERE action = 'deploy' AND id = \
         (SELECT MAX(id) FROM deployments e WHERE e.strategy = d.strategy \
          AND e.outcome IN ('started', 'reloaded', 'retired')) ORDER BY strategy"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Journal;

    fn deploy(sha: char) -> DeployRequest {
        DeployRequest::Deploy {
            sha256: sha.to_string().repeat(64),
            params: BTreeMap::from([("spread".to_string(), "0.02".to_string())]),
            limits: serde_json::Map::new(),
            markets: vec!["will-it".to_string()],
        }
    }

    #[tokio::test]
    async fn the_latest_effective_deployment_is_what_runs() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.db")).await.unwrap();
        let pool = j.pool();
        let a1 = request(pool, "a", &deploy('1'), "ops", 1).await.unwrap();
        let b1 = request(pool, "b", &deploy('2'), "ops", 2).await.unwrap();
        assert_eq!(pending(pool).await.unwrap().len(), 2);
        finish(pool, a1, 10, "started", None).await.unwrap();
        finish(pool, b1, 11, "started", None).await.unwrap();
        // A failed reload leaves the old version running.
        let a2 = request(pool, "a", &deploy('3'), "ops", 3).await.unwrap();
        finish(pool, a2, 12, "rolled_back", Some("init refused"))
            .await
            .unwrap();
        let run = running(pool).await.unwrap();
        assert_eq!(run.len(), 2);
        assert_eq!(run[0].sha256.as_deref(), Some("1".repeat(64).as_str()));
        assert_eq!(run[0].params["spread"], "0.02");
        // A retirement takes it out; a later deploy brings it back.
        let b2 = request(pool, "b", &DeployRequest::Retire, "ops", 4)
            .await
            .unwrap();
        finish(pool, b2, 13, "retired", None).await.unwrap();
        let run = running(pool).await.unwrap();
        assert_eq!(
            run.iter().map(|d| d.strategy.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        let got = get(pool, a2).await.unwrap().unwrap();
        assert_eq!(got.outcome.as_deref(), Some("rolled_back"));
        assert_eq!(got.message.as_deref(), Some("init refused"));
        assert!(pending(pool).await.unwrap().is_empty());
        assert_eq!(recent(pool, 2).await.unwrap()[0].id, b2);
    }
}
