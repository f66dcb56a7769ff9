/**
 * Authorization matrix: every mutating route × every way of not being allowed to use it → the right
 * 4xx, a JSON error envelope, and the catalog unchanged — compared as a full dump of every D1 table (found
 * through sqlite_master, so tables added later are covered too) plus the R2 object list, after every request.
 *
 * The requests go through the whole application (`src/app.ts`, as `src/index.ts` serves it); the catalog is
 * seeded through the real internal publish route and the real API. A final control pass sends each request
 * with a valid token and checks that it *does* change the catalog, so no row of the matrix passes vacuously.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../src/app";
import type { Env } from "../src/env";
import { signToken } from "../src/auth/tokens";
import { OTHER_SEED, SEED, env, internalHeaders, migrate, now } from "./auth-support";
import { randomBytes, stubConverter, uploadForm } from "./support/jobs";
import { curlForm } from "./images-support";

// The converter is stood in for only to see whether a refused chunk request was forwarded (it must not be).
const converter = stubConverter((call) => {
  if (call.path === "/chunks/missing") return Response.json({ missing: [] });
  if (call.path.startsWith("/chunks/")) return Response.json({ status: "success" });
  return Response.json({ status: "accepted" }, { status: 202 });
});

/** Max age used for the whole file, so that "expired" is a real case. */
const MAX_AGE = 86_400;
// Image deletes allowed, so the control pass of the image DELETE rows does change the catalog.
const BASE_ENV: Partial<Env> = { HUB_TOKEN_MAX_AGE: String(MAX_AGE), HUB_READONLY: "false", HUB_IMAGES_ALLOW_DELETES: "true" };

async function hub(path: string, init: RequestInit = {}, overrides: Partial<Env> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const bindings: Env = { ...env, ...BASE_ENV, ...overrides };
  const res = await app.fetch(new Request(`http://hub.test${path}`, init), bindings, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function publish(repo: string, name: string, fixture: string): Promise<void> {
  const f = env.TEST_FIXTURES[fixture];
  if (!f) throw new Error(`no fixture ${fixture}`);
  const form = new FormData();
  form.append("flist", new File([Uint8Array.from(atob(f.flist), (ch) => ch.charCodeAt(0))], `${name}.flist`));
  form.append("info", JSON.stringify({ contents: f.find, metadata: f.metadata }));
  const res = await hub(`/internal/publish/${repo}/${name}`, { method: "PUT", headers: internalHeaders(), body: form });
  if (res.status !== 200) throw new Error(`publish ${repo}/${name}: ${res.status} ${await res.text()}`);
}

async function asUser(token: string, path: string, method = "GET", extra: Record<string, string> = {}): Promise<void> {
  const res = await hub(path, { method, headers: { Authorization: `bearer ${token}`, ...extra } });
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}

/** Every D1 table (except D1's own bookkeeping) and every R2 object, in a stable order. */
async function dumpCatalog(): Promise<string> {
  const tables = await env.DB.prepare(
    `SELECT name FROM sqlite_master WHERE type = 'table'
       AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_migrations'
     ORDER BY name`,
  ).all<{ name: string }>();
  const dump: Record<string, unknown> = {};
  for (const { name } of tables.results) {
    const rows = await env.DB.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all();
    dump[`table:${name}`] = rows.results.map((r) => JSON.stringify(r)).sort();
  }
  const objects: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.FLISTS.list({ cursor });
    for (const o of page.objects) objects.push(`${o.key} ${o.size} ${o.etag} ${o.uploaded.getTime()}`);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  dump.r2 = objects.sort();
  return JSON.stringify(dump);
}

interface Route {
  label: string;
  method: string;
  path: string;
  /** A string body is sent as JSON; a function builds a fresh body (forms, bytes) for every request. */
  body?: string | (() => BodyInit);
  /**
   * What the control pass checks: "catalog" (default) — the catalog changes; "converter" — the request is
   * forwarded to the converter (chunk routes change the chunk store, which the converter owns, not the catalog).
   */
  effect?: "catalog" | "converter";
  /** Extra request headers (the image curl form declares its Content-Type and Content-Length). */
  headers?: Record<string, string>;
}

const json = JSON.stringify;

const IMAGE_V = "20260101_00:00";
/** The curl form of the image server, built fresh per request (its Content-Length must be declared in-process). */
function imageForm(filename: string): Pick<Route, "body" | "headers"> {
  const boundary = "------------------------matrixboundary";
  return {
    body: () => curlForm(filename, randomBytes(64), {}, boundary).body,
    headers: { "Content-Type": `multipart/form-data; boundary=${boundary}` },
  };
}

/** docs/compatibility.md §3.4 with the §6.4 decisions (GET kept, POST accepted), plus the auth routes. In control order. */
const ROUTES: Route[] = [
  { label: "link (GET)", method: "GET", path: "/api/flist/me/main/link/l1" },
  { label: "link (POST)", method: "POST", path: "/api/flist/me/main/link/l2" },
  { label: "crosslink (GET)", method: "GET", path: "/api/flist/me/cl1/crosslink/other/app" },
  { label: "crosslink (POST)", method: "POST", path: "/api/flist/me/cl2/crosslink/other/app" },
  { label: "crosstag (GET)", method: "GET", path: "/api/flist/me/ct1/crosstag/other/v1" },
  { label: "crosstag (POST)", method: "POST", path: "/api/flist/me/ct2/crosstag/other/v1" },
  { label: "tag add (GET)", method: "GET", path: "/api/flist/me/newtag/a/tag/other/app" },
  { label: "tag add (POST)", method: "POST", path: "/api/flist/me/newtag/b/tag/other/app" },
  { label: "tag remove (DELETE)", method: "DELETE", path: "/api/flist/me/rel/main/tag/victim/main" },
  { label: "rename (GET)", method: "GET", path: "/api/flist/me/overlay/rename/r1" },
  { label: "rename (POST)", method: "POST", path: "/api/flist/me/r1/rename/r2" },
  { label: "promote (GET)", method: "GET", path: "/api/flist/me/promote/other/app/p1" },
  { label: "promote (POST)", method: "POST", path: "/api/flist/me/promote/other/app/p2" },
  { label: "restore (POST)", method: "POST", path: "/api/flist/me/main/restore/1" },
  { label: "delete (DELETE)", method: "DELETE", path: "/api/flist/me/r2" },
  // Publishing routes: asynchronous, so the control request returns once the job is queued.
  {
    label: "upload (POST)",
    method: "POST",
    path: "/api/flist/me/upload?async=1",
    body: () => uploadForm(randomBytes(64), "up.tar.gz"),
  },
  {
    label: "upload-flist (POST)",
    method: "POST",
    path: "/api/flist/me/upload-flist?async=1",
    body: () => uploadForm(randomBytes(64), "home.flist"),
  },
  { label: "streamed upload (PUT)", method: "PUT", path: "/api/flist/me/upload/raw.tar.gz?async=1", body: () => randomBytes(64) },
  { label: "merge (POST)", method: "POST", path: "/api/flist/me/merge/m1?async=1", body: json(["victim/main", "other/app"]) },
  { label: "docker (POST)", method: "POST", path: "/api/flist/me/docker?async=1", body: json({ image: "alpine:3.20" }) },
  { label: "resumable create (POST)", method: "POST", path: "/api/flist/me/uploads", body: json({ filename: "big.tar.gz" }) },
  {
    label: "resumable part (PUT)",
    method: "PUT",
    path: "/api/flist/me/uploads/__SESSION_A__/1",
    body: () => randomBytes(64),
  },
  { label: "resumable complete (POST)", method: "POST", path: "/api/flist/me/uploads/__SESSION_A__/complete?async=1" },
  { label: "resumable abort (DELETE)", method: "DELETE", path: "/api/flist/me/uploads/__SESSION_B__" },
  {
    label: "chunks missing (POST)",
    method: "POST",
    path: "/api/chunks/missing",
    body: json(["0123456789abcdef0123456789abcdef"]),
    effect: "converter",
  },
  {
    label: "chunk upload (PUT)",
    method: "PUT",
    path: "/api/chunks/0123456789abcdef0123456789abcdef",
    body: () => randomBytes(64),
    effect: "converter",
  },
  // LXD/Incus image server: created by the first row, removed by the last two in the control pass.
  {
    label: "image curl upload (POST /images/)",
    method: "POST",
    path: "/images/",
    ...imageForm(`mx/1/amd64/default/${IMAGE_V}/lxd.tar.xz`),
  },
  {
    label: "image file (PUT)",
    method: "PUT",
    path: `/api/images/mx/1/amd64/default/${IMAGE_V}/rootfs.squashfs`,
    body: () => randomBytes(64),
  },
  {
    label: "image resumable upload create (POST)",
    method: "POST",
    path: "/api/images/uploads",
    body: json({ os: "mx", release: "1", arch: "amd64", version: IMAGE_V, file: "disk.qcow2", size: 6 * 1024 * 1024 }),
  },
  {
    label: "image version create (POST)",
    method: "POST",
    path: "/api/images/versions",
    body: json({ os: "mx", release: "1", arch: "amd64", version: "20260102_00:00" }),
  },
  { label: "image version delete (DELETE)", method: "DELETE", path: "/api/images/mx/1/amd64/default/20260102_00:00" },
  { label: "image product delete (DELETE)", method: "DELETE", path: "/api/images/mx/1/amd64/default" },
  { label: "flist as LXD image (POST)", method: "POST", path: "/api/flist/me/main/lxd?async=1" },
  {
    label: "revoke one token (POST)",
    method: "POST",
    path: "/api/flist/me/tokens/revoke",
    body: "__OWNER_SPARE_TOKEN__",
  },
  { label: "revoke all tokens (POST)", method: "POST", path: "/api/flist/me/tokens/revoke", body: json({ all: true }) },
];

interface Case {
  label: string;
  status: number;
  message: string | RegExp;
  headers: () => Record<string, string>;
  env?: Partial<Env>;
}

const tokens: Record<string, string> = {};

function tamper(token: string): string {
  // Flip one bit of the signature (first byte), keeping the encoding valid.
  const bytes = Uint8Array.from(atob(token.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
}

const CASES: Case[] = [
  {
    label: "no Authorization header (cookie only)",
    status: 401,
    message: "no authorization provided",
    headers: () => ({ Cookie: "active-user=victim; session=whatever" }),
  },
  {
    label: "malformed header",
    status: 400,
    message: "invalid authorization header",
    headers: () => ({ Authorization: `Token ${tokens.owner}` }),
  },
  {
    label: "bad signature",
    status: 401,
    message: "invalid signature",
    headers: () => ({ Authorization: `bearer ${tamper(tokens.owner ?? "")}` }),
  },
  {
    label: "token signed by another seed",
    status: 401,
    message: "invalid signature",
    headers: () => ({ Authorization: `bearer ${tokens.foreign}` }),
  },
  {
    label: "expired token",
    status: 401,
    message: "token expired",
    headers: () => ({ Authorization: `bearer ${tokens.expired}` }),
  },
  {
    label: "revoked token",
    status: 401,
    message: "token revoked",
    headers: () => ({ Authorization: `bearer ${tokens.revoked}` }),
  },
  {
    label: "member's token revoked by not-before",
    status: 401,
    message: "token revoked",
    headers: () => ({ Authorization: `bearer ${tokens.memberRevoked}`, Cookie: "active-user=victim" }),
  },
  {
    label: "valid token, not a member (active-user cookie)",
    status: 403,
    message: /not a member/,
    headers: () => ({ Authorization: `bearer ${tokens.mallory}`, Cookie: "active-user=victim" }),
  },
  {
    label: "valid token, not a member (X-Hub-Repository)",
    status: 403,
    message: /not a member/,
    headers: () => ({ Authorization: `bearer ${tokens.mallory}`, "X-Hub-Repository": "victim" }),
  },
  {
    label: "valid owner token in readonly mode",
    status: 400,
    message: "readonly mode",
    headers: () => ({ Authorization: `bearer ${tokens.owner}` }),
    env: { HUB_READONLY: "true" },
  },
];

const sessions: Record<string, string> = {};

function pathOf(route: Route): string {
  return route.path.replace(/__SESSION_(\w)__/, (_, k: string) => sessions[k] ?? "missing");
}

/** The request body and its headers (JSON strings get their Content-Type; forms and bytes bring theirs). */
function bodyOf(route: Route): { body?: BodyInit; headers: Record<string, string> } {
  if (route.body === undefined) return { headers: {} };
  if (typeof route.body === "function") {
    const body = route.body();
    // An in-process Request has no Content-Length until it crosses the network: declare it as a client does.
    const length: Record<string, string> = body instanceof Uint8Array ? { "Content-Length": String(body.byteLength) } : {};
    return { body, headers: { ...route.headers, ...length } };
  }
  const body = route.body === "__OWNER_SPARE_TOKEN__" ? json({ token: tokens.ownerSpare }) : route.body;
  return { body, headers: { "Content-Type": "application/json" } };
}

beforeAll(async () => {
  await migrate();
  const t = now();
  tokens.owner = await signToken(SEED, "victim", t - 60);
  tokens.ownerSpare = await signToken(SEED, "victim", t - 50);
  tokens.other = await signToken(SEED, "other", t - 60);
  tokens.foreign = await signToken(OTHER_SEED, "victim", t - 60);
  tokens.expired = await signToken(SEED, "victim", t - MAX_AGE - 60);
  tokens.revoked = await signToken(SEED, "victim", t - 40);
  tokens.memberRevoked = await signToken(SEED, "member", t - 3600);
  tokens.mallory = await signToken(SEED, "mallory", t - 60);

  // Catalog: victim/{main (with one history version), overlay}, tag victim/rel ∋ main; other/app, tag other/v1.
  await publish("victim", "main", "main");
  await publish("victim", "main", "meta"); // overwrites → history version 1
  await publish("victim", "overlay", "overlay");
  await publish("other", "app", "edited");
  await asUser(tokens.owner ?? "", "/api/flist/me/rel/main/tag/victim/main");
  await asUser(tokens.other ?? "", "/api/flist/me/v1/app/tag/other/app");

  // Revocations and memberships, before the reference dump (they are part of it).
  const revoke = await hub("/internal/tokens/revoke", {
    method: "POST",
    headers: internalHeaders({ "Content-Type": "application/json" }),
    body: json({ token: tokens.revoked }),
  });
  expect(revoke.status).toBe(200);
  for (const [method, path] of [
    ["PUT", "/internal/members/victim/member"],
    ["PUT", "/internal/members/other/mallory"],
  ] as const) {
    expect((await hub(path, { method, headers: internalHeaders() })).status).toBe(200);
  }
  const notBefore = await hub("/internal/tokens/revoke", {
    method: "POST",
    headers: internalHeaders({ "Content-Type": "application/json" }),
    body: json({ user: "member", notBefore: t - 60 }),
  });
  expect(notBefore.status).toBe(200);

  // Sanity of the setup: the history version exists, the valid tokens work, the others are refused for real.
  const history = (await (await hub("/api/flist/victim/main/history")).json()) as { versions: { version: number }[] };
  expect(history.versions.map((v) => v.version)).toContain(1);

  // Two resumable upload sessions of the victim, for the part/complete/abort routes.
  for (const key of ["A", "B"]) {
    const res = await hub("/api/flist/me/uploads", {
      method: "POST",
      headers: { Authorization: `bearer ${tokens.owner}`, "Content-Type": "application/json" },
      body: json({ filename: `s${key}.tar.gz` }),
    });
    expect(res.status).toBe(201);
    sessions[key] = ((await res.json()) as { payload: { id: string } }).payload.id;
  }
});

describe("authorization matrix", () => {
  for (const route of ROUTES) {
    it(`${route.label}: every refused caller gets the right 4xx and changes nothing`, async () => {
      for (const c of CASES) {
        const before = await dumpCatalog();
        const forwarded = converter.calls.length;
        const { body, headers: bodyHeaders } = bodyOf(route);
        const headers: Record<string, string> = { ...c.headers(), ...bodyHeaders };
        const res = await hub(pathOf(route), { method: route.method, headers, body }, c.env);
        const text = await res.text();
        const where = `${route.method} ${route.path} with ${c.label}: ${res.status} ${text}`;
        expect(res.status, where).toBe(c.status);
        expect(res.headers.get("content-type"), where).toMatch(/^application\/json/);
        const parsed = JSON.parse(text) as { status: string; message: string };
        expect(parsed.status, where).toBe("error");
        if (typeof c.message === "string") expect(parsed.message, where).toBe(c.message);
        else expect(parsed.message, where).toMatch(c.message);
        expect(await dumpCatalog(), where).toBe(before);
        expect(converter.calls.length, where).toBe(forwarded);
      }
    });
  }

  it("control: the same requests with a valid token do change the catalog (so no row above passes vacuously)", async () => {
    for (const route of ROUTES) {
      const before = await dumpCatalog();
      const forwarded = converter.calls.length;
      const { body, headers: bodyHeaders } = bodyOf(route);
      const headers: Record<string, string> = { Authorization: `bearer ${tokens.owner}`, ...bodyHeaders };
      const res = await hub(pathOf(route), { method: route.method, headers, body });
      const where = `${route.method} ${route.path}: ${res.status} ${await res.clone().text()}`;
      expect([200, 201, 202], where).toContain(res.status);
      expect(((await res.json()) as { status: string }).status, where).toBe("success");
      if (route.effect === "converter") expect(converter.calls.length, where).toBeGreaterThan(forwarded);
      else expect(await dumpCatalog(), where).not.toBe(before);
    }
    // The last control request revoked every token of the owner issued until now.
    expect((await hub("/api/flist/me", { headers: { Authorization: `bearer ${tokens.owner}` } })).status).toBe(401);
  });

  it("a member acting for the organisation is allowed (the matrix refusals are about identity, not the route)", async () => {
    const member = await signToken(SEED, "mallory", now());
    const before = await dumpCatalog();
    const res = await hub("/api/flist/me/app/link/mlink", {
      headers: { Authorization: `bearer ${member}`, Cookie: "active-user=other" },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await dumpCatalog()).not.toBe(before);
    const listing = (await (await hub("/api/flist/other")).json()) as { name: string }[];
    expect(listing.map((e) => e.name)).toContain("mlink.flist");
  });
});
