/**
 * The flist page's "Make an LXD image" button: shown to the owner only, `POST <page>/lxd` refused
 * without the session's CSRF token or for another repository, and with both it starts the same `lxd` job as
 * `POST /api/flist/me/<name>/lxd` and sends the browser to the job page. Once the job is done (the converter's side
 * played through the real internal image routes), the page shows the image's alias and the `lxc` commands.
 */
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fetchHub, internalAuth, json, migrate, publish } from "./support/hub";
import { accepted, stubConverter } from "./support/jobs";
import { BROWSER, page, signIn, text, type TestSession } from "./web-support";

const stub = stubConverter();
let owner: TestSession;

beforeAll(async () => {
  await migrate();
  await publish("lxdweb", "app", "main");
  await publish("lxdweb", "other", "main");
  owner = await signIn("lxdweb");
});
beforeEach(() => stub.answer(accepted));

function post(path: string, session: TestSession | null, body: string) {
  return fetchHub(path, {
    method: "POST",
    headers: {
      ...BROWSER,
      ...(session ? { Cookie: session.cookie } : {}),
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body,
    redirect: "manual",
  });
}

async function lxdJobCount(): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'lxd'").first<{ n: number }>();
  return row!.n;
}

describe("flist page LXD button", () => {
  it("is shown to the owner only, with the session's CSRF token", async () => {
    const anonymous = await page("/lxdweb/app.flist.html");
    expect(anonymous.status).toBe(200);
    expect(anonymous.html).not.toContain("/lxdweb/app.flist.html/lxd");
    expect(anonymous.html).not.toContain("Make an LXD image");

    const stranger = await signIn("someone-else");
    const theirs = await page("/lxdweb/app.flist.html", { Cookie: stranger.cookie });
    expect(theirs.html).not.toContain("/lxdweb/app.flist.html/lxd");

    const mine = await page("/lxdweb/app.flist.html", { Cookie: owner.cookie });
    expect(mine.status).toBe(200);
    expect(mine.res.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
    expect(mine.html).toContain('action="/lxdweb/app.flist.html/lxd"');
    expect(mine.html).toContain(`name="_csrf" value="${owner.csrf}"`);
    expect(text(mine.html)).toContain("Make an LXD image");
    expect(text(mine.html)).toContain("No LXD image of this flist yet.");
  });

  it("refuses a post without the CSRF token, without a session, or for another repository", async () => {
    const before = await lxdJobCount();
    const noToken = await post("/lxdweb/app.flist.html/lxd", owner, "");
    expect(noToken.status).toBe(403);
    const badToken = await post("/lxdweb/app.flist.html/lxd", owner, `_csrf=${"x".repeat(43)}`);
    expect(badToken.status).toBe(403);
    const anonymous = await post("/lxdweb/app.flist.html/lxd", null, "");
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get("Location")).toMatch(/^\/login-method\?next=/);
    const stranger = await signIn("someone-else");
    const refused = await post("/lxdweb/app.flist.html/lxd", stranger, `_csrf=${stranger.csrf}`);
    expect(refused.status).toBe(403);
    expect(text(await refused.text())).toContain("you act for someone-else, not lxdweb");
    const missing = await post("/lxdweb/nothing.flist.html/lxd", owner, `_csrf=${owner.csrf}`);
    expect(missing.status).toBe(404);
    expect(await lxdJobCount()).toBe(before);
  });

  it("starts an lxd job pinned to the flist's sha256 and sends the browser to its job page", async () => {
    const res = await post("/lxdweb/app.flist.html/lxd", owner, `_csrf=${owner.csrf}`);
    expect(res.status).toBe(303);
    const location = res.headers.get("Location") ?? "";
    expect(location).toMatch(/^\/jobs\/[0-9a-f-]{36}$/);
    const id = location.slice("/jobs/".length);

    const view = await json(`/api/jobs/${id}`);
    expect(view.status).toBe(200);
    expect(view.body.payload).toMatchObject({ id, kind: "lxd", user: "lxdweb", repository: "lxdweb", name: "app.flist" });
    const row = await env.DB.prepare("SELECT params FROM jobs WHERE id = ?").bind(id).first<{ params: string }>();
    const blob = await env.DB.prepare("SELECT blob FROM entries WHERE repository = 'lxdweb' AND name = 'app.flist'").first<{ blob: string }>();
    expect(JSON.parse(row!.params)).toEqual({ metadata: { flist: "app.flist", sha256: blob!.blob }, requestId: expect.any(String) });

    const jobPage = await page(location);
    expect(jobPage.status).toBe(200);
    expect(jobPage.html).toContain(id);

    // The converter's side: both files, then done; the page then shows the alias and the lxc commands.
    const spec = await stub.waitForDispatch(id);
    expect(spec.kind).toBe("lxd");
    for (const file of ["lxd.tar.xz", "rootfs.squashfs"]) {
      const put = await fetchHub(`/internal/images/jobs/${id}/${file}`, {
        method: "PUT",
        headers: { ...internalAuth, "X-Job-Attempt": String(spec.attempt), "Content-Length": "3" },
        body: new Uint8Array([1, 2, 3]),
      });
      expect(put.status, file).toBe(200);
    }
    const done = await fetchHub(`/internal/images/jobs/${id}/done`, {
      method: "POST",
      headers: { ...internalAuth, "Content-Type": "application/json" },
      body: JSON.stringify({ attempt: spec.attempt }),
    });
    expect(done.status).toBe(200);
    expect((await json(`/api/jobs/${id}`)).body.payload.status).toBe("succeeded");

    const anonymous = text((await page("/lxdweb/app.flist.html")).html);
    expect(anonymous).toContain("lxdweb/app");
    expect(anonymous).toContain("lxc image copy hub:lxdweb/app local:");
    expect(anonymous).toContain("lxc launch hub:lxdweb/app c1");
    expect(anonymous).not.toContain("Make the LXD image again");
    const mine = text((await page("/lxdweb/app.flist.html", { Cookie: owner.cookie })).html);
    expect(mine).toContain("lxc launch hub:lxdweb/app c1");
    expect(mine).toContain("Make the LXD image again");
    // Another flist of the repository has no image yet.
    expect(text((await page("/lxdweb/other.flist.html")).html)).not.toContain("lxc launch");
  });
});
