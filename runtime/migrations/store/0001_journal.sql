-- The append-only journal: every state-changing input and every decision, in one
-- total order, each entry chained to the previous one by its hash.
CREATE TABLE IF NOT EXISTS journal (
    seq        INTEGER PRIMARY KEY,
    ts_ns      INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    strategy   INTEGER,
    body       TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS journal_kind ON journal (kind, seq);
CREATE INDEX IF NOT EXISTS journal_strategy ON journal (strategy, seq);

-- Refuse edits of history at the database level too.
CREATE TRIGGER IF NOT EXISTS journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
