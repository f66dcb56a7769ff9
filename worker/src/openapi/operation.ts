/**
 * How an operation of the hub is described for the OpenAPI document: the route (Hono pattern), its parameters and
 * body as the zod schemas the route validates with, and each answer (JSON by zod schema, or another media type).
 */
import type { z } from "zod";

export type Method = "get" | "post" | "put" | "delete" | "head";

/** One answer: a JSON body (its zod schema) and/or bodies of other media types; neither means no body. */
export interface Answer {
  description: string;
  json?: z.ZodType;
  /** Non-JSON media types of the body (raw bytes or text). */
  media?: string[];
  headers?: Record<string, string>;
}

export interface Operation {
  method: Method;
  /** The Hono pattern the route is registered with, e.g. `/api/flist/:repo/:name`. */
  route: string;
  tag: string;
  summary: string;
  description?: string;
  /** Needs a hub token (`Authorization: bearer <token>`, docs/auth.md). */
  auth?: boolean;
  /** Path parameters by name; a parameter not named here is a plain string. */
  params?: Record<string, z.ZodType>;
  query?: Record<string, { schema: z.ZodType; description?: string }>;
  /** Request bodies by media type: a zod schema, or `binary` for raw bytes, or a form's field list. */
  body?: Record<string, z.ZodType | "binary">;
  bodyRequired?: boolean;
  answers: Record<number, Answer>;
}

/** `/api/flist/:repo/:name` → `/api/flist/{repo}/{name}`. */
export function openapiPath(route: string): string {
  return route.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
}

export function pathParams(route: string): string[] {
  return [...route.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}
