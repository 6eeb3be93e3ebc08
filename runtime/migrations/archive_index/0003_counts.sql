-- Messages by kind: book snapshots, level changes (a `price_change` message
-- carries several) and trades, so a day's size reads as the venue counts it.
ALTER TABLE partitions ADD COLUMN books INTEGER NOT NULL DEFAULT 0;
ALTER TABLE partitions ADD COLUMN level_changes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE partitions ADD COLUMN trades INTEGER NOT NULL DEFAULT 0;
