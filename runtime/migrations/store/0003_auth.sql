-- Who may use the server, and what they did. Passwords are argon2 hashes; API
-- tokens are stored as their SHA-256 (they are 256-bit random values, shown once).
CREATE TABLE IF NOT EXISTS users (
    name          TEXT    PRIMARY KEY,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_ns    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user          TEXT    NOT NULL REFERENCES users (name),
    token_sha256  TEXT    NOT NULL UNIQUE,
    label         TEXT    NOT NULL,
    created_ns    INTEGER NOT NULL,
    revoked       INTEGER NOT NULL DEFAULT 0
);
-- Every mutating action, who and when; append-only.
CREATE TABLE IF NOT EXISTS audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ns         INTEGER NOT NULL,
    actor         TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    detail        TEXT    NOT NULL,
    outcome       TEXT    NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
