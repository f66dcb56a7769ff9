/**
 * Publishing end to end on the real local stack (the Worker's runtime + converter + redis-server,
 * e2e/support/stack.ts):
 * tarball uploads read back byte for byte through the chunk store, the contents listing, merge, and the homemade
 * flist upload refused while its chunks are missing and accepted once `zhub push` sent them.
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findView, readFlist, writeFlist } from "../converter/src/flist/index.ts";
import { ingestArchive } from "../converter/src/ingest/index.ts";
import { openStore } from "../converter/src/store/index.ts";
import { type Stack, startStack } from "./support/stack.ts";
import { TARBALL_CASES, expected, fixture, flistFiles, readBack, sseEvents, tarballFiles, writeTar } from "./support/flists.ts";
import { zhubUser } from "./support/zhub.ts";

const USER = "e2e-alice";
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

async function upload(route: "upload" | "upload-flist", file: string, options: { name?: string; fields?: Record<string, string>; query?: string } = {}): Promise<Response> {
  const form = new FormData();
  form.append("file", await fs.openAsBlob(file), options.name ?? path.basename(file));
  for (const [key, value] of Object.entries(options.fields ?? {})) form.append(key, value);
  return fetch(`${stack.hubUrl}/api/flist/me/${route}${options.query ?? ""}`, { method: "POST", headers: await stack.auth(USER), body: form });
}

async function download(repo: string, name: string): Promise<{ bytes: Buffer; md5: string }> {
  const res = await fetch(`${stack.hubUrl}/${repo}/${name}`);
  expect(res.status, `GET /${repo}/${name}`).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  const md5 = await fetch(`${stack.hubUrl}/${repo}/${name}.md5`);
  expect(md5.status).toBe(200);
  return { bytes, md5: await md5.text() };
}

/** Every regular file of `tarball` is in the flist and reads back from the chunk store byte for byte. */
async function expectReadBack(flist: Buffer, tarball: string): Promise<void> {
  const tree = await readFlist(flist);
  const files = flistFiles(tree);
  const store = await stack.store();
  const sources = await tarballFiles(tarball);
  expect(sources.size).toBeGreaterThan(0);
  for (const [name, bytes] of sources) {
    const node = files.get(name);
    expect(node, `${name} is in the flist`).toBeDefined();
    expect((await readBack(store, node!)).equals(bytes), `${name} reads back byte for byte`).toBe(true);
  }
}

describe("the stack", () => {
  it("answers on every service, and the Worker knows the caller", async () => {
    expect((await fetch(`${stack.converterUrl}/health`)).status).toBe(200);
    const me = await fetch(`${stack.hubUrl}/api/flist/me`, { headers: await stack.auth(USER) });
    expect(await me.json()).toEqual({ status: "success", payload: { username: USER } });
  });
});

describe("tarball upload", () => {
  for (const { tarball, flist, reference } of TARBALL_CASES) {
    it(`${tarball} → ${flist}: downloads with its md5, reads back through the store, lists its contents`, async () => {
      const res = await upload("upload", fixture(tarball), { fields: { "metadata-maintainer": "e2e@example.org" } });
      const body = (await res.json()) as { status: string; payload: { name: string; files: { response: Record<string, number> } } };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.status).toBe("success");
      expect(body.payload.name).toBe(flist);
      const find = expected(reference, "find.json") as { content: unknown[] } & Record<string, number>;
      expect(body.payload.files).toMatchObject({ success: true, error: null, status: 0 });
      for (const key of ["regular", "symlink", "directory", "special", "fullsize"]) expect(body.payload.files.response[key], key).toBe(find[key]);

      const { bytes, md5 } = await download(USER, flist);
      expect(md5).toBe(`${createHash("md5").update(bytes).digest("hex")}\n`);
      await expectReadBack(bytes, fixture(tarball));

      // The contents listing is zflist's `find` of the reference flist built from the same tarball.
      const listing = await fetch(`${stack.hubUrl}/api/flist/${USER}/${flist}`);
      expect(listing.status).toBe(200);
      expect(await listing.json()).toEqual(find);
      expect(findView(await readFlist(bytes))).toEqual(find);

      // Metadata: the public backend (HUB_BACKEND) and the upload's own field.
      const metadata = await fetch(`${stack.hubUrl}/api/flist/${USER}/${flist}/metadata`);
      const meta = (await metadata.json()) as Record<string, unknown>;
      const [host, port] = stack.backend.split(":");
      expect(meta.backend).toEqual({ host, port: Number(port) });
      expect(meta.maintainer).toBe("e2e@example.org");
    });
  }

  it("reports progress on /listen/<job> for an asynchronous upload", async () => {
    const res = await upload("upload", fixture("tree-main.tar.gz"), { name: "async-main.tar.gz", query: "?async=1" });
    expect(res.status).toBe(202);
    const { payload } = (await res.json()) as { payload: { job: string } };
    const events = (await sseEvents(`${stack.hubUrl}/listen/${payload.job}`)) as { status: string; message?: string; progress?: number; info?: Record<string, unknown> }[];
    const updates = events.filter((e) => e.status === "update");
    expect(updates.some((e) => /^Building: processing item \d+ of \d+$/.test(e.message ?? ""))).toBe(true);
    expect(updates.at(-1)).toEqual({ status: "update", message: "Image ready !", progress: 100 });
    const last = events.at(-1)!;
    expect(last.status).toBe("info");
    expect(last.info).toMatchObject({ filename: "async-main.flist", flist: { regular: 36, directory: 24 } });
    expect((await fetch(`${stack.hubUrl}/${USER}/async-main.flist`)).status).toBe(200);
  });
});

describe("downloads through the front's revalidating cache (scripts/lib/front-cache.ts)", () => {
  it("a name uploaded again downloads its new bytes at once; every whole download is counted", async () => {
    const bodies: Buffer[] = [];
    for (const tarball of ["tree-main.tar.gz", "tree-main.tar.gz", "tree-overlay.tar.gz"]) {
      if (bodies.length !== 1) expect((await upload("upload", fixture(tarball), { name: "again.tar.gz" })).status).toBe(200);
      const { bytes, md5 } = await download(USER, "again.flist");
      expect(md5, tarball).toBe(`${createHash("md5").update(bytes).digest("hex")}\n`);
      bodies.push(bytes);
    }
    expect(bodies[1]!.equals(bodies[0]!)).toBe(true); // the second one: a 304 to the front, the kept body
    expect(bodies[2]!.equals(bodies[0]!)).toBe(false);
    await expectReadBack(bodies[2]!, fixture("tree-overlay.tar.gz"));
    const counted = async () => ((await (await fetch(`${stack.hubUrl}/api/flist/${USER}/again.flist/downloads`)).json()) as { downloads: number }).downloads;
    for (let i = 0; i < 80 && (await counted()) < 3; i++) await new Promise((r) => setTimeout(r, 250));
    expect(await counted()).toBe(3);
  });
});

describe("merge", () => {
  it("merges two uploads like zflist (the fixture's merged listing)", async () => {
    // The uploads of the describe above (files run in order); uploaded again if this test runs alone.
    for (const tarball of ["tree-main.tar.gz", "tree-overlay.tar.gz"]) {
      const name = tarball.replace(".tar.gz", ".flist");
      if ((await fetch(`${stack.hubUrl}/${USER}/${name}`, { method: "HEAD" })).status !== 200) {
        expect((await upload("upload", fixture(tarball))).status).toBe(200);
      }
    }
    const res = await fetch(`${stack.hubUrl}/api/flist/me/merge/merged`, {
      method: "POST",
      headers: { ...(await stack.auth(USER)), "content-type": "application/json" },
      body: JSON.stringify([`${USER}/tree-main.flist`, `${USER}/tree-overlay`]),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ status: "success" });

    const listing = await fetch(`${stack.hubUrl}/api/flist/${USER}/merged.flist`);
    expect(await listing.json()).toEqual(expected("merged", "find.json"));
    const { bytes, md5 } = await download(USER, "merged.flist");
    expect(md5).toBe(`${createHash("md5").update(bytes).digest("hex")}\n`);
    // The overlay's own files read back too (its chunks are in the store since its upload).
    const files = flistFiles(await readFlist(bytes));
    const store = await stack.store();
    const overlay = await tarballFiles(fixture("tree-overlay.tar.gz"));
    for (const name of ["data/overlay-only.txt", "opt/app/start.sh", "doc/chunk-minus-one-524287.bin"]) {
      expect((await readBack(store, files.get(name)!)).equals(overlay.get(name)!), name).toBe(true);
    }
  });
});

describe("homemade flist upload", () => {
  it("is refused while chunks are missing, nothing published; accepted once zhub push sent the chunks", async () => {
    // A flist built locally (random contents: its chunks cannot already be on the hub), chunks kept locally.
    const work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-e2e-homemade-"));
    const zhub = await zhubUser();
    try {
      const local = await openStore(`file://${path.join(work, "chunks")}`);
      const tarball = path.join(work, "homemade.tar");
      await writeTar(tarball, [
        { name: "big.bin", body: randomBytes(1_300_000) },
        { name: "small.txt", body: Buffer.from(`made at ${Date.now()} ${randomBytes(8).toString("hex")}\n`) },
      ]);
      const { tree } = await ingestArchive(tarball, { store: local, backend: stack.backend, threads: 1 });
      const flist = path.join(work, "homemade.flist");
      await writeFlist(tree, flist);
      const blocks = [...flistFiles(tree).values()].flatMap((f) => f.blocks);
      const hashes = [...new Set(blocks.map((b) => Buffer.from(b.hash).toString("hex")))];
      expect(hashes.length).toBe(4);

      const res = await upload("upload-flist", flist);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(await res.json()).toEqual({ status: "error", message: "unauthorized upload, contents is not fully present on backend" });
      expect((await fetch(`${stack.hubUrl}/${USER}/homemade.flist`)).status).toBe(404);

      // A value is only ever stored under its own hash.
      const auth = await stack.auth(USER);
      const wrong = await local.get(Buffer.from(hashes[1]!, "hex"));
      const refusedChunk = await fetch(`${stack.hubUrl}/api/chunks/${hashes[0]}`, { method: "PUT", headers: auth, body: Buffer.from(wrong!) });
      expect(refusedChunk.status).toBe(400);
      await local.close();

      // zhub push builds the same flist from the same archive, sends the 4 missing chunks, then the flist.
      const env = { ZHUB_HUB: stack.hubUrl, ZHUB_TOKEN: await stack.token(USER) };
      const pushed = await zhub.run(["push", tarball, "--backend", stack.backend], { env });
      expect(pushed.code, pushed.stderr).toBe(0);
      expect(pushed.stderr).toContain("chunks: 0 already on the hub, 4 uploaded");
      expect(pushed.stdout).toMatch(new RegExp(`^${USER}/homemade\\.flist: published`));
      const missing = await fetch(`${stack.hubUrl}/api/chunks/missing`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ hashes }),
      });
      expect(await missing.json()).toEqual({ status: "success", payload: { missing: [] } });

      // Published unchanged (the very flist refused above), and readable through the hub's store.
      const { bytes } = await download(USER, "homemade.flist");
      expect(bytes.equals(fs.readFileSync(flist))).toBe(true);
      await expectReadBack(bytes, tarball);
      // The flist built elsewhere is now accepted too.
      const again = await upload("upload-flist", flist);
      expect(again.status, await again.clone().text()).toBe(200);
      expect(((await again.json()) as { payload: { name: string } }).payload.name).toBe("homemade.flist");
    } finally {
      await zhub.remove();
      await fs.promises.rm(work, { recursive: true, force: true });
    }
  });
});
