-- Download counts per flist (worker/src/counts, docs/catalog-api.md "Download counts"). A download sends a queue
-- message; the consumer adds a batch's counts here in one statement. Keyed by the regular entry a download resolved
-- to (a download through a link counts for its target); a deleted or renamed flist keeps its row under the old name
-- (a new flist under that name continues the count).
CREATE TABLE download_counts (
  repository TEXT NOT NULL,
  name TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (repository, name)
) WITHOUT ROWID;
