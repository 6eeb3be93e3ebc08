-- Strategy restart points stored once by content: the journal's `snapshot`
-- entries name a blob by its SHA-256, so an unchanged state costs one short
-- entry instead of a copy.
CREATE TABLE IF NOT EXISTS snapshot_blobs (
    sha256 TEXT    PRIMARY KEY,
    size   INTEGER NOT NULL,
    bytes  BLOB    NOT NULL
);

CREATE TRIGGER IF NOT EXISTS snapshot_blobs_no_update BEFORE UPDATE ON snapshot_blobs
BEGIN SELECT RAISE(ABORT, 'snapshot blobs are immutable'); END;
