//! Users, API tokens and the audit log of the environment database: who may act
//! through the server (roles viewer < operator < admin) and what they did.

use std::fmt;
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Row, SqlitePool};

use super::journal::StoreError;

/// What a user may do: read; also act on trading (pause, risk); also manage users,
/// tokens and deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        })
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "role {other:?}: expected viewer, operator or admin"
            )),
        }
    }
}

/// Why a user or token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("user name {0:?}: use 1–64 letters, digits, '.', '-' or '_'")]
    BadName(String),
    #[error("password for {0}: at least 12 characters")]
    WeakPassword(String),
    #[error("user {0} already exists")]
    Exists(String),
    #[error("no user {0}")]
    NoUser(String),
    #[error("hashing the password: {0}")]
    Hash(String),
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> AuthError {
        AuthError::Store(StoreError::from(e))
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(buf)
}

/// Adds a user with an argon2id hash of `password`.
pub async fn add_user(
    pool: &SqlitePool,
    name: &str,
    role: Role,
    password: &str,
    now_ns: u64,
) -> Result<(), AuthError> {
    if !valid_name(name) {
        return Err(AuthError::BadName(name.to_string()));
    }
    if password.chars().count() < 12 {
        return Err(AuthError::WeakPassword(name.to_string()));
    }
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AuthError::Hash(e.to_string()))?
        .to_string();
    let inserted = sqlx::query(
        "INSERT INTO users (name, role, password_hash, created_ns) VALUES (?, ?, ?, ?) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(role.to_string())
    .bind(hash)
    .bind(i64::try_from(now_ns).unwrap_or(i64::MAX))
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(AuthError::Exists(name.to_string()));
    }
    Ok(())
}

pub(crate) fn principal(name: String, role: &str) -> Option<Principal> {
    Some(Principal {
        name,
        role: role.parse().ok()?,
    })
}

/// Password checks (argon2, ~20–40 ms of CPU each) that may run at once; the
/// rest wait, so a flood of logins cannot take every core from the engine.
pub const MAX_CONCURRENT_PASSWORD_CHECKS: usize = 2;

static PASSWORD_CHECKS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(MAX_CONCURRENT_PASSWORD_CHECKS);

/// A hash no password matches, checked for unknown users so that they take
/// as long as known ones (no user enumeration by timing).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::encode_b64(b"pqap-decoy-salt!").unwrap_or_else(|_| {
            // 16 bytes always encode; keep a usable salt regardless.
            SaltString::from_b64("cHFhcGRlY295c2FsdA").expect("a valid fixed salt")
        });
        Argon2::default()
            .hash_password(b"no password is this one", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// The user if `password` is theirs. The argon2 check runs on the blocking
/// pool, at most [`MAX_CONCURRENT_PASSWORD_CHECKS`] at a time, and an
/// unknown user costs the same check as a known one.
pub async fn check_password(
    pool: &SqlitePool,
    name: &str,
    password: &str,
) -> Result<Option<Principal>, AuthError> {
    let row = sqlx::query("SELECT role, password_hash FROM users WHERE name = ?")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    let (stored, role) = match row {
        Some(row) => (
            row.try_get::<String, _>("password_hash")?,
            Some(row.try_get::<String, _>("role")?),
        ),
        None => (decoy_hash().to_string(), None),
    };
    let _permit = PASSWORD_CHECKS
        .acquire()
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    let password = password.to_string();
    let matches = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
    })
    .await
    .map_err(|e| AuthError::Hash(e.to_string()))?;
    Ok(match (matches, role) {
        (true, Some(role)) => principal(name.to_string(), &role),
        _ => None,
    })
}

pub(crate) fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

async fn ensure_user(pool: &SqlitePool, user: &str) -> Result<(), AuthError> {
    let exists = sqlx::query("SELECT 1 FROM users WHERE name = ?")
        .bind(user)
        .fetch_optional(pool)
        .await?;
    match exists {
        Some(_) => Ok(()),
        None => Err(AuthError::NoUser(user.to_string())),
    }
}

/// Creates an API token for `user`; the token is returned once and only its
/// SHA-256 is stored.
pub async fn create_token(
    pool: &SqlitePool,
    user: &str,
    label: &str,
    now_ns: u64,
) -> Result<String, AuthError> {
    ensure_user(pool, user).await?;
    let token = format!("pqap_{}", hex::encode(random_bytes::<32>()?));
    sqlx::query(
        "INSERT INTO api_tokens (user, token_sha256, label, created_ns) VALUES (?, ?, ?, ?)",
    )
    .bind(user)
    .bind(token_digest(&token))
    .bind(label)
    .bind(i64::try_from(now_ns).unwrap_or(i64::MAX))
    .execute(pool)
    .await?;
    Ok(token)
}

/// Revokes every token of `user` and ends their sessions; how many of both.
pub async fn revoke_access(pool: &SqlitePool, user: &str) -> Result<u64, AuthError> {
    ensure_user(pool, user).await?;
    let tokens = sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE user = ? AND revoked = 0")
        .bind(user)
        .execute(pool)
        .await?
        .rows_affected();
    let sessions = sqlx::query("DELETE FROM sessions WHERE user = ?")
        .bind(user)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(tokens + sessions)
}

/// The owner of a live token.
pub async fn token_principal(
    pool: &SqlitePool,
    token: &str,
) -> Result<Option<Principal>, AuthError> {
    let row = sqlx::query(
        "SELECT u.name, u.role FROM api_tokens t JOIN users u ON u.name = t.user \
         WHERE t.token_sha256 = ? AND t.revoked = 0",
    )
    .bind(token_digest(token))
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some(r) => principal(r.try_get("name")?, &r.try_get::<String, _>("role")?),
        None => None,
    })
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub ts_ns: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub outcome: String,
}

/// Appends to the audit log.
pub async fn audit(
    pool: &SqlitePool,
    now_ns: u64,
    actor: &str,
    action: &str,
    detail: &str,
    outcome: &str,
) -> Result<i64, AuthError> {
    let row = sqlx::query(
        "INSERT INTO audit_log (ts_ns, actor, action, detail, outcome) VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(i64::try_from(now_ns).unwrap_or(i64::MAX))
    .bind(actor)
    .bind(action)
    .bind(detail)
    .bind(outcome)
    .fetch_one(pool)
    .await?;
    Ok(row.try_get("id")?)
}

/// The latest `last` audit records, newest first.
pub async fn audit_log(pool: &SqlitePool, last: u32) -> Result<Vec<AuditEntry>, AuthError> {
    let rows = sqlx::query(
        "SELECT id, ts_ns, actor, action, detail, outcome FROM audit_log ORDER BY id DESC LIMIT ?",
    )
    .bind(i64::from(last))
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get("id")?,
                ts_ns: r.try_get("ts_ns")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                detail: r.try_get("detail")?,
                outcome: r.try_get("outcome")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Journal;

    #[tokio::test]
    async fn users_tokens_and_an_append_only_audit_log() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("env.db")).await.unwrap();
        let pool = j.pool();
        add_user(pool, "alice", Role::Operator, "correct horse battery", 1)
            .await
            .unwrap();
        assert!(matches!(
            add_user(pool, "alice", Role::Admin, "another long password", 2).await,
            Err(AuthError::Exists(_))
        ));
        assert!(matches!(
            add_user(pool, "bob", Role::Viewer, "short", 2).await,
            Err(AuthError::WeakPassword(_))
        ));
        assert!(matches!(
            add_user(pool, "bob smith", Role::Viewer, "long enough password", 2).await,
            Err(AuthError::BadName(_))
        ));
        let stored: String = sqlx::query_scalar("SELECT password_hash FROM users")
            .fetch_one(pool)
            .await
            .unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        let alice = check_password(pool, "alice", "correct horse battery")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(alice.role, Role::Operator);
        assert_eq!(
            check_password(pool, "alice", "wrong horse battery")
                .await
                .unwrap(),
            None
        );
        assert_eq!(check_password(pool, "nobody", "x").await.unwrap(), None);

        let token = create_token(pool, "alice", "cli", 3).await.unwrap();
        assert!(token.starts_with("pqap_") && token.len() == 69);
        assert_eq!(token_principal(pool, &token).await.unwrap(), Some(alice));
        assert_eq!(token_principal(pool, "pqap_guess").await.unwrap(), None);
        // Revoking ends every token (and session) of the user, and only theirs.
        let spare = create_token(pool, "alice", "spare", 3).await.unwrap();
        crate::store::sessions::create(pool, "alice", 3, 1_000)
            .await
            .unwrap();
        assert_eq!(revoke_access(pool, "alice").await.unwrap(), 3);
        assert_eq!(token_principal(pool, &spare).await.unwrap(), None);
        assert!(matches!(
            revoke_access(pool, "nobody").await,
            Err(AuthError::NoUser(_))
        ));
        let token = create_token(pool, "alice", "cli", 3).await.unwrap();
        let kept: String = sqlx::query_scalar("SELECT token_sha256 FROM api_tokens")
            .fetch_one(pool)
            .await
            .unwrap();
        assert!(
            !kept.contains(&token[5..]),
            "the token itself is not stored"
        );
        assert!(matches!(
            create_token(pool, "nobody", "cli", 3).await,
            Err(AuthError::NoUser(_))
        ));

        audit(pool, 5, "alice", "risk", "halt", "ok").await.unwrap();
        audit(pool, 6, "alice", "risk", "resume", "ok")
            .await
            .unwrap();
        let log = audit_log(pool, 10).await.unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].detail, "resume");
        let e = sqlx::query("UPDATE audit_log SET actor = 'mallory'")
            .execute(pool)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        assert!(
            sqlx::query("DELETE FROM audit_log")
                .execute(pool)
                .await
                .is_err()
        );
    }
}
