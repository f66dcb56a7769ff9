/**
 * History retention and blob garbage collection (catalog/retention.ts, run by the cron sweep): what goes, what
 * stays, and that the collector's queries are index lookups. Time moves by passing a later `now` to the sweep.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { app } from "../src/app";
import { beforeAll, describe, expect, it } from "vitest";
import { nowSeconds } from "../src/time";
import type { Env } from "../src/env";
import { BLOB_GRACE_SECONDS, sweepCatalog } from "../src/catalog/retention";
import { DELETE_GARBAGE_SQL, catalogStore } from "../src/catalog/store/d1-r2";
import { type FixtureName, fetchHub, fixtureBytes, internalAuth, json, me, migrate, publish, publishForm } from "./support/hub";

beforeAll(migrate);

const DAY = 86_400;

async function published(repo: string, name: string, fixture: FixtureName): Promise<string> {
  const res = await publish(repo, name, fixture, { entries: true });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.payload.sha256 as string;
}

async function stored(sha256: string): Promise<{ row: boolean; flist: boolean; contents: boolean; entries: boolean; url: number }> {
  const row = await env.DB.prepare("SELECT 1 FROM blobs WHERE sha256 = ?1").bind(sha256).first();
  const [flist, contents, entries] = await Promise.all([
    env.FLISTS.head(`blobs/${sha256}`),
    env.FLISTS.head(`blobs/${sha256}.contents.json`),
    env.FLISTS.head(`blobs/${sha256}.entries.json`),
  ]);
  const res = await fetchHub(`/api/blobs/${sha256}.flist`);
  // Read whole, not cancelled: a cancelled R2 body makes workerd log "pump canceled" (docs/testing.md "Output").
  await res.arrayBuffer();
  return { row: row !== null, flist: flist !== null, contents: contents !== null, entries: entries !== null, url: res.status };
}

const everything = { row: true, flist: true, contents: true, entries: true, url: 200 };
const nothing = { row: false, flist: false, contents: false, entries: false, url: 404 };

describe("by default (HUB_HISTORY_RETENTION_DAYS unset)", () => {
  it("keeps every version and every flist a version refers to, however old", async () => {
    const first = await published("keep", "app", "edited");
    await published("keep", "app", "merged");
    expect((await me("keep", "/app", "DELETE")).status).toBe(200);
    const run = await sweepCatalog(env as Env, nowSeconds() + 400 * DAY);
    expect(run.versions).toBe(0);
    expect((await json("/api/flist/keep/app/history")).body.versions).toHaveLength(2);
    expect(await stored(first)).toEqual(everything);
  });
});

describe("with HUB_HISTORY_RETENTION_DAYS", () => {
  it("deletes versions past it, then the flists only they kept (D1 row, R2 objects, blob URL); current ones stay", async () => {
    const retained = { ...env, HUB_HISTORY_RETENTION_DAYS: "30" } as Env;
    const replaced = await published("ret", "app", "main");
    const current = await published("ret", "app", "overlay");
    const deleted = await published("ret", "gone", "meta");
    expect((await me("ret", "/gone", "DELETE")).status).toBe(200);

    // 29 days later: everything is within the retention.
    expect(await sweepCatalog(retained, nowSeconds() + 29 * DAY)).toEqual({ versions: 0, blobs: 0 });
    expect((await json("/api/flist/ret/app/history")).body.versions).toHaveLength(1);

    // 31 days later: both replaced versions go, and with them the two flists nothing else refers to. (The sweep
    // covers the whole catalog: the other tests' old versions in this file go too.)
    const run = await sweepCatalog(retained, nowSeconds() + 31 * DAY);
    expect(run.versions).toBeGreaterThanOrEqual(2);
    expect(run.blobs).toBeGreaterThanOrEqual(2);
    expect((await json("/api/flist/ret/app/history")).body.versions).toEqual([]);
    expect((await json("/api/flist/ret/gone/history")).status).toBe(404);
    expect(await stored(replaced)).toEqual(nothing);
    expect(await stored(deleted)).toEqual(nothing);
    expect(await stored(current)).toEqual(everything);
    const download = await fetchHub("/ret/app.flist");
    expect(download.status).toBe(200);
    await download.arrayBuffer();
  });

  it("keeps a flist that another entry still serves", async () => {
    const retained = { ...env, HUB_HISTORY_RETENTION_DAYS: "1" } as Env;
    const shared = await published("share-a", "x", "empty");
    await published("share-b", "y", "empty");
    expect((await me("share-a", "/x", "DELETE")).status).toBe(200);
    const run = await sweepCatalog(retained, nowSeconds() + 3 * DAY);
    expect(run.versions).toBeGreaterThanOrEqual(1);
    expect(await stored(shared)).toEqual(everything);
  });
});

describe("the collector's own rules", () => {
  it("never deletes a blob touched within the grace (a publish about to reuse it), nor one still referenced", async () => {
    const sha = await published("grace", "z", "main");
    // Referenced by the entry: kept, however long untouched.
    await env.DB.prepare("UPDATE blobs SET touched = 0 WHERE sha256 = ?1").bind(sha).run();
    const later = nowSeconds() + 10;
    expect(await catalogStore(env).deleteGarbageBlob(sha, later - BLOB_GRACE_SECONDS)).toBeNull();
    expect((await me("grace", "/z", "DELETE")).status).toBe(200);
    await env.DB.prepare("DELETE FROM entry_versions WHERE repository = 'grace'").run(); // unreferenced now
    // Touched just now by a publish reusing it: kept until the grace has passed.
    await catalogStore(env).touchBlob(sha, later);
    expect(await catalogStore(env).deleteGarbageBlob(sha, later - BLOB_GRACE_SECONDS)).toBeNull();
    expect(await catalogStore(env).deleteGarbageBlob(sha, later + 1)).toEqual({ sha256: sha, blob_key: `blobs/${sha}`, contents_key: `blobs/${sha}.contents.json` });
  });

  it("with retention on, a publish reusing a flist touches it first, and its objects are in R2 afterwards", async () => {
    const sha = await published("touch", "a", "overlay");
    await env.DB.prepare("UPDATE blobs SET touched = 0 WHERE sha256 = ?1").bind(sha).run();
    await env.FLISTS.delete([`blobs/${sha}`, `blobs/${sha}.contents.json`]); // as a collector run racing this publish
    const f = env.TEST_FIXTURES.overlay!;
    const ctx = createExecutionContext();
    const res = await app.fetch(
      new Request("http://hub.test/internal/publish/touch/b", {
        method: "PUT",
        headers: internalAuth,
        body: publishForm(fixtureBytes("overlay"), { contents: f.find, metadata: f.metadata }),
      }),
      { ...env, HUB_HISTORY_RETENTION_DAYS: "30" } as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status, await res.text()).toBe(200);
    const row = await env.DB.prepare("SELECT touched FROM blobs WHERE sha256 = ?1").bind(sha).first<{ touched: number }>();
    expect(row!.touched).toBeGreaterThanOrEqual(nowSeconds() - 60);
    expect(await stored(sha)).toEqual(everything);
  });

  it("checks references through indexes, never by scanning entries or history", async () => {
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${DELETE_GARBAGE_SQL}`).bind("0".repeat(64), 0).all<{ detail: string }>();
    const details = results.map((r) => r.detail);
    expect(details.filter((d) => /^SCAN /.test(d)), details.join("\n")).toEqual([]);
    expect(details.join("\n")).toMatch(/entries_by_blob/);
    expect(details.join("\n")).toMatch(/entry_versions_by_blob/);
  });
});
