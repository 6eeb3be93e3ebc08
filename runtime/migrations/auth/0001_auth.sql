-- Who may use the server, their sessions, and what they did: a database of its
-- own, beside the journal's, so that traffic from clients who have not proved
-- who they are never writes to the trading database. Passwords are argon2
-- hashes; API tokens and session cookies are stored as their SHA-256.
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
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT    PRIMARY KEY,
    user         TEXT    NOT NULL REFERENCES users (name),
    csrf         TEXT    NOT NULL,
    created_ns   INTEGER NOT NULL,
    expires_ns   INTEGER NOT NULL
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
-- Set once the users, tokens, sessions and audit rows an older version kept
-- in the journal's database have been copied here.
CREATE TABLE IF NOT EXISTS moved_from_journal (
    done_ns INTEGER NOT NULL
);
