-- Operator requests to a running engine (the engine applies and journals them;
-- the journal stays written by one process only).
CREATE TABLE IF NOT EXISTS control_requests (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    requested_ns INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    trading_state TEXT  NOT NULL,
    applied_seq INTEGER
);
