/** Answers many operations share: the error envelope by status, the success envelope, the 202 of a job. */
import { errorSchema, successSchema } from "../http/envelope";
import { jobStartedSchema } from "../jobs/responses";
import type { Answer } from "./operation";

export const error = (description: string): Answer => ({ description, json: errorSchema });

export const success: Answer = { description: "done", json: successSchema };

export const jobStarted: Answer = {
  description: "`?async=1` or `Prefer: respond-async`: the job was started; follow it at `Location`",
  json: jobStartedSchema,
  headers: { Location: "the job's URL", "X-Hub-Job": "the job id" },
};

export const badName = error("a name or parameter breaks the name rule (docs/names.md), or the input is malformed");
export const unauthorized = error("no valid token (docs/auth.md)");

/** What the token check (auth/middleware.ts `requireActor`) may answer on every token route. */
export const tokenAnswers: Record<number, Answer> = {
  400: error("`readonly mode`: this hub refuses every mutating call (`HUB_READONLY`), or a malformed input"),
  401: unauthorized,
  403: error("the token's user is not a member of the repository it asks to act for (`active-user`)"),
};
export const notFound = error("not found (`user not found`, `source not found`, …)");
export const tooLarge = error("the request is larger than this hub accepts (docs/limits.md)");
export const converterFailed = error("the job failed: the converter's status and message (docs/publishing.md)");
