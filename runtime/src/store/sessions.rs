//! Browser sessions: created at login for a user, found by the cookie's value
//! (only its SHA-256 is stored), each with a CSRF token, ended at logout or
//! when they expire.

use sqlx::{Row, SqlitePool};

use super::auth::{AuthError, Principal, principal, random_bytes, token_digest};

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub principal: Principal,
    /// What every form post of this session must carry.
    pub csrf: String,
}

/// Starts a session for `user` lasting `ttl_ns`; the cookie value and the
/// session's CSRF token.
pub async fn create(
    pool: &SqlitePool,
    user: &str,
    now_ns: u64,
    ttl_ns: u64,
) -> Result<(String, String), AuthError> {
    let cookie = hex::encode(random_bytes::<32>()?);
    let csrf = hex::encode(random_bytes::<32>()?);
    // Expired sessions go when a new one starts: the table stays small.
    sqlx::query("DELETE FROM sessions WHERE expires_ns <= ?")
        .bind(i64::try_from(now_ns).unwrap_or(i64::MAX))
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_sha256, user, csrf, created_ns, expires_ns) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(token_digest(&cookie))
    .bind(user)
    .bind(&csrf)
    .bind(i64::try_from(now_ns).unwrap_or(i64::MAX))
    .bind(i64::try_from(now_ns.saturating_add(ttl_ns)).unwrap_or(i64::MAX))
    .execute(pool)
    .await?;
    Ok((cookie, csrf))
}

/// The session a cookie value belongs to, if live at `now_ns`.
pub async fn find(
    pool: &SqlitePool,
    cookie: &str,
    now_ns: u64,
) -> Result<Option<Session>, AuthError> {
    let row = sqlx::query(
        "SELECT u.name, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.user \
         WHERE s.token_sha256 = ? AND s.expires_ns > ?",
    )
    .bind(token_digest(cookie))
    .bind(i64::try_from(now_ns).unwrap_or(i64::MAX))
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    Ok(
        principal(r.try_get("name")?, &r.try_get::<String, _>("role")?).map(|p| Session {
            principal: p,
            csrf: r.try_get("csrf").unwrap_or_default(),
        }),
    )
}

/// Ends the session of a cookie value.
pub async fn end(pool: &SqlitePool, cookie: &str) -> Result<(), AuthError> {
    sqlx::query("DELETE FROM sessions WHERE token_sha256 = ?")
        .bind(token_digest(cookie))
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Journal;
    use crate::store::auth::{Role, add_user};

    #[tokio::test]
    async fn sessions_live_until_they_expire_or_end() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.db")).await.unwrap();
        let pool = j.pool();
        add_user(pool, "ada", Role::Admin, "long enough password", 1)
            .await
            .unwrap();
        let (cookie, csrf) = create(pool, "ada", 100, 50).await.unwrap();
        assert_eq!(cookie.len(), 64);
        let s = find(pool, &cookie, 120).await.unwrap().unwrap();
        assert_eq!(s.principal.name, "ada");
        assert_eq!(s.csrf, csrf);
        assert!(find(pool, &cookie, 150).await.unwrap().is_none(), "expired");
        assert!(find(pool, "forged", 120).await.unwrap().is_none());
        let (other, _) = create(pool, "ada", 200, 50).await.unwrap();
        end(pool, &other).await.unwrap();
        assert!(find(pool, &other, 210).await.unwrap().is_none(), "ended");
    }
}
