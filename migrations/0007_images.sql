-- LXD/Incus image server (issue 7, worker/src/images): simplestreams products, their versions, the files of
-- each version and the combined (metadata ‖ rootfs) hashes LXD/Incus use as image fingerprints.
-- `images.json` is generated from these tables on each request; nothing is rewritten in R2 per upload.

-- A product `<os>:<release>:<arch>:<variant>`, owned by the repository that first uploaded to it: only
-- members of that repository may add, replace or delete its files.
CREATE TABLE image_products (
  product TEXT PRIMARY KEY NOT NULL,     -- "<os>:<release>:<arch>:<variant>", the path segments as uploaded
  repository TEXT NOT NULL,
  os TEXT NOT NULL,                      -- shown `os` (metadata.json may override the path's)
  release TEXT NOT NULL,
  release_title TEXT NOT NULL,           -- metadata.json may override (default: the release)
  arch TEXT NOT NULL,                    -- path segment as uploaded
  variant TEXT NOT NULL,
  aliases TEXT NOT NULL DEFAULT '',      -- comma-joined extra aliases from metadata.json (path alias always added)
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX image_products_by_repository ON image_products (repository, product);

CREATE TABLE image_versions (
  product TEXT NOT NULL,
  version TEXT NOT NULL,                 -- "YYYYMMDD_HH:MM"
  created INTEGER NOT NULL,
  PRIMARY KEY (product, version)
) WITHOUT ROWID;

-- A file of a version. `name` is the stored file name (`rootfs.squashfs`, or `rootfs-1.squashfs` for a
-- re-upload kept beside the first when overwrites are off); `object_key` its R2 object (unique per upload, so
-- a replaced file never serves stale bytes). Metadata files keep `hash_state`: the serialized SHA-256 state
-- after their bytes, which each root file uploaded later continues (worker/src/images/sha256.ts).
CREATE TABLE image_items (
  product TEXT NOT NULL,
  version TEXT NOT NULL,
  name TEXT NOT NULL,
  ftype TEXT NOT NULL,                   -- lxd.tar.xz | incus.tar.xz | squashfs | root.tar.xz | disk-kvm.img
  object_key TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  hash_state TEXT,                       -- metadata files only: hex of the SHA-256 state after the file
  created INTEGER NOT NULL,
  PRIMARY KEY (product, version, name)
) WITHOUT ROWID;

-- sha256(metadata file ‖ root file) for each (metadata, root) pair of a version: the image fingerprint.
CREATE TABLE image_combined (
  product TEXT NOT NULL,
  version TEXT NOT NULL,
  meta_name TEXT NOT NULL,
  root_name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (product, version, meta_name, root_name)
) WITHOUT ROWID;
