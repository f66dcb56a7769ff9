/**
 * Helpers of the website page tests (not a test file): fetch a page as a browser would (Accept: text/html),
 * and a signed-in session made by the real session module (startSession), as a cookie plus its CSRF token.
 */
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import type { AppEnv } from "../src/env";
import { startSession } from "../src/web/session";
import { fetchHub } from "./support/hub";

export const BROWSER = { Accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };

export async function page(path: string, headers: Record<string, string> = {}) {
  const res = await fetchHub(path, { headers: { ...BROWSER, ...headers }, redirect: "manual" });
  return { status: res.status, html: await res.text(), res };
}

export interface TestSession {
  cookie: string;
  csrf: string;
}

/** Signs `user` in through the real session code and returns the cookie a browser would send back. */
export async function signIn(user: string): Promise<TestSession> {
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => {
    const session = await startSession(c, user);
    return c.text(session.csrf);
  });
  const res = await app.fetch(new Request("http://hub.test/"), env);
  const set = res.headers.get("Set-Cookie") ?? "";
  return { cookie: set.split(";")[0]!, csrf: await res.text() };
}

/** The text content of an HTML fragment: tags dropped, entities of the escaping decoded. */
export function text(html: string): string {
  return html
    .replace(/<[^>]*>/g, "")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&amp;", "&");
}
