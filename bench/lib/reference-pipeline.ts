/**
 * The reference pipeline of the flist-create benchmark, as a user of the original tools runs it: `tar -xzf` (zflist
 * needs a directory), then `zflist init`, `zflist putdir <tree> /` (chunks, hashes, compresses, encrypts and writes
 * every chunk to ZFLIST_BACKEND), the backend metadata and `zflist commit`. The reference binaries are the test
 * tools of docs/zdb.md ("Tests"): `$ZFLIST_BIN`, else the shared tools folder beside the checkout.
 */
import fs from "node:fs";
import path from "node:path";
import { zflistBinary } from "../../converter/test/support/reference-tools.ts";
import { timed } from "./timed.ts";

export interface ReferenceRun {
  wall: number;
  /** CPU seconds (user + system) per step. */
  extract: number;
  putdir: number;
  /** init + metadata + commit: SQLite, metadata and packing. */
  commit: number;
  rssMB: number;
}

/**
 * Runs the pipeline from `tarball` to `out` in `work` (emptied first). `zdbPort`: the chunks go to that 0-db
 * (default namespace); without it zflist computes the chunks and stores none (it has no file store).
 */
export function runReference(tarball: string, out: string, work: string, zdbPort?: number): ReferenceRun {
  fs.rmSync(work, { recursive: true, force: true });
  const tree = path.join(work, "tree");
  const mnt = path.join(work, "mnt");
  fs.mkdirSync(tree, { recursive: true });
  fs.mkdirSync(mnt, { recursive: true });
  const zflist = zflistBinary();
  const env = { ...process.env, ZFLIST_MNT: mnt };
  const backendEnv = zdbPort !== undefined ? { ...env, ZFLIST_BACKEND: JSON.stringify({ host: "127.0.0.1", port: zdbPort }) } : env;
  const started = process.hrtime.bigint();
  const extract = timed("tar", ["-xzf", tarball, "-C", tree]);
  const init = timed(zflist, ["init"], { env });
  const putdir = timed(zflist, ["putdir", tree, "/"], { env: backendEnv });
  const meta = zdbPort !== undefined ? [timed(zflist, ["metadata", "backend", "--host", "127.0.0.1", "--port", String(zdbPort)], { env })] : [];
  const commit = timed(zflist, ["commit", out], { env });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  fs.rmSync(work, { recursive: true, force: true }); // the extracted copy (not timed)
  const cpu = (t: { user: number; sys: number }) => t.user + t.sys;
  return {
    wall,
    extract: cpu(extract),
    putdir: cpu(putdir),
    commit: [init, ...meta, commit].reduce((s, t) => s + cpu(t), 0),
    rssMB: Math.max(extract.rssMB, init.rssMB, putdir.rssMB, commit.rssMB),
  };
}
