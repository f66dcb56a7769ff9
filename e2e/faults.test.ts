/**
 * Faults on the real local stack: the chunk store stopped during an upload, the same queue message delivered
 * twice, and hostile archives (path traversal, a gzip bomb, a truncated archive, a text file). Each time: the job
 * ends with a clear reason, and the catalog is exactly what it was (listing, md5 and history of the name it targeted).
 * The converter killed in the middle of a job (lease expiry) is in faults-lease.test.ts (its own stack).
 */
import { createGzip } from "node:zlib";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "./support/stack.ts";
import { fixture, sseEvents } from "./support/flists.ts";

const USER = "faults-alice";
/** The converter's cap on the bytes an archive expands to: small, so a 64 MiB bomb trips it fast. */
const MAX_EXPANDED = 16 * 1024 * 1024;
let stack: Stack;
let work: string;

beforeAll(async () => {
  stack = await startStack({ converterEnv: { CONVERTER_MAX_EXPANDED_BYTES: String(MAX_EXPANDED) } });
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-e2e-faults-"));
});

afterAll(async () => {
  await stack?.stop();
  if (work) await fs.promises.rm(work, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: { status: string; message?: string; payload?: Record<string, unknown> };
  job: string | null;
}

/** Streamed upload (`PUT /api/flist/me/upload/<name>.tar.gz`) of a file or bytes, waiting for the job. */
async function upload(name: string, source: string | Buffer, query = ""): Promise<Answer> {
  const body = typeof source === "string" ? fs.readFileSync(source) : source;
  const res = await fetch(`${stack.hubUrl}/api/flist/me/upload/${name}.tar.gz${query}`, { method: "PUT", headers: await stack.auth(USER), body: new Uint8Array(body) });
  const text = await res.text();
  let parsed: Answer["body"];
  try {
    parsed = JSON.parse(text) as Answer["body"];
  } catch {
    throw new Error(`PUT ${name}.tar.gz answered ${res.status}: ${text.slice(0, 500)}\n${stack.logs().slice(-3000)}`);
  }
  return { status: res.status, body: parsed, job: res.headers.get("x-hub-job") };
}

/** What the catalog shows of the user's repository and of one name: listing, md5, history. */
async function snapshot(name: string): Promise<unknown> {
  const get = async (route: string) => {
    const res = await fetch(`${stack.hubUrl}${route}`);
    return { status: res.status, body: await res.text() };
  };
  return {
    listing: await get(`/api/flist/${USER}`),
    md5: await get(`/${USER}/${name}.flist.md5`),
    history: await get(`/api/flist/${USER}/${name}/history`),
  };
}

async function job(id: string): Promise<{ status: string; message: string; attempts: number; result: unknown }> {
  const res = await fetch(`${stack.hubUrl}/api/jobs/${id}`);
  return ((await res.json()) as { payload: { status: string; message: string; attempts: number; result: unknown } }).payload;
}

async function writeTarGz(file: string, members: { name: string; body?: Buffer; size?: number; type?: "file" | "directory" }[], source?: () => Readable): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, createGzip({ level: 1 }), fs.createWriteStream(file));
  for (const m of members) {
    if (m.type === "directory") pack.entry({ name: m.name, type: "directory", mode: 0o755 });
    else if (m.body) pack.entry({ name: m.name, mode: 0o644 }, m.body);
    else {
      // A large member streamed (never held in memory).
      const entry = pack.entry({ name: m.name, mode: 0o644, size: m.size ?? 0 });
      await pipeline(source!(), entry);
    }
  }
  pack.finalize();
  await done;
}

/** `size` zero bytes, as a stream of 1 MiB buffers. */
function zeros(size: number): () => Readable {
  return () =>
    Readable.from(
      (function* () {
        const block = Buffer.alloc(1024 * 1024);
        for (let left = size; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
      })(),
    );
}

describe("hostile archives", () => {
  // The same victim for every case: an existing flist of the name the hostile upload targets.
  const VICTIM = "victim";
  let before: unknown;

  beforeAll(async () => {
    const first = await upload(VICTIM, fixture("tree-overlay.tar.gz"));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    before = await snapshot(VICTIM);
  });

  const cases: { label: string; make: (file: string) => Promise<void>; reason: RegExp }[] = [
    {
      label: "path traversal (../ member)",
      make: (file) => writeTarGz(file, [{ name: "etc/", type: "directory" }, { name: "../../etc/evil", body: Buffer.from("pwned\n") }]),
      reason: /^invalid archive: "\.\.\/\.\.\/etc\/evil": .*\[rule: dot-dot\]$/,
    },
    {
      label: `gzip bomb (64 MiB of zeros, cap ${MAX_EXPANDED >> 20} MiB)`,
      make: (file) => writeTarGz(file, [{ name: "bomb.bin", size: 64 * 1024 * 1024 }], zeros(64 * 1024 * 1024)),
      reason: /^invalid archive: .*\[rule: expanded-size-cap\]$/,
    },
    {
      label: "truncated archive",
      make: async (file) => fs.promises.writeFile(file, fs.readFileSync(fixture("tree-main.tar.gz")).subarray(0, 300_000)),
      reason: /^invalid archive: .*truncated.*\[rule: truncated\]$/,
    },
    {
      label: "no archive at all (a text file named .tar.gz)",
      make: (file) => fs.promises.writeFile(file, "my notes, not an archive\n"),
      reason: /^invalid archive: archive: not a tar or tar\.gz archive: the file looks like plain text; accepted: \.tar\.gz \(gzip-compressed tar\) or \.tar \[rule: not-an-archive\]$/,
    },
  ];

  for (const { label, make, reason } of cases) {
    it(`${label}: failed job with the reason, nothing published, the existing flist untouched`, async () => {
      const file = path.join(work, `${label.replace(/\W+/g, "-")}.tar.gz`);
      await make(file);
      const answer = await upload(VICTIM, file);
      expect(answer.status, JSON.stringify(answer.body)).toBe(422);
      expect(answer.body.status).toBe("error");
      expect(answer.body.message).toMatch(reason);
      const state = await job(answer.job!);
      expect(state).toMatchObject({ status: "failed", message: answer.body.message });
      // The job's event stream ends with the same reason.
      const events = (await sseEvents(`${stack.hubUrl}/listen/${answer.job}`)) as { status: string; message?: string }[];
      expect(events.at(-1)).toEqual({ status: "error", message: answer.body.message });
      expect(await snapshot(VICTIM)).toEqual(before);
    });
  }
});

describe("the chunk store stopped", () => {
  it("fails the job with a clear message (503) and leaves the catalog unchanged", async () => {
    const ok = await upload("kept", fixture("tree-main.tar.gz"));
    expect(ok.status).toBe(200);
    const before = await snapshot("kept");
    await stack.stopStore();
    try {
      const answer = await upload("kept", fixture("tree-overlay.tar.gz"));
      expect(answer.status, JSON.stringify(answer.body)).toBe(503);
      const port = new URL(stack.storeUrl).port;
      expect(answer.body.message).toMatch(new RegExp(`^chunk store redis://127\\.0\\.0\\.1:${port}: `));
      expect((await job(answer.job!)).status).toBe("failed");
      expect(await snapshot("kept")).toEqual(before);
      // A name that did not exist stays absent.
      const fresh = await upload("never", fixture("tree-overlay.tar.gz"));
      expect(fresh.status).toBe(503);
      expect((await fetch(`${stack.hubUrl}/${USER}/never.flist`, { method: "HEAD" })).status).toBe(404);
      expect(await snapshot("kept")).toEqual(before);
    } finally {
      await stack.startStore();
    }
    // The store back (empty): the next upload works without restarting anything.
    const again = await upload("after-store", fixture("tree-overlay.tar.gz"));
    expect(again.status, JSON.stringify(again.body)).toBe(200);
  });
});

describe("the same queue message delivered twice", () => {
  it("publishes once", async () => {
    const requeue = async (id: string) => {
      const res = await fetch(`${stack.hubUrl}/internal/jobs/${id}/requeue`, { method: "POST", headers: { authorization: `Bearer ${stack.internalSecret}` } });
      expect(res.status).toBe(202);
    };
    const started = await upload("twice", fixture("tree-main.tar.gz"), "?async=1");
    expect(started.status).toBe(202);
    const id = started.job!;
    // Duplicates while the first delivery is being handled, then after the job ended.
    await Promise.all([requeue(id), requeue(id)]);
    const events = (await sseEvents(`${stack.hubUrl}/listen/${id}`)) as { status: string }[];
    expect(events.at(-1)?.status).toBe("info");
    await requeue(id);
    await new Promise((r) => setTimeout(r, 1500));

    const state = await job(id);
    expect(state.status).toBe("succeeded");
    expect(state.attempts).toBe(1);
    const replay = (await sseEvents(`${stack.hubUrl}/listen/${id}`)) as { status: string }[];
    expect(replay.filter((e) => e.status === "info")).toHaveLength(1);
    expect(replay.filter((e) => e.status === "update" && (e as { message?: string }).message === "Starting")).toHaveLength(1);
    // One publish: the name has a current version and no replaced one.
    const history = (await (await fetch(`${stack.hubUrl}/api/flist/${USER}/twice/history`)).json()) as { current: unknown; versions: unknown[] };
    expect(history.current).not.toBeNull();
    expect(history.versions).toEqual([]);
  });
});
