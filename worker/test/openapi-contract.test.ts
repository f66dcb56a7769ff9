/**
 * The OpenAPI document against the real hub (docs/openapi.md): every operation of the document is called here on
 * the whole application (local D1/R2/Queue in workerd) and each real answer is checked against what the document
 * declares for it — the status must be one of the operation's responses, a JSON body must validate (ajv, JSON
 * Schema 2020-12) against that response's schema, any other body must have a declared media type. The last tests
 * fail when the document has an operation no call exercised, or the app a public route the document lacks.
 *
 * The converter is the one thing stubbed (support/jobs.ts `stubConverter`: it accepts jobs and answers the chunk
 * calls); publishing routes are called with `?async=1`, so their 202 answers are checked, plus their refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../src/app";
import { signToken } from "../src/auth/tokens";
import { outOfScope } from "../src/openapi/scope";
import { openapiPath } from "../src/openapi/operation";
import type { Env } from "../src/env";
import { bytesOf, curlForm, hub } from "./images-support";
import { migrate, publish, tokenFor } from "./support/hub";
import { env } from "cloudflare:workers";
import { failJob, fakeArchive, publishJob, stubConverter, uploadForm, waitFor, type ConverterCall, type ConverterStub } from "./support/jobs";
import { answerValidator, type Doc } from "./support/openapi";

let doc: Doc;
let validatorFor: ReturnType<typeof answerValidator>;
let converter: ConverterStub;
const exercised = new Set<string>();
let alice: Record<string, string>;
let bob: Record<string, string>;

const V = "20260301_10:30";

/** Why `body` (with `status` and `type`) is not an answer the document declares for `method route`, or null. */
function breach(method: string, route: string, status: number, type: string | null, body: unknown): string | null {
  const op = doc.paths[openapiPath(route)]?.[method];
  if (!op) return `the document has no operation ${method.toUpperCase()} ${route}`;
  const answer = op.responses[String(status)];
  if (!answer) return `${status} is not a declared response of ${op.operationId}`;
  const media = (type ?? "").split(";")[0]!.trim().toLowerCase();
  if (!media || body === undefined) return null;
  const content = answer.content?.[media];
  if (!content) return `${op.operationId} ${status}: media type ${media} not declared`;
  if (media !== "application/json") return null;
  const validate = validatorFor(`${op.operationId} ${status}`, content.schema);
  return validate(body) ? null : `${op.operationId} ${status}: ${JSON.stringify(validate.errors)}`;
}

/**
 * Calls the hub as `route` (the Hono pattern of the operation) and checks the answer against the document.
 * JSON bodies are parsed; event streams are cancelled after their headers.
 */
async function call(
  method: string,
  route: string,
  url: string,
  init: RequestInit = {},
  overrides: Partial<Env> = {},
): Promise<{ status: number; body: any; res: Response }> {
  const res = await hub(url, { ...init, method: method.toUpperCase() }, overrides);
  const type = res.headers.get("Content-Type");
  let body: unknown;
  if (method === "head" || res.status === 304) body = undefined;
  else if ((type ?? "").startsWith("application/json")) body = await res.json();
  else if ((type ?? "").startsWith("text/event-stream")) {
    await res.body?.cancel();
    body = "";
  } else body = new Uint8Array(await res.arrayBuffer());
  const problem = breach(method, route, res.status, type, body);
  expect(problem, `${method.toUpperCase()} ${url} → ${res.status} ${JSON.stringify(body)?.slice(0, 300)}`).toBeNull();
  exercised.add(`${method} ${openapiPath(route)}`);
  return { status: res.status, body, res };
}

const json = (value: unknown, headers: Record<string, string> = {}): RequestInit => ({
  headers: { ...headers, "Content-Type": "application/json" },
  body: JSON.stringify(value),
});

/** The converter's side: the missing-chunks answer, else "accepted". */
const answerConverter = (c: ConverterCall) =>
  c.path === "/chunks/missing" ? Response.json({ missing: c.json.hashes.slice(0, 1) }) : Response.json({ status: "accepted" }, { status: 202 });

beforeAll(async () => {
  await migrate();
  converter = stubConverter(answerConverter);
  alice = { Authorization: `bearer ${await tokenFor("alice")}` };
  bob = { Authorization: `bearer ${await tokenFor("bob")}` };
  expect((await publish("alice", "app.flist", "main")).status).toBe(200);
  expect((await publish("alice", "other.flist", "overlay")).status).toBe(200);
  const res = await hub("/api/openapi.json");
  doc = (await res.json()) as Doc;
  validatorFor = answerValidator(doc);
});

afterAll(() => converter.restore());

describe("every operation answers what the document declares", () => {
  it("service and tokens", async () => {
    await call("get", "/api/health", "/api/health");
    expect((await call("get", "/health", "/health")).status).toBe(200);
    converter.answer((c) => (c.path === "/health" ? new Response("down", { status: 503 }) : answerConverter(c)));
    expect((await call("get", "/health", "/health")).body.message).toBe("converter: answered 503");
    converter.answer(answerConverter);
    await call("get", "/api/openapi.json", "/api/openapi.json");
    expect((await call("get", "/api/search", "/api/search?q=app")).body.names.length).toBeGreaterThan(0);
    expect((await call("get", "/api/flist/me", "/api/flist/me", { headers: alice })).body.payload.username).toBe("alice");
    expect((await call("get", "/api/flist/me", "/api/flist/me")).status).toBe(401);
    expect((await call("get", "/api/flist/me", "/api/flist/me", { headers: { ...alice, "X-Hub-Repository": "acme" } })).status).toBe(403);
    const readonly = await call("get", "/api/jobs", "/api/jobs", { headers: alice }, { HUB_READONLY: "true" });
    expect(readonly.body.message).toBe("readonly mode");
    // Another token of alice's (tokens are deterministic per second: this one is not the one the calls use).
    const spare = await signToken(env.HUB_SIGNING_SEED, "alice", Math.floor(Date.now() / 1000) - 60);
    await call("post", "/api/flist/me/tokens/revoke", "/api/flist/me/tokens/revoke", json({ token: spare }, alice));
    expect((await call("post", "/api/flist/me/tokens/revoke", "/api/flist/me/tokens/revoke", json({ nope: 1 }, alice))).status).toBe(400);
  });

  it("public catalog reads", async () => {
    await call("get", "/api/limits", "/api/limits");
    await call("get", "/api/backend", "/api/backend");
    await call("get", "/api/repositories", "/api/repositories");
    await call("get", "/api/flist", "/api/flist");
    await call("get", "/api/fileslist", "/api/fileslist");
    await call("get", "/api/flist/:repo", "/api/flist/alice");
    expect((await call("get", "/api/flist/:repo", "/api/flist/nobody")).status).toBe(404);
    expect((await call("get", "/api/flist/:repo", "/api/flist/a%01b")).status).toBe(400);
    await call("get", "/api/flist/:repo/:name/light", "/api/flist/alice/app.flist/light");
    await call("get", "/api/flist/:repo/:name/downloads", "/api/flist/alice/app.flist/downloads");
    expect((await call("get", "/api/flist/:repo/:name/downloads", "/api/flist/alice/none.flist/downloads")).status).toBe(404);
    await call("get", "/api/downloads/:repo", "/api/downloads/alice");
    await call("get", "/api/flist/:repo/:name/metadata", "/api/flist/alice/app.flist/metadata");
    await call("get", "/api/flist/:repo/:name/history", "/api/flist/alice/app.flist/history");
    await call("get", "/api/flist/:repo/:name/tree", "/api/flist/alice/app.flist/tree");
    await call("get", "/api/flist/:repo/:name/tree", "/api/flist/alice/app.flist/tree?q=bin");
    await call("get", "/api/flist/:repo/:name", "/api/flist/alice/app.flist");
    const sha256 = (await call("get", "/api/flist/:repo/:name/history", "/api/flist/alice/app/history")).body.current.sha256;
    await call("get", "/api/blobs/:file", `/api/blobs/${sha256}.flist`);
    await call("get", "/api/blobs/:file", `/api/blobs/${sha256}.flist.md5`);
    await call("get", "/api/blobs/:file", `/api/blobs/${sha256}.flist`, { headers: { Range: "bytes=0-9" } });
  });

  it("downloads", async () => {
    await call("get", "/:repo/:file", "/alice/app.flist");
    await call("get", "/:repo/:file", "/alice/app.flist.md5");
    await call("get", "/:repo/:file", "/alice/app.txt");
    await call("get", "/:repo/:file", "/alice/app.json");
    const etag = (await call("get", "/:repo/:file", "/alice/app.flist")).res.headers.get("ETag")!;
    expect((await call("get", "/:repo/:file", "/alice/app.flist", { headers: { "If-None-Match": etag } })).status).toBe(304);
    expect((await call("get", "/:repo/:file", "/alice/nothing.flist")).status).toBe(404);
  });

  it("the me API, tags and history", async () => {
    const me = (route: string, url: string, method = "get", headers = alice) =>
      call(method, `/api/flist/me${route}`, `/api/flist/me${url}`, { headers });
    for (const method of ["get", "post"]) {
      await me("/:source/link/:linkname", `/app/link/latest-${method}`, method);
      await me("/:source/rename/:dest", `/latest-${method}/rename/current-${method}`, method);
      await me("/promote/:srcrepo/:srcfile/:localname", `/promote/alice/app/copy-${method}`, method, bob);
      await me("/:linkname/crosslink/:repo/:src", `/cross-${method}/crosslink/alice/app`, method, bob);
      await me("/:tag/:linkname/tag/:repo/:src", `/v1/app-${method}/tag/alice/app`, method);
      await me("/:linkname/crosstag/:repo/:tag", `/tagged-${method}/crosstag/alice/v1`, method, bob);
    }
    expect((await me("/:source/link/:linkname", "/nothing/link/x")).status).toBe(404);
    expect((await me("/:source/link/:linkname", "/app/link/x", "get", {})).status).toBe(401);
    await call("get", "/api/flist/:repo/tags/:tag", "/api/flist/alice/tags/v1");
    await call("get", "/api/flist/:repo/:name/taglink", "/api/flist/bob/tagged-get/taglink");
    await call("get", "/:repo/tags/:tag/:file", "/alice/tags/v1/app-get.flist");
    await me("/:tag/:linkname/tag/:repo/:src", "/v1/app-get/tag/alice/app", "delete");
    await me("/:name", "/app");
    await me("/:name", "/current-get", "delete");
    const restored = await me("/:name/restore/:version", "/current-get/restore/1", "post");
    expect(restored.body.payload.restored).toBe(1);
    expect((await me("/:name/restore/:version", "/current-get/restore/x", "post")).status).toBe(400);
  });

  it("publishing: uploads, resumable sessions, merge, docker, jobs", async () => {
    const archive = await fakeArchive();
    const form = (name: string) => ({ headers: alice, body: uploadForm(archive, name) });
    const started = await call("post", "/api/flist/me/upload", "/api/flist/me/upload?async=1", form("app.tar.gz"));
    expect(started.status).toBe(202);
    const job = started.body.payload.job as string;
    expect((await call("post", "/api/flist/me/upload", "/api/flist/me/upload", form("app.zip"))).status).toBe(400);
    await call("post", "/api/flist/me/upload-flist", "/api/flist/me/upload-flist?async=1", {
      headers: alice,
      body: uploadForm(Uint8Array.from(archive), "home.flist"),
    });
    await call("put", "/api/flist/me/upload/:filename", "/api/flist/me/upload/big.tar.gz?async=1", {
      headers: { ...alice, "Content-Length": String(archive.length) },
      body: archive,
    });
    await call("post", "/api/flist/me/merge/:target", "/api/flist/me/merge/both?async=1", json(["alice/app", "alice/other"], alice));
    expect((await call("post", "/api/flist/me/merge", "/api/flist/me/merge", json(["alice/app"], alice))).status).toBe(400);
    await call("post", "/api/flist/me/docker", "/api/flist/me/docker?async=1", json({ image: "alpine:3.20" }, alice));
    expect((await call("post", "/api/flist/me/docker", "/api/flist/me/docker", json({ image: "" }, alice))).status).toBe(400);

    await call("get", "/api/jobs", "/api/jobs", { headers: alice });
    await call("get", "/api/jobs/:id", `/api/jobs/${job}`);
    expect((await call("get", "/api/jobs/:id", "/api/jobs/no-such-job")).status).toBe(404);
    await call("get", "/api/jobs/:id/events", `/api/jobs/${job}/events`);
    await call("get", "/listen/:id", `/listen/${job}`);

    const size = archive.length;
    const opened = await call("post", "/api/flist/me/uploads", "/api/flist/me/uploads", json({ filename: "huge.tar.gz", size }, alice));
    expect(opened.status).toBe(201);
    const id = opened.body.payload.id as string;
    await call("put", "/api/flist/me/uploads/:id/:part", `/api/flist/me/uploads/${id}/1`, {
      headers: { ...alice, "Content-Length": String(size) },
      body: archive,
    });
    await call("get", "/api/flist/me/uploads/:id", `/api/flist/me/uploads/${id}`, { headers: alice });
    await call("post", "/api/flist/me/uploads/:id/complete", `/api/flist/me/uploads/${id}/complete?async=1`, { headers: alice });
    const other = await call("post", "/api/flist/me/uploads", "/api/flist/me/uploads", json({ filename: "gone.tar.gz" }, alice));
    await call("delete", "/api/flist/me/uploads/:id", `/api/flist/me/uploads/${other.body.payload.id}`, { headers: alice });
    expect((await call("get", "/api/flist/me/uploads/:id", `/api/flist/me/uploads/${id}`, { headers: bob })).status).toBe(404);

    await call("post", "/api/flist/me/:name/lxd", "/api/flist/me/app/lxd?async=1", { headers: alice });
  });

  it("publishing: synchronous answers, the converter's side played through the internal routes", async () => {
    /** Starts the call, plays the converter when its job is dispatched, and answers the call's checked answer. */
    async function played(user: string, route: string, url: string, init: RequestInit, finish: (id: string) => Promise<unknown>) {
      const pending = call("post", route, url, init);
      let id = "";
      await waitFor(async () => {
        const row = await env.DB.prepare("SELECT id FROM jobs WHERE repository = ?1").bind(user).first<{ id: string }>();
        return (id = row?.id ?? "") !== "";
      });
      await converter.waitForDispatch(id);
      await finish(id);
      return pending;
    }
    const carol = { Authorization: `bearer ${await tokenFor("carol")}` };
    const tar = await played("carol", "/api/flist/me/upload", "/api/flist/me/upload", { headers: carol, body: uploadForm(await fakeArchive(), "app.tar.gz") }, (id) =>
      publishJob(id, 1, "carol", "app.flist", "main"),
    );
    expect(tar.status).toBe(200);
    const done = await call("get", "/api/jobs/:id", `/api/jobs/${tar.res.headers.get("X-Hub-Job")}`);
    expect(done.body.payload.result.name).toBe("app.flist");
    const dave = { Authorization: `bearer ${await tokenFor("dave")}` };
    const docker = await played("dave", "/api/flist/me/docker", "/api/flist/me/docker", json({ image: "alpine:3.20" }, dave), (id) =>
      publishJob(id, 1, "dave", "alpine-3.20.flist", "main"),
    );
    expect(docker.status).toBe(200);
    const erin = { Authorization: `bearer ${await tokenFor("erin")}` };
    const merge = await played("erin", "/api/flist/me/merge/:target", "/api/flist/me/merge/both", json(["alice/app", "alice/other"], erin), (id) =>
      publishJob(id, 1, "erin", "both.flist", "merged"),
    );
    expect(merge.status).toBe(200);
    const frank = { Authorization: `bearer ${await tokenFor("frank")}` };
    const failed = await played("frank", "/api/flist/me/docker", "/api/flist/me/docker", json({ image: "nothing:here" }, frank), (id) =>
      failJob(id, 1, "manifest unknown", 404),
    );
    expect(failed.status).toBe(404);
  });

  it("chunks", async () => {
    const hash = "0123456789abcdef0123456789abcdef";
    const missing = await call("post", "/api/chunks/missing", "/api/chunks/missing", json({ hashes: [hash] }, alice));
    expect(missing.body.payload.missing).toEqual([hash]);
    expect((await call("post", "/api/chunks/missing", "/api/chunks/missing", json({ hashes: ["zz"] }, alice))).status).toBe(400);
    const bytes = bytesOf("chunk", 100);
    await call("put", "/api/chunks/:hash", `/api/chunks/${hash}`, { headers: { ...alice, "Content-Length": "100" }, body: bytes });
  });

  it("the image server", async () => {
    const auth = alice;
    const base = `alpine/3.20/amd64/default/${V}`;
    const { body, headers } = curlForm(`${base}/lxd.tar.xz`, bytesOf("lxd metadata", 700));
    await call("post", "/images", "/images/", { headers: { ...headers, ...auth }, body });
    const root = bytesOf("squashfs", 5000);
    await call("put", "/api/images/:os/:release/:arch/:variant/:version/:file", `/api/${`images/${base}`}/rootfs.squashfs`, {
      headers: { ...auth, "Content-Length": String(root.length) },
      body: root,
    });
    await call("post", "/api/images/versions", "/api/images/versions", json({ os: "bobos", release: "1", arch: "x86_64", version: V }, bob));
    expect((await call("post", "/api/images/versions", "/api/images/versions", json({ os: "alpine", release: "3.20", arch: "amd64", version: V }, bob))).status).toBe(403);
    await call("get", "/streams/v1/index.json", "/streams/v1/index.json");
    await call("get", "/streams/v1/images.json", "/streams/v1/images.json");
    await call("get", "/api/images", "/api/images");
    await call("get", "/images/:os/:release/:arch/:variant/:version/:file", `/images/${base}/rootfs.squashfs`);
    await call("head", "/images/:os/:release/:arch/:variant/:version/:file", `/images/${base}/rootfs.squashfs`);
    expect((await call("get", "/images/:os/:release/:arch/:variant/:version/:file", `/images/${base}/nothing.squashfs`)).status).toBe(404);

    const part = bytesOf("disk", 3000);
    const opened = await call("post", "/api/images/uploads", "/api/images/uploads", json({ os: "alpine", release: "3.20", arch: "amd64", version: V, file: "disk.qcow2", size: part.length }, auth));
    const id = opened.body.payload.id as string;
    await call("put", "/api/images/uploads/:id/:part", `/api/images/uploads/${id}/1`, { headers: { ...auth, "Content-Length": String(part.length) }, body: part });
    await call("post", "/api/images/uploads/:id/complete", `/api/images/uploads/${id}/complete`, { headers: auth });
    const other = await call("post", "/api/images/uploads", "/api/images/uploads", json({ os: "alpine", release: "3.20", arch: "amd64", version: V, file: "root.tar.xz", size: 10 }, auth));
    await call("delete", "/api/images/uploads/:id", `/api/images/uploads/${other.body.payload.id}`, { headers: auth });

    const deletes = { HUB_IMAGES_ALLOW_DELETES: "true" };
    expect((await call("delete", "/api/images/:os/:release/:arch/:variant/:version", `/api/images/${base}`, { headers: auth })).status).toBe(405);
    await call("delete", "/api/images/:os/:release/:arch/:variant/:version", `/api/images/${base}`, { headers: auth }, deletes);
    await call("delete", "/api/images/:os/:release/:arch/:variant", "/api/images/bobos/1/x86_64/default", { headers: bob }, deletes);
  });
});

describe("the contract stays complete", () => {
  it("every operation of the document was exercised above", () => {
    const declared: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Doc>)) {
      for (const method of Object.keys(item)) declared.push(`${method} ${path}`);
    }
    expect(declared.filter((k) => !exercised.has(k))).toEqual([]);
  });

  it("every route of the app outside the website and /internal is in the document", () => {
    const routes = app.routes.filter((r) => r.method !== "ALL" && !outOfScope(r.method, r.path));
    const missing = routes.filter((r) => !doc.paths[openapiPath(r.path)]?.[r.method.toLowerCase()]).map((r) => `${r.method} ${r.path}`);
    expect([...new Set(missing)]).toEqual([]);
  });

  it("an answer that breaks its schema is caught", () => {
    expect(breach("get", "/api/limits", 200, "application/json", { status: "success", payload: { requestMaxBytes: "big" } })).toMatch(/getApiLimits 200/);
    expect(breach("get", "/api/flist/:repo", 200, "application/json", [{ name: "a.flist", size: 1, updated: 0, type: "regular" }])).toMatch(/getApiFlistRepo 200/);
    expect(breach("get", "/api/health", 418, "application/json", {})).toMatch(/418 is not a declared response/);
    expect(breach("get", "/api/health", 200, "text/html", "<p>")).toMatch(/media type text\/html not declared/);
  });
});
