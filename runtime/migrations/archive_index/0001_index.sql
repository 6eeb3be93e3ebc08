-- What the archive holds: partitions and, per partition, the tokens seen.
CREATE TABLE IF NOT EXISTS partitions (
    day         TEXT    PRIMARY KEY,
    first_ms    INTEGER NOT NULL,
    last_ms     INTEGER NOT NULL,
    payloads    INTEGER NOT NULL,
    events      INTEGER NOT NULL,
    compressed  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS partition_tokens (
    day         TEXT    NOT NULL,
    token       TEXT    NOT NULL,
    market      TEXT,
    first_ms    INTEGER NOT NULL,
    last_ms     INTEGER NOT NULL,
    events      INTEGER NOT NULL,
    PRIMARY KEY (day, token)
);
-- Coarse price series imported from /prices-history (exact decimal text).
CREATE TABLE IF NOT EXISTS price_points (
    token       TEXT    NOT NULL,
    t_ms        INTEGER NOT NULL,
    price       TEXT    NOT NULL,
    PRIMARY KEY (token, t_ms)
);
