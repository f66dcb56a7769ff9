/**
 * Observability of the Worker (docs/operations.md "Logs", "Health checks", "Request analytics"): the request id
 * of every answer and where it comes from, the JSON log lines and their level, the id kept with a job and sent to
 * the converter on its dispatch, `GET /health` naming the dependency that is down, and the Analytics Engine data
 * point of each request. The converter's answers are the only thing stood in for, and a failing D1 or R2.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { parseLogLine, type LogLine } from "../../protocol/logging";
import { app } from "../src/app";
import type { Env } from "../src/env";
import { logLevelOf } from "../src/observe/log";
import { signToken } from "../src/auth/tokens";
import { HUB, fetchHub, migrate } from "./support/hub";
import { accepted, fakeArchive, stubConverter, uploadForm } from "./support/jobs";

const stub = stubConverter();
beforeAll(migrate);
beforeEach(() => stub.answer((call) => (call.path === "/health" ? Response.json({ status: "ok" }) : accepted(call))));

/** The Worker's JSON lines written while `fn` runs, whatever the console method. */
async function captureLines(fn: () => Promise<void>): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  const spies = (["debug", "log", "info", "warn", "error"] as const).map((m) =>
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      const line = parseLogLine(String(args[0]));
      if (line) lines.push(line);
    }),
  );
  try {
    await fn();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines;
}

/** The app with other bindings than wrangler.toml's (a log level, a dataset, a failing D1). */
async function fetchWith(overrides: Partial<Env>, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(HUB + path, init), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("the request id", () => {
  it("is generated when the request has none, and answered in x-request-id", async () => {
    const a = (await fetchHub("/api/health")).headers.get("x-request-id");
    const b = (await fetchHub("/api/health")).headers.get("x-request-id");
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(b).toMatch(/^[0-9a-f-]{36}$/);
    expect(a).not.toBe(b);
  });

  it("is readable by browser scripts of other origins (CORS exposes it)", async () => {
    const res = await fetchHub("/api/health", { headers: { origin: "https://elsewhere.example" } });
    expect(res.headers.get("access-control-expose-headers")).toMatch(/\bX-Request-Id\b/);
  });

  it("is the caller's x-request-id, else cf-ray, when valid", async () => {
    const given = async (headers: Record<string, string>) => (await fetchHub("/api/health", { headers })).headers.get("x-request-id");
    expect(await given({ "x-request-id": "client-id-0001" })).toBe("client-id-0001");
    expect(await given({ "cf-ray": "8f3a2b1c4d5e6f70-AMS" })).toBe("8f3a2b1c4d5e6f70-AMS");
    expect(await given({ "x-request-id": "from-the-converter-1", "cf-ray": "8f3a2b1c4d5e6f70-AMS" })).toBe("from-the-converter-1");
    // Too short, spaces, a token's length: not taken, one of the Worker's own instead.
    for (const bad of ["short", "has spaces in it", "A".repeat(200)]) expect(await given({ "x-request-id": bad })).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("is on error answers and not-found answers too", async () => {
    const res = await fetchHub("/api/flist/me", { headers: { "x-request-id": "unauth-request-1" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("x-request-id")).toBe("unauth-request-1");
    expect((await fetchHub("/no/such/thing/here", { headers: { "x-request-id": "notfound-req-1" } })).headers.get("x-request-id")).toBe("notfound-req-1");
  });
});

describe("the log lines", () => {
  it("one JSON line per request: request id, method, route pattern, redacted path, status, duration", async () => {
    const token = await signToken(env.HUB_SIGNING_SEED, "log-user");
    const lines = await captureLines(async () => {
      await (await fetchWith({ HUB_LOG_LEVEL: "info" }, `/token/${token}`, { headers: { "x-request-id": "log-line-test-1" } })).body?.cancel();
      await (await fetchWith({ HUB_LOG_LEVEL: "info" }, "/api/flist/someone", { headers: { "x-request-id": "log-line-test-2" } })).body?.cancel();
    });
    const line = lines.find((l) => l.msg === "request answered" && l.request_id === "log-line-test-1");
    // Even the pattern `/token/:token` goes through the redaction of every string field.
    expect(line).toMatchObject({ level: "info", service: "worker", method: "GET", route: "/token/<redacted>", path: "/token/<redacted>" });
    expect(line!.status).toBeLessThan(500);
    expect(typeof line!.duration_ms).toBe("number");
    expect(JSON.stringify(lines)).not.toContain(token.slice(0, 40));
    expect(lines.find((l) => l.request_id === "log-line-test-2")).toMatchObject({ route: "/api/flist/:repo", path: "/api/flist/someone", status: 404 });
  });

  it("HUB_LOG_LEVEL drops the lines below it (warn: no request lines); an unknown value means info", async () => {
    const quiet = await captureLines(async () => void (await fetchWith({ HUB_LOG_LEVEL: "warn" }, "/api/health")));
    expect(quiet.filter((l) => l.msg === "request answered")).toEqual([]);
    const debug = await captureLines(async () => void (await fetchWith({ HUB_LOG_LEVEL: "debug" }, "/api/health")));
    expect(debug.filter((l) => l.msg === "request answered")).toHaveLength(1);
    const info = await captureLines(async () => void (await fetchWith({ HUB_LOG_LEVEL: "info" }, "/api/health")));
    expect(info.filter((l) => l.msg === "request answered")).toHaveLength(1);
    expect(logLevelOf(undefined)).toBe("info");
    expect(logLevelOf("")).toBe("info");
    expect(logLevelOf("error")).toBe("error");
    const warned = await captureLines(async () => void expect(logLevelOf("loud")).toBe("info"));
    expect(warned.map((l) => [l.level, l.msg])).toEqual([["warn", 'HUB_LOG_LEVEL must be debug, info, warn or error, got "loud": using info']]);
  });
});

describe("a job's request id", () => {
  it("is kept with the job, on its lines, and sent to the converter with its dispatch (run by the Queue)", async () => {
    let id = "";
    const lines = await captureLines(async () => {
      const token = await signToken(env.HUB_SIGNING_SEED, "rid-user");
      const res = await fetchWith({ HUB_LOG_LEVEL: "info" }, "/api/flist/me/upload?async=1", {
        method: "POST",
        headers: { authorization: `bearer ${token}`, "x-request-id": "upload-request-0001" },
        body: uploadForm(await fakeArchive("x"), "rid.tar.gz"),
      });
      expect(res.status).toBe(202);
      id = ((await res.json()) as any).payload.job as string;
      await stub.waitForDispatch(id);
    });
    const row = await env.DB.prepare("SELECT params FROM jobs WHERE id = ?1").bind(id).first<{ params: string }>();
    expect(JSON.parse(row!.params).requestId).toBe("upload-request-0001");
    const dispatch = stub.calls.find((c) => c.path === "/jobs" && c.json?.id === id)!;
    expect(dispatch.requestId).toBe("upload-request-0001");
    expect(lines.filter((l) => l.job_id === id).map((l) => [l.msg, l.request_id])).toContainEqual(["job created", "upload-request-0001"]);
  });
});

describe("the chunk routes' request id", () => {
  it("goes to the converter with the proxied call", async () => {
    stub.answer((call) => (call.path === "/chunks/missing" ? Response.json({ missing: [] }) : accepted(call)));
    const token = await signToken(env.HUB_SIGNING_SEED, "chunk-user");
    const res = await fetchHub("/api/chunks/missing", {
      method: "POST",
      headers: { authorization: `bearer ${token}`, "content-type": "application/json", "x-request-id": "chunk-request-0001" },
      body: JSON.stringify(["0123456789abcdef0123456789abcdef"]),
    });
    expect(res.status).toBe(200);
    expect(stub.calls.filter((c) => c.path === "/chunks/missing").at(-1)?.requestId).toBe("chunk-request-0001");
  });
});

describe("GET /health", () => {
  it("answers 200 with every check when D1, R2 and the converter are up", async () => {
    const res = await fetchHub("/health");
    const body = (await res.json()) as any;
    expect([res.status, body]).toEqual([
      200,
      { status: "ok", checks: { d1: { ok: true, ms: expect.any(Number) }, r2: { ok: true, ms: expect.any(Number) }, converter: { ok: true, ms: expect.any(Number) } } },
    ]);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(stub.calls.some((c) => c.path === "/health" && c.method === "GET")).toBe(true);
  });

  it("answers 503 naming the converter when it is down or unhealthy, without its address", async () => {
    stub.answer((call) => (call.path === "/health" ? Response.json({ status: "error" }, { status: 503 }) : accepted(call)));
    let res = await fetchHub("/health");
    let body = (await res.json()) as any;
    expect(res.status).toBe(503);
    expect(body).toMatchObject({ status: "error", message: "converter: answered 503", checks: { d1: { ok: true }, r2: { ok: true }, converter: { ok: false } } });
    stub.answer(() => {
      throw new TypeError(`fetch failed: connect ECONNREFUSED ${env.HUB_CONVERTER_URL}`);
    });
    res = await fetchHub("/health");
    body = (await res.json()) as any;
    expect(res.status).toBe(503);
    expect(body.message).toBe("converter: unreachable (TypeError)");
    expect(JSON.stringify(body)).not.toContain(new URL(env.HUB_CONVERTER_URL).host);
  });

  it("answers 503 naming D1 and R2 when they fail", async () => {
    const failing = (what: string) => () => {
      throw new Error(`${what} is down (see https://user:pw@internal.example/x)`);
    };
    // Every statement method fails (the cost meter, on in these tests, reads through `all`).
    const statement = new Proxy({}, { get: (_t, key) => (key === "bind" ? () => statement : failing("D1")) });
    const DB = { prepare: () => statement } as unknown as D1Database;
    const FLISTS = { list: failing("R2") } as unknown as R2Bucket;
    const res = await fetchWith({ DB, FLISTS }, "/health");
    const body = (await res.json()) as any;
    expect(res.status).toBe(503);
    expect(body.message).toBe("d1: D1 is down (see <address>); r2: R2 is down (see <address>)");
    expect(body.checks.converter.ok).toBe(true);
    expect(JSON.stringify(body)).not.toContain("pw@");
  });

  it("keeps GET /api/health as the original's", async () => {
    const res = await fetchHub("/api/health");
    expect([res.status, await res.json()]).toEqual([200, { status: "success" }]);
  });
});

describe("Analytics Engine", () => {
  afterEach(() => vi.restoreAllMocks());

  it("writes one data point per request: route pattern, method, status class, cache state; status and duration", async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const HUB_ANALYTICS = { writeDataPoint: (p?: AnalyticsEngineDataPoint) => void (p && points.push(p)) } as AnalyticsEngineDataset;
    await (await fetchWith({ HUB_ANALYTICS }, "/api/flist/nobody-here")).body?.cancel();
    expect(points).toHaveLength(1);
    const [point] = points;
    expect(point!.indexes).toEqual(["/api/flist/:repo"]);
    expect(point!.blobs).toEqual(["/api/flist/:repo", "GET", expect.stringMatching(/^[245]xx$/), ""]);
    expect(point!.doubles![0]).toBeGreaterThanOrEqual(200);
    expect(point!.doubles![1]).toBeGreaterThanOrEqual(0);
  });

  it("is a no-op without the binding (local runs), and a failing dataset does not cost the answer", async () => {
    expect((await fetchHub("/api/health")).status).toBe(200);
    const HUB_ANALYTICS = {
      writeDataPoint: () => {
        throw new Error("dataset down");
      },
    } as AnalyticsEngineDataset;
    expect((await fetchWith({ HUB_ANALYTICS }, "/api/health")).status).toBe(200);
  });
});
