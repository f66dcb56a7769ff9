/**
 * Reads through the edge cache (docs/catalog-api.md "Edge cache": the isolate's memory, edge/memory.ts, then
 * `caches.default`): a hit answers without any D1 or R2 call; a miss
 * computes the answer, returns it and stores it for HUB_EDGE_CACHE_SECONDS. Only public answers go through here:
 * nothing that depends on who asks. Errors (404…) are never stored.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { countMemoryHit, edgeCache, wantsCold } from "../cost/meter";
import { memoryTier } from "./memory";
import { edgeSeconds } from "./config";

function waitUntil(c: Context<AppEnv>, promise: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(promise);
  } catch {
    // No execution context (app.request in unit code): let the promise run on its own.
    void promise.catch(() => undefined);
  }
}

/** Header of a stored answer: when its Cache API entry expires (ms), so the memory tier never outlives it. */
const EXPIRES = "X-Edge-Expires";

/** The text stored under `key` (in this isolate's memory, else the Cache API), else `load()`'s, stored for later readers. */
export async function edgeText(c: Context<AppEnv>, key: string, load: () => Promise<string>): Promise<string> {
  const seconds = edgeSeconds(c.env);
  if (seconds <= 0) return load();
  const cold = wantsCold(c.env, c.req.raw);
  const memory = memoryTier(c.env);
  const remembered = cold ? undefined : memory?.text(key);
  if (remembered !== undefined) {
    countMemoryHit(c.env);
    return remembered;
  }
  const cache = edgeCache(c.env);
  const request = new Request(key);
  const hit = cold ? undefined : await cache.match(request);
  if (hit) {
    const text = await hit.text();
    memory?.putText(key, text, Number(hit.headers.get(EXPIRES) ?? 0));
    return text;
  }
  const text = await load();
  const expires = Date.now() + seconds * 1000;
  memory?.putText(key, text, expires);
  const stored = new Response(text, { headers: { "Cache-Control": `public, max-age=${seconds}`, [EXPIRES]: String(expires) } });
  waitUntil(c, cache.put(request, stored));
  return text;
}

/** A JSON answer through the edge cache, with the Content-Type `c.json` sends. */
export async function edgeJson(c: Context<AppEnv>, key: string, load: () => Promise<unknown>): Promise<Response> {
  const text = await edgeText(c, key, async () => JSON.stringify(await load()));
  return c.body(text, 200, { "Content-Type": "application/json" });
}

/** A value through the edge cache, stored as JSON. */
export async function edgeValue<T>(c: Context<AppEnv>, key: string, load: () => Promise<T>): Promise<T> {
  return JSON.parse(await edgeText(c, key, async () => JSON.stringify(await load()))) as T;
}
