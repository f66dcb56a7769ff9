/**
 * Browser-test support: Debian's Chromium (`/usr/bin/chromium`, headless) driven by playwright-core, a desktop
 * and a phone-width context, and screenshots saved under `e2e/.screenshots/` (git-ignored) for a person to look at.
 *
 * Each launch gets a new, empty profile (Playwright's `launch()` creates a fresh temporary user-data dir and
 * removes it on close), so no cookie, cache or setting leaks between test files. Background services of the
 * browser (sync, component updates, QUIC, first-run) are switched off: the tests talk to 127.0.0.1 only.
 */
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.E2E_CHROMIUM || "/usr/bin/chromium";
export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, "..", ".screenshots");

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A laptop screen. */
export const DESKTOP = { viewport: { width: 1280, height: 800 } } as const;
/** A phone (390 CSS px wide, touch, mobile viewport meta honoured). */
export const PHONE = {
  viewport: { width: 390, height: 844 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 2,
} as const;

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
}

export type Form = "desktop" | "phone";

/** A new browser context (own cookies) of the given form factor. */
export async function newContext(browser: Browser, form: Form = "desktop"): Promise<BrowserContext> {
  const options = form === "phone" ? PHONE : DESKTOP;
  const context = await browser.newContext({ ...options, locale: "en-US", timezoneId: "UTC" });
  context.setDefaultTimeout(20_000);
  context.setDefaultNavigationTimeout(30_000);
  return context;
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "page";
}

/** Saves a full-page screenshot as `e2e/.screenshots/<name>.png`; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${safeName(name)}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Screenshots of `url` at desktop and phone width (`<name>.desktop.png`, `<name>.phone.png`), each in a fresh
 * context that shares `storageState` (e.g. a signed-in session) when given. Also checks that the page does not
 * scroll sideways on the phone, the usual sign of a layout that does not fit.
 */
export async function screenshotBoth(
  browser: Browser,
  url: string,
  name: string,
  storageState?: Awaited<ReturnType<BrowserContext["storageState"]>>,
): Promise<{ desktop: string; phone: string; phoneOverflow: number }> {
  const out = { desktop: "", phone: "", phoneOverflow: 0 };
  for (const form of ["desktop", "phone"] as const) {
    const context = await browser.newContext({
      ...(form === "phone" ? PHONE : DESKTOP),
      locale: "en-US",
      timezoneId: "UTC",
      storageState,
    });
    try {
      const page = await context.newPage();
      await page.goto(url, { waitUntil: "load" });
      out[form] = await screenshot(page, `${name}.${form}`);
      if (form === "phone") {
        out.phoneOverflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
      }
    } finally {
      await context.close();
    }
  }
  return out;
}
