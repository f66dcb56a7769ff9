/**
 * Response schemas of the job routes and of every route that answers a job (jobs/start.ts `answerJob`): the job
 * view, the 202 of an asynchronous start, and the synchronous publish answers (docs/openapi.md).
 */
import { z } from "zod";
import { fileCountsSchema } from "../../../protocol/publish";
import { okSchema, successSchema } from "../http/envelope";

const time = z.number().int().describe("unix seconds");

/** types.ts `JobResult`: the flist as published (protocol/publish.ts `PublishResult`) and its file counts. */
const jobResultSchema = z.object({
  repository: z.string(),
  name: z.string(),
  sha256: z.string(),
  md5: z.string(),
  size: z.number().int(),
  counts: fileCountsSchema,
});

/** An `lxd` job's result (images/lxd-jobs.ts): the image product it wrote. */
export const lxdResultSchema = z.object({ product: z.string(), version: z.string(), alias: z.string() });

export const jobLinksSchema = z.object({ self: z.string(), events: z.string(), listen: z.string() });

export const jobViewSchema = z
  .object({
    id: z.string(),
    kind: z.enum(["tar", "flist", "merge", "docker", "lxd"]),
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
  })
  ;

export const jobAnswerSchema = okSchema(jobViewSchema);

export const jobListSchema = okSchema(z.object({ repository: z.string(), jobs: z.array(jobViewSchema) }));

/** 202 of `?async=1` / `Prefer: respond-async`: the job and where to follow it. */
export const jobStartedSchema = okSchema(
  z.object({ job: z.string(), status: z.string(), name: z.string(), ...jobLinksSchema.shape }),
);

/** The original's upload answer: `files` is the zflist JSON plus its exit code. */
export const uploadAnswerSchema = okSchema(
  z.object({
    name: z.string(),
    files: z.object({
      success: z.literal(true),
      error: z.null(),
      response: z.union([fileCountsSchema, z.record(z.string(), z.unknown())]),
      status: z.literal(0),
    }),
  }),
);

export const dockerAnswerSchema = okSchema(z.object({ name: z.string(), files: fileCountsSchema }));

/** A merge answers the bare success envelope. */
export const mergeAnswerSchema = successSchema;

/** The public shape of a job: read.ts `jobView` answers exactly this type. */
export type JobView = z.infer<typeof jobViewSchema>;
