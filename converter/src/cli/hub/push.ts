/**
 * `zhub push <dir|archive>`: the homemade-flist flow (what 0-hub-gw served over RESP, now over HTTPS): build the
 * flist here with the engine, chunks computed locally into a temporary store, ask the hub which chunks it lacks
 * (`POST /api/chunks/missing`), upload only those (`PUT /api/chunks/<hash>`, a few at a time), then upload the
 * `.flist` (`upload-flist`), which the hub accepts only once every chunk is present.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { writeFlist } from "../../flist/index.ts";
import type { DirNode, FlistTree } from "../../flist/model.ts";
import { ingestPath } from "../../ingest/index.ts";
import { type ChunkStore, openStore } from "../../store/index.ts";
import { Progress } from "../progress.ts";
import { type HubClient, HubApiError, parseEnvelope } from "./client.ts";
import { acceptedSchema } from "./jobs.ts";

/** The hub's limit per `missing` request. */
const MISSING_BATCH = 10_000;
/** Chunk PUTs in flight: each is small (≤ ~600 KB), latency dominates. */
const PARALLEL_CHUNKS = 8;

export interface PushOptions {
  name: string;
  backend: string;
  threads?: number;
  stderr: NodeJS.WriteStream;
  log: (line: string) => Promise<void>;
}

export interface PushResult {
  job: string;
  chunks: number;
  uploaded: number;
}

/** Distinct chunk keys of the flist, in first-use order. */
export function chunkKeys(tree: FlistTree): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  const stack: DirNode[] = [tree.root];
  while (stack.length > 0) {
    const dir = stack.pop() as DirNode;
    for (const child of dir.children) {
      if (child.kind === "dir") stack.push(child);
      else if (child.kind === "file") for (const b of child.blocks) seen.set(Buffer.from(b.hash).toString("hex"), b.hash);
    }
  }
  return [...seen.values()];
}

const missingSchema = z.object({ missing: z.array(z.string()) });

export async function push(client: HubClient, source: string, options: PushOptions): Promise<PushResult> {
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-push-"));
  let local: ChunkStore | undefined;
  try {
    local = await openStore(`file://${path.join(work, "chunks")}`);
    const stat = await fs.promises.stat(source);
    const total = stat.isDirectory() ? 0 : stat.size;
    const building = new Progress("build", options.stderr);
    const { tree, stats } = await ingestPath(source, {
      store: local,
      backend: options.backend,
      ...(options.threads ? { threads: options.threads } : {}),
      onProgress: (p) => building.update({ done: stat.isDirectory() ? p.fileBytes : p.sourceBytes, total, detail: `${p.files} files` }),
    });
    building.done();
    const flist = path.join(work, `${options.name}.flist`);
    await writeFlist(tree, flist);
    const keys = chunkKeys(tree);
    await options.log(`built ${options.name}.flist: ${stats.regular} files, ${stats.fileBytes} bytes, ${keys.length} chunks`);

    const missing: string[] = [];
    for (let i = 0; i < keys.length; i += MISSING_BATCH) {
      const hashes = keys.slice(i, i + MISSING_BATCH).map((k) => Buffer.from(k).toString("hex"));
      const { payload } = await client.call(
        "/api/chunks/missing",
        { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ hashes }) },
        missingSchema,
      );
      missing.push(...payload.missing);
    }

    const uploading = new Progress("chunks", options.stderr, 0);
    let done = 0;
    let bytes = 0;
    const queue = [...missing];
    const store = local;
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL_CHUNKS, queue.length) }, async () => {
        for (let hash = queue.shift(); hash !== undefined; hash = queue.shift()) {
          const value = await store.get(Buffer.from(hash, "hex"));
          if (value === null) throw new HubApiError(`chunk ${hash} is not in the local build store`, 0);
          const { status, text } = await putChunk(client, hash, value);
          parseEnvelope(status, text, z.unknown());
          done++;
          bytes += value.byteLength;
          uploading.update({ done: bytes, total: 0, detail: `${done}/${missing.length} chunks` });
        }
      }),
    );
    uploading.done();
    await options.log(`chunks: ${keys.length - missing.length} already on the hub, ${missing.length} uploaded (${bytes} bytes)`);

    const form = new FormData();
    form.append("file", await fs.openAsBlob(flist), `${options.name}.flist`);
    const { payload } = await client.call(
      "/api/flist/me/upload-flist?async=1",
      { method: "POST", headers: { "x-original-name": `${options.name}.flist` }, body: form },
      acceptedSchema,
    );
    return { job: payload.job, chunks: keys.length, uploaded: missing.length };
  } finally {
    await local?.close();
    await fs.promises.rm(work, { recursive: true, force: true });
  }
}

async function putChunk(client: HubClient, hash: string, value: Uint8Array): Promise<{ status: number; text: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await client.fetch(`/api/chunks/${hash}`, { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: value });
      const text = await res.text();
      // Transient failures (a busy converter, a dropped connection) are retried; the hub's refusals are not.
      if (res.status < 500 || attempt >= 3) return { status: res.status, text };
    } catch (err) {
      if (attempt >= 3) throw err;
    }
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
}
