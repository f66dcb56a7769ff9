/**
 * The `lxd` job routes inside workerd: `POST /api/flist/me/<name>/lxd` creates a job pinned to the flist's
 * sha256; the converter's internal image routes refuse unknown jobs, missing secrets and attempts that are not the
 * job's current running one (the happy path runs end to end in e2e/lxd-flist.test.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../src/auth/tokens";
import { SEED, internalHeaders, migrate, now } from "./auth-support";
import { env, hub } from "./images-support";

let job: string;

async function publish(repo: string, name: string): Promise<void> {
  const f = env.TEST_FIXTURES.main!;
  const form = new FormData();
  form.append("flist", new File([Uint8Array.from(atob(f.flist), (ch) => ch.charCodeAt(0))], `${name}.flist`));
  form.append("info", JSON.stringify({ contents: f.find, metadata: f.metadata }));
  const res = await hub(`/internal/publish/${repo}/${name}`, { method: "PUT", headers: internalHeaders(), body: form });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  await migrate();
  await publish("lxdrepo", "app");
  const token = await signToken(SEED, "lxdrepo", now() - 5);
  const res = await hub("/api/flist/me/app/lxd?async=1", { method: "POST", headers: { Authorization: `bearer ${token}` } });
  expect(res.status, await res.clone().text()).toBe(202);
  job = ((await res.json()) as { payload: { job: string } }).payload.job;
});

describe("lxd jobs", () => {
  it("records an lxd job pinned to the flist's sha256", async () => {
    const row = await env.DB.prepare("SELECT kind, repository, name, params FROM jobs WHERE id = ?").bind(job).first<{ kind: string; repository: string; name: string; params: string }>();
    const blob = await env.DB.prepare("SELECT b.sha256 FROM entries e JOIN blobs b ON b.sha256 = e.blob WHERE e.repository = 'lxdrepo' AND e.name = 'app.flist'").first<{ sha256: string }>();
    expect(row).toMatchObject({ kind: "lxd", repository: "lxdrepo", name: "app.flist" });
    expect(JSON.parse(row!.params)).toEqual({ metadata: { flist: "app.flist", sha256: blob!.sha256 }, requestId: expect.any(String) });
  });

  it("refuses unknown flists and names that cannot name an image", async () => {
    const token = await signToken(SEED, "lxdrepo", now() - 5);
    const missing = await hub("/api/flist/me/nothing/lxd?async=1", { method: "POST", headers: { Authorization: `bearer ${token}` } });
    expect(missing.status).toBe(404);
    const odd = await signToken(SEED, "odd~repo", now() - 5);
    const bad = await hub("/api/flist/me/app/lxd?async=1", { method: "POST", headers: { Authorization: `bearer ${odd}` } });
    expect(bad.status).toBe(400);
  });

  it("the internal routes need the secret, a known lxd job and its current running attempt", async () => {
    const put = (id: string, headers: Record<string, string>) =>
      hub(`/internal/images/jobs/${id}/lxd.tar.xz`, { method: "PUT", headers: { "Content-Length": "3", ...headers }, body: new Uint8Array([1, 2, 3]) });
    expect((await put(job, { "X-Job-Attempt": "1" })).status).toBe(401);
    expect((await put("no-such-job", internalHeaders({ "X-Job-Attempt": "1" }))).status).toBe(404);
    // The job is not running attempt 7 (no converter answers in workerd): stale.
    expect((await put(job, internalHeaders({ "X-Job-Attempt": "7" }))).status).toBe(409);
    const done = await hub(`/internal/images/jobs/${job}/done`, {
      method: "POST",
      headers: internalHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify({ attempt: 7 }),
    });
    expect(done.status).toBe(409);
    expect((await hub("/streams/v1/images.json").then((r) => r.json()) as { products: object }).products).toEqual({});
  });
});
