/**
 * Publishing from the website in a real browser against the real local stack, signed in through the ThreeFold
 * Connect stand-in: upload a fixture tarball (upload progress bar, then the job's live events) ending on the new
 * flist's page; a broken archive ends on a readable error; a homemade flist upload; a merge of two flists picked
 * with the search box and ordered; restore of an earlier version by the owner; a Docker image converted from a
 * local docker-registry with progress per layer. Screenshots under e2e/.screenshots/ (web-publish-*.png).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, newContext, screenshot, screenshotBoth } from "./support/browser.ts";
import { fixture } from "./support/flists.ts";
import { type RunningRegistry, makeLayerTar, pushRawImage, startRegistry } from "../converter/test/support/registry.ts";
import { startStack, type Stack } from "./support/stack.ts";
import { startTfconnect, type TfconnectStandIn } from "./support/tfconnect.ts";

const USER = "carol.3bot";
const REQUEST_MAX_BYTES = 6 * 1024 * 1024;
let stack: Stack;
let tf: TfconnectStandIn;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let work: string;
let registry: RunningRegistry;

/** A two-layer image (the second one large enough to report progress) with an entrypoint and environment. */
async function pushImage(): Promise<void> {
  const gz = async (members: Parameters<typeof makeLayerTar>[0]) => ({
    bytes: zlib.gzipSync(await makeLayerTar(members)),
    mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
  });
  const noise = randomBytes(3_000_000); // incompressible: the layer takes a moment to pull
  const layers = [
    await gz([
      { name: "bin/", type: "directory" },
      { name: "bin/app", data: "#!/bin/sh\necho app\n", mode: 0o755 },
      { name: "etc/", type: "directory" },
      { name: "etc/motd", data: "from a registry\n" },
    ]),
    await gz([{ name: "data/", type: "directory" }, { name: "data/blob.bin", data: noise }]),
  ];
  await pushRawImage(registry.host, "web/app", "v1", layers, {
    config: { Entrypoint: ["/bin/app"], Env: ["PATH=/bin", "GREETING=hello from docker"] },
  });
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "web-publish-"));
  tf = await startTfconnect();
  tf.addUser(USER, "carol@example.org");
  tf.approveAs(USER);
  registry = await startRegistry();
  await pushImage();
  // At most 6 MiB per request, as Cloudflare's plans cap request bodies: larger archives must go in parts.
  stack = await startStack({
    workerVars: { ...tf.workerVars(), HUB_REQUEST_MAX_BYTES: String(REQUEST_MAX_BYTES) },
    converterEnv: { HUB_INSECURE_REGISTRIES: registry.host },
  });
  browser = await launchBrowser();
  context = await newContext(browser);
  page = await context.newPage();
  await page.goto(`${stack.hubUrl}/login?next=%2Fupload`);
  await page.waitForURL(`${stack.hubUrl}/upload`);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await tf?.stop();
  await registry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const flistPage = (name: string) => `${stack.hubUrl}/${encodeURIComponent(USER)}/${name}.html`;

describe("publishing from the website", () => {
  it("uploads a .tar.gz with a progress bar, follows the job live and lands on the new flist's page", async () => {
    await page.goto(`${stack.hubUrl}/upload`);
    expect(await page.textContent(".hint")).toContain(USER);
    await page.setInputFiles("#file", fixture("tree-main.tar.gz"));
    const seen = { upload: false, job: false };
    const watch = setInterval(() => {
      void page
        .evaluate(() => ({
          upload: !document.querySelector("[data-upload-block]")?.classList.contains("hidden"),
          job: (document.querySelector("[data-events]")?.children.length ?? 0) > 0,
        }))
        .then((s) => {
          seen.upload ||= s.upload;
          seen.job ||= s.job;
        })
        .catch(() => undefined);
    }, 50);
    const eventsRequest = page.waitForRequest((r) => /\/api\/jobs\/[0-9a-f-]+\/events$/.test(r.url()));
    await page.click('button[type="submit"]');
    await eventsRequest;
    await screenshot(page, "web-publish-upload-progress.desktop");
    await page.waitForURL(flistPage("tree-main.flist"), { timeout: 120_000 });
    clearInterval(watch);
    expect(seen.upload).toBe(true);
    expect(await page.textContent("h1")).toContain("tree-main.flist");
    expect(await page.textContent(".stats")).toContain("36");
    await page.locator("#tree button.dir", { hasText: "data/" }).waitFor();
  });

  it("sends an archive larger than one request may carry in parts, then lands on its flist page", async () => {
    const dir = path.join(work, "big-tree");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "random.bin"), randomBytes(REQUEST_MAX_BYTES + 2 * 1024 * 1024)); // incompressible
    const archive = path.join(work, "big-web.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", dir, "."]);
    expect(fs.statSync(archive).size).toBeGreaterThan(REQUEST_MAX_BYTES);
    const requests: string[] = [];
    const record = (r: { method(): string; url(): string }) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`);
    page.on("request", record);
    try {
      await page.goto(`${stack.hubUrl}/upload`);
      await page.setInputFiles("#file", archive);
      await page.click('button[type="submit"]');
      await page.waitForURL(flistPage("big-web.flist"), { timeout: 120_000 });
    } finally {
      page.off("request", record);
    }
    const uploads = requests.filter((r) => r.includes("/upload/"));
    expect(uploads).toEqual([
      "POST /upload/parts",
      expect.stringMatching(/^PUT \/upload\/parts\/[0-9a-f-]+\/1$/),
      expect.stringMatching(/^PUT \/upload\/parts\/[0-9a-f-]+\/2$/),
      expect.stringMatching(/^POST \/upload\/parts\/[0-9a-f-]+\/complete$/),
    ]);
    expect(await page.textContent("h1")).toContain("big-web.flist");
  });

  it("ends on a readable error when the archive is not a tarball", async () => {
    const bad = path.join(work, "broken.tar.gz");
    fs.writeFileSync(bad, "this is not gzip at all\n".repeat(100));
    await page.goto(`${stack.hubUrl}/upload`);
    await page.setInputFiles("#file", bad);
    await page.click('button[type="submit"]');
    const error = page.locator("[data-job-error]");
    await error.waitFor({ state: "visible", timeout: 120_000 });
    expect(await error.textContent()).toMatch(/^The job failed: .+/);
    expect(page.url()).toBe(`${stack.hubUrl}/upload`);
    expect(await page.isEnabled('button[type="submit"]')).toBe(true);
    await screenshot(page, "web-publish-error.desktop");
  });

  it("refuses a file of the wrong type before uploading anything", async () => {
    const zip = path.join(work, "x.zip");
    fs.writeFileSync(zip, "PK");
    await page.goto(`${stack.hubUrl}/upload`);
    await page.setInputFiles("#file", zip);
    await page.click('button[type="submit"]');
    const error = page.locator("[data-job-error]");
    await error.waitFor({ state: "visible" });
    expect(await error.textContent()).toContain("this file is not allowed");
  });

  it("uploads a homemade flist (its chunks are in the store) and lands on its page", async () => {
    const bytes = Buffer.from(await (await fetch(`${stack.hubUrl}/${encodeURIComponent(USER)}/tree-main.flist`)).arrayBuffer());
    const file = path.join(work, "homemade.flist");
    fs.writeFileSync(file, bytes);
    await page.goto(`${stack.hubUrl}/upload-flist`);
    await page.setInputFiles("#file", file);
    await page.click('button[type="submit"]');
    await page.waitForURL(flistPage("homemade.flist"), { timeout: 120_000 });
    expect(await page.textContent("#flist-md5")).toBe((await (await fetch(`${stack.hubUrl}/${encodeURIComponent(USER)}/homemade.flist.md5`)).text()).trim());
  });

  it("merges two flists picked with the search box, in the chosen order", async () => {
    const form = new FormData();
    form.append("file", await fs.openAsBlob(fixture("tree-overlay.tar.gz")), "tree-overlay.tar.gz");
    const res = await fetch(`${stack.hubUrl}/api/flist/me/upload`, { method: "POST", headers: await stack.auth("dave"), body: form });
    expect(res.status, await res.clone().text()).toBe(200);

    await page.goto(`${stack.hubUrl}/merge`);
    const search = page.locator("[data-merge-search]");
    const results = page.locator("[data-merge-results]");
    await search.fill("tree-overlay");
    await results.locator("li", { hasText: "dave/tree-overlay.flist" }).locator("button").click();
    await search.fill("tree-main");
    await results.locator("li", { hasText: `${USER}/tree-main.flist` }).locator("button").click();
    const order = () => page.locator("[data-merge-list] li").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-source")));
    expect(await order()).toEqual(["dave/tree-overlay.flist", `${USER}/tree-main.flist`]);
    // The base must be tree-main: move it up.
    await page.locator("[data-merge-list] li", { hasText: "tree-main" }).locator("[data-up]").click();
    expect(await order()).toEqual([`${USER}/tree-main.flist`, "dave/tree-overlay.flist"]);
    await page.fill("#name", "combined");
    await screenshot(page, "web-publish-merge.desktop");
    await page.click('button[type="submit"]');
    await page.waitForURL(flistPage("combined.flist"), { timeout: 120_000 });

    // The same merge through the API gives the same flist.
    const viaApi = await fetch(`${stack.hubUrl}/api/flist/me/merge/combined-api`, {
      method: "POST",
      headers: await stack.auth(USER),
      body: JSON.stringify([`${USER}/tree-main.flist`, "dave/tree-overlay.flist"]),
    });
    expect(viaApi.status, await viaApi.clone().text()).toBe(200);
    const md5 = async (name: string) => (await (await fetch(`${stack.hubUrl}/${encodeURIComponent(USER)}/${name}.md5`)).text()).trim();
    const listing = async (name: string) => (await (await fetch(`${stack.hubUrl}/api/flist/${encodeURIComponent(USER)}/${name}`)).json()) as unknown;
    expect(await listing("combined.flist")).toEqual(await listing("combined-api.flist"));
    expect(await md5("combined.flist")).toMatch(/^[0-9a-f]{32}$/);
  });

  it("lets the owner restore an earlier version from the flist page", async () => {
    // Upload tree-main again under the same name with other contents: version 1 is the first upload.
    const other = path.join(work, "tree-main.tar.gz");
    fs.copyFileSync(fixture("tree-overlay.tar.gz"), other);
    await page.goto(`${stack.hubUrl}/upload`);
    await page.setInputFiles("#file", other);
    await page.click('button[type="submit"]');
    await page.waitForURL(flistPage("tree-main.flist"), { timeout: 120_000 });
    const replaced = await page.textContent("#flist-md5");
    page.once("dialog", (d) => void d.accept());
    await Promise.all([page.waitForURL(/\?restored=1$/), page.locator("#history form button").first().click()]);
    expect(await page.textContent(".notice.ok")).toContain("Version 1 restored");
    expect(await page.textContent("#flist-md5")).not.toBe(replaced);
    await screenshot(page, "web-publish-restored.desktop");
  });

  it("converts a Docker image from a local registry, with progress per layer, to its flist page", async () => {
    await page.goto(`${stack.hubUrl}/docker-convert`);
    await page.fill("#image", `${registry.host}/web/app:v1`);
    let layers = 0;
    const watch = setInterval(() => {
      void page
        .evaluate(() => document.querySelectorAll("[data-layers] [data-layer]").length)
        .then((n) => (layers = Math.max(layers, n)))
        .catch(() => undefined);
    }, 25);
    await page.click('button[type="submit"]');
    await page.locator("[data-layers] [data-layer]").first().waitFor({ timeout: 120_000 });
    await screenshot(page, "web-publish-docker-progress.desktop");
    const name = `${registry.host.replace(":", "-")}-web-app-v1.flist`;
    await page.waitForURL(flistPage(name), { timeout: 180_000 });
    clearInterval(watch);
    expect(layers).toBe(2);
    const metadata = await page.textContent("#metadata");
    expect(metadata).toContain('"/bin/app"');
    expect(metadata).toContain("hello from docker");
    await page.locator("#tree button.dir", { hasText: "data/" }).click();
    await page.locator('#tree li[data-path="/data/blob.bin"]').waitFor();
    await screenshot(page, "web-publish-docker-flist.desktop");
  });

  it("ends a conversion of an unknown image on a readable error", async () => {
    await page.goto(`${stack.hubUrl}/docker-convert`);
    await page.fill("#image", `${registry.host}/web/nope:v1`);
    await page.click('button[type="submit"]');
    const error = page.locator("[data-job-error]");
    await error.waitFor({ state: "visible", timeout: 120_000 });
    expect(await error.textContent()).toBe(`The job failed: ${registry.host}/web/nope:v1: no such image on ${registry.host}`);
  });

  it("sends a registry token given without a username as a bearer token, and never shows it", async () => {
    await page.goto(`${stack.hubUrl}/docker-convert`);
    await page.fill("#image", `${registry.host}/web/nope:v2`);
    await page.locator("summary", { hasText: "Private registry" }).click();
    await page.fill("#password", "registry-bearer-token-0123");
    const sent = page.waitForRequest((r) => r.url().endsWith("/docker-convert") && r.method() === "POST");
    await page.click('button[type="submit"]');
    expect((await sent).postDataJSON()).toEqual({ image: `${registry.host}/web/nope:v2`, token: "registry-bearer-token-0123" });
    const error = page.locator("[data-job-error]");
    await error.waitFor({ state: "visible", timeout: 120_000 });
    expect(await error.textContent()).toMatch(/^The job failed: /);
    expect(await page.content()).not.toContain("registry-bearer-token-0123");
  });

  it("follows a job started elsewhere (the API, async) on its job page, to the flist's page", async () => {
    const form = new FormData();
    form.append("file", await fs.openAsBlob(fixture("tree-main.tar.gz")), "from-api.tar.gz");
    const res = await fetch(`${stack.hubUrl}/api/flist/me/upload?async=1`, { method: "POST", headers: await stack.auth(USER), body: form });
    expect(res.status, await res.clone().text()).toBe(202);
    const { job } = ((await res.json()) as { payload: { job: string } }).payload;
    await page.goto(`${stack.hubUrl}/jobs/${job}`);
    await page.waitForURL(flistPage("from-api.flist"), { timeout: 120_000 });
    // A finished job replays its events and ends on the same page.
    await page.goto(`${stack.hubUrl}/jobs/${job}`);
    await page.waitForURL(flistPage("from-api.flist"));
  });

  it("shows the publish pages at phone width without sideways scrolling", async () => {
    const state = await context.storageState();
    for (const p of ["upload", "merge", "upload-flist", "docker-convert"]) {
      const shots = await screenshotBoth(browser, `${stack.hubUrl}/${p}`, `web-publish-${p}`, state);
      expect(shots.phoneOverflow, p).toBeLessThanOrEqual(0);
    }
  });
});
