import type { Env } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends import("../src/env").Env {
      TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
      TEST_FIXTURES: Record<string, { flist: string; find: FindListing; metadata: Record<string, unknown> }>;
    }
  }
  interface FindListing {
    content: { path: string; size: number }[];
    regular: number;
    symlink: number;
    directory: number;
    special: number;
    failure: number;
    fullsize: number;
  }
}
export type { Env };
