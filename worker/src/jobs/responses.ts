/**
 * Response schemas of the job routes and of every route that answers a job (jobs/start.ts `answerJob`): the job
 * view, the 202 of an asynchronous start, and the synchronous publish answers (docs/openapi.md).
 */
import { z } from "zod";
import { fileCountsSchema } from "../../../protocol/publish";
import { jobLinksSchema, jobViewSchema, type JobView } from "../../../protocol/job-view";
import { okSchema, successSchema } from "../http/envelope";

// The job view is the contract `zhub` reads too: written once, in protocol/job-view.ts.
export { jobLinksSchema, jobViewSchema, lxdResultSchema } from "../../../protocol/job-view";

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
export type { JobView };
