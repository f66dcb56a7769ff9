/**
 * Public job routes. Who may read a job: anyone who knows its id, as the original's `/listen/<id>` (ids are
 * random UUIDs, handed only to the requester, so knowing one is the capability). A job shows its repository,
 * target name, status and result — what its publish makes public anyway — never the staged input.
 * `GET /api/jobs` lists the jobs of the caller's acting repository and needs a token.
 */
import { Hono } from "hono";
import { requireActor } from "../auth/middleware";
import type { AppEnv } from "../env";
import { HubError } from "../http/errors";
import { ok } from "../http/respond";
import { jobView, readJob } from "./read";
import { SSE_HEADERS, jobEventStream } from "./sse";
import { getJob, jobsOfRepository } from "./store";

export const jobRoutes = new Hono<AppEnv>();

const MAX_LIST = 200;

jobRoutes.get("/api/jobs", requireActor(), async (c) => {
  const raw = c.req.query("limit") ?? "50";
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1) throw new HubError(400, "invalid limit: expected 1..200");
  const limit = Math.min(Number(raw), MAX_LIST);
  const jobs = await jobsOfRepository(c.env.DB, c.var.actor.repository, limit);
  return ok(c, { repository: c.var.actor.repository, jobs: jobs.map(jobView) });
});

jobRoutes.get("/api/jobs/:id", async (c) => {
  const job = await readJob(c.env, c.req.param("id"));
  if (!job) throw new HubError(404, "job id not found");
  return ok(c, jobView(job));
});

jobRoutes.get("/api/jobs/:id/events", async (c) => {
  const id = c.req.param("id");
  if (!(await getJob(c.env.DB, id))) throw new HubError(404, "job id not found");
  const lastId = c.req.header("Last-Event-ID") ?? c.req.query("after") ?? "0";
  const afterSeq = /^\d{1,9}$/.test(lastId.trim()) ? Number(lastId.trim()) : 0;
  return new Response(jobEventStream(c.env, id, { style: "events", afterSeq }), { headers: SSE_HEADERS });
});

// The original's route and shapes (docs/compatibility.md §5.5): `data: <json>\n\n` frames only.
jobRoutes.get("/listen/:id", async (c) => {
  const id = c.req.param("id");
  // Flask `jsonify` order (sorted keys), as the original's 404.
  if (!(await getJob(c.env.DB, id))) return c.json({ message: "job id not found", status: "error" }, 404);
  return new Response(jobEventStream(c.env, id, { style: "listen", afterSeq: 0 }), { headers: SSE_HEADERS });
});
