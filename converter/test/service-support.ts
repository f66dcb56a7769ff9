/** Shared set-up of the converter service tests: a hub peer, a converter on a free port, archives built in tests. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createGzip } from "node:zlib";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { loadConfig } from "../src/service/config.ts";
import { type ConverterService, startConverter } from "../src/service/server.ts";
import { HubPeer } from "./service-peer.ts";

export const FIXTURES = path.join(import.meta.dirname, "../../../shared/fixtures/flists");
export const SECRET = "converter-test-secret-0123456789";

export interface Rig {
  peer: HubPeer;
  converter: ConverterService;
  storeDir: string;
  work: string;
  logs: string[];
  /** POST /jobs with the internal secret. */
  submit(spec: Record<string, unknown>, secret?: string): Promise<Response>;
  stop(): Promise<void>;
}

export async function startRig(env: Record<string, string> = {}, heartbeatMs?: number): Promise<Rig> {
  const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-service-test-"));
  const storeDir = path.join(work, "store");
  const peer = new HubPeer(SECRET);
  await peer.start();
  const logs: string[] = [];
  const config = loadConfig({
    HUB_URL: peer.url,
    HUB_CHUNK_STORE: `file://${storeDir}`,
    HUB_BACKEND: "hub.example.org:9900/public",
    INTERNAL_SECRET: SECRET,
    CONVERTER_HOST: "127.0.0.1",
    CONVERTER_PORT: "0",
    CONVERTER_THREADS: "1",
    ...env,
  });
  const converter = await startConverter(config, { log: (line) => logs.push(line), ...(heartbeatMs ? { heartbeatMs } : {}) });
  return {
    peer,
    converter,
    storeDir,
    work,
    logs,
    submit: (spec, secret = SECRET) =>
      fetch(`${converter.url}/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify(spec),
      }),
    stop: async () => {
      await converter.close();
      await peer.stop();
      await fs.promises.rm(work, { recursive: true, force: true });
    },
  };
}

export interface TarMember {
  name: string;
  type?: "file" | "directory" | "symlink";
  body?: string | Buffer;
  linkname?: string;
}

/** A .tar.gz built from `members` (written to `file`). */
export async function makeTarGz(file: string, members: TarMember[]): Promise<string> {
  const pack = tar.pack();
  const done = pipeline(pack, createGzip(), fs.createWriteStream(file));
  for (const m of members) {
    const type = m.type ?? "file";
    const header = { name: m.name, type, mode: type === "directory" ? 0o755 : 0o644, mtime: new Date(1_700_000_000_000), ...(m.linkname ? { linkname: m.linkname } : {}) };
    if (type === "file") pack.entry(header, Buffer.from(m.body ?? ""));
    else pack.entry(header);
  }
  pack.finalize();
  await done;
  return file;
}

/** The `response` of a fixture's expected view (e.g. `find.json`). */
export function expected(flist: string, file: string): unknown {
  return (JSON.parse(fs.readFileSync(path.join(FIXTURES, `${flist}.flist.expected`, file), "utf8")) as { response: unknown }).response;
}

export const jobId = (() => {
  let n = 0;
  return (label: string) => `${label}-${process.pid}-${++n}`;
})();

export async function waitFor(check: () => boolean, timeoutMs = 20_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
