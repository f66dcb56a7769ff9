/**
 * The publish pages' web routes: signed-in pages, and the session + CSRF authenticated actions that
 * start the same jobs as the API routes (staged input, job record, dispatch), a job followed to its flist page.
 * The converter is the only thing stood in for (support/jobs.ts).
 */
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { app } from "../src/app";
import { fetchHub, migrate, publish } from "./support/hub";
import { accepted, jobRow, publishJob, readEvents, sendEvent, stubConverter } from "./support/jobs";
import { BROWSER, page, signIn, type TestSession } from "./web-support";

const stub = stubConverter();
let alice: TestSession;

beforeAll(async () => {
  await migrate();
  await publish("alice", "base", "main");
  await publish("bob", "extra", "overlay");
  alice = await signIn("alice");
});
beforeEach(() => stub.answer(accepted));

function send(method: string, path: string, body: BodyInit, session: TestSession | null, headers: Record<string, string> = {}) {
  return fetchHub(path, {
    method,
    body,
    redirect: "manual",
    headers: {
      Accept: "application/json",
      ...(session ? { Cookie: session.cookie, "X-CSRF-Token": session.csrf } : {}),
      ...headers,
    },
  });
}

describe("publish pages", () => {
  it("send a visitor who is not signed in to the sign-in page, and come back after", async () => {
    for (const path of ["/upload", "/upload-flist", "/merge", "/docker-convert"]) {
      const { status, res } = await page(path);
      expect(status, path).toBe(302);
      expect(res.headers.get("Location")).toBe(`/login-method?next=${encodeURIComponent(path)}`);
    }
  });

  it("render for a signed-in user with the session's CSRF token and the acting repository", async () => {
    for (const path of ["/upload", "/upload-flist", "/merge", "/docker-convert"]) {
      const { status, html, res } = await page(path, { Cookie: alice.cookie });
      expect(status, path).toBe(200);
      expect(res.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
      expect(html).toContain(`data-csrf="${alice.csrf}"`);
      expect(html).toContain('Publishing into <a href="/alice">alice</a>');
      expect(html).toContain("data-job-progress");
    }
  });

  it("send everyone to /readonly on a read-only hub, and /readonly home otherwise", async () => {
    const readonly = { ...env, HUB_READONLY: "true" };
    const res = await app.fetch(new Request("http://hub.test/upload", { headers: { ...BROWSER, Cookie: alice.cookie } }), readonly);
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("/readonly");
    const info = await app.fetch(new Request("http://hub.test/readonly", { headers: BROWSER }), readonly);
    expect(info.status).toBe(200);
    expect(await info.text()).toContain("This hub is read-only");
    const put = await app.fetch(
      new Request("http://hub.test/upload/a.tar.gz", {
        method: "PUT",
        body: "x",
        headers: { Cookie: alice.cookie, "X-CSRF-Token": alice.csrf, "Content-Length": "1" },
      }),
      readonly,
    );
    expect(put.status).toBe(503);
    expect((await page("/readonly")).res.headers.get("Location")).toBe("/");
  });
});

describe("upload action", () => {
  it("refuses without a session or without the CSRF token, staging nothing", async () => {
    const before = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs").first<{ n: number }>();
    const anonymous = await send("PUT", "/upload/app.tar.gz", "data", null);
    expect(anonymous.status).toBe(303);
    const noToken = await send("PUT", "/upload/app.tar.gz", "data", null, { Cookie: alice.cookie });
    expect(noToken.status).toBe(403);
    const badToken = await send("PUT", "/upload/app.tar.gz", "data", null, { Cookie: alice.cookie, "X-CSRF-Token": "x".repeat(43) });
    expect(badToken.status).toBe(403);
    const after = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs").first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
  });

  it("streams the archive to R2 and starts a tar job for the acting repository, like the API", async () => {
    const bytes = new TextEncoder().encode("pretend this is a tar.gz");
    const res = await send("PUT", "/upload/My App (1).tar.gz", bytes, alice);
    expect(res.status).toBe(202);
    const body = (await res.json()) as any;
    const id = body.payload.job as string;
    expect(body.payload).toEqual({
      job: id,
      name: "My_App_1.flist",
      page: "/alice/My_App_1.flist.html",
      self: `/api/jobs/${id}`,
      events: `/api/jobs/${id}/events`,
      listen: `/listen/${id}`,
    });
    const staged = await env.FLISTS.get(`uploads/${id}`);
    expect(new Uint8Array(await staged!.arrayBuffer())).toEqual(bytes);
    const job = await jobRow(id);
    expect({ kind: job.kind, user: job.user, repository: job.repository, name: job.name }).toEqual({
      kind: "tar",
      user: "alice",
      repository: "alice",
      name: "My_App_1.flist",
    });
    const spec = await stub.waitForDispatch(id);
    expect(spec.kind).toBe("tar");
  });

  it("answers readable JSON errors for a wrong file type or an empty file", async () => {
    const zip = await send("PUT", "/upload/app.zip", "x", alice);
    expect(zip.status).toBe(400);
    expect(await zip.json()).toEqual({ status: "error", message: 'this file is not allowed: "app.zip" does not end in .tar.gz; accepted: a .tar.gz file (a gzip-compressed tar archive)' });
    const empty = await send("PUT", "/upload/app.tar.gz", new Uint8Array(0), alice);
    expect(empty.status).toBe(400);
    const flistZip = await send("PUT", "/upload-flist/app.tar.gz", "x", alice);
    expect(flistZip.status).toBe(400);
  });

  it("follows a job to its flist page: events end with info, the page URL answers", async () => {
    const res = await send("PUT", "/upload/shown.tar.gz", "tar bytes", alice);
    const { job: id, page: pageUrl } = ((await res.json()) as any).payload;
    const spec = await stub.waitForDispatch(id);
    await sendEvent(id, spec.attempt, { message: "Unpacking", progress: 40 });
    const published = await publishJob(id, spec.attempt, "alice", "shown.flist", "meta");
    expect(published.status).toBe(200);
    const events = await readEvents(`/api/jobs/${id}/events`);
    expect(events.data.some((d: any) => d.status === "update" && d.message === "Unpacking")).toBe(true);
    expect(events.data.at(-1).status).toBe("info");
    const jobPage = await page(`/jobs/${id}`);
    expect(jobPage.status).toBe(200);
    expect(jobPage.html).toContain(`data-job-id="${id}"`);
    const unknown = await page("/jobs/00000000-0000-4000-8000-000000000000");
    expect(unknown.status).toBe(404);
    expect(unknown.html).toContain("job id not found");
    const flist = await page(pageUrl);
    expect(flist.status).toBe(200);
    expect(flist.html).toContain("<h1>Fixture image</h1>");
  });
});

describe("homemade flist action", () => {
  it("starts a flist job", async () => {
    const res = await send("PUT", "/upload-flist/mine.flist", new Uint8Array([0x1f, 0x8b, 1, 2]), alice);
    expect(res.status).toBe(202);
    const { job: id } = ((await res.json()) as any).payload;
    const job = await jobRow(id);
    expect([job.kind, job.name, job.repository]).toEqual(["flist", "mine.flist", "alice"]);
  });
});

describe("merge action", () => {
  const merge = (body: unknown, session: TestSession | null = alice) =>
    send("POST", "/merge", JSON.stringify(body), session, { "Content-Type": "application/json" });

  it("starts a merge job with the sources pinned to their current bytes, in the given order", async () => {
    const res = await merge({ sources: ["bob/extra", "alice/base.flist"], name: "combined" });
    expect(res.status).toBe(202);
    const { job: id, name } = ((await res.json()) as any).payload;
    expect(name).toBe("combined.flist");
    const job = await jobRow(id);
    const params = JSON.parse(job.params);
    expect(params.sources.map((s: any) => `${s.repository}/${s.name}`)).toEqual(["bob/extra.flist", "alice/base.flist"]);
    expect(params.sources[0].sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses unknown sources, bad names, no sources and a missing CSRF token", async () => {
    const unknown = await merge({ sources: ["bob/nope"], name: "x" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ status: "error", message: "bob/nope.flist does not exists" });
    expect((await merge({ sources: ["bob/extra"], name: "a/b" })).status).toBe(400);
    expect((await merge({ sources: [], name: "x" })).status).toBe(400);
    expect((await merge({ sources: ["bob/extra"], name: "" })).status).toBe(400);
    expect((await send("POST", "/merge", "not json", alice, { "Content-Type": "application/json" })).status).toBe(400);
    const noToken = await send("POST", "/merge", JSON.stringify({ sources: ["bob/extra"], name: "x" }), null, {
      Cookie: alice.cookie,
      "Content-Type": "application/json",
    });
    expect(noToken.status).toBe(403);
  });
});

describe("docker action", () => {
  const docker = (body: unknown, session: TestSession | null = alice, headers: Record<string, string> = {}) =>
    send("POST", "/docker-convert", JSON.stringify(body), session, { "Content-Type": "application/json", ...headers });

  it("starts a docker job like POST /api/flist/me/docker, named after the image, credentials never stored in clear", async () => {
    const res = await docker({ image: "registry.test/team/app:1.2", platform: "linux/arm64", username: "u", password: "S3cret-pw" });
    expect(res.status).toBe(202);
    const { job: id, name, page: pageUrl } = ((await res.json()) as any).payload;
    expect(name).toBe("registry.test-team-app-1.2.flist");
    expect(pageUrl).toBe("/alice/registry.test-team-app-1.2.flist.html");
    const job = await jobRow(id);
    expect([job.kind, job.repository, job.user]).toEqual(["docker", "alice", "alice"]);
    const params = JSON.parse(job.params);
    expect(params.docker).toEqual({ image: "registry.test/team/app:1.2", platform: "linux/arm64" });
    expect(job.params).not.toContain("S3cret-pw");
  });

  it("answers readable errors and refuses without the CSRF token", async () => {
    const missing = await docker({ image: "" });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ status: "error", message: "missing docker image name" });
    expect((await docker({ image: "alpine", platform: "amd64" })).status).toBe(400);
    expect((await docker({ image: "alpine", extra: 1 })).status).toBe(400);
    expect((await send("POST", "/docker-convert", "{", alice, { "Content-Type": "application/json" })).status).toBe(400);
    const noToken = await send("POST", "/docker-convert", JSON.stringify({ image: "alpine" }), null, {
      Cookie: alice.cookie,
      "Content-Type": "application/json",
    });
    expect(noToken.status).toBe(403);
  });

  it("renders the page with platform, startup file and private-registry fields", async () => {
    const { html } = await page("/docker-convert", { Cookie: alice.cookie });
    expect(html).toContain('id="platform"');
    expect(html).toContain('id="startup-toml"');
    expect(html).toContain('id="password"');
    expect(html).toContain("data-layers");
  });
});
