-- Alerts raised while the server runs: strategy faults and quarantines, daily
-- loss halts, feed outages, trading-state changes.
CREATE TABLE IF NOT EXISTS alerts (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ns     INTEGER NOT NULL,
    severity  TEXT    NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    kind      TEXT    NOT NULL,
    strategy  TEXT,
    message   TEXT    NOT NULL
);
