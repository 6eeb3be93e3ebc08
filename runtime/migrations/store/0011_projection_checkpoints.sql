-- The projections as of an entry, so that a start replays only the entries
-- after the newest checkpoint instead of the whole journal. A checkpoint is
-- derived data: it is trusted only when its signature (HMAC with the journal
-- key, which is not in this file) checks, its format is the running one, and
-- the journal still holds the entry it names with the same chain hash.
-- `pqap journal verify` replays the journal and checks that each checkpoint
-- equals the replay at its entry.
CREATE TABLE projection_checkpoints (
    seq        INTEGER PRIMARY KEY,
    entry_hash TEXT    NOT NULL,
    format     INTEGER NOT NULL,
    state      BLOB    NOT NULL,
    mac        TEXT    NOT NULL
);
