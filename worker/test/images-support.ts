/** Helpers of the image server tests (not a test file itself). */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { app } from "../src/app";
import type { Env } from "../src/env";
import { env } from "./auth-support";

export { env };

/** The whole application with settings overridden (wrangler.toml's defaults otherwise). */
export async function hub(path: string, init: RequestInit = {}, overrides: Partial<Env> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://hub.test${path}`, init), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const enc = new TextEncoder();

/**
 * The multipart body curl sends for `-F upload=@file;filename=<name>` (plus fields before it), with the
 * Content-Length a client sends over the network (in-process Requests have none).
 */
export function curlForm(
  filename: string,
  bytes: Uint8Array,
  fields: Record<string, string> = {},
  boundary = `------------------------${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`,
): { body: Uint8Array<ArrayBuffer>; headers: Record<string, string> } {
  const parts: Uint8Array[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  parts.push(
    enc.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="upload"; filename="${filename}"\r\n` +
        "Content-Type: application/octet-stream\r\n\r\n",
    ),
  );
  parts.push(bytes, enc.encode(`\r\n--${boundary}--\r\n`));
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  return {
    body,
    headers: { "Content-Type": `multipart/form-data; boundary=${boundary}`, "Content-Length": String(body.length) },
  };
}

export async function sha256Hex(...parts: Uint8Array[]): Promise<string> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = await crypto.subtle.digest("SHA-256", all);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function bytesOf(text: string, size = 0): Uint8Array<ArrayBuffer> {
  const head = enc.encode(text);
  const out = new Uint8Array(Math.max(size, head.length));
  out.set(head);
  for (let i = head.length; i < out.length; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}
