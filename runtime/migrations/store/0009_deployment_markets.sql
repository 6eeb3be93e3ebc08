-- The markets a deployment trades (condition ids, slugs or question text, as a
-- JSON array); empty: every market the server trades.
ALTER TABLE deployments ADD COLUMN markets TEXT NOT NULL DEFAULT '[]';
