/**
 * The real zflist 2.3.0 (converter/test/support/reference-tools.ts) as a user runs it on a downloaded flist: its
 * own `ZFLIST_MNT` in a temporary directory, JSON answers. `check` and `get` fetch the chunks from the backend
 * named in the flist's own `backend` metadata, as a Zero-OS node does.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { zflistBinary } from "../../converter/test/support/reference-tools.ts";

const run = promisify(execFile);

export interface ZflistAnswer<T> {
  success: boolean;
  error: { function: string; message: string } | null;
  response: T;
}

export interface ZflistCheck {
  content: { size: number; path: string }[];
  regular: number;
  symlink: number;
  directory: number;
  special: number;
  failure: number;
  fullsize: number;
}

export interface OpenFlist {
  find(): Promise<ZflistAnswer<{ content: { size: number; path: string }[] }>>;
  check(): Promise<ZflistAnswer<ZflistCheck>>;
  /** The value of one metadata key (JSON for `backend`). */
  metadata(key: string): Promise<unknown>;
  /** Reads one file back through the backend into `out`. */
  get(file: string, out: string): Promise<void>;
  close(): Promise<void>;
}

/** `zflist open <flist>` in a fresh mount directory. */
export async function zflistOpen(flist: string): Promise<OpenFlist> {
  const mnt = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-zflist-"));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ZFLIST_MNT: mnt, ZFLIST_JSON: "1" };
  const zflist = async (args: string[]) => {
    try {
      return (await run(zflistBinary(), args, { env, maxBuffer: 64 * 1024 * 1024 })).stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`zflist ${args.join(" ")} failed: ${e.stdout ?? ""}${e.stderr ?? ""}${e.message}`);
    }
  };
  await zflist(["open", flist]);
  return {
    find: async () => JSON.parse(await zflist(["find"])) as ZflistAnswer<{ content: { size: number; path: string }[] }>,
    check: async () => JSON.parse(await zflist(["check"])) as ZflistAnswer<ZflistCheck>,
    metadata: async (key) => (JSON.parse(await zflist(["metadata", key])) as ZflistAnswer<{ value: unknown }>).response.value,
    get: async (file, out) => {
      await zflist(["get", file, out]);
    },
    close: async () => {
      try {
        await zflist(["close"]);
      } finally {
        await fs.promises.rm(mnt, { recursive: true, force: true });
      }
    },
  };
}
