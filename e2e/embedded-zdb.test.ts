/**
 * The local hub as `npm start` runs it by default — chunks in a file store, served by the embedded 0-db server on
 * the HUB_BACKEND address — serves its main job: what it publishes is readable by real clients through the flist's
 * own `backend`. The real zflist opens a published flist, `check` finds every chunk, `get` reads every file back
 * byte-identical to the source; `zhub flist check/get` do the same with no `--store`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_WORKER_VARS } from "../scripts/lib/local-vars.ts";
import { type Stack, startStack } from "./support/stack.ts";
import { expected, fixture, tarballFiles } from "./support/flists.ts";
import { zflistOpen } from "./support/zflist.ts";
import { zhubUser, type Zhub } from "./support/zhub.ts";

const USER = "embedded-alice";
let stack: Stack;
let work: string;
let flist: string;
let zhub: Zhub;

beforeAll(async () => {
  stack = await startStack({ store: "embedded", workerVars: LOCAL_WORKER_VARS });
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), "zhub-e2e-embedded-"));
  zhub = await zhubUser();
  const res = await fetch(`${stack.hubUrl}/api/flist/me/upload/app.tar.gz`, {
    method: "PUT",
    headers: await stack.auth(USER),
    body: fs.readFileSync(fixture("tree-main.tar.gz")),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  const download = await fetch(`${stack.hubUrl}/${USER}/app.flist`);
  expect(download.status).toBe(200);
  flist = path.join(work, "app.flist");
  fs.writeFileSync(flist, Buffer.from(await download.arrayBuffer()));
});

afterAll(async () => {
  await zhub?.remove();
  await stack?.stop();
  if (work) await fs.promises.rm(work, { recursive: true, force: true });
});

describe("a flist published by the default local hub, read by real clients", () => {
  it("names the embedded server as its backend; zflist finds every file, check fetches every chunk from it, get reads every file back", async () => {
    const [host, port] = stack.backend.split(":");
    expect(stack.storeUrl).toBe(`zdb://${stack.backend}`);
    const source = await tarballFiles(fixture("tree-main.tar.gz"));
    const z = await zflistOpen(flist);
    try {
      expect(await z.metadata("backend")).toEqual({ host, port: Number(port) });
      const find = await z.find();
      expect(find).toMatchObject({ success: true });
      expect(find.response).toEqual(expected("main", "find.json"));
      // zflist's check answer for the reference flist of the same tree, every chunk present and intact.
      const check = await z.check();
      expect(check).toMatchObject({ success: true, error: null });
      expect(check.response).toEqual(expected("main", "check.json"));
      expect(check.response.failure).toBe(0);
      expect(source.size).toBeGreaterThan(30);
      for (const [name, bytes] of source) {
        const out = path.join(work, "get.out");
        await z.get(`/${name}`, out);
        expect(fs.readFileSync(out).equals(bytes), name).toBe(true);
      }
    } finally {
      await z.close();
    }
  });

  it("zhub flist check and get with no --store read through the flist's backend", async () => {
    const check = await zhub.run(["flist", "check", flist]);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stderr).toBe("");
    const json = await zhub.run(["flist", "check", flist, "--json"]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ success: true, response: { regular: 36, failure: 0, missing: [] } });
    // The largest files (several chunks each) and a small one.
    const source = await tarballFiles(fixture("tree-main.tar.gz"));
    const names = [...source.keys()].sort((a, b) => source.get(b)!.length - source.get(a)!.length);
    for (const name of [...names.slice(0, 3), "bin/run.sh"]) {
      const out = path.join(work, "zhub-get.out");
      const got = await zhub.run(["flist", "get", flist, `/${name}`, out]);
      expect(got.code, got.stderr).toBe(0);
      expect(fs.readFileSync(out).equals(source.get(name)!), name).toBe(true);
    }
  });
});
