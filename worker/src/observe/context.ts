/**
 * The request a piece of Worker code runs for: its request id and the log level, kept in an AsyncLocalStorage
 * (nodejs_compat) so that a log line or a converter call deep in a service carries the id without every function
 * passing it along (docs/operations.md "Logs"). Outside any request (a test calling a service directly) there is
 * no id and the level is info.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { LogLevel } from "../../../protocol/logging";

export interface RequestContext {
  requestId?: string;
  level: LogLevel;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function currentContext(): RequestContext {
  return storage.getStore() ?? { level: "info" };
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** Runs `fn` with `context`; what it starts (promises, awaits) keeps it. */
export function withContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** Runs `fn` under another request id (a job's, stored when it started), keeping the level. */
export function withRequestId<T>(requestId: string | undefined, fn: () => T): T {
  const { level } = currentContext();
  return storage.run(requestId ? { requestId, level } : { level }, fn);
}
