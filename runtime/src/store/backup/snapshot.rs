//! A consistent copy of a live SQLite database: `VACUUM INTO` reads one
//! transaction's view, so writers (the engine, the server) carry on and the
//! copy holds exactly the entries committed when it began.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};

use super::BackupError;

fn err(path: &Path, e: impl std::fmt::Display) -> BackupError {
    BackupError::Snapshot {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

async fn connect(db: &Path) -> Result<sqlx::SqliteConnection, BackupError> {
    SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))
        .map_err(|e| err(db, e))?
        .busy_timeout(std::time::Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| err(db, e))
}

/// Writes a consistent copy of `db` to `to` (which must not exist).
pub(super) async fn copy(db: &Path, to: &Path) -> Result<(), BackupError> {
    let mut conn = connect(db).await?;
    let target = to
        .to_str()
        .ok_or_else(|| err(to, "the path is not UTF-8"))?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut conn)
        .await
        .map_err(|e| err(db, e))?;
    conn.close().await.map_err(|e| err(db, e))
}

/// The last journal entry of the database copy `db`, if it has any.
pub(super) async fn journal_head(db: &Path) -> Result<Option<(i64, String)>, BackupError> {
    let mut conn = connect(db).await?;
    let row = sqlx::query("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut conn)
        .await
        .map_err(|e| err(db, e))?;
    let head = row
        .map(|r| Ok::<_, sqlx::Error>((r.try_get("seq")?, r.try_get("hash")?)))
        .transpose()
        .map_err(|e| err(db, e))?;
    conn.close().await.map_err(|e| err(db, e))?;
    Ok(head)
}
