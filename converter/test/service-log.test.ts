/**
 * The converter's log (docs/operations.md "Logs"): JSON lines of protocol/logging.ts, the level threshold of
 * HUB_LOG_LEVEL, secrets and tokens kept out, and a job's lines and its calls to the Worker carrying the request id
 * the Worker dispatched it with (or one of its own when none came).
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseLogLine } from "../../protocol/logging.ts";
import { ConfigError, loadConfig } from "../src/service/config.ts";
import { createLogger } from "../src/service/log.ts";
import { FIXTURES, type Rig, SECRET, jobId, startRig, waitFor } from "./service-support.ts";

const TOKEN = "A".repeat(120);

describe("createLogger", () => {
  it("writes one JSON object per line with time, level, service, msg and the fields", () => {
    const lines: string[] = [];
    const log = createLogger({ sink: (l) => lines.push(l) });
    log.info("hello", { job_id: "j1", duration_ms: 12 });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: "info", service: "converter", msg: "hello", job_id: "j1", duration_ms: 12 });
    expect(parseLogLine(lines[0]!)).toEqual(line);
  });

  it("drops the lines below its level", () => {
    const lines: string[] = [];
    const log = createLogger({ sink: (l) => lines.push(l), level: "warn" });
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(lines.map((l) => JSON.parse(l).level)).toEqual(["warn", "error"]);
    const all: string[] = [];
    createLogger({ sink: (l) => all.push(l), level: "debug" }).debug("d");
    expect(all).toHaveLength(1);
  });

  it("scrubs the secrets (its own and a child's) and redacts tokens in every string field", () => {
    const lines: string[] = [];
    const log = createLogger({ sink: (l) => lines.push(l), secrets: ["service-secret-value"] });
    const job = log.child({ job_id: "j2" }, ["registry-password"]);
    job.error("failed with service-secret-value", { error: `registry-password and Bearer ${TOKEN}`, url: `/token/${TOKEN}` });
    const text = lines.join("\n");
    for (const secret of ["service-secret-value", "registry-password", TOKEN.slice(0, 40)]) expect(text).not.toContain(secret);
    expect(JSON.parse(lines[0]!)).toMatchObject({ job_id: "j2", url: "/token/<redacted>" });
  });
});

describe("HUB_LOG_LEVEL", () => {
  const base = { HUB_URL: "http://127.0.0.1:8787", HUB_CHUNK_STORE: "file:///tmp/x", HUB_BACKEND: "h:9900", INTERNAL_SECRET: SECRET };
  it("defaults to info and takes debug, info, warn and error", () => {
    expect(loadConfig(base).logLevel).toBe("info");
    for (const level of ["debug", "info", "warn", "error"]) expect(loadConfig({ ...base, HUB_LOG_LEVEL: level }).logLevel).toBe(level);
  });
  it("refuses anything else, naming the variable", () => {
    expect(() => loadConfig({ ...base, HUB_LOG_LEVEL: "loud" })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, HUB_LOG_LEVEL: "loud" })).toThrow(/HUB_LOG_LEVEL must be debug, info, warn or error, got "loud"/);
  });
});

describe("a job's request id", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ HUB_LOG_LEVEL: "debug" });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  const submit = (spec: Record<string, unknown>, requestId?: string) =>
    fetch(`${rig.converter.url}/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json", ...(requestId ? { "x-request-id": requestId } : {}) },
      body: JSON.stringify(spec),
    });
  const tarSpec = (label: string) => {
    const spec = { id: jobId(label), attempt: 1, kind: "tar", repository: "alice", name: `${label}.flist`, metadata: {} };
    rig.peer.inputs.set(spec.id, path.join(FIXTURES, "tree-overlay.tar.gz"));
    return spec;
  };
  const linesOf = (id: string) => rig.logs.map((l) => parseLogLine(l)).filter((l) => l?.job_id === id);

  it("is on every line of the job and on every call it makes to the Worker", async () => {
    const spec = tarSpec("rid");
    const requestId = "8f3a2b1c4d5e6f70-AMS";
    expect((await submit(spec, requestId)).status).toBe(202);
    expect((await rig.peer.outcome(spec.id)).kind).toBe("publish");
    await waitFor(() => linesOf(spec.id).some((l) => l?.msg.startsWith("succeeded")), 10_000, "the job's last line");
    const lines = linesOf(spec.id);
    expect(lines.map((l) => l!.msg)).toEqual(expect.arrayContaining(["accepted", "started", expect.stringMatching(/^succeeded in /)]));
    for (const line of lines) expect(line).toMatchObject({ request_id: requestId, job_id: spec.id, attempt: 1, kind: "tar", flist: `alice/${spec.name}` });
    const calls = rig.peer.calls.filter((c) => c.path.includes(spec.id) || c.path.endsWith(`/${spec.name}`));
    expect(calls.map((c) => c.path)).toEqual(
      expect.arrayContaining([`/internal/jobs/${spec.id}/input`, `/internal/jobs/${spec.id}/events`, `/internal/publish/alice/${spec.name}`]),
    );
    for (const call of calls) expect(call.requestId, call.path).toBe(requestId);
  });

  it("is one of the converter's own when none (or an invalid one) came, the same on every line and call", async () => {
    const spec = tarSpec("no-rid");
    expect((await submit(spec, "bad id with spaces")).status).toBe(202);
    expect((await rig.peer.outcome(spec.id)).kind).toBe("publish");
    await waitFor(() => linesOf(spec.id).some((l) => l?.msg.startsWith("succeeded")), 10_000, "the job's last line");
    const ids = new Set([...linesOf(spec.id).map((l) => l!.request_id), ...rig.peer.calls.filter((c) => c.path.includes(spec.id) || c.path.endsWith(`/${spec.name}`)).map((c) => c.requestId)]);
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("the converter's request lines", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ HUB_LOG_LEVEL: "debug" });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it("say method, route pattern, status and duration, under the Worker's request id", async () => {
    const res = await fetch(`${rig.converter.url}/chunks/missing`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json", "x-request-id": "chunk-call-000001" },
      body: JSON.stringify({ hashes: ["0123456789abcdef0123456789abcdef"] }),
    });
    expect(res.status).toBe(200);
    await (await fetch(`${rig.converter.url}/health`)).body?.cancel();
    const lines = rig.logs.map((l) => parseLogLine(l)).filter((l) => l?.msg === "request answered");
    expect(lines.find((l) => l?.request_id === "chunk-call-000001")).toMatchObject({ level: "info", method: "POST", route: "/chunks/missing", status: 200, duration_ms: expect.any(Number) });
    expect(lines.find((l) => l?.route === "/health")).toMatchObject({ level: "debug", status: 200 });
    // A token in the path never reaches the line: the route pattern is logged, not the path.
    const token = "A".repeat(120);
    await (await fetch(`${rig.converter.url}/chunks/${token}`, { method: "PUT", headers: { authorization: `Bearer ${SECRET}` }, body: "x" })).body?.cancel();
    expect(rig.logs.join("\n")).not.toContain(token.slice(0, 40));
  });
});
