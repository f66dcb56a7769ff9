/**
 * Browsing the website in a real browser (Debian's Chromium) against the real local stack: home → repository →
 * flist page → contents tree (lazy levels, filter); search; the repository table sorted and filtered in the
 * page; a readme carrying `<script>` and event handlers runs nothing; error page; every page at phone width
 * without sideways scrolling. Screenshots under e2e/.screenshots/ (web-*.png).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, newContext, screenshot, screenshotBoth } from "./support/browser.ts";
import { fixture } from "./support/flists.ts";
import { startStack, type Stack } from "./support/stack.ts";

const USER = "e2e-pages";
let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let work: string;

/** A .tar.gz whose `/.README.md` (the flist's readme) is hostile markdown. */
function hostileTarball(): string {
  const root = path.join(work, "hostile");
  fs.mkdirSync(path.join(root, "bin"), { recursive: true });
  fs.writeFileSync(
    path.join(root, ".README.md"),
    [
      "# Hostile readme",
      "",
      "<script>window.__pwned = 'script'</script>",
      "",
      '<img src="/nope" onerror="window.__pwned = \'onerror\'">',
      "",
      "[click me](javascript:window.__pwned='link') and [the docs](https://example.com/docs)",
      "",
      "| a | b |\n|---|---|\n| 1 | 2 |",
    ].join("\n"),
  );
  fs.writeFileSync(path.join(root, "bin", "tool"), "#!/bin/sh\necho hi\n");
  const file = path.join(work, "hostile.tar.gz");
  execFileSync("tar", ["-czf", file, "-C", root, "."]);
  return file;
}

async function upload(file: string, name: string): Promise<void> {
  const form = new FormData();
  form.append("file", await fs.openAsBlob(file), name);
  const res = await fetch(`${stack.hubUrl}/api/flist/me/upload`, { method: "POST", headers: await stack.auth(USER), body: form });
  expect(res.status, await res.clone().text()).toBe(200);
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "web-pages-"));
  stack = await startStack();
  await upload(fixture("tree-main.tar.gz"), "tree-main.tar.gz");
  await upload(hostileTarball(), "hostile.tar.gz");
  const link = await fetch(`${stack.hubUrl}/api/flist/me/tree-main/link/tree-latest`, { headers: await stack.auth(USER) });
  expect(link.status).toBe(200);
  browser = await launchBrowser();
  context = await newContext(browser);
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("browsing", () => {
  it("goes home → repository → flist page → contents, loading the tree one level at a time", async () => {
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    page.on("console", (msg) => {
      if (msg.type() === "error") errors.push(msg.text());
    });

    await page.goto(stack.hubUrl);
    expect(await page.title()).toBe("Repositories · Zero-OS Hub");
    await screenshot(page, "web-home.desktop");
    await Promise.all([page.waitForURL(`${stack.hubUrl}/${USER}`), page.click(`a[href="/${USER}"]`)]);
    expect(await page.textContent("h1")).toContain(USER);
    await screenshot(page, "web-repository.desktop");

    await Promise.all([
      page.waitForURL(`${stack.hubUrl}/${USER}/tree-main.flist.html`),
      page.click(`a[href="/${USER}/tree-main.flist.html"]`),
    ]);
    const md5 = (await (await fetch(`${stack.hubUrl}/${USER}/tree-main.flist.md5`)).text()).trim();
    expect(await page.textContent("#flist-md5")).toBe(md5);
    expect(await page.textContent("#flist-url")).toBe(`${stack.hubUrl}/${USER}/tree-main.flist`);
    expect(await page.textContent(".card")).toContain(`zdb://${stack.backend.split("/")[0]}`);

    // The root level is loaded by site.js; a directory opens on click with its own request.
    const tree = page.locator("#tree [data-tree-root]");
    await tree.locator("button.dir", { hasText: "data/" }).waitFor();
    const requests: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/tree?")) requests.push(r.url());
    });
    await tree.locator("button.dir", { hasText: "data/" }).click();
    await tree.locator('li[data-path="/data/one-byte.bin"]').waitFor();
    expect(requests.some((u) => u.includes(`path=${encodeURIComponent("/data")}`))).toBe(true);
    expect(await tree.locator('li[data-path="/data/one-byte.bin"]').textContent()).toContain("1 B");
    // Nested directories load lazily too.
    await tree.locator("button.dir", { hasText: "deep/" }).click();
    await tree.locator("button.dir", { hasText: "l1/" }).click();
    await tree.locator('li[data-path="/deep/l1/l2"]').waitFor();
    // Symlinks show their target (a link to a directory stays a link); an empty directory is a directory that
    // opens on nothing. The converter sent the entries' types with the publish: no "types unknown" note.
    expect(await tree.locator("[data-tree-untyped]").count()).toBe(0);
    await tree.locator("button.dir", { hasText: "links/" }).click();
    const dangling = tree.locator('li[data-path="/links/dangling"]');
    await dangling.waitFor();
    expect(await dangling.textContent()).toBe("dangling → ../does/not/exist.txtsymlink");
    expect(await tree.locator('li[data-path="/links/dir-link"] button.dir').count()).toBe(0);
    expect(await tree.locator('li[data-path="/links/dir-link"]').textContent()).toContain("→ ../data");
    const empty = tree.locator('li[data-path="/empty-dir"]');
    await empty.locator("button.dir").click();
    await empty.locator("li.muted", { hasText: "(empty)" }).waitFor();
    expect(await empty.locator(".meta").first().textContent()).toBe("0 entries");
    await screenshot(page, "web-flist.desktop");

    // The filter searches the whole flist, not only the opened levels.
    await page.fill('[data-tree-filter="tree"]', "leaf");
    const matches = page.locator("#tree [data-tree-matches]");
    await matches.locator("li", { hasText: /^\/deep\/l1\/l2\/l3\/l4\/l5\/l6\/leaf\.txt/ }).waitFor();
    // A matching symlink shows its target there too.
    expect(await matches.locator('li[data-type="symlink"]').textContent()).toBe("/links/rel-to-leaf → ../deep/l1/l2/l3/l4/l5/l6/leaf.txt");
    expect(await tree.isHidden()).toBe(true);
    await page.fill('[data-tree-filter="tree"]', "");
    await tree.waitFor({ state: "visible" });

    // Copy button puts the URL on the clipboard.
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: stack.hubUrl });
    await page.click('button[data-copy="flist-url"]');
    await expect.poll(() => page.textContent('button[data-copy="flist-url"]')).toBe("Copied");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${stack.hubUrl}/${USER}/tree-main.flist`);

    expect(errors).toEqual([]);
  });

  it("keeps the original's .md preview URL working", async () => {
    await page.goto(`${stack.hubUrl}/${USER}/tree-main.md`);
    expect(page.url()).toBe(`${stack.hubUrl}/${USER}/tree-main.flist.html`);
  });

  it("sorts and filters the repository table in the page, without a round trip", async () => {
    await page.goto(`${stack.hubUrl}/${USER}`);
    let navigations = 0;
    page.on("framenavigated", () => navigations++);
    const names = () => page.locator("#entries tbody tr:not(.hidden) td.name > :first-child").allTextContents();
    expect(await names()).toEqual(["hostile.flist", "tree-latest.flist", "tree-main.flist"]);
    await page.click("#entries th:nth-child(1) button.sort"); // ascending
    await page.click("#entries th:nth-child(1) button.sort"); // descending
    expect(await names()).toEqual(["tree-main.flist", "tree-latest.flist", "hostile.flist"]);
    await page.fill('[data-filter-for="entries"]', "tree");
    expect(await names()).toEqual(["tree-main.flist", "tree-latest.flist"]);
    await page.selectOption('[data-kind-for="entries"]', "link");
    expect(await names()).toEqual(["tree-latest.flist"]);
    expect(await page.textContent('[data-count-for="entries"]')).toBe("1 of 3");
    expect(navigations).toBe(0);
  });

  it("searches names and readmes from the home page", async () => {
    await page.goto(stack.hubUrl);
    await page.fill('.searchbox input[name="q"]', "hostile");
    await Promise.all([page.waitForURL(/\/search\?q=hostile/), page.press('.searchbox input[name="q"]', "Enter")]);
    expect(await page.textContent("main")).toContain(`${USER}/hostile.flist`);
    await page.goto(`${stack.hubUrl}/search?q=readme`);
    // "Hostile readme" is a word of the readme only.
    const readmes = page.locator("section", { hasText: "In readmes" });
    expect(await readmes.textContent()).toContain(`${USER}/hostile.flist`);
    expect(await readmes.locator("mark").first().textContent()).toMatch(/readme/i);
    await screenshot(page, "web-search.desktop");
    await Promise.all([page.waitForURL(/hostile\.flist\.html$/), readmes.locator(`a[href="/${USER}/hostile.flist.html"]`).click()]);
  });

  it("renders a readme with <script>, event handlers and javascript: links without running any of it", async () => {
    const violations: string[] = [];
    page.on("console", (msg) => {
      if (/Content.Security.Policy/i.test(msg.text())) violations.push(msg.text());
    });
    await page.goto(`${stack.hubUrl}/${USER}/hostile.flist.html`);
    await page.waitForLoadState("load");
    const readme = page.locator(".readme");
    expect(await readme.locator("h1").textContent()).toBe("Hostile readme");
    expect(await readme.textContent()).toContain("<script>window.__pwned = 'script'</script>");
    expect(await readme.locator("script").count()).toBe(0);
    expect(await readme.locator("img").count()).toBe(0);
    expect(await readme.locator('a[href^="javascript"]').count()).toBe(0);
    expect(await readme.locator("table td").allTextContents()).toEqual(["1", "2"]);
    await readme.getByText("click me").click().catch(() => undefined);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned ?? null)).toBeNull();
    await screenshot(page, "web-hostile-readme.desktop");
  });

  it("shows the site's 404 page for unknown repositories and flists", async () => {
    const res = await page.goto(`${stack.hubUrl}/${USER}/nope.flist.html`);
    expect(res?.status()).toBe(404);
    expect(await page.textContent("h1")).toBe("Not found");
    expect(await page.locator(".navbar").count()).toBe(1);
    await screenshot(page, "web-404.desktop");
  });

  it("fits every page on a phone (no sideways scrolling) and on a laptop", async () => {
    for (const [name, url] of [
      ["home", "/"],
      ["repository", `/${USER}`],
      ["flist", `/${USER}/tree-main.flist.html`],
      ["search", "/search?q=tree"],
      ["tag-404", `/${USER}/tags/none`],
    ] as const) {
      const shots = await screenshotBoth(browser, `${stack.hubUrl}${url}`, `web-${name}`);
      expect(shots.phoneOverflow, `${name} scrolls sideways on a phone`).toBeLessThanOrEqual(0);
    }
    // The navbar folds into a menu on the phone.
    const phone = await newContext(browser, "phone");
    const p = await phone.newPage();
    await p.goto(stack.hubUrl);
    expect(await p.locator(".nav-links").isVisible()).toBe(false);
    await p.click(".nav-burger");
    expect(await p.locator(".nav-links").isVisible()).toBe(true);
    await screenshot(p, "web-menu.phone");
    await phone.close();
  });
});
