-- Browser sessions: the cookie is a 256-bit random value of which only the
-- SHA-256 is kept; each session has its own CSRF token for form posts.
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT    PRIMARY KEY,
    user         TEXT    NOT NULL REFERENCES users (name),
    csrf         TEXT    NOT NULL,
    created_ns   INTEGER NOT NULL,
    expires_ns   INTEGER NOT NULL
);
