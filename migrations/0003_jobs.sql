-- Conversion jobs (worker/src/jobs, docs/jobs-protocol.md): one row per publishing request, an append-only
-- event log per job (what `/listen/<id>` replays from the start), and resumable upload sessions.
-- Times are unix seconds.

CREATE TABLE jobs (
  id TEXT PRIMARY KEY NOT NULL,          -- random UUID: knowing it is what lets anyone read the job
  kind TEXT NOT NULL CHECK (kind IN ('tar', 'flist', 'merge')),
  user TEXT NOT NULL,                    -- token subject that asked for it
  repository TEXT NOT NULL,              -- acting repository: where the result is published
  name TEXT NOT NULL,                    -- target "<name>.flist"
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  progress INTEGER NOT NULL DEFAULT 0,   -- 0..100, last reported
  message TEXT NOT NULL DEFAULT '',      -- last progress message, or the failure reason
  attempts INTEGER NOT NULL DEFAULT 0,   -- dispatches so far; the converter's calls carry the current one
  lease_until INTEGER NOT NULL,          -- queued/running: when the job may be dispatched (again)
  last_error TEXT,                       -- why the previous attempt ended (lease expiry, converter unreachable)
  params TEXT NOT NULL DEFAULT '{}',     -- JSON: metadata (tar), sources (merge)
  result TEXT,                           -- JSON on success: publish result + counts
  input_key TEXT,                        -- R2 key of the staged input (tar, flist); deleted once the job ends
  input_size INTEGER,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  finished INTEGER
) WITHOUT ROWID;
CREATE INDEX jobs_by_repository ON jobs (repository, created);
-- The lease sweep: queued/running jobs whose lease has expired.
CREATE INDEX jobs_by_lease ON jobs (status, lease_until);

-- Append-only: `seq` counts from 1 per job. Rows are the SSE `data:` objects, in order.
CREATE TABLE job_events (
  job_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  data TEXT NOT NULL,                    -- JSON event ({"status":"update"|"info"|"error", ...})
  created INTEGER NOT NULL,
  PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

-- Resumable uploads of large archives (R2 multipart uploads). The session id becomes the job id on completion.
CREATE TABLE upload_sessions (
  id TEXT PRIMARY KEY NOT NULL,
  user TEXT NOT NULL,
  repository TEXT NOT NULL,
  name TEXT NOT NULL,                    -- target "<name>.flist"
  r2_key TEXT NOT NULL,
  r2_upload_id TEXT NOT NULL,
  params TEXT NOT NULL DEFAULT '{}',     -- JSON: metadata for the job
  part_size INTEGER NOT NULL,            -- every part but the last has exactly this size (R2 rule)
  status TEXT NOT NULL CHECK (status IN ('open', 'completed', 'aborted')),
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX upload_sessions_by_status ON upload_sessions (status, updated);

-- Parts received so far (R2's Workers binding cannot list the parts of an upload, so they are recorded here).
CREATE TABLE upload_parts (
  upload_id TEXT NOT NULL,
  part_number INTEGER NOT NULL,
  etag TEXT NOT NULL,
  size INTEGER NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
