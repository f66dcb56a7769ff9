/**
 * How the Worker reaches the converter service (docs/jobs-protocol.md): through the `CONVERTER` binding in
 * production (a service binding, or a container Durable Object namespace from `@cloudflare/containers`), else
 * through `HUB_CONVERTER_URL` (local run, tests). Every call carries the internal secret, and the request id
 * (observe/context.ts) unless the caller set one, so the converter's lines share it (docs/operations.md "Logs").
 */
import { REQUEST_ID_HEADER } from "../../../protocol/logging";
import type { Env } from "../env";
import { currentRequestId } from "../observe/context";
import { jobConfig } from "./config";

/** Container instances the jobs are spread over when `CONVERTER` is a Durable Object namespace. */
const CONTAINER_INSTANCES = 4;

function isNamespace(binding: Fetcher | DurableObjectNamespace): binding is DurableObjectNamespace {
  return typeof (binding as DurableObjectNamespace).idFromName === "function";
}

/**
 * `path` starts with `/`. `key` picks the container instance (a job id keeps its instance across calls of one
 * request); ignored for URLs and service bindings.
 */
export function converterFetch(env: Env, path: string, init: RequestInit, key = ""): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${env.INTERNAL_SECRET}`);
  const requestId = currentRequestId();
  if (requestId && !headers.has(REQUEST_ID_HEADER)) headers.set(REQUEST_ID_HEADER, requestId);
  const binding = env.CONVERTER;
  if (binding) {
    // The host is irrelevant for bindings; the path and method are what the converter routes on.
    const request = new Request(`http://converter${path}`, { ...init, headers });
    if (isNamespace(binding)) {
      let hash = 0;
      for (const ch of key) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
      const stub = binding.get(binding.idFromName(`converter-${hash % CONTAINER_INSTANCES}`));
      return stub.fetch(request);
    }
    return binding.fetch(request);
  }
  return fetch(`${jobConfig.converterUrl(env)}${path}`, { ...init, headers });
}

/** The converter's error text for a non-2xx answer (its JSON `message`, else the status line), kept short. */
export async function converterError(res: Response): Promise<string> {
  const text = (await res.text().catch(() => "")).slice(0, 2000);
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === "string" && body.message) return body.message;
  } catch {
    // not JSON: fall through
  }
  return text.trim() ? `${res.status} ${text.trim().slice(0, 300)}` : `HTTP ${res.status}`;
}
