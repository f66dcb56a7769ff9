/**
 * Worker entry point. `fetch` serves the hub; `queue` and `scheduled` (jobs) are added by later issues.
 */
import { app } from "./app";
import type { Env } from "./env";

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
