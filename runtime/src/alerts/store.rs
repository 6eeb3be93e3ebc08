//! Alerts kept in the environment's database, for the dashboard and the API.

use sqlx::{Row, SqlitePool};

use super::Alert;

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredAlert {
    pub id: i64,
    pub ts_ns: i64,
    pub severity: String,
    pub kind: String,
    pub strategy: Option<String>,
    pub message: String,
}

/// Stores an alert.
pub async fn record(pool: &SqlitePool, a: &Alert) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO alerts (ts_ns, severity, kind, strategy, message) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(i64::try_from(a.ts_ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX))
    .bind(a.severity.as_str())
    .bind(a.kind)
    .bind(&a.strategy)
    .bind(&a.message)
    .execute(pool)
    .await?;
    Ok(())
}

/// The latest `last` alerts, newest first.
pub async fn recent(pool: &SqlitePool, last: u32) -> Result<Vec<StoredAlert>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, ts_ns, severity, kind, strategy, message FROM alerts ORDER BY id DESC LIMIT ?",
    )
    .bind(last)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredAlert {
                id: r.try_get("id")?,
                ts_ns: r.try_get("ts_ns")?,
                severity: r.try_get("severity")?,
                kind: r.try_get("kind")?,
                strategy: r.try_get("strategy")?,
                message: r.try_get("message")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::Severity;
    use crate::store::Journal;

    #[tokio::test]
    async fn alerts_are_kept_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.db")).await.unwrap();
        for (i, kind) in ["feed_down", "feed_up"].into_iter().enumerate() {
            let a = Alert {
                ts_ms: i as u64,
                severity: Severity::Info,
                kind,
                strategy: None,
                message: kind.into(),
            };
            record(j.pool(), &a).await.unwrap();
        }
        let r = recent(j.pool(), 10).await.unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].kind, "feed_up");
        assert_eq!(r[1].ts_ns, 0);
    }
}
