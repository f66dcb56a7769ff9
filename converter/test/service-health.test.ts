/**
 * `GET /health?deep=1` against a started service: a real 0-db as the chunk store, up then stopped then back, and
 * the hub peer up then gone; plain `/health` answers 200 throughout (start-up callers wait on it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRig, type Rig } from "./service-support.ts";
import { startZdb, type RunningZdb } from "./support/zdb.ts";

const PASSWORD = "health-test-zdb-password";

interface Check {
  ok: boolean;
  ms: number;
  error?: string;
}
interface Report {
  status: string;
  message?: string;
  checks: Record<string, Check>;
}

let zdb: RunningZdb;
let rig: Rig;

beforeAll(async () => {
  zdb = await startZdb({ namespace: "health-ns", password: PASSWORD });
  rig = await startRig({ HUB_CHUNK_STORE: zdb.url });
});

afterAll(async () => {
  await rig?.stop();
  await zdb?.stop();
});

const deep = async () => {
  const res = await fetch(`${rig.converter.url}/health?deep=1`);
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Report };
};

describe("GET /health?deep=1", () => {
  it("checks the chunk store and the hub, names the one that fails, and never shows the store password", async () => {
    let r = await deep();
    expect([r.status, r.body.status, Object.keys(r.body.checks).sort()]).toEqual([200, "ok", ["chunkStore", "hub"]]);
    expect(r.body.checks.chunkStore).toEqual({ ok: true, ms: expect.any(Number) });
    expect(r.body.checks.hub!.ok).toBe(true);
    expect((await fetch(`${rig.converter.url}/health?deep=1`, { method: "HEAD" })).status).toBe(200);

    await zdb.stop();
    r = await deep();
    expect(r.status).toBe(503);
    expect(r.body.status).toBe("error");
    expect(r.body.checks.chunkStore!.ok).toBe(false);
    expect(r.body.checks.hub!.ok).toBe(true);
    expect(r.body.message).toMatch(/^chunkStore: chunk store zdb:\/\/:\*\*\*@127\.0\.0\.1:\d+\/health-ns: /);
    expect(r.body.checks.chunkStore!.error).toContain("zdb://:***@127.0.0.1");
    expect(r.text).not.toContain(PASSWORD);
    // Liveness is not the store's: the service is up.
    const live = await fetch(`${rig.converter.url}/health`);
    expect([live.status, await live.json()]).toEqual([200, { status: "ok" }]);

    // A store that comes back is picked up without a restart.
    await zdb.restart();
    r = await deep();
    expect([r.status, r.body.checks.chunkStore!.ok]).toEqual([200, true]);

    await rig.peer.stop();
    r = await deep();
    expect(r.status).toBe(503);
    expect(r.body.checks.chunkStore!.ok).toBe(true);
    expect(r.body.checks.hub!.ok).toBe(false);
    expect(r.body.message).toMatch(/^hub: hub http:\/\/127\.0\.0\.1:\d+: /);
  }, 30_000);
});
