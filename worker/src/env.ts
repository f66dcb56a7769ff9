/** Bindings and configuration of the Worker (see wrangler.toml). */
export interface Env {
  DB: D1Database;
  FLISTS: R2Bucket;
  JOBS: Queue<{ jobId: string }>;
  /** One message per whole .flist download, added up in batches into D1 (counts/). */
  DOWNLOADS: Queue<{ repository: string; name: string }>;

  /** Public base URL of the hub without trailing slash; empty = the request's origin. */
  HUB_PUBLIC_URL: string;
  /** Comma-separated repository names flagged `official`. */
  HUB_OFFICIAL_REPOSITORIES: string;
  /** "true" refuses every mutating route like the original `readonly` mode. */
  HUB_READONLY: string;
  /** Maximum API token age in seconds; "0" = no expiry (original behaviour). */
  HUB_TOKEN_MAX_AGE: string;
  /** Seconds a token's timestamp may be ahead of the hub's clock (default 300); later ones are refused. */
  HUB_TOKEN_MAX_SKEW_SECONDS?: string;
  /** Public chunk backend `host:port[/namespace]` shown on pages and used as `backend-forced`. */
  HUB_BACKEND: string;

  /** Base URL of the converter service (local run, tests); unused when the `CONVERTER` binding exists. */
  HUB_CONVERTER_URL: string;
  /** Seconds a running job may stay silent before it is dispatched again (default 60). */
  HUB_JOB_LEASE_SECONDS: string;
  /** Dispatches of a job before it fails for good (default 3). */
  HUB_JOB_MAX_ATTEMPTS: string;
  /** Days a finished job (record, events) stays readable before the sweep deletes it (default 30). */
  HUB_JOB_RETENTION_DAYS: string;
  /** Days a replaced or deleted version stays in history; then it and any flist only it kept are deleted (0 = forever). */
  HUB_HISTORY_RETENTION_DAYS: string;
  /** Largest multipart form accepted by `POST /api/flist/me/upload[-flist]` (bytes; default 100 MiB). */
  HUB_UPLOAD_FORM_MAX_BYTES: string;
  /** Largest archive accepted by the streamed and resumable uploads (bytes; default 10 GiB). */
  HUB_UPLOAD_MAX_BYTES: string;
  /**
   * Largest request body that reaches the Worker (bytes; default 95 MiB): Cloudflare's plan limit in front of it
   * (100 MB on the smallest plans), or what a self-hosted runtime allows. Caps the streamed PUT; `GET /api/limits`
   * tells clients, so they choose the streamed PUT or parts.
   */
  HUB_REQUEST_MAX_BYTES?: string;
  /** Largest chunk accepted by `PUT /api/chunks/<hash>` (bytes; default 4 MiB). */
  HUB_CHUNK_MAX_BYTES: string;
  /** "true": re-uploading an image file replaces it (needs deletes too); else kept as `name-1.ext`. */
  HUB_IMAGES_ALLOW_OVERWRITES?: string;
  /** "true": image versions and products may be deleted. */
  HUB_IMAGES_ALLOW_DELETES?: string;
  /**
   * Production: the converter reached through a binding instead of `HUB_CONVERTER_URL` — a service binding
   * (`fetch`) or a container Durable Object namespace (`@cloudflare/containers`). Absent locally.
   */
  CONVERTER?: Fetcher | DurableObjectNamespace;
  /**
   * Secret, production only: the chunk store the converter container writes to (`zdb://…`), handed to it with the
   * other converter variables set here (jobs/converter-container.ts). The Worker itself never uses it.
   */
  HUB_CHUNK_STORE?: string;

  /** Lowest level of the log lines written: debug, info (default), warn or error (docs/operations.md "Logs"). */
  HUB_LOG_LEVEL?: string;
  /** Production only: Workers Analytics Engine dataset of the per-request data points (observe/analytics.ts). */
  HUB_ANALYTICS?: AnalyticsEngineDataset;
  /** "true": every answer carries its D1/R2/cache counts in a Server-Timing header (cost/middleware.ts). Off in production. */
  HUB_REQUEST_COST?: string;
  /** Seconds public catalog answers stay in the edge cache (default 60; 0 = no edge cache): edge/config.ts. */
  HUB_EDGE_CACHE_SECONDS?: string;
  /** MiB of this isolate's memory given to the edge cache's first tier (unset or 0 = off): edge/memory.ts. */
  HUB_MEMORY_CACHE_MB?: string;

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
  /** `requestId`: the request's id (observe/request-id.ts), also in the `x-request-id` answer header. */
  Variables: { actor: Actor; requestId: string };
};
