-- History retention and blob garbage collection (worker/src/catalog/retention.ts, run by the cron sweep).
-- `touched`: the last time a publish was about to reference the blob (or its creation). A blob that no entry and
-- no kept version refers to is deleted, with its R2 objects, only once `touched` is older than a grace period, so
-- a publish in flight that reuses it is never left pointing at a deleted object.
ALTER TABLE blobs ADD COLUMN touched INTEGER NOT NULL DEFAULT 0;
UPDATE blobs SET touched = created;
CREATE INDEX blobs_by_touched ON blobs (touched);
-- "Is this blob still referenced?" is two index lookups, not scans.
CREATE INDEX entries_by_blob ON entries (blob);
CREATE INDEX entry_versions_by_blob ON entry_versions (blob);
-- Versions past the retention are found by when they were replaced.
CREATE INDEX entry_versions_by_replaced ON entry_versions (replaced);
