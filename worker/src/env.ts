/** Bindings and configuration of the Worker (see wrangler.toml). */
export interface Env {
  DB: D1Database;
  FLISTS: R2Bucket;
  JOBS: Queue<unknown>;

  /** Public base URL of the hub without trailing slash; empty = the request's origin. */
  HUB_PUBLIC_URL: string;
  /** Comma-separated repository names flagged `official`. */
  HUB_OFFICIAL_REPOSITORIES: string;
  /** "true" refuses every mutating route like the original `readonly` mode. */
  HUB_READONLY: string;
  /** Maximum API token age in seconds; "0" = no expiry (original behaviour). */
  HUB_TOKEN_MAX_AGE: string;
  /** Public chunk backend `host:port[/namespace]` shown on pages and used as `backend-forced`. */
  HUB_BACKEND: string;

  /** Secret: 64 hex chars, Ed25519 seed that signs API tokens. */
  HUB_SIGNING_SEED: string;
  /** Secret: bearer secret of the `/internal/*` routes (converter → Worker). */
  INTERNAL_SECRET: string;
}

/** Who is calling: `user` is the token subject, `repository` the repository it acts on ("me"). */
export interface Actor {
  user: string;
  repository: string;
}

export type AppEnv = {
  Bindings: Env;
  Variables: { actor: Actor };
};
