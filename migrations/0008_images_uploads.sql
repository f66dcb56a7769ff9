-- Resumable uploads of large image files (issue 7, worker/src/images/resumable.ts): an R2 multipart upload whose
-- parts arrive in order, each continuing the SHA-256 states saved here after the previous part (the file's own
-- hash and, for a root file, sha256(metadata ‖ root) for each metadata file of the version), so nothing is read
-- back when the upload completes.
CREATE TABLE image_uploads (
  id TEXT PRIMARY KEY NOT NULL,
  repository TEXT NOT NULL,              -- the acting repository that created it (only it may continue it)
  product TEXT NOT NULL,
  version TEXT NOT NULL,
  file TEXT NOT NULL,                    -- upload file name (rootfs.squashfs, disk.qcow2, …)
  object_key TEXT NOT NULL,
  upload_id TEXT NOT NULL,               -- R2 multipart upload id
  size INTEGER NOT NULL,
  part_size INTEGER NOT NULL,
  next_part INTEGER NOT NULL DEFAULT 1,
  received INTEGER NOT NULL DEFAULT 0,
  own_state TEXT NOT NULL,               -- SHA-256 state of the file so far (sha256.ts save())
  combined_states TEXT NOT NULL,         -- JSON {metadata name: {"base": its state, "now": continued state}}
  parts TEXT NOT NULL DEFAULT '[]',      -- JSON [{partNumber, etag}]
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
) WITHOUT ROWID;
