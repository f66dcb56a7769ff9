/**
 * The converter as a Cloudflare Container (production, `wrangler.production.toml`): a container-enabled Durable
 * Object class from `@cloudflare/containers`, built from `converter/Dockerfile`. `jobs/converter.ts` spreads the
 * jobs over a few named instances of it through the `CONVERTER` binding; each instance starts its container on
 * the first call and stops it after `sleepAfter` without calls.
 *
 * The container's environment is the converter's configuration (docs/jobs-protocol.md), taken from the Worker's
 * own vars and secrets so that one place (wrangler config + `wrangler secret put`) configures both.
 */
import { Container } from "@cloudflare/containers";
import type { Env } from "../env";

/** The port the converter listens on inside its container (converter/Dockerfile `CONVERTER_PORT`). */
export const CONVERTER_CONTAINER_PORT = 8788;

/** Converter variables copied from the Worker's environment when they are set there (docs/self-hosting.md "Appendix: production wiring"). */
const PASSED_THROUGH = [
  "HUB_CHUNK_STORE",
  "HUB_BACKEND",
  "INTERNAL_SECRET",
  "CONVERTER_CONCURRENCY",
  "CONVERTER_QUEUE_LIMIT",
  "CONVERTER_THREADS",
  "CONVERTER_MAX_EXPANDED_BYTES",
  "CONVERTER_MAX_ENTRIES",
  "CONVERTER_MAX_DEPTH",
  "CONVERTER_MAX_NAME_BYTES",
  "CONVERTER_MAX_PATH_BYTES",
  "HUB_INSECURE_REGISTRIES",
  "HUB_REGISTRY_ALLOW",
  "HUB_REGISTRY_DENY",
  "HUB_DOCKERHUB_MIRROR",
  "HUB_OUTBOUND_ALLOW",
  "HUB_LOG_LEVEL",
] as const;

/**
 * The container's environment: how it calls the Worker back (`HUB_URL` = `HUB_PUBLIC_URL`), where it listens, and
 * the converter variables the Worker holds. A missing required one is left out: the converter then refuses to start
 * and its log names the variable (converter/src/service/config.ts).
 */
export function converterEnvVars(env: Env): Record<string, string> {
  const source = env as unknown as Record<string, unknown>;
  const vars: Record<string, string> = { CONVERTER_HOST: "0.0.0.0", CONVERTER_PORT: String(CONVERTER_CONTAINER_PORT) };
  const hubUrl = (env.HUB_PUBLIC_URL ?? "").trim().replace(/\/+$/, "");
  if (hubUrl) vars.HUB_URL = hubUrl;
  for (const name of PASSED_THROUGH) {
    const value = source[name];
    if (typeof value === "string" && value.trim() !== "") vars[name] = value;
  }
  return vars;
}

export class Converter extends Container<Env> {
  override defaultPort = CONVERTER_CONTAINER_PORT;
  // Jobs come in bursts; an idle converter stops after this long and the next call starts it again.
  override sleepAfter = "10m";

  constructor(ctx: DurableObjectState<{}>, env: Env) {
    super(ctx, env);
    this.envVars = converterEnvVars(env);
  }
}
