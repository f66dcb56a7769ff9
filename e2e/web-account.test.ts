/**
 * Browser tests of My account against the real local stack: sign in through the ThreeFold Connect stand-in,
 * create a named token with a lifetime (value shown once), use it with the API (`/api/flist/me`, an upload that
 * then shows under recent jobs), revoke it and see the API refuse it; switch the acting repository; a form
 * posted without its CSRF token is refused. Screenshots at desktop and phone width.
 */
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, newContext, screenshot, screenshotBoth } from "./support/browser.ts";
import { fixture } from "./support/flists.ts";
import { startStack, type Stack } from "./support/stack.ts";
import { startTfconnect, type TfconnectStandIn } from "./support/tfconnect.ts";

const USER = "bob.3bot";
let stack: Stack;
let tf: TfconnectStandIn;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  tf = await startTfconnect();
  tf.addUser(USER, "bob@example.org");
  tf.approveAs(USER);
  stack = await startStack({ workerVars: tf.workerVars() });
  browser = await launchBrowser();
  context = await newContext(browser);
  page = await context.newPage();
  await page.goto(`${stack.hubUrl}/login?next=%2Faccount`);
  await page.waitForURL(`${stack.hubUrl}/account`);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await tf?.stop();
});

const api = (token: string, path = "/api/flist/me", init: RequestInit = {}) =>
  fetch(`${stack.hubUrl}${path}`, { ...init, headers: { Authorization: `bearer ${token}`, ...(init.headers ?? {}) } });

async function createToken(name: string, lifetime: string): Promise<string> {
  await page.goto(`${stack.hubUrl}/account`);
  await page.fill("#token-name", name);
  await page.selectOption("#token-lifetime", { label: lifetime });
  await Promise.all([page.waitForURL(`${stack.hubUrl}/account/tokens`), page.click("#token-create")]);
  const token = ((await page.textContent("#token-value")) ?? "").trim();
  expect(token).toMatch(/^[A-Za-z0-9_-]+={0,2}$/);
  return token;
}

describe("My account in a browser", () => {
  it("creates a token, uses it with the API, sees its job, and revokes it", async () => {
    const token = await createToken("laptop zflist", "7 days");
    await screenshot(page, "account.token-shown.desktop");
    expect(await page.textContent("#token-usage")).toContain(`/api/flist/me`);

    const me = await api(token);
    expect(await me.json()).toEqual({ status: "success", payload: { username: USER } });

    // A real publication with the token: it appears under "recent jobs".
    const form = new FormData();
    form.append("file", await fs.openAsBlob(fixture("tree-main.tar.gz")), "from-token.tar.gz");
    const upload = await api(token, "/api/flist/me/upload", { method: "POST", body: form });
    expect(upload.status, await upload.clone().text()).toBe(200);

    // Shown once: the account page lists the name, never the value.
    await page.goto(`${stack.hubUrl}/account`);
    const html = await page.content();
    expect(html).not.toContain(token);
    const row = page.locator("#tokens-table tr", { hasText: "laptop zflist" });
    await expect.poll(() => row.locator("td[data-label=Status]").textContent()).toBe("active");
    expect(await page.textContent("#jobs-table")).toContain("from-token.flist");
    await screenshot(page, "account.desktop");

    const revoke = row.locator("button", { hasText: "Revoke" });
    await Promise.all([page.waitForURL(/\/account\?done=revoked/), revoke.click()]);
    expect(await page.textContent("#account-notice")).toMatch(/revoked/);
    expect(await row.locator("td[data-label=Status]").textContent()).toBe("revoked");
    const refused = await api(token);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ status: "error", message: "token revoked" });
  });

  it("switches the acting repository among the user's organisations", async () => {
    const add = await fetch(`${stack.hubUrl}/internal/members/acme/${USER}`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${stack.internalSecret}` },
    });
    expect(add.status).toBe(200);
    await page.goto(`${stack.hubUrl}/account`);
    await page.selectOption("#repository-select", "acme");
    await Promise.all([page.waitForURL(/done=switched/), page.click("#repository-switch")]);
    expect(await page.textContent("#account-repository")).toBe("acme");
    expect(await page.textContent("header")).toContain("acme");
    await page.selectOption("#repository-select", USER);
    await Promise.all([page.waitForURL(/done=switched/), page.click("#repository-switch")]);
    expect(await page.textContent("#account-repository")).toBe(USER);
  });

  it("refuses a form posted without the CSRF token", async () => {
    const before = (await page.goto(`${stack.hubUrl}/account`), await page.locator("#tokens-table tbody tr").count());
    // The page's own form, its hidden token removed (what a cross-site form would look like).
    await page.fill("#token-name", "forged");
    await page.evaluate(() => document.querySelector('form[action="/account/tokens"] input[name="_csrf"]')?.remove());
    const [response] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === "/account/tokens"),
      page.click("#token-create"),
    ]);
    expect(response.status()).toBe(403);
    expect(await page.textContent("#csrf-refused")).toMatch(/CSRF/);
    await screenshot(page, "account.csrf-refused.desktop");
    await page.goto(`${stack.hubUrl}/account`);
    expect(await page.locator("#tokens-table tbody tr").count()).toBe(before);
    expect(await page.content()).not.toContain("forged");
  });

  it("fits a phone and a laptop (screenshots)", async () => {
    const state = await context.storageState();
    const shots = await screenshotBoth(browser, `${stack.hubUrl}/account`, "account", state);
    expect(shots.phoneOverflow).toBeLessThanOrEqual(0);
  });
});
