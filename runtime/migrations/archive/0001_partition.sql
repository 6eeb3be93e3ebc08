-- One UTC day of market data: every payload as received (the source of truth)
-- and the normalised events decoded from it.
CREATE TABLE IF NOT EXISTS payloads (
    id          INTEGER PRIMARY KEY,
    received_ms INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    shard       INTEGER,
    raw         TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id          INTEGER PRIMARY KEY,
    payload_id  INTEGER NOT NULL REFERENCES payloads (id),
    ts_ms       INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    token       TEXT,
    market      TEXT,
    body        TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS events_payload ON events (payload_id);
CREATE INDEX IF NOT EXISTS events_token ON events (token, ts_ms);
