/**
 * Website pages rendered by the whole app: home, repository, tag, flist page, `.md` redirect, error
 * pages, static assets; status codes, escaping, the CSP header, links, and that downloads and API errors are
 * untouched by the site.
 */
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { AppEnv } from "../src/env";
import { onError } from "../src/http/errors";
import { htmlErrors } from "../src/web/error-pages";
import { CONTENT_SECURITY_POLICY } from "../src/web/security";
import { fetchHub, json, me, migrate, publish } from "./support/hub";
import { BROWSER, page, signIn, text } from "./web-support";

const EVIL = `<img src=x onerror="alert(1)">`;
const HOSTILE_README = [
  "# Hostile readme",
  "<script>window.pwned = 1</script>",
  "[click](javascript:alert(1)) and [ok](https://example.com/docs)",
  '<img src="x" onerror="alert(2)">',
].join("\n\n");

beforeAll(async () => {
  await migrate();
  await publish("webrepo", "app", "main");
  await publish("webrepo", "meta", "meta");
  await publish("webrepo", `${EVIL}.flist`, "main");
  await publish("webrepo", "hostile", "edited", { metadata: { readme: { readme: HOSTILE_README } } });
  await me("webrepo", "/app/link/latest");
  await me("webrepo", "/v1/app/tag/webrepo/app");
  await me("webrepo", "/production/crosstag/webrepo/v1");
  await publish("official-apps", "base", "overlay");
});

function expectPage(res: Response) {
  expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
  expect(res.headers.get("Content-Security-Policy")).toBe(CONTENT_SECURITY_POLICY);
  expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe-inline");
  expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
}

describe("home", () => {
  it("lists official repositories first, then contributors, with counts and a search box", async () => {
    const { status, html, res } = await page("/");
    expect(status).toBe(200);
    expectPage(res);
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(env.HUB_OFFICIAL_REPOSITORIES).toContain("official-apps");
    expect(html).toContain('<h2>Official repositories</h2>');
    expect(html.indexOf("Official repositories")).toBeLessThan(html.indexOf("Contributors"));
    expect(html).toContain('href="/webrepo"');
    expect(html).toMatch(/action="\/search"/);
    // webrepo: 4 flists (app, meta, evil, hostile), 2 links (latest, production).
    const row = html.slice(html.indexOf('href="/webrepo"'));
    expect(text(row.slice(0, row.indexOf("</tr>")))).toMatch(/webrepo\s*4\s*2/);
    // The official repository is in the first table, badged; webrepo only in the contributors' table.
    const [first, second] = html.split("<h2>Contributors</h2>");
    expect(first).toContain('href="/official-apps"');
    expect(first).toContain('class="badge official"');
    expect(first).not.toContain('href="/webrepo"');
    expect(second).toContain('href="/webrepo"');
  });

  it("links the stylesheet and script by content hash, served with immutable caching", async () => {
    const { html } = await page("/");
    const css = /href="(\/static\/site\.[0-9a-f]{8}\.css)"/.exec(html)?.[1];
    const js = /src="(\/static\/site\.[0-9a-f]{8}\.js)"/.exec(html)?.[1];
    expect(css && js).toBeTruthy();
    const cssRes = await fetchHub(css!);
    expect(cssRes.status).toBe(200);
    expect(cssRes.headers.get("Content-Type")).toMatch(/^text\/css/);
    expect(cssRes.headers.get("Cache-Control")).toContain("immutable");
    const jsRes = await fetchHub(js!);
    expect(jsRes.headers.get("Content-Type")).toMatch(/^text\/javascript/);
    const script = await jsRes.text();
    expect(script).toContain("EventSource");
    // The bundle of worker/src/web/browser/: a classic strict-mode script (the page loads it without
    // type="module"), so no import or export is left in it.
    expect(script).toMatch(/^"use strict";\(\(\)=>\{/);
    expect(script).not.toMatch(/(^|[;}])\s*(import|export)\s*[{*"']/);
    // No inline script or style anywhere: the CSP would block them.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle="/);
    expect(html).not.toMatch(/\son[a-z]+="/);
    expect((await fetchHub("/static/site.00000000.css")).headers.get("Cache-Control")).not.toContain("immutable");
    expect((await fetchHub("/static/nope.css")).status).toBe(404);
  });
});

describe("repository page", () => {
  it("lists flists, links with targets, taglinks and tags with sizes, times, download and md5 links", async () => {
    const { status, html, res } = await page("/webrepo");
    expect(status).toBe(200);
    expectPage(res);
    expect(html).toContain('href="/webrepo/app.flist.html"');
    expect(html).toContain('href="/webrepo/app.flist"');
    expect(html).toContain('href="/webrepo/app.flist.md5"');
    // link → target, taglink → tag page, tag → tag page
    expect(html).toContain('href="/webrepo/latest.flist.html"');
    expect(text(html)).toContain("➔ app.flist");
    expect(html).toContain('href="/webrepo/tags/v1"');
    expect(text(html)).toContain("webrepo/tags/v1");
    expect(html).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[^"]+Z" title="\d{4}-\d\d-\d\d \d\d:\d\d UTC">/);
    expect(html).toContain("data-sortable");
    expect(html).toContain('data-filter-for="entries"');
  });

  it("escapes names everywhere (no markup from a flist name reaches the page)", async () => {
    const { html } = await page("/webrepo");
    expect(html).not.toContain(EVIL);
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.flist");
    expect(html).toContain(`href="/webrepo/${encodeURIComponent(`${EVIL}.flist`)}.html"`);
    const flist = await page(`/webrepo/${encodeURIComponent(`${EVIL}.flist`)}.html`);
    expect(flist.status).toBe(200);
    expect(flist.html).not.toContain(EVIL);
  });

  it("answers the site's 404 page for an unknown repository, JSON for API clients", async () => {
    const { status, html, res } = await page("/no-such-repo");
    expect(status).toBe(404);
    expectPage(res);
    expect(html).toContain("There is no repository of that name.");
    expect(html).toContain('class="navbar"');
    const api = await fetchHub("/no-such-repo");
    expect(api.status).toBe(404);
    expect(api.headers.get("Content-Type")).toMatch(/^application\/json/);
  });

  it("keeps page names out of /<repo> like the original (static routes win)", async () => {
    const { status } = await page("/api");
    expect(status).toBe(404);
    expect((await page("/search")).status).toBe(200);
  });
});

describe("error pages", () => {
  it("turn an unexpected failure (500) into the site's error page for browsers, keeping JSON for others", async () => {
    // The site's middleware and the app's error handler, around a route that fails.
    const failing = new Hono<AppEnv>();
    failing.onError(onError);
    failing.use("*", htmlErrors());
    failing.get("/boom", () => {
      throw new Error("boom <script>");
    });
    // The failure is logged once per request (an error line for the operator), not printed by the test run.
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const browser = await failing.fetch(new Request("http://hub.test/boom", { headers: BROWSER }), env);
    expect(browser.status).toBe(500);
    const html = await browser.text();
    expect(html).toContain("Something went wrong");
    // The error's own message is not shown (it may hold internals).
    expect(html).not.toMatch(/boom (<|&lt;)script/);
    const client = await failing.fetch(new Request("http://hub.test/boom"), env);
    expect(client.status).toBe(500);
    expect(await client.json()).toEqual({ status: "error", message: "internal error" });
    const lines = logged.mock.calls.map((args) => JSON.parse(String(args[0])) as Record<string, unknown>);
    logged.mockRestore();
    expect(lines).toEqual([
      expect.objectContaining({ level: "error", msg: "unhandled error", route: "/boom", error: "Error: boom <script>" }),
      expect.objectContaining({ level: "error", msg: "unhandled error", route: "/boom", error: "Error: boom <script>" }),
    ]);
  });
});

describe("tag page", () => {
  it("lists the members with their targets", async () => {
    const { status, html, res } = await page("/webrepo/tags/v1");
    expect(status).toBe(200);
    expectPage(res);
    expect(html).toContain('href="/webrepo/tags/v1/app.flist"');
    expect(html).toContain('href="/webrepo/app.flist.html"');
    expect((await page("/webrepo/tags/nope")).status).toBe(404);
  });
});

describe("flist page", () => {
  it("shows download URL and md5 with copy buttons, sha256, size, counts, backend, metadata and history", async () => {
    const light = (await json("/api/flist/webrepo/meta/light")).body;
    const { status, html, res } = await page("/webrepo/meta.flist.html");
    expect(status).toBe(200);
    expectPage(res);
    expect(html).toContain('id="flist-url">http://hub.test/webrepo/meta.flist</code>');
    expect(html).toContain(`id="flist-md5">${light.md5}</code>`);
    expect(html).toContain('data-copy="flist-url"');
    expect(html).toContain('data-copy="flist-md5"');
    expect(html).toMatch(/[0-9a-f]{64}/);
    // Backend from the flist's metadata, its password never shown.
    expect(html).toContain("zdb://127.0.0.1:9911/fixtures-ns");
    expect(html).not.toContain("fixtures-pw");
    // Metadata sections: entrypoint, environment (UTF-8), ports, volumes, free keys.
    const t = text(html);
    expect(t).toContain('"/bin/run.sh" "--mode" "two words" "-v"');
    expect(t).toContain("héllo wörld");
    expect(t).toContain("tcp/80");
    expect(t).toContain("/srv/data");
    expect(t).toContain("maintainer");
    // The readme, rendered from markdown, and its license.
    expect(html).toContain("<h1>Fixture image</h1>");
    expect(t).toContain("License: Apache-2.0");
    // The contents tree placeholder pointing at the tree route.
    expect(html).toContain('data-tree="/api/flist/webrepo/meta.flist/tree"');
    expect(html).toContain('id="history"');
  });

  it("renders a hostile readme without any script, event handler or javascript: link", async () => {
    const { html } = await page("/webrepo/hostile.flist.html");
    const readme = html.slice(html.indexOf('<section id="readme">'), html.indexOf('<section id="metadata">'));
    expect(readme).toContain("<h1>Hostile readme</h1>");
    expect(readme).not.toMatch(/<script/i);
    expect(readme).toContain("&lt;script&gt;window.pwned = 1&lt;/script&gt;");
    expect(readme).not.toMatch(/<img[^>]*onerror/i);
    expect(readme).not.toMatch(/href="javascript:/i);
    expect(readme).toContain('href="https://example.com/docs" rel="nofollow noopener noreferrer"');
  });

  it("shows a link as such and the flist it serves", async () => {
    const { status, html } = await page("/webrepo/latest.flist.html");
    expect(status).toBe(200);
    expect(text(html)).toContain("This is a link to app.flist");
  });

  it("redirects the original's /<repo>/<name>.md preview URL to the flist page", async () => {
    const { status, res } = await page("/webrepo/app.md");
    expect(status).toBe(301);
    expect(res.headers.get("Location")).toBe("/webrepo/app.flist.html");
    expect((await page("/webrepo/app.flist.md")).res.headers.get("Location")).toBe("/webrepo/app.flist.html");
  });

  it("404s in the site's look for an unknown flist", async () => {
    const { status, html } = await page("/webrepo/nope.flist.html");
    expect(status).toBe(404);
    expect(html).toContain("There is no flist of that name in this repository.");
  });

  it("leaves the downloads and their errors as they were", async () => {
    const res = await fetchHub("/webrepo/app.flist");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/octet-stream");
    expect(res.headers.get("Content-Security-Policy")).toBeNull();
    const md5 = await fetchHub("/webrepo/app.flist.md5");
    expect(await md5.text()).toMatch(/^[0-9a-f]{32}\n$/);
    const missing = await fetchHub("/webrepo/nope.flist");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("Content-Type")).toMatch(/^application\/json/);
    const apiMissing = await fetchHub("/api/flist/nope", { headers: BROWSER });
    expect(apiMissing.headers.get("Content-Type")).toMatch(/^application\/json/);
  });
});

describe("history and restore", () => {
  it("offers restore to the owner only, and restores through the session with its CSRF token", async () => {
    await publish("owned", "app", "main");
    await publish("owned", "app", "overlay"); // version 1 = main
    const before = (await json("/api/flist/owned/app/light")).body.md5;

    const anonymous = await page("/owned/app.flist.html");
    expect(anonymous.html).not.toContain("/owned/app.flist.html/restore");

    const owner = await signIn("owned");
    const mine = await page("/owned/app.flist.html", { Cookie: owner.cookie });
    expect(mine.html).toContain('action="/owned/app.flist.html/restore"');
    expect(mine.html).toContain(`name="_csrf" value="${owner.csrf}"`);

    const post = (session: { cookie: string }, body: string) =>
      fetchHub("/owned/app.flist.html/restore", {
        method: "POST",
        headers: { ...BROWSER, Cookie: session.cookie, "Content-Type": "application/x-www-form-urlencoded" },
        body,
        redirect: "manual",
      });
    // Without the CSRF token: refused, nothing restored.
    expect((await post(owner, "version=1")).status).toBe(403);
    expect((await json("/api/flist/owned/app/light")).body.md5).toBe(before);
    // Another user: refused even with its own valid token.
    const other = await signIn("someone-else");
    expect((await post(other, `version=1&_csrf=${other.csrf}`)).status).toBe(403);
    // The owner, with the token: restored, back on the page.
    const done = await post(owner, `version=1&_csrf=${owner.csrf}`);
    expect(done.status).toBe(303);
    expect(done.headers.get("Location")).toBe("/owned/app.flist.html?restored=1");
    expect((await json("/api/flist/owned/app/light")).body.md5).not.toBe(before);
  });
});
