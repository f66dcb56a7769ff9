/**
 * HUB_REQUEST_COST = "true": every request runs with counting bindings (cost/meter.ts) and its answer carries the
 * counts in a Server-Timing header (protocol/request-cost.ts). Off by default and in production: the header tells
 * anyone how much a request costs, and the wrappers add a little work to every call.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { setAnswerHeader } from "../answer-headers";
import { COST_HEADER, emptyCost, formatCost } from "./header";
import { meteredEnv } from "./meter";

export function requestCost(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.env.HUB_REQUEST_COST !== "true") return next();
    const cost = emptyCost();
    c.env = meteredEnv(c.env, cost);
    await next();
    setAnswerHeader(c, COST_HEADER, formatCost(cost), "append");
  };
}
