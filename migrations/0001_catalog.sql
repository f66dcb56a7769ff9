-- Catalog of the hub (worker/src/catalog): repositories, their entries, tags, the content-addressed
-- blobs the entries point at, version history and publish-job idempotency.
--
-- Names are stored as the original hub stored file names: flists and links end in ".flist"
-- ("x.flist"), taglinks do not ("production"), tags are stored without the ".tag-" prefix.
-- Times are unix seconds. Every per-repository request is an index lookup on (repository, ...).

CREATE TABLE repositories (
  name TEXT PRIMARY KEY NOT NULL,
  created INTEGER NOT NULL,
  -- Changes whenever an entry or tag of the repository is created, replaced, renamed or removed
  -- (hub-clone mirrors incrementally on this value).
  updated INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per distinct .flist file (R2 object `blob_key`), shared by every entry that points at it.
-- Never deleted by catalog operations: history rows keep referring to old blobs.
CREATE TABLE blobs (
  sha256 TEXT PRIMARY KEY NOT NULL,      -- 64 lowercase hex
  md5 TEXT NOT NULL,                     -- 32 lowercase hex, served by `.md5` and `/light`
  size INTEGER NOT NULL,                 -- bytes of the .flist file
  regular INTEGER NOT NULL,              -- counts of the contents listing (zflist `find`)
  symlink INTEGER NOT NULL,
  directory INTEGER NOT NULL,
  special INTEGER NOT NULL,
  failure INTEGER NOT NULL,
  fullsize INTEGER NOT NULL,
  metadata TEXT NOT NULL,                -- JSON object: flist metadata key -> value
  blob_key TEXT NOT NULL,                -- R2 key of the .flist bytes
  contents_key TEXT NOT NULL,            -- R2 key of the contents listing JSON
  created INTEGER NOT NULL
) WITHOUT ROWID;

-- Entries of a repository: `regular` points at a blob; `symlink` at another entry (same or other
-- repository, possibly dangling); `taglink` at a tag (possibly dangling).
CREATE TABLE entries (
  repository TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('regular', 'symlink', 'taglink')),
  blob TEXT,                             -- regular: blobs.sha256
  target_repository TEXT,                -- symlink: entry's repository; taglink: tag's repository
  target_name TEXT,                      -- symlink: entry name ("x.flist"); taglink: tag name
  target_raw TEXT,                       -- the original's readlink() string, shown raw by /light
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,              -- when the entry's content last changed (the file mtime)
  linktime INTEGER,                      -- links: when the link itself was written
  PRIMARY KEY (repository, name),
  CHECK ((kind = 'regular') = (blob IS NOT NULL)),
  CHECK ((kind = 'regular') = (target_name IS NULL))
) WITHOUT ROWID;
-- Links are followed forwards only: (target_repository, target_name) is looked up as the primary key.

-- Tags of a repository (the original's `.tag-<name>` directories). A tag exists while it has members.
CREATE TABLE tags (
  repository TEXT NOT NULL,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,              -- changes when a member is added, replaced or removed
  PRIMARY KEY (repository, name)
) WITHOUT ROWID;

-- Members of a tag: always links to an entry ("../../<repo>/<name>.flist" in the original).
CREATE TABLE tag_members (
  repository TEXT NOT NULL,
  tag TEXT NOT NULL,
  name TEXT NOT NULL,                    -- "<linkname>.flist"
  target_repository TEXT NOT NULL,
  target_name TEXT NOT NULL,             -- "<src>.flist"
  linktime INTEGER NOT NULL,
  PRIMARY KEY (repository, tag, name),
  FOREIGN KEY (repository, tag) REFERENCES tags (repository, name) ON DELETE CASCADE
) WITHOUT ROWID;

-- Previous versions of a name, written whenever an upload/publish, rename, promote, link, restore or
-- delete replaces or removes an entry. `version` counts per (repository, name) from 1.
CREATE TABLE entry_versions (
  repository TEXT NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('regular', 'symlink', 'taglink')),
  blob TEXT,
  target_repository TEXT,
  target_name TEXT,
  target_raw TEXT,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  linktime INTEGER,
  replaced INTEGER NOT NULL,             -- when this version stopped being current
  reason TEXT NOT NULL,                  -- publish | rename | promote | link | crosslink | crosstag | restore | delete
  PRIMARY KEY (repository, name, version)
) WITHOUT ROWID;

-- Publish idempotency: a queue may deliver the same job twice; the second delivery answers the
-- first result and writes nothing.
CREATE TABLE publish_jobs (
  job_id TEXT PRIMARY KEY NOT NULL,
  repository TEXT NOT NULL,
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  result TEXT NOT NULL,                  -- JSON payload answered to the publisher
  created INTEGER NOT NULL
) WITHOUT ROWID;

-- Preconditions inside a D1 batch (one transaction): a service inserts EXISTS(<condition>) here; a false
-- condition violates the CHECK, which fails the batch and rolls back the whole operation. The batch deletes
-- its rows before committing, so the table stays empty.
CREATE TABLE batch_guards (
  ok INTEGER NOT NULL CHECK (ok = 1)
);
