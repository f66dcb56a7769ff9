/**
 * `POST /api/flist/me/docker` through the whole Worker: form and JSON bodies, names as the original hub,
 * synchronous and async answers, the converter's failure status passed through, and registry credentials sealed
 * at rest (never in the job row, its events or its view), opened only in the spec sent to the converter, and gone
 * from the row once the job ends. The converter's side is played through the Worker's real internal routes.
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openCredentials, sealCredentials } from "../src/jobs/credentials";
import { dockerFlistName } from "../src/docker/reference";
import { startDockerJob } from "../src/docker/service";
import { dispatchJob } from "../src/jobs/dispatch";
import { appendEvent, insertJob } from "../src/jobs/store";
import { fetchHub, json, migrate } from "./support/hub";
import { accepted, failJob, jobRow, postUpload, publishJob, stubConverter, waitFor } from "./support/jobs";

const stub = stubConverter();

beforeAll(migrate);
beforeEach(() => stub.answer(accepted));

// Jobs the tests leave running are ended (as their converter would), so no Queue delivery outlives the stub.
afterAll(async () => {
  const open = await env.DB.prepare("SELECT id FROM jobs WHERE status IN ('queued', 'running')").all<{ id: string }>();
  for (const { id } of open.results) {
    await stub.waitForDispatch(id);
    await failJob(id, (await jobRow(id)).attempts, "test over");
  }
});

const PASSWORD = "s3cret-Pa55word-for-the-registry";
const TOKEN = "registry-token-0123456789abcdef";

function jsonBody(body: unknown): { body: string; headers: Record<string, string> } {
  return { body: JSON.stringify(body), headers: { "Content-Type": "application/json" } };
}

async function startAsync(user: string, body: unknown): Promise<{ status: number; body: any }> {
  const { body: text, headers } = jsonBody(body);
  const res = await postUpload(user, "/docker", text, { async: true, headers });
  return { status: res.status, body: res.body };
}

/** Everything the hub keeps about a job: its row, its events, its public view. */
async function everythingAbout(id: string): Promise<string> {
  const row = await jobRow(id);
  const events = await env.DB.prepare("SELECT data FROM job_events WHERE job_id = ?1").bind(id).all();
  const view = await fetchHub(`/api/jobs/${id}`);
  return JSON.stringify(row) + JSON.stringify(events.results) + (await view.text());
}

describe("names (docs/compatibility.md §2)", () => {
  it("follows the original's docker naming", () => {
    expect(dockerFlistName("ubuntu")).toBe("ubuntu-latest.flist");
    expect(dockerFlistName("threefolddev/ubuntu:22.04")).toBe("threefolddev-ubuntu-22.04.flist");
    expect(dockerFlistName("ghcr.io/org/app:v1")).toBe("ghcr.io-org-app-v1.flist");
    expect(dockerFlistName("localhost:5000/app")).toBe("localhost-5000-app.flist");
    expect(dockerFlistName(`app@sha256:${"ab".repeat(32)}`)).toBe(`app@sha256-${"ab".repeat(32)}.flist`);
  });
});

describe("POST /api/flist/me/docker", () => {
  it("form field `image`, synchronous: waits for the job and answers the flist name and its stats", async () => {
    const form = new FormData();
    form.append("image", "threefolddev/ubuntu:22.04");
    const pending = postUpload("dock", "/docker", form);
    let id = "";
    await waitFor(async () => {
      const row = await env.DB.prepare("SELECT id FROM jobs WHERE repository = 'dock' AND kind = 'docker'").first<{ id: string }>();
      id = row?.id ?? "";
      return id !== "";
    });
    const spec = await stub.waitForDispatch(id);
    expect(spec).toEqual({
      id,
      attempt: 1,
      kind: "docker",
      repository: "dock",
      name: "threefolddev-ubuntu-22.04.flist",
      metadata: {},
      image: "threefolddev/ubuntu:22.04",
    });
    expect((await publishJob(id, 1, "dock", "threefolddev-ubuntu-22.04.flist", "main")).status).toBe(200);
    const { status, body, res } = await pending;
    expect(status).toBe(200);
    const find = env.TEST_FIXTURES.main!.find;
    expect(body).toEqual({
      status: "success",
      payload: {
        name: "threefolddev-ubuntu-22.04.flist",
        files: {
          regular: find.regular,
          symlink: find.symlink,
          directory: find.directory,
          special: find.special,
          failure: find.failure,
          fullsize: find.fullsize,
        },
      },
    });
    expect(res.headers.get("X-Hub-Job")).toBe(id);
    expect((await fetchHub("/dock/threefolddev-ubuntu-22.04.flist")).status).toBe(200);
  });

  it("JSON with platform and startupToml, async: 202 with the job; the spec carries them", async () => {
    const { status, body } = await startAsync("dock2", { image: "alpine:3.20", platform: "linux/arm64", startupToml: true });
    expect(status).toBe(202);
    expect(body.payload).toMatchObject({ status: "queued", name: "alpine-3.20.flist", self: `/api/jobs/${body.payload.job}` });
    const spec = await stub.waitForDispatch(body.payload.job);
    expect(spec).toMatchObject({ kind: "docker", image: "alpine:3.20", platform: "linux/arm64", startupToml: true });
    expect(spec.credentials).toBeUndefined();
  });

  it("a failed conversion answers the converter's status and message", async () => {
    const pending = postUpload("dock3", "/docker", jsonBody({ image: "nothing/here" }).body, { headers: { "Content-Type": "application/json" } });
    let id = "";
    await waitFor(async () => {
      id = (await env.DB.prepare("SELECT id FROM jobs WHERE repository = 'dock3'").first<{ id: string }>())?.id ?? "";
      return id !== "";
    });
    await stub.waitForDispatch(id);
    expect((await failJob(id, 1, "docker.io/nothing/here:latest: repository not found", 404)).status).toBe(200);
    const { status, body } = await pending;
    expect(status).toBe(404);
    expect(body).toEqual({ status: "error", message: "docker.io/nothing/here:latest: repository not found" });
    expect((await fetchHub("/dock3/nothing-here-latest.flist")).status).toBe(404);
  });

  it("refuses bad requests with a clear 400 and creates no job", async () => {
    const cases: [BodyInit, Record<string, string>, string][] = [
      [new FormData(), {}, "missing docker image name"],
      [JSON.stringify({ image: "" }), { "Content-Type": "application/json" }, "missing docker image name"],
      [JSON.stringify({ image: "Ubuntu" }), { "Content-Type": "application/json" }, "invalid image reference 'Ubuntu': repository names must be lowercase"],
      [JSON.stringify({ image: "a:b:c" }), { "Content-Type": "application/json" }, "invalid image reference"],
      [JSON.stringify({ image: `bob:${PASSWORD}@registry.example.org/app:v1` }), { "Content-Type": "application/json" }, "invalid image reference: credentials cannot be part of the image reference (user:password@registry/…); send them as the username and password (or token) fields"],
      [JSON.stringify({ image: `bob:${PASSWORD}@registry.example.org/app@sha256:${"a".repeat(64)}` }), { "Content-Type": "application/json" }, "credentials cannot be part of the image reference"],
      [JSON.stringify({ image: "app@latest" }), { "Content-Type": "application/json" }, "invalid image reference: '@' must be followed by a digest"],
      [JSON.stringify({ image: "alpine", username: "bob" }), { "Content-Type": "application/json" }, "invalid credentials: give username and password, or a token alone"],
      [JSON.stringify({ image: "alpine", password: PASSWORD }), { "Content-Type": "application/json" }, "invalid credentials"],
      [JSON.stringify({ image: "alpine", platform: "arm64" }), { "Content-Type": "application/json" }, "invalid platform"],
      [JSON.stringify({ image: "alpine", extra: 1 }), { "Content-Type": "application/json" }, "unknown field: extra"],
      ["{not json", { "Content-Type": "application/json" }, "malformed json request"],
      ["image=alpine", { "Content-Type": "text/plain" }, "missing docker image name"],
    ];
    for (const [body, headers, message] of cases) {
      const res = await postUpload("dock4", "/docker", body, { headers });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.status).toBe("error");
      expect(res.body.message).toContain(message);
      expect(JSON.stringify(res.body)).not.toContain(PASSWORD);
    }
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE repository = 'dock4'").first("n")).toBe(0);
  });

  it("urlencoded form with the original's field and a checkbox", async () => {
    const res = await postUpload("dock5", "/docker", "image=ghcr.io%2Forg%2Fapp%3Av1&startupToml=on", {
      async: true,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(202);
    const spec = await stub.waitForDispatch(res.body.payload.job);
    expect(spec).toMatchObject({ name: "ghcr.io-org-app-v1.flist", image: "ghcr.io/org/app:v1", startupToml: true });
  });
});

describe("registry credentials", () => {
  it("are sealed in the job row, opened only for the converter, and wiped when the job succeeds", async () => {
    const { status, body } = await startAsync("cred1", { image: "registry.example.org/private/app:v2", username: "bob", password: PASSWORD });
    expect(status).toBe(202);
    const id = body.payload.job as string;
    const row = await jobRow(id);
    const params = JSON.parse(row.params);
    expect(params.sealed).toMatch(/^v1\./);
    expect(params.docker).toEqual({ image: "registry.example.org/private/app:v2" });
    expect(await everythingAbout(id)).not.toContain(PASSWORD);
    expect(await everythingAbout(id)).not.toContain('"bob"');

    const spec = await stub.waitForDispatch(id);
    expect(spec.credentials).toEqual({ username: "bob", password: PASSWORD });
    expect(await everythingAbout(id)).not.toContain(PASSWORD);

    expect((await publishJob(id, 1, "cred1", "registry.example.org-private-app-v2.flist")).status).toBe(200);
    // Besides the request: the id of the request that started the job (docs/operations.md "Logs").
    expect(JSON.parse((await jobRow(id)).params)).toEqual({ docker: { image: "registry.example.org/private/app:v2" }, requestId: expect.any(String) });
  });

  it("a token alone; wiped when the job fails", async () => {
    const { body } = await startAsync("cred2", { image: "alpine", token: TOKEN });
    const id = body.payload.job as string;
    const spec = await stub.waitForDispatch(id);
    expect(spec.credentials).toEqual({ token: TOKEN });
    expect(await everythingAbout(id)).not.toContain(TOKEN);
    expect((await failJob(id, 1, "registry 127.0.0.1:5000: the credentials were refused", 401)).status).toBe(200);
    expect(JSON.parse((await jobRow(id)).params).sealed).toBeUndefined();
    const view = await json(`/api/jobs/${id}`);
    expect(view.body.payload).toMatchObject({ status: "failed", message: "registry 127.0.0.1:5000: the credentials were refused" });
  });

  it("a sealed text opens only for its own job and with the hub's key", async () => {
    const sealed = await sealCredentials(env.INTERNAL_SECRET, "job-a", { username: "u", password: PASSWORD });
    expect(sealed).not.toContain(PASSWORD);
    expect(await openCredentials(env.INTERNAL_SECRET, "job-a", sealed)).toEqual({ username: "u", password: PASSWORD });
    await expect(openCredentials(env.INTERNAL_SECRET, "job-b", sealed)).rejects.toThrow("cannot be opened");
    await expect(openCredentials("another-secret-entirely", "job-a", sealed)).rejects.toThrow("cannot be opened");
    // Two seals of the same credentials differ (random IV).
    expect(await sealCredentials(env.INTERNAL_SECRET, "job-a", { username: "u", password: PASSWORD })).not.toBe(sealed);
  });

  it("startDockerJob: the service function the website calls", async () => {
    const job = await startDockerJob(env, { user: "web-user", repository: "webrepo" }, { image: "nginx:1.27", token: TOKEN });
    expect(job).toMatchObject({ kind: "docker", repository: "webrepo", user: "web-user", name: "nginx-1.27.flist", status: "queued" });
    expect(job.params).not.toContain(TOKEN);
    await expect(startDockerJob(env, { user: "u", repository: "r" }, { image: "" })).rejects.toMatchObject({ status: 400 });
  });

  it("a job whose sealed credentials do not open (key rotated, row tampered) fails at dispatch, never sent", async () => {
    const id = crypto.randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const sealed = await sealCredentials("the-previous-internal-secret", id, { token: TOKEN });
    // Inserted without a Queue message, so the dispatch below is the only one.
    await env.DB.batch([
      insertJob(env.DB, {
        id,
        kind: "docker",
        user: "u",
        repository: "cred3",
        name: "alpine-latest.flist",
        params: JSON.stringify({ docker: { image: "alpine" }, sealed }),
        input_key: null,
        input_size: null,
        lease_until: now,
      }, now),
      appendEvent(env.DB, id, { status: "update", message: "Job queued", progress: 0 }, now),
    ]);
    const outcome = await dispatchJob(env, id, "queue");
    expect(outcome).toEqual({ kind: "failed", reason: "cannot prepare the job: sealed credentials: cannot be opened with this hub's key" });
    expect(stub.dispatches(id)).toEqual([]);
    const row = await jobRow(id);
    expect(row.status).toBe("failed");
    expect(JSON.parse(row.params).sealed).toBeUndefined();
  });
});
