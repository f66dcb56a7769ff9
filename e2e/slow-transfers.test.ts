/**
 * Slow readers and a slow converter on the real local stack (docs/limits.md "Slow readers"). Downloads read by a
 * fetch client one piece every 0.7 s (a node on a slow link) must arrive whole and end cleanly: a flist and an LXD
 * image file, both taking well over workerd's 5 s pipeline timeout. And a converter reading its input slowly (the
 * CONVERTER_TEST_INPUT_BYTES_PER_SECOND knob) must complete a form upload, a resumable upload and a streamed upload,
 * with every byte of the archive in the published flist.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFlist } from "../converter/src/flist/index.ts";
import { flistFiles, readBack } from "./support/flists.ts";
import { type Stack, startStack } from "./support/stack.ts";

const USER = "slow-alice";
/** How fast the converter reads a job's input: a few seconds for each archive below. */
const INPUT_RATE = 500_000;
let stack: Stack;
let work: string;
let auth: Record<string, string>;

beforeAll(async () => {
  stack = await startStack({ converterEnv: { CONVERTER_TEST_INPUT_BYTES_PER_SECOND: String(INPUT_RATE) } });
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-e2e-slow-"));
  auth = await stack.auth(USER);
});

afterAll(async () => {
  await stack?.stop();
  if (work) await fs.promises.rm(work, { recursive: true, force: true });
});

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** GET `url` with fetch, reading one piece every `delayMs`; throws if the body does not end cleanly. */
async function slowRead(url: string, delayMs = 700): Promise<{ bytes: Buffer; length: number; seconds: number }> {
  const started = performance.now();
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const length = Number(res.headers.get("content-length"));
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const parts: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  return { bytes: Buffer.concat(parts), length, seconds: (performance.now() - started) / 1000 };
}

/** A tar.gz in memory; random file bodies stay their size once gzipped. */
async function tarGz(members: { name: string; body: Buffer | string }[]): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) parts.push(chunk);
  })();
  for (const m of members) pack.entry({ name: m.name, mode: 0o644, mtime: new Date(1_700_000_000_000) }, m.body);
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(parts), { level: 1 });
}

interface Answer {
  status: number;
  body: { status: string; message?: string; payload?: { name?: string } };
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Answer["body"] };
  } catch {
    throw new Error(`answered ${res.status}: ${text.slice(0, 300)}\n${stack.logs().slice(-3000)}`);
  }
}

async function formUpload(name: string, archive: Buffer): Promise<Answer> {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(archive)]), `${name}.tar.gz`);
  return answer(await fetch(`${stack.hubUrl}/api/flist/me/upload`, { method: "POST", headers: auth, body: form }));
}

/** The published flist's file `file`, read back from the chunk store. */
async function publishedFile(name: string, file: string): Promise<Buffer> {
  const res = await fetch(`${stack.hubUrl}/${USER}/${name}.flist`);
  expect(res.status).toBe(200);
  const local = path.join(work, `${name}.flist`);
  fs.writeFileSync(local, Buffer.from(await res.arrayBuffer()));
  const node = flistFiles(await readFlist(local)).get(file);
  if (!node) throw new Error(`${file} is not in ${name}.flist`);
  return readBack(await stack.store(), node);
}

describe("slow readers get every download whole and cleanly ended", () => {
  it("a ~2 MB flist", async () => {
    // 16,000 entries with long random names: a flist of about 2 MB.
    const names = Array.from({ length: 16_000 }, (_, i) => ({ name: `d${i % 16}/${randomBytes(100).toString("hex")}`, body: "" }));
    const uploaded = await formUpload("names", await tarGz(names));
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(200);

    const expected = (await (await fetch(`${stack.hubUrl}/${USER}/names.flist.md5`)).text()).trim();
    const { bytes, length, seconds } = await slowRead(`${stack.hubUrl}/${USER}/names.flist`);
    expect(length).toBeGreaterThan(1_500_000);
    expect(bytes.length).toBe(length);
    expect(md5(bytes)).toBe(expected);
    // Longer than the 5 s after which workerd closes a connection at the end of its response.
    expect(seconds).toBeGreaterThan(6);
  });

  it("a 3 MB LXD image file", async () => {
    const file = randomBytes(3_000_000);
    const at = "slowos/1/amd64/default/20260301_10:30/disk.qcow2";
    const put = await fetch(`${stack.hubUrl}/api/images/${at}`, { method: "PUT", headers: { ...auth, "content-length": String(file.length) }, body: file });
    const stored = (await put.json()) as { payload: { sha256: string; size: number } };
    expect(put.status, JSON.stringify(stored)).toBe(200);
    expect(stored.payload).toMatchObject({ sha256: sha256(file), size: file.length });

    const { bytes, length, seconds } = await slowRead(`${stack.hubUrl}/images/${at}`);
    expect(length).toBe(file.length);
    expect(bytes.length).toBe(file.length);
    expect(sha256(bytes)).toBe(sha256(file));
    expect(seconds).toBeGreaterThan(6);
  });
});

describe(`a converter reading its input at ${INPUT_RATE / 1000} kB/s completes every upload path`, () => {
  it("a form upload (3 MB)", async () => {
    const data = randomBytes(3_000_000);
    const started = performance.now();
    const uploaded = await formUpload("form", await tarGz([{ name: "data.bin", body: data }]));
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(200);
    expect((performance.now() - started) / 1000).toBeGreaterThan(5);
    expect(md5(await publishedFile("form", "data.bin"))).toBe(md5(data));
  });

  it("a resumable upload (6 MB in two parts)", async () => {
    const data = randomBytes(6_000_000);
    const archive = await tarGz([{ name: "data.bin", body: data }]);
    const partSize = 5 * 1024 * 1024;
    const created = await fetch(`${stack.hubUrl}/api/flist/me/uploads`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ filename: "resumable.tar.gz", partSize, size: archive.length }),
    });
    const session = (await created.json()) as { payload: { id: string; partSize: number } };
    expect(created.status, JSON.stringify(session)).toBe(201);
    for (let part = 1, offset = 0; offset < archive.length; part++, offset += partSize) {
      const bytes = archive.subarray(offset, offset + partSize);
      const put = await fetch(`${stack.hubUrl}/api/flist/me/uploads/${session.payload.id}/${part}`, {
        method: "PUT",
        headers: { ...auth, "content-length": String(bytes.length) },
        body: new Uint8Array(bytes),
      });
      expect(put.status, await put.clone().text()).toBe(200);
    }
    const started = performance.now();
    const completed = await answer(await fetch(`${stack.hubUrl}/api/flist/me/uploads/${session.payload.id}/complete`, { method: "POST", headers: auth }));
    expect(completed.status, JSON.stringify(completed.body)).toBe(200);
    expect((performance.now() - started) / 1000).toBeGreaterThan(10);
    expect(md5(await publishedFile("resumable", "data.bin"))).toBe(md5(data));
  });

  it("a streamed upload (3 MB, converted while it arrives)", async () => {
    const data = randomBytes(3_000_000);
    const archive = await tarGz([{ name: "data.bin", body: data }]);
    const uploaded = await answer(
      await fetch(`${stack.hubUrl}/api/flist/me/upload/streamed.tar.gz`, { method: "PUT", headers: { ...auth, "content-length": String(archive.length) }, body: new Uint8Array(archive) }),
    );
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(200);
    expect(md5(await publishedFile("streamed", "data.bin"))).toBe(md5(data));
  });
});
