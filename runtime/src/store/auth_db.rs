//! The users, API tokens, sessions and audit log live in a database of their
//! own (`<name>.auth.db` beside the environment's `<name>.db`): logins,
//! token checks and their audit rows never touch the journal's file, so a
//! flood of anonymous requests cannot slow or grow the trading database.
//! Rows an older version kept in the journal's database are copied over once.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::StoreError;

/// Where the auth database of the environment database `db` lives.
pub fn auth_path(db: &Path) -> PathBuf {
    let stem = db
        .file_stem()
        .map_or_else(|| "pqap".into(), |s| s.to_string_lossy().into_owned());
    db.with_file_name(format!("{stem}.auth.db"))
}

/// Opens (creating if needed) the auth database beside `db`.
pub async fn open_auth(db: &Path) -> Result<SqlitePool, StoreError> {
    let path = auth_path(db);
    let open_err = |message: String| StoreError::Open {
        path: path.display().to_string(),
        message,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
    }
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .map_err(|e| open_err(e.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|e| open_err(e.to_string()))?;
    sqlx::migrate!("./migrations/auth")
        .run(&pool)
        .await
        .map_err(|e| open_err(format!("migrations: {e}")))?;
    move_from_journal(&pool, db).await?;
    Ok(pool)
}

/// Copies the auth rows of an older journal database once (the journal's
/// copies stay, unused).
async fn move_from_journal(pool: &SqlitePool, db: &Path) -> Result<(), StoreError> {
    let done = sqlx::query("SELECT 1 FROM moved_from_journal")
        .fetch_optional(pool)
        .await?;
    if done.is_some() {
        return Ok(());
    }
    let mut conn = pool.acquire().await?;
    if db.exists() {
        sqlx::query("ATTACH DATABASE ? AS journal_db")
            .bind(db.display().to_string())
            .execute(&mut *conn)
            .await?;
        let has_users = sqlx::query(
            "SELECT COUNT(*) AS n FROM journal_db.sqlite_master WHERE type = 'table' AND name = 'users'",
        )
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>("n")?
            > 0;
        let has_sessions = sqlx::query(
            "SELECT COUNT(*) AS n FROM journal_db.sqlite_master WHERE type = 'table' AND name = 'sessions'",
        )
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>("n")?
            > 0;
        if has_users {
            let mut copies = vec![
                "INSERT OR IGNORE INTO users SELECT name, role, password_hash, created_ns FROM journal_db.users",
                "INSERT OR IGNORE INTO api_tokens SELECT id, user, token_sha256, label, created_ns, revoked FROM journal_db.api_tokens",
                "INSERT OR IGNORE INTO audit_log SELECT id, ts_ns, actor, action, detail, outcome FROM journal_db.audit_log",
            ];
            if has_sessions {
                copies.push(
                    "INSERT OR IGNORE INTO sessions SELECT token_sha256, user, csrf, created_ns, expires_ns FROM journal_db.sessions",
                );
            }
            for sql in copies {
                sqlx::query(sql).execute(&mut *conn).await?;
            }
        }
        sqlx::query("DETACH DATABASE journal_db")
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("INSERT INTO moved_from_journal (done_ns) VALUES (?)")
        .bind(i64::try_from(crate::model::time::wall_ns()).unwrap_or(i64::MAX))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Journal;
    use crate::store::auth::{Role, add_user, audit, audit_log, check_password};

    #[tokio::test]
    async fn users_and_the_audit_log_of_an_older_journal_move_over_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("env.db");
        // An older version kept users and audit rows in the journal's file.
        let j = Journal::open(&db).await.unwrap();
        add_user(j.pool(), "ada", Role::Admin, "admin password 123", 1)
            .await
            .unwrap();
        audit(j.pool(), 2, "ada", "halt", "", "ok").await.unwrap();
        let auth = open_auth(&db).await.unwrap();
        assert_eq!(auth_path(&db), dir.path().join("env.auth.db"));
        let ada = check_password(&auth, "ada", "admin password 123")
            .await
            .unwrap();
        assert_eq!(ada.map(|p| p.role), Some(Role::Admin));
        assert_eq!(audit_log(&auth, 10).await.unwrap().len(), 1);
        // New rows go to the auth database; a reopen copies nothing again.
        audit(&auth, 3, "ada", "resume", "", "ok").await.unwrap();
        audit(j.pool(), 4, "old", "ignored", "", "ok")
            .await
            .unwrap();
        drop(auth);
        let auth = open_auth(&db).await.unwrap();
        let log = audit_log(&auth, 10).await.unwrap();
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(log.iter().all(|e| e.actor == "ada"));
    }
}
