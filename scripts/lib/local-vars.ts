/**
 * Worker variables of a local run (`npm start`) that differ from wrangler.toml's production defaults. Benchmarks
 * pass the same ones to their stack, so they measure the hub as a local user runs it.
 */
export const LOCAL_WORKER_VARS: Record<string, string> = {
  // No Cloudflare edge in front of a local workerd, so no 100 MB request limit: one streamed PUT (converted while it
  // arrives) up to R2's 5 GiB object write, which `zhub upload` learns from GET /api/limits.
  HUB_REQUEST_MAX_BYTES: String(5 * 1024 ** 3),
};
