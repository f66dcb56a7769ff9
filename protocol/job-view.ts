/**
 * A job as the hub answers it (`GET /api/jobs/<id>`, the job list, the synchronous publishing answers): written by
 * the Worker (worker/src/jobs/read.ts, checked by its OpenAPI document, docs/openapi.md) and read by `zhub`
 * (converter/src/cli/hub/jobs.ts), so both sides use this one schema (docs/jobs-protocol.md).
 */
import { z } from "zod";
import { fileCountsSchema } from "./publish.ts";

const time = z.number().int().describe("unix seconds");

/** A publishing job's result: the flist as published (publish.ts `PublishResult`) and its file counts. */
export const jobResultSchema = z.object({
  repository: z.string(),
  name: z.string(),
  sha256: z.string(),
  md5: z.string(),
  size: z.number().int(),
  counts: fileCountsSchema,
});

/** An `lxd` job's result: the image product it wrote (worker/src/images/lxd-jobs.ts). */
export const lxdResultSchema = z.object({ product: z.string(), version: z.string(), alias: z.string() });

export const jobLinksSchema = z.object({ self: z.string(), events: z.string(), listen: z.string() });

export const JOB_KINDS = ["tar", "flist", "merge", "docker", "lxd"] as const;

export const jobViewSchema = z.object({
  id: z.string(),
  kind: z.enum(JOB_KINDS),
  user: z.string(),
  repository: z.string(),
  name: z.string(),
  status: z.enum(["queued", "running", "succeeded", "failed"]),
  progress: z.number(),
  message: z.string(),
  attempts: z.number().int(),
  created: time,
  updated: time,
  finished: time.nullable(),
  result: z.union([jobResultSchema, lxdResultSchema]).nullable().describe("the job's result once succeeded"),
  links: jobLinksSchema,
});
export type JobView = z.infer<typeof jobViewSchema>;
