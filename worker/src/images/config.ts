/** Settings of the image server (wrangler.toml [vars]). */
import type { Env } from "../env";

const on = (raw: string | undefined) => (raw ?? "").trim().toLowerCase() === "true";

export const imagesConfig = {
  /** Re-uploading an existing file replaces it (needs deletes too); off: stored as `name-1.ext`… (seed server). */
  allowOverwrites: (env: Env) => on(env.HUB_IMAGES_ALLOW_OVERWRITES),
  /** `DELETE` of a version or a product is allowed. */
  allowDeletes: (env: Env) => on(env.HUB_IMAGES_ALLOW_DELETES),
};
