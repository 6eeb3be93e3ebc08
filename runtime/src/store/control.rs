//! Operator requests (trading state changes) queued in the database for the
//! running engine, which applies and journals them. Only the engine writes the
//! journal, so its hash chain has a single author.

use sqlx::{Row, SqlitePool};

use super::journal::StoreError;
use crate::risk::TradingState;

/// A request not yet applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlRequest {
    pub id: i64,
    pub actor: String,
    pub state: TradingState,
}

/// Queues a trading-state change.
pub async fn request(
    pool: &SqlitePool,
    state: TradingState,
    actor: &str,
    now_ns: u64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO control_requests (requested_ns, actor, trading_state) VALUES (?, ?, ?) RETURNING id",
    )
    .bind(i64::try_from(now_ns).unwrap_or(i64::MAX))
    .bind(actor)
    .bind(state.to_string())
    .fetch_one(pool)
    .await?;
    Ok(row.try_get("id")?)
}

/// Requests waiting to be applied, oldest first.
pub async fn pending(pool: &SqlitePool) -> Result<Vec<ControlRequest>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, actor, trading_state FROM control_requests WHERE applied_seq IS NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let id: i64 = r.try_get("id")?;
            let text: String = r.try_get("trading_state")?;
            let state = text
                .parse()
                .map_err(|message| StoreError::Corrupt { seq: id, message })?;
            Ok(ControlRequest {
                id,
                actor: r.try_get("actor")?,
                state,
            })
        })
        .collect()
}

/// Marks a request applied by the journal entry `seq`.
pub async fn mark_applied(pool: &SqlitePool, id: i64, seq: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE control_requests SET applied_seq = ? WHERE id = ?")
        .bind(seq)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Journal;

    #[tokio::test]
    async fn requests_queue_until_applied() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.db")).await.unwrap();
        let id = request(j.pool(), TradingState::Halted, "ops", 5)
            .await
            .unwrap();
        let p = pending(j.pool()).await.unwrap();
        assert_eq!(
            p,
            vec![ControlRequest {
                id,
                actor: "ops".into(),
                state: TradingState::Halted
            }]
        );
        mark_applied(j.pool(), id, 42).await.unwrap();
        assert!(pending(j.pool()).await.unwrap().is_empty());
    }
}

/// A pause or resume of one strategy (by name), not yet applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyRequest {
    pub id: i64,
    pub actor: String,
    pub strategy: String,
    pub pause: bool,
}

/// Queues pausing (`pause`) or resuming a strategy.
pub async fn request_strategy(
    pool: &SqlitePool,
    strategy: &str,
    pause: bool,
    actor: &str,
    now_ns: u64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO strategy_requests (requested_ns, actor, strategy, action) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(i64::try_from(now_ns).unwrap_or(i64::MAX))
    .bind(actor)
    .bind(strategy)
    .bind(if pause { "pause" } else { "resume" })
    .fetch_one(pool)
    .await?;
    Ok(row.try_get("id")?)
}

/// Strategy requests waiting to be applied, oldest first.
pub async fn pending_strategy(pool: &SqlitePool) -> Result<Vec<StrategyRequest>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, actor, strategy, action FROM strategy_requests WHERE applied_seq IS NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let action: String = r.try_get("action")?;
            Ok(StrategyRequest {
                id: r.try_get("id")?,
                actor: r.try_get("actor")?,
                strategy: r.try_get("strategy")?,
                pause: action == "pause",
            })
        })
        .collect()
}

/// Marks a strategy request applied (`seq`: its journal entry, or 0 when it
/// named no running strategy).
pub async fn mark_strategy_applied(pool: &SqlitePool, id: i64, seq: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE strategy_requests SET applied_seq = ? WHERE id = ?")
        .bind(seq)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
