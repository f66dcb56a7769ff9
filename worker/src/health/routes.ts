/**
 * `GET /health` (docs/operations.md "Worker health check"): open and cheap, for a load balancer or an uptime check.
 * 200 with every check when D1, R2 and the converter answer; 503 naming the failing ones otherwise. The original's
 * `GET /api/health` stays what it was (app.ts): liveness only.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { checkHealth } from "./checks";

export const health = new Hono<AppEnv>();

health.get("/health", async (c) => {
  const report = await checkHealth(c.env);
  c.header("cache-control", "no-store");
  if (report.status === "ok") return c.json(report, 200);
  const failing = Object.entries(report.checks).filter(([, r]) => !r.ok);
  const message = failing.map(([name, r]) => `${name}: ${r.error ?? "failed"}`).join("; ");
  return c.json({ status: "error", message, checks: report.checks }, 503);
});
