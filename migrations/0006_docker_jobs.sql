-- Docker/OCI image conversion jobs (issue 5): the `docker` job kind. SQLite cannot change a CHECK constraint in
-- place, so the jobs table is rebuilt with the same columns, rows and indexes (job_events and upload_sessions
-- refer to jobs by id only, without foreign keys, so they are untouched).
-- A docker job's `params` holds the image request and, when the caller gave registry credentials, only their
-- AES-GCM ciphertext (`sealed`), removed when the job ends (worker/src/jobs/credentials.ts).

CREATE TABLE jobs_new (
  id TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('tar', 'flist', 'merge', 'docker')),
  user TEXT NOT NULL,
  repository TEXT NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  progress INTEGER NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_until INTEGER NOT NULL,
  last_error TEXT,
  params TEXT NOT NULL DEFAULT '{}',     -- JSON: metadata (tar), sources (merge), image request + sealed credentials (docker)
  result TEXT,
  input_key TEXT,
  input_size INTEGER,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  finished INTEGER
) WITHOUT ROWID;

INSERT INTO jobs_new (id, kind, user, repository, name, status, progress, message, attempts, lease_until, last_error,
                      params, result, input_key, input_size, created, updated, finished)
  SELECT id, kind, user, repository, name, status, progress, message, attempts, lease_until, last_error,
         params, result, input_key, input_size, created, updated, finished
    FROM jobs;

DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_by_repository ON jobs (repository, created);
CREATE INDEX jobs_by_lease ON jobs (status, lease_until);
