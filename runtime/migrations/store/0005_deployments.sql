-- Deployments asked of the running engine: a component (by sha256) with its
-- parameters and risk limits, or the retirement of a strategy. The engine
-- applies them in order and records what happened; the latest applied row per
-- strategy says what a restarted server runs.
CREATE TABLE IF NOT EXISTS deployments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    requested_ns INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    strategy     TEXT    NOT NULL,
    action       TEXT    NOT NULL CHECK (action IN ('deploy', 'retire')),
    sha256       TEXT,
    params       TEXT    NOT NULL DEFAULT '{}',
    limits       TEXT    NOT NULL DEFAULT '{}',
    applied_seq  INTEGER,
    outcome      TEXT CHECK (outcome IN ('started', 'reloaded', 'rolled_back', 'retired', 'not_running', 'failed')),
    message      TEXT
);
CREATE INDEX IF NOT EXISTS deployments_strategy ON deployments (strategy, id);
