/**
 * The OpenAPI 3.1 document of the hub's API, built from the operations' zod schemas (the ones the routes validate
 * with, and the response schemas next to the routes) with zod's `z.toJSONSchema` (docs/openapi.md). Request
 * schemas are converted as inputs, answers as outputs. Built once per isolate: it depends on no request.
 */
import { z } from "zod";
import { errorSchema, successSchema } from "../http/envelope";
import { catalogOperations } from "./operations/catalog";
import { imageOperations } from "./operations/images";
import { publishingOperations } from "./operations/publishing";
import { serviceOperations } from "./operations/service";
import { tokenAnswers } from "./answers";
import { openapiPath, pathParams, type Answer, type Operation } from "./operation";

export const operations: Operation[] = [...serviceOperations, ...catalogOperations, ...publishingOperations, ...imageOperations];

/** Answers shared by many operations, referenced as components. */
const COMPONENTS = new Map<z.ZodType, string>([
  [errorSchema, "Error"],
  [successSchema, "Success"],
]);

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  const out = z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any" }) as Json;
  delete out.$schema;
  return out;
}

function responseSchema(schema: z.ZodType): Json {
  const name = COMPONENTS.get(schema);
  return name ? { $ref: `#/components/schemas/${name}` } : jsonSchema(schema, "output");
}

function response(answer: Answer): Json {
  const content: Json = {};
  if (answer.json) content["application/json"] = { schema: responseSchema(answer.json) };
  for (const media of answer.media ?? []) {
    content[media] = { schema: media.startsWith("text/") ? { type: "string" } : { type: "string", contentMediaType: media } };
  }
  const out: Json = { description: answer.description };
  if (Object.keys(content).length > 0) out.content = content;
  if (answer.headers) {
    out.headers = Object.fromEntries(Object.entries(answer.headers).map(([k, d]) => [k, { description: d, schema: { type: "string" } }]));
  }
  return out;
}

/** `GET /api/flist/{repo}` → `getApiFlistRepo`: unique per method and path. */
export function operationId(op: Operation): string {
  const words = op.route.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return op.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

function operation(op: Operation): Json {
  const parameters: Json[] = pathParams(op.route).map((name) => ({
    name,
    in: "path",
    required: true,
    schema: jsonSchema(op.params?.[name] ?? z.string(), "input"),
  }));
  for (const [name, q] of Object.entries(op.query ?? {})) {
    const param: Json = { name, in: "query", required: false, schema: jsonSchema(q.schema, "input") };
    if (q.description) param.description = q.description;
    parameters.push(param);
  }
  const out: Json = { operationId: operationId(op), tags: [op.tag], summary: op.summary };
  if (op.description) out.description = op.description;
  if (parameters.length > 0) out.parameters = parameters;
  if (op.body) {
    const content = Object.fromEntries(
      Object.entries(op.body).map(([media, schema]) => [
        media,
        { schema: schema === "binary" ? { type: "string", contentMediaType: "application/octet-stream" } : jsonSchema(schema, "input") },
      ]),
    );
    out.requestBody = { required: op.bodyRequired ?? false, content };
  }
  // A token route's own descriptions win over the token check's generic ones.
  const answers = op.auth ? { ...tokenAnswers, ...op.answers } : op.answers;
  const sorted = Object.entries(answers).sort(([a], [b]) => Number(a) - Number(b));
  out.responses = Object.fromEntries(sorted.map(([status, answer]) => [status, response(answer)]));
  out.security = op.auth ? [{ token: [] }] : [];
  return out;
}

export function buildDocument(): Json {
  const paths: Record<string, Json> = {};
  for (const op of operations) {
    const path = openapiPath(op.route);
    const item = (paths[path] ??= {});
    if (item[op.method]) throw new Error(`two operations ${op.method} ${path}`);
    item[op.method] = operation(op);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Zero-OS hub API",
      version: "1",
      description:
        "The catalog, publishing, jobs, chunks, images and download routes of the hub. Not in it: the website's " +
        "pages and form actions, and the `/internal/...` routes (docs/openapi.md).",
    },
    tags: [...new Set(operations.map((o) => o.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: Object.fromEntries([...COMPONENTS].map(([schema, name]) => [name, jsonSchema(schema, "output")])),
      securitySchemes: {
        token: { type: "http", scheme: "bearer", description: "a hub API token (docs/auth.md \"Tokens\")" },
      },
    },
  };
}

let built: Json | undefined;

/** The document, built on first use. */
export function openapiDocument(): Json {
  return (built ??= buildDocument());
}
