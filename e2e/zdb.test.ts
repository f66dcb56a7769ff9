/**
 * Jobs end to end on the real 0-db 2.0.7, configured as hub.grid.tf runs it: the chunks in a namespace whose writes
 * need a password and whose reads are public. The converter writes with the password; flists name the namespace
 * without it, and the real zflist reads them that way. `upload-flist` checks for missing chunks in that namespace.
 * 0-db killed in the middle of a job: the job fails with a clear reason and the catalog is unchanged; 0-db back
 * (with its chunks), the next job works without restarting anything.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFlist } from "../converter/src/flist/index.ts";
import { ingestArchive } from "../converter/src/ingest/index.ts";
import { openStore, StoreError } from "../converter/src/store/index.ts";
import { type Stack, startStack } from "./support/stack.ts";
import { fixture, flistFiles, tarballFiles, writeTar } from "./support/flists.ts";
import { zflistOpen } from "./support/zflist.ts";

const USER = "zdb-alice";
const NAMESPACE = { name: "hub-chunks", password: "write-only-with-this" };
let stack: Stack;
let work: string;

beforeAll(async () => {
  stack = await startStack({ store: "zdb", namespace: NAMESPACE });
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-e2e-zdb-"));
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

async function put(name: string, file: string, query = ""): Promise<Answer> {
  const res = await fetch(`${stack.hubUrl}/api/flist/me/upload/${name}.tar.gz${query}`, {
    method: "PUT",
    headers: await stack.auth(USER),
    body: fs.readFileSync(file),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Answer["body"], job: res.headers.get("x-hub-job") };
  } catch {
    throw new Error(`PUT ${name}.tar.gz answered ${res.status}: ${text.slice(0, 500)}\n${stack.logs().slice(-3000)}`);
  }
}

async function uploadFlist(file: string): Promise<Response> {
  const form = new FormData();
  form.append("file", new Blob([fs.readFileSync(file)]), path.basename(file));
  return fetch(`${stack.hubUrl}/api/flist/me/upload-flist`, { method: "POST", headers: await stack.auth(USER), body: form });
}

async function job(id: string): Promise<{ status: string; message: string }> {
  const res = await fetch(`${stack.hubUrl}/api/jobs/${id}`);
  return ((await res.json()) as { payload: { status: string; message: string } }).payload;
}

/** What the catalog shows of the user's repository and of one name. */
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

async function download(name: string): Promise<string> {
  const res = await fetch(`${stack.hubUrl}/${USER}/${name}.flist`);
  expect(res.status).toBe(200);
  const file = path.join(work, `${name}.flist`);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

describe("jobs on the real 0-db, chunks in a namespace with a password and public reads", () => {
  it("a tar upload is published; the flist names the namespace (no password); zflist reads it back publicly", async () => {
    expect(stack.backend).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+/${NAMESPACE.name}$`));
    expect(stack.storeUrl).toContain(`:${NAMESPACE.password}@`);
    const answer = await put("app", fixture("tree-overlay.tar.gz"));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const flist = await download("app");
    const [hostPort] = stack.backend.split("/");
    const [host, port] = hostPort!.split(":");
    const z = await zflistOpen(flist);
    try {
      expect(await z.metadata("backend")).toEqual({ host, port: Number(port), namespace: NAMESPACE.name });
      const check = await z.check();
      expect(check).toMatchObject({ success: true, response: { failure: 0 } });
      const source = await tarballFiles(fixture("tree-overlay.tar.gz"));
      for (const [name, bytes] of source) {
        const out = path.join(work, "get.out");
        await z.get(`/${name}`, out);
        expect(fs.readFileSync(out).equals(bytes), name).toBe(true);
      }
    } finally {
      await z.close();
    }
    // A public reader cannot write into the namespace.
    const reader = await openStore(stack.publicStoreUrl);
    try {
      const err = await reader.put(randomBytes(16), Buffer.from("x")).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as Error).message).toMatch(/SET refused \(Namespace is in read-only mode\)$/);
    } finally {
      await reader.close();
    }
  });

  it("upload-flist: refused while chunks are missing from the namespace, accepted once they are there", async () => {
    const dir = path.join(work, "homemade");
    fs.mkdirSync(dir);
    const local = await openStore(`file://${path.join(dir, "chunks")}`);
    try {
      const tarball = path.join(dir, "homemade.tar");
      await writeTar(tarball, [
        { name: "big.bin", body: randomBytes(1_300_000) },
        { name: "small.txt", body: Buffer.from(`made at ${Date.now()} ${randomBytes(8).toString("hex")}\n`) },
      ]);
      const { tree } = await ingestArchive(tarball, { store: local, backend: stack.backend, threads: 1 });
      const flist = path.join(dir, "homemade.flist");
      await writeFlist(tree, flist);
      const keys = [...new Set([...flistFiles(tree).values()].flatMap((f) => f.blocks.map((b) => Buffer.from(b.hash).toString("hex"))))];
      expect(keys.length).toBe(4);

      const refused = await uploadFlist(flist);
      expect(refused.status).toBe(422);
      expect(await refused.json()).toEqual({ status: "error", message: "unauthorized upload, contents is not fully present on backend" });
      expect((await fetch(`${stack.hubUrl}/${USER}/homemade.flist`)).status).toBe(404);

      // All but one chunk into the namespace (with the password, as a writer): still refused.
      const writer = await openStore(stack.storeUrl);
      try {
        for (const k of keys.slice(1)) await writer.put(Buffer.from(k, "hex"), (await local.get(Buffer.from(k, "hex")))!);
        const still = await uploadFlist(flist);
        expect(still.status).toBe(422);
        // A chunk in another namespace (0-db's default) does not count.
        const other = await openStore(`zdb://${stack.backend.split("/")[0]}`);
        try {
          await other.put(Buffer.from(keys[0]!, "hex"), (await local.get(Buffer.from(keys[0]!, "hex")))!);
        } finally {
          await other.close();
        }
        expect((await uploadFlist(flist)).status).toBe(422);
        await writer.put(Buffer.from(keys[0]!, "hex"), (await local.get(Buffer.from(keys[0]!, "hex")))!);
      } finally {
        await writer.close();
      }
      const accepted = await uploadFlist(flist);
      expect(accepted.status, await accepted.clone().text()).toBe(200);
      const published = await download("homemade");
      expect(fs.readFileSync(published).equals(fs.readFileSync(flist))).toBe(true);
      const z = await zflistOpen(published);
      try {
        expect((await z.check()).response.failure).toBe(0);
      } finally {
        await z.close();
      }
    } finally {
      await local.close();
    }
  });

  it("0-db killed in the middle of a job: the job fails with a clear reason, the catalog is unchanged; back, the next job works", async () => {
    const ok = await put("kept", fixture("tree-overlay.tar.gz"));
    expect(ok.status).toBe(200);
    const before = await snapshot("kept");
    const pid = stack.storePid()!;
    // Frozen first, so that the job is certainly in the middle of its writes when 0-db dies.
    process.kill(pid, "SIGSTOP");
    let killed = false;
    try {
      const started = await put("kept", fixture("tree-main.tar.gz"), "?async=1");
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const id = started.job!;
      const deadline = Date.now() + 60_000;
      while ((await job(id)).status !== "running") {
        if (Date.now() > deadline) throw new Error(`job ${id} never ran:\n${stack.logs().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 500));
      process.kill(pid, "SIGKILL");
      killed = true;
      let state = await job(id);
      while (state.status === "running" || state.status === "queued") {
        if (Date.now() > deadline + 60_000) throw new Error(`job ${id} did not end:\n${stack.logs().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
        state = await job(id);
      }
      expect(state.status).toBe("failed");
      const port = stack.backend.split(":")[1]!.split("/")[0];
      expect(state.message).toMatch(new RegExp(`^chunk store zdb://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/${NAMESPACE.name}: `));
      expect(state.message).not.toContain(NAMESPACE.password);
      expect(await snapshot("kept")).toEqual(before);
    } finally {
      if (!killed) process.kill(pid, "SIGCONT");
      await stack.stopStore();
      await stack.startStore();
    }
    // 0-db back with its chunks: the earlier flist still reads, and the next upload works.
    const z = await zflistOpen(await download("kept"));
    try {
      expect((await z.check()).response.failure).toBe(0);
    } finally {
      await z.close();
    }
    const again = await put("kept", fixture("tree-main.tar.gz"));
    expect(again.status, JSON.stringify(again.body)).toBe(200);
  });
});
