/**
 * Browser tests of the sign-in, Debian's Chromium against the real local stack, with the
 * ThreeFold Connect stand-in (real keys) as the login service: a good sign-in, then a tampered state, a bad
 * signature and an unverified email refused; the session cookie's flags; the API ignoring it; sign-out; the
 * local one-click sign-in. Screenshots of each page at desktop and phone width go to e2e/.screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, newContext, screenshot, screenshotBoth } from "./support/browser.ts";
import { startStack, type Stack } from "./support/stack.ts";
import { startTfconnect, type TfconnectStandIn } from "./support/tfconnect.ts";

const USER = "alice.3bot";
let stack: Stack;
let tf: TfconnectStandIn;
let browser: Browser;

beforeAll(async () => {
  tf = await startTfconnect();
  tf.addUser(USER, "alice@example.org");
  stack = await startStack({ workerVars: { ...tf.workerVars(), HUB_LOCAL_SIGNIN_USER: "local" } });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await tf?.stop();
});

async function sessionCookie(context: BrowserContext) {
  return (await context.cookies(stack.hubUrl)).find((c) => c.name === "hub_session");
}

/** Opens the sign-in page and clicks "Sign in with ThreeFold Connect"; resolves on the page the hub ends on. */
async function clickSignIn(page: Page, next = "/"): Promise<number> {
  await page.goto(`${stack.hubUrl}/login-method?next=${encodeURIComponent(next)}`);
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/callback_threebot"),
    page.click("#signin-tfconnect"),
  ]);
  await page.waitForLoadState("load");
  return response.status();
}

describe("ThreeFold Connect sign-in in a browser", () => {
  it("signs in through the login service and comes back signed in, with a safe session cookie", async () => {
    tf.approveAs(USER);
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      await page.goto(`${stack.hubUrl}/login-method`);
      await screenshot(page, "signin.login-method.desktop");
      const status = await clickSignIn(page, "/account");
      expect(status).toBe(302);
      expect(new URL(page.url()).pathname).toBe("/account");
      await expect.poll(() => page.textContent("#account-user")).toBe(USER);

      // What the hub sent to the login service: the original's parameters, the hub's real public key.
      const login = tf.logins.at(-1)!;
      expect(login.get("publickey")).toBe(tf.hubKey.publicKey);
      expect(login.get("redirecturl")).toBe("/callback_threebot");
      expect(login.get("appid")).toBe(new URL(stack.hubUrl).host);

      const cookie = await sessionCookie(context);
      expect(cookie).toBeDefined();
      expect(cookie!.httpOnly).toBe(true);
      expect(cookie!.secure).toBe(true);
      expect(cookie!.sameSite).toBe("Lax");
      expect(cookie!.expires).toBeGreaterThan(Date.now() / 1000 + 3600);
      // Not readable by scripts.
      expect(await page.evaluate(() => document.cookie)).not.toContain("hub_session");

      // The API never takes the session cookie as authentication.
      const api = await page.evaluate(async () => {
        const res = await fetch("/api/flist/me", { credentials: "include" });
        return { status: res.status, body: await res.json() };
      });
      expect(api).toEqual({ status: 401, body: { status: "error", message: "no authorization provided" } });

      // Sign out from the navbar.
      await page.click('a[href="/logout"]');
      await page.waitForLoadState("load");
      expect(await sessionCookie(context)).toBeUndefined();
      await page.goto(`${stack.hubUrl}/account`);
      expect(new URL(page.url()).pathname).toBe("/login-method");
    } finally {
      await context.close();
    }
  });

  for (const [fault, message, status] of [
    ["tampered-state", /state mismatch/, 400],
    ["bad-signature", /Unable to verify the signature/, 400],
    ["unverified-email", /Email unverified/, 403],
  ] as const) {
    it(`refuses a sign-in with ${fault.replace("-", " ")}`, async () => {
      tf.approveAs(USER, fault);
      const context = await newContext(browser);
      try {
        const page = await context.newPage();
        expect(await clickSignIn(page)).toBe(status);
        expect(await page.textContent("#signin-error")).toMatch(message);
        expect(await sessionCookie(context)).toBeUndefined();
        await screenshot(page, `signin.refused-${fault}.desktop`);
        // Nothing was signed in: a page for signed-in users still sends the visitor to sign in.
        await page.goto(`${stack.hubUrl}/account`);
        expect(new URL(page.url()).pathname).toBe("/login-method");
      } finally {
        await context.close();
        tf.approveAs(USER);
      }
    });
  }

  it("refuses an answer that reaches another browser than the one that started the sign-in", async () => {
    tf.approveAs(USER);
    const starter = await newContext(browser);
    const other = await newContext(browser);
    try {
      // Start in one browser, stop at the login service's redirect, and open that redirect in another browser.
      const page = await starter.newPage();
      await page.route(`${stack.hubUrl}/callback_threebot*`, (route) => route.abort());
      await page.goto(`${stack.hubUrl}/login-method`);
      const [request] = await Promise.all([
        page.waitForRequest((r) => new URL(r.url()).pathname === "/callback_threebot"),
        page.click("#signin-tfconnect").catch(() => {}),
      ]);
      const victim = await other.newPage();
      const res = await victim.goto(request.url());
      expect(res!.status()).toBe(400);
      expect(await victim.textContent("#signin-error")).toMatch(/not started in this browser/);
      expect(await sessionCookie(other)).toBeUndefined();
    } finally {
      await starter.close();
      await other.close();
    }
  });

  it("a cancelled sign-in says so", async () => {
    tf.cancel();
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      expect(await clickSignIn(page)).toBe(400);
      expect(await page.textContent("#signin-error")).toMatch(/Authentication failed: CancelledByUser/);
    } finally {
      await context.close();
      tf.approveAs(USER);
    }
  });

  it("offers the one-click sign-in of the local user on a local hub", async () => {
    const context = await newContext(browser, "phone");
    try {
      const page = await context.newPage();
      await page.goto(`${stack.hubUrl}/login-method?next=%2Faccount`);
      await screenshot(page, "signin.login-method-local.phone");
      await page.click("#signin-local");
      await page.waitForURL(`${stack.hubUrl}/account`);
      expect(await page.textContent("#account-user")).toBe("local");
    } finally {
      await context.close();
    }
  });

  it("the sign-in pages fit a phone and a laptop (screenshots)", async () => {
    const shots = await screenshotBoth(browser, `${stack.hubUrl}/login-method`, "signin.login-method");
    expect(shots.phoneOverflow).toBeLessThanOrEqual(0);
    tf.approveAs(USER, "unverified-email");
    const refused = await screenshotBoth(browser, `${stack.hubUrl}/login`, "signin.refused");
    expect(refused.phoneOverflow).toBeLessThanOrEqual(0);
    tf.approveAs(USER);
  });
});
