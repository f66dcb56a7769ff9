-- Website search (worker/src/web/search): readmes of flists in an FTS5 index.
--
-- Readmes live in the flist's metadata, i.e. in `blobs`, which are content-addressed and never change or
-- disappear once written. So the index is keyed by blob and filled by a trigger when a blob row is inserted
-- (and once below for the blobs that already exist): it can never go stale, whatever renames, deletes, links
-- or restores do to the entries. A search joins the matching blobs with the entries that currently point at
-- them. Names of repositories and flists are searched with LIKE on `entries`/`repositories` instead: short
-- strings, always current, substring matches.

CREATE TABLE search_readmes (
  id INTEGER PRIMARY KEY,                -- rowid of the FTS row
  sha256 TEXT NOT NULL UNIQUE,           -- blobs.sha256
  readme TEXT NOT NULL
);

CREATE VIRTUAL TABLE search_readmes_fts USING fts5(
  readme,
  content = 'search_readmes',
  content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER search_readmes_insert AFTER INSERT ON search_readmes BEGIN
  INSERT INTO search_readmes_fts (rowid, readme) VALUES (new.id, new.readme);
END;

-- The readme of a metadata JSON: zflist's {"readme": {"readme": "<text>", "license": …}} or a plain string.
-- CASE evaluates lazily, so invalid JSON (never expected) yields NULL instead of failing the publish batch.
CREATE TRIGGER search_blobs_insert AFTER INSERT ON blobs
WHEN json_valid(new.metadata)
BEGIN
  INSERT OR IGNORE INTO search_readmes (sha256, readme)
  SELECT new.sha256, text FROM (
    SELECT CASE json_type(new.metadata, '$.readme')
             WHEN 'object' THEN json_extract(new.metadata, '$.readme.readme')
             WHEN 'text' THEN json_extract(new.metadata, '$.readme')
           END AS text
  ) WHERE typeof(text) = 'text' AND length(text) > 0;
END;

INSERT OR IGNORE INTO search_readmes (sha256, readme)
SELECT sha256, text FROM (
  SELECT sha256,
         CASE json_type(metadata, '$.readme')
           WHEN 'object' THEN json_extract(metadata, '$.readme.readme')
           WHEN 'text' THEN json_extract(metadata, '$.readme')
         END AS text
    FROM blobs WHERE json_valid(metadata)
) WHERE typeof(text) = 'text' AND length(text) > 0;
