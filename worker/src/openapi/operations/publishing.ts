/** Publishing: uploads, resumable sessions, merge, docker, chunks, jobs (docs/publishing.md, docs/jobs-protocol.md). */
import { z } from "zod";
import { flistNameSchema } from "../../names";
import { dockerJobRequestSchema } from "../../docker/request";
import { hashesSchema } from "../../chunks/routes";
import { chunkStoredSchema, missingSchema } from "../../chunks/responses";
import { createBody } from "../../uploads/resumable";
import { partRecordedSchema, sessionCreatedSchema, sessionViewSchema } from "../../uploads/responses";
import { mergeSourcesSchema } from "../../uploads/merge";
import { dockerAnswerSchema, jobAnswerSchema, jobListSchema, mergeAnswerSchema, uploadAnswerSchema } from "../../jobs/responses";
import { badName, converterFailed, error, jobStarted, notFound, success, tooLarge, unauthorized } from "../answers";
import type { Answer, Operation } from "../operation";

const asyncQuery = {
  async: { schema: z.enum(["1", "true", "yes"]), description: "answer 202 at once with the job (as `Prefer: respond-async`)" },
};

const publishAnswers = (json: z.ZodType): Record<number, Answer> => ({
  200: { description: "published: the job ended and the flist is in the catalog", json, headers: { "X-Hub-Job": "the job id" } },
  202: jobStarted,
  400: badName,
  401: unauthorized,
  413: tooLarge,
  500: converterFailed,
  502: error("the converter or a registry could not be reached"),
});

const form = z.object({ file: z.string().describe("the file (binary)") }).catchall(z.string().describe("a metadata field"));

const tag = "publishing";

const uploads: Operation[] = [
  {
    method: "post",
    route: "/api/flist/me/upload",
    tag,
    summary: "Publish a `.tar.gz` (multipart field `file`; other fields are metadata)",
    auth: true,
    query: asyncQuery,
    body: { "multipart/form-data": form },
    answers: { ...publishAnswers(uploadAnswerSchema), 415: error("not a multipart form") },
  },
  {
    method: "post",
    route: "/api/flist/me/upload-flist",
    tag,
    summary: "Publish a homemade `.flist` (multipart field `file`)",
    auth: true,
    query: asyncQuery,
    body: { "multipart/form-data": form },
    answers: { ...publishAnswers(uploadAnswerSchema), 415: error("not a multipart form") },
  },
  {
    method: "put",
    route: "/api/flist/me/upload/:filename",
    tag,
    summary: "Publish a `.tar.gz` streamed as the raw body (known Content-Length); query fields are metadata",
    auth: true,
    params: { filename: z.string().describe("`<name>.tar.gz`") },
    query: asyncQuery,
    body: { "application/octet-stream": "binary" },
    bodyRequired: true,
    answers: { ...publishAnswers(uploadAnswerSchema), 411: error("Content-Length required") },
  },
  {
    method: "post",
    route: "/api/flist/me/merge/:target",
    tag,
    summary: "Merge flists (JSON array of `<repo>/<name>`) into my `target`",
    auth: true,
    params: { target: flistNameSchema },
    query: asyncQuery,
    body: { "application/json": mergeSourcesSchema },
    answers: { ...publishAnswers(mergeAnswerSchema), 404: notFound },
  },
  {
    method: "post",
    route: "/api/flist/me/merge",
    tag,
    summary: "Merge flists; the target name is the original's default",
    auth: true,
    query: asyncQuery,
    body: { "application/json": mergeSourcesSchema },
    answers: { ...publishAnswers(mergeAnswerSchema), 404: notFound },
  },
  {
    method: "post",
    route: "/api/flist/me/docker",
    tag,
    summary: "Convert a registry image into my flist",
    auth: true,
    query: asyncQuery,
    body: {
      "application/json": dockerJobRequestSchema,
      "multipart/form-data": dockerJobRequestSchema,
      "application/x-www-form-urlencoded": dockerJobRequestSchema,
    },
    answers: { ...publishAnswers(dockerAnswerSchema), 404: error("unknown image or tag") },
  },
];

const sessionAnswers = { 400: badName, 401: unauthorized, 404: error("no such upload (or another repository's)"), 409: error("the upload is completed or aborted") };

const resumable: Operation[] = [
  {
    method: "post",
    route: "/api/flist/me/uploads",
    tag,
    summary: "Open a resumable upload of a large `.tar.gz`",
    auth: true,
    body: { "application/json": createBody },
    bodyRequired: true,
    answers: { 201: { description: "the session", json: sessionCreatedSchema, headers: { Location: "the session's URL" } }, ...sessionAnswers, 413: tooLarge },
  },
  {
    method: "get",
    route: "/api/flist/me/uploads/:id",
    tag,
    summary: "A resumable upload's status and parts",
    auth: true,
    answers: { 200: { description: "the session", json: sessionViewSchema }, ...sessionAnswers },
  },
  {
    method: "put",
    route: "/api/flist/me/uploads/:id/:part",
    tag,
    summary: "Upload one part (1-based; any order)",
    auth: true,
    params: { part: z.string().regex(/^\d+$/) },
    body: { "application/octet-stream": "binary" },
    bodyRequired: true,
    answers: { 200: { description: "the part", json: partRecordedSchema }, ...sessionAnswers, 411: error("Content-Length required"), 413: tooLarge },
  },
  {
    method: "post",
    route: "/api/flist/me/uploads/:id/complete",
    tag,
    summary: "Assemble the parts and publish (answers as the form upload)",
    auth: true,
    query: asyncQuery,
    answers: { ...publishAnswers(uploadAnswerSchema), ...sessionAnswers },
  },
  {
    method: "delete",
    route: "/api/flist/me/uploads/:id",
    tag,
    summary: "Abort a resumable upload",
    auth: true,
    answers: { 200: success, ...sessionAnswers },
  },
];

const chunks: Operation[] = [
  {
    method: "post",
    route: "/api/chunks/missing",
    tag: "chunks",
    summary: "Which of these chunk hashes the hub's store lacks",
    auth: true,
    body: { "application/json": hashesSchema },
    bodyRequired: true,
    answers: { 200: { description: "the missing hashes", json: missingSchema }, 400: badName, 401: unauthorized, 502: error("chunk store unavailable") },
  },
  {
    method: "put",
    route: "/api/chunks/:hash",
    tag: "chunks",
    summary: "Store one chunk (kept only when `hash` is the BLAKE2b-128 of the body)",
    auth: true,
    params: { hash: z.string().regex(/^[0-9a-fA-F]{32}$/) },
    body: { "application/octet-stream": "binary" },
    bodyRequired: true,
    answers: {
      200: { description: "stored", json: chunkStoredSchema },
      400: badName,
      401: unauthorized,
      411: error("Content-Length required"),
      413: tooLarge,
      502: error("chunk store unavailable"),
    },
  },
];

const jobs: Operation[] = [
  {
    method: "get",
    route: "/api/jobs",
    tag: "jobs",
    summary: "My acting repository's jobs, newest first",
    auth: true,
    query: { limit: { schema: z.string().regex(/^\d{1,4}$/), description: "1..200, default 50" } },
    answers: { 200: { description: "the jobs", json: jobListSchema }, 400: badName, 401: unauthorized },
  },
  { method: "get", route: "/api/jobs/:id", tag: "jobs", summary: "One job (its id is the capability)", answers: { 200: { description: "the job", json: jobAnswerSchema }, 404: notFound } },
  {
    method: "get",
    route: "/api/jobs/:id/events",
    tag: "jobs",
    summary: "A job's progress as server-sent events (`Last-Event-ID` or `?after=` resumes)",
    query: { after: { schema: z.string().regex(/^\d{1,9}$/) } },
    answers: { 200: { description: "the event stream", media: ["text/event-stream"] }, 404: notFound },
  },
  {
    method: "get",
    route: "/listen/:id",
    tag: "jobs",
    summary: "The original's progress stream (`data: <json>` frames)",
    answers: { 200: { description: "the event stream", media: ["text/event-stream"] }, 404: notFound },
  },
];

export const publishingOperations: Operation[] = [...uploads, ...resumable, ...chunks, ...jobs];
