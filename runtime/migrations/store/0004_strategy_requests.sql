-- Operator requests to pause or resume one strategy of the running engine.
CREATE TABLE IF NOT EXISTS strategy_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    requested_ns INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    strategy     TEXT    NOT NULL,
    action       TEXT    NOT NULL CHECK (action IN ('pause', 'resume')),
    applied_seq  INTEGER
);
