-- Market metadata as the venue listed it when the data was recorded (outcome
-- order, tick, minimum size, fee schedule), so backtests of a recording trade
-- the market the live session traded.
CREATE TABLE IF NOT EXISTS markets (
    condition   TEXT    PRIMARY KEY,
    -- Position in the venue's listing: instrument ids follow it.
    ord         INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    saved_ms    INTEGER NOT NULL
);
