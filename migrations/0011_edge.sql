-- Edge cache invalidation (worker/src/edge/purge.ts, docs/catalog-api.md "Edge cache"): after a write, the links
-- that resolve through the changed entries (or tags) are found backwards, from target to link. Without this index
-- that lookup would scan every entry of the catalog on every write.
CREATE INDEX entries_by_target ON entries (target_repository, target_name);
