/** `npm run deploy` arguments and environment, checked once before anything runs. */
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { ROOT } from "../lib/devvars.ts";

export const USAGE = `usage: npm run deploy [-- [--dry-run] [--image <registry>/<name>:<tag>] [--rotate <SECRET>]… [--config <file>] [--out <file>]]

  --dry-run         look everything up, print the plan and check the bundle; change nothing
  --image <ref>     a prebuilt converter image (e.g. registry.cloudflare.com/<account id>/zos-hub-converter:<tag>);
                    default: wrangler builds converter/Dockerfile, which needs Docker ($CONVERTER_IMAGE works too)
  --rotate <NAME>   give this secret a new value (generated, or $NAME): HUB_SIGNING_SEED, INTERNAL_SECRET,
                    HUB_TFCONNECT_PRIVATE_KEY, HUB_CHUNK_STORE
  --config <file>   the committed configuration (default wrangler.production.toml)
  --out <file>      the configuration written for wrangler (default .wrangler/zos-hub-deploy/wrangler.json)

environment: CLOUDFLARE_API_TOKEN (required), CLOUDFLARE_ACCOUNT_ID (when the token reaches several accounts),
  HUB_PUBLIC_URL, HUB_BACKEND, HUB_CHUNK_STORE (first deploy), optionally HUB_SIGNING_SEED, INTERNAL_SECRET,
  HUB_TFCONNECT_PRIVATE_KEY instead of generated values (docs/self-hosting.md)`;

export interface DeployOptions {
  dryRun: boolean;
  image: string | undefined;
  rotate: Set<string>;
  config: string;
  out: string;
}

export class UsageError extends Error {}

/** A registry image wrangler can hand to Cloudflare Containers: a registry host, a name and a tag (not `latest`). */
const imageRef = z
  .string()
  .regex(/^[a-z0-9.-]+(?::\d+)?\/[a-z0-9._/-]+:[A-Za-z0-9._-]+(?:@sha256:[0-9a-f]{64})?$/, "must be <registry>/<name>:<tag>")
  .refine((v) => !/:latest(@|$)/.test(v), "the tag `latest` is refused by Cloudflare Containers: name a version");

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): DeployOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        "dry-run": { type: "boolean" },
        image: { type: "string" },
        rotate: { type: "string", multiple: true },
        config: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.values.help) throw new UsageError("");
  const image = parsed.values.image ?? (env.CONVERTER_IMAGE || undefined);
  if (image !== undefined) {
    const check = imageRef.safeParse(image);
    if (!check.success) throw new UsageError(`--image ${image}: ${check.error.issues[0]?.message}`);
  }
  return {
    dryRun: parsed.values["dry-run"] ?? false,
    image,
    rotate: new Set(parsed.values.rotate ?? []),
    config: path.resolve(parsed.values.config ?? path.join(ROOT, "wrangler.production.toml")),
    out: path.resolve(parsed.values.out ?? path.join(ROOT, ".wrangler", "zos-hub-deploy", "wrangler.json")),
  };
}
