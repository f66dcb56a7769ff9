/**
 * The converter's HTTP routes (docs/jobs-protocol.md "Converter endpoints") as a Hono app: `GET /health` (open;
 * `?deep=1` checks the chunk store and the hub),
 * and, behind the internal bearer secret, `POST /jobs`, `POST /chunks/missing`, `PUT /chunks/<hex>`, `GET /metrics`
 * (Prometheus text, metrics.ts). Served by
 * server.ts on Node (`@hono/node-server`); tests may call `app.request()`. Every answer is the hub's JSON
 * envelope; request bodies are read as Node streams (http.ts), never buffered beyond their small caps.
 */
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { Hono, type Context } from "hono";
import { routePath } from "hono/route";
import { INLINE_SPEC_HEADER, INPUT_SIZE_HEADER, jobSpecSchema } from "../../../protocol/job-spec.ts";
import { isRequestId, REQUEST_ID_HEADER } from "../../../protocol/logging.ts";
import { StoreError, type ChunkStore } from "../store/index.ts";
import { makeBearerCheck } from "./auth.ts";
import { chunkRoutes } from "./chunks.ts";
import { checkHealth } from "./health.ts";
import type { ConverterMetrics } from "./metrics.ts";
import { scrub } from "./errors.ts";
import { HttpError, type ServiceEnv, drainBody, errorJson, json, nodeBody } from "./http.ts";
import { InlineInput } from "./inline.ts";
import type { Logger } from "./log.ts";
import type { JobRunner } from "./jobs.ts";
import { type Issue, jsonBody } from "./validate.ts";

export interface AppDeps {
  runner: JobRunner;
  store: () => Promise<ChunkStore>;
  internalSecret: string;
  /** Replaced by `***` in every message and log line. */
  secrets: readonly string[];
  log: Logger;
  /** The hub's base URL, checked by `GET /health?deep=1`; no hub check without it. */
  hubUrl?: string;
  /** Per dependency check of `GET /health?deep=1` (default 2000 ms). */
  healthTimeoutMs?: number;
  /** Served as `GET /metrics` (behind the secret); no route without it. */
  metrics?: ConverterMetrics;
}

/** Job specs are small (names, metadata fields, a list of sources). */
const MAX_SPEC_BYTES = 1024 * 1024;

const invalidJob = (issue: Issue) => `invalid job: ${issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "bad spec"}`;

/** The Worker's request id for the job (protocol/logging.ts), else a fresh one so the job's lines still share one. */
const requestIdOf = (c: Context<ServiceEnv>): string => {
  const given = c.req.header(REQUEST_ID_HEADER);
  return isRequestId(given) ? given : crypto.randomUUID();
};

const methodNotAllowed = (): never => {
  throw new HttpError(405, "method not allowed");
};

/**
 * `POST /jobs` with the archive as the body and the spec in `X-Job-Spec` (base64url JSON): a streamed upload's
 * `tar` job, converted while the Worker still receives it (inline.ts). Answered `202` once the whole input was
 * read (answering earlier would let Node discard the unread body), refused at once otherwise: the connection is
 * then closed, so the Worker's writes fail and it stages the upload alone.
 */
async function inlineJob(c: Context<ServiceEnv>, runner: JobRunner): Promise<Response> {
  const refuse = (status: number, message: string) => {
    const outgoing = c.env?.outgoing;
    const incoming = c.env?.incoming;
    if (outgoing && incoming) outgoing.on("finish", () => incoming.destroy());
    return json(c, status, { status: "error", message }, { connection: "close" });
  };
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(String(c.req.header(INLINE_SPEC_HEADER)), "base64url").toString("utf8"));
  } catch {
    return refuse(400, "invalid job: X-Job-Spec is not base64url JSON");
  }
  const parsed = jobSpecSchema.safeParse(raw);
  if (!parsed.success) return refuse(400, invalidJob(parsed.error.issues[0]));
  if (parsed.data.kind !== "tar") return refuse(400, "invalid job: only tar jobs take their input inline");
  const declared = c.req.header(INPUT_SIZE_HEADER);
  const size = Number(declared);
  if (typeof declared !== "string" || !/^\d+$/.test(declared) || size <= 0 || String(size) !== (c.req.header("content-length") ?? "")) {
    return refuse(400, "invalid job: X-Input-Size must equal Content-Length");
  }
  const input = new InlineInput(nodeBody(c), size);
  const result = runner.submitInline(parsed.data, input, requestIdOf(c));
  if (result !== "accepted") return refuse(503, "converter busy, stage the input and dispatch later");
  if (await input.settled) return json(c, 202, { status: "accepted" });
  // The input broke off: no answer, the connection goes (the Worker's request fails, as its upload did).
  c.env?.outgoing?.destroy();
  return RESPONSE_ALREADY_SENT;
}

export function converterApp(deps: AppDeps): Hono<ServiceEnv> {
  const { runner, secrets, log } = deps;
  const authorized = makeBearerCheck(deps.internalSecret);
  const app = new Hono<ServiceEnv>();

  // One line per call, under the Worker's request id (a chunk upload's lines then match the Worker's); the
  // probes of /health at debug only, they come every few seconds.
  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    let route = "(other)";
    try {
      route = routePath(c) || route;
    } catch {
      // no route matched
    }
    const given = c.req.header(REQUEST_ID_HEADER);
    const line = {
      method: c.req.method,
      route: route.endsWith("*") ? "(other)" : route,
      status: c.res.status,
      duration_ms: Math.round(performance.now() - started),
      ...(isRequestId(given) ? { request_id: given } : {}),
    };
    if (line.route === "/health") log.debug("request answered", line);
    else if (line.status >= 500) log.error("request answered", line);
    else log.info("request answered", line);
  });

  // Liveness: the service is up (start-up scripts and the container's HEALTHCHECK wait on this). `?deep=1` adds
  // the dependency checks of health.ts and answers 503 naming the one that fails.
  app.get("/health", async (c) => {
    const deep = c.req.query("deep");
    if (deep !== "1" && deep !== "true") return json(c, 200, { status: "ok" });
    const report = await checkHealth({
      store: deps.store,
      secrets,
      ...(deps.hubUrl ? { hubUrl: deps.hubUrl } : {}),
      ...(deps.healthTimeoutMs ? { timeoutMs: deps.healthTimeoutMs } : {}),
    });
    if (report.status === "ok") return json(c, 200, report);
    const failing = Object.entries(report.checks).filter(([, r]) => !r.ok);
    const message = failing.map(([name, r]) => `${name}: ${r.error ?? "failed"}`).join("; ");
    return json(c, 503, { status: "error", message, checks: report.checks });
  });
  app.all("/health", methodNotAllowed);

  app.use("*", async (c, next) => {
    if (!authorized(c.req.header("authorization"))) {
      drainBody(c);
      throw new HttpError(401, "unauthorized");
    }
    await next();
  });

  app.post(
    "/jobs",
    // The input inline (a streamed upload): the body is the archive, the spec is in a header.
    async (c, next) => (c.req.header(INLINE_SPEC_HEADER) !== undefined ? inlineJob(c, runner) : next()),
    jsonBody(jobSpecSchema, MAX_SPEC_BYTES, invalidJob),
    (c) => {
      const result = runner.submit(c.req.valid("json"), requestIdOf(c));
      if (result === "busy") return errorJson(c, 503, "converter busy, retry later");
      return json(c, 202, { status: "accepted" });
    },
  );
  app.all("/jobs", methodNotAllowed);

  app.route("/", chunkRoutes(deps.store));

  const { metrics } = deps;
  if (metrics) {
    app.get("/metrics", (c) => c.body(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
    app.all("/metrics", methodNotAllowed);
  }

  app.notFound((c) => {
    drainBody(c);
    return errorJson(c, 404, "not found");
  });

  app.onError((err, c) => {
    if (err instanceof HttpError) return errorJson(c, err.status, err.message);
    // The store is down or refused us: the caller may retry later (its message names the redacted address).
    if (err instanceof StoreError) return errorJson(c, 503, scrub(err.message, secrets));
    const url = new URL(c.req.url);
    log.error("internal error", { method: c.req.method, path: `${url.pathname}${url.search}`, error: scrub(err.stack ?? String(err), secrets) });
    return errorJson(c, 500, "internal error");
  });
  return app;
}
