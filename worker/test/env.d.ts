import type { Env } from "../src/env";

// An alias: inside `namespace Cloudflare`, `Env` names Cloudflare.Env itself.
type HubEnv = Env;

declare global {
  namespace Cloudflare {
    interface Env extends HubEnv {
      TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
      TEST_OPENAPI_31_SCHEMA: Record<string, unknown>;
      TEST_FIXTURES: Record<
        string,
        {
          flist: string;
          find: FindListing;
          metadata: Record<string, unknown>;
          /** The real zflist's `stat` of every path: its type name ("directory", "symlink"…) and link target. */
          stat: Record<string, { type: string; linkto?: string }>;
        }
      >;
    }
    // Types `exports.default` of "cloudflare:workers" in tests (what `wrangler types` would generate).
    interface GlobalProps {
      mainModule: typeof import("../src/index");
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
