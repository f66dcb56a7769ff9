/**
 * The Worker's secrets (worker/src/env.ts) and what the deploy does with each: a secret the Worker already has is
 * kept (its value is never read back: the API does not return it); a missing one is taken from the environment
 * when set there (e.g. the original hub's `threebot-seed`, so existing tokens stay valid) or generated; `--rotate`
 * replaces one. The website's cookie keys are derived from HUB_SIGNING_SEED (worker/src/auth/cookie-keys.ts), so
 * they need no secret of their own.
 */
import crypto from "node:crypto";
import { parseStoreUrl } from "../../converter/src/store/url.ts";
import { isValidSeedHex } from "../../worker/src/auth/tokens.ts";

export interface SecretSpec {
  name: string;
  what: string;
  /** A fresh value; absent when the operator must give it (the chunk store's address). */
  generate?: () => string;
  /** Why `value` is unusable, or undefined when it is fine. Never repeats the value. */
  invalid(value: string): string | undefined;
}

export const SECRETS: SecretSpec[] = [
  {
    name: "HUB_SIGNING_SEED",
    what: "Ed25519 seed signing API tokens (64 hex characters; also keys the website's cookies)",
    generate: () => crypto.randomBytes(32).toString("hex"),
    invalid: (v) => (isValidSeedHex(v) ? undefined : "must be 64 hexadecimal characters"),
  },
  {
    name: "INTERNAL_SECRET",
    what: "bearer secret of the /internal routes, shared with the converter",
    generate: () => crypto.randomBytes(32).toString("base64url"),
    invalid: (v) => (v.length >= 16 && !/\s/.test(v) ? undefined : "must be at least 16 characters without spaces"),
  },
  {
    name: "HUB_TFCONNECT_PRIVATE_KEY",
    what: "the hub's X25519 key for ThreeFold Connect sign-in (base64 of 32 bytes)",
    generate: () => crypto.randomBytes(32).toString("base64"),
    invalid: (v) => (/^[A-Za-z0-9+/]{43}=$/.test(v) && Buffer.from(v, "base64").length === 32 ? undefined : "must be base64 of 32 bytes"),
  },
  {
    name: "HUB_CHUNK_STORE",
    what: "the 0-db the converter writes chunks to, zdb://[:password@]host[:port]/namespace",
    invalid: (v) => {
      try {
        const store = parseStoreUrl(v);
        // A container's disk is gone when it stops: production chunks must live in a 0-db (or redis) server.
        return store.kind === "file" ? "must be a zdb:// (or redis://) URL: a container's files do not last" : undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
  },
];

export const SECRET_NAMES = SECRETS.map((s) => s.name);

export type SecretAction =
  | { name: string; action: "keep" }
  | { name: string; action: "set"; source: "generated" | "environment"; value: string; rotated: boolean };

export class SecretPlanError extends Error {}

/**
 * What to do with each secret, given the names the Worker has (`existing`), the caller's environment and the names
 * to rotate. Throws a SecretPlanError naming every secret that can be neither kept, taken nor generated.
 */
export function planSecrets(existing: ReadonlySet<string>, env: NodeJS.ProcessEnv, rotate: ReadonlySet<string>): SecretAction[] {
  const problems: string[] = [];
  const actions: SecretAction[] = [];
  for (const name of rotate) {
    if (!SECRET_NAMES.includes(name)) problems.push(`--rotate ${name}: not one of the hub's secrets (${SECRET_NAMES.join(", ")})`);
  }
  for (const spec of SECRETS) {
    const given = env[spec.name]?.trim() || undefined;
    const rotated = rotate.has(spec.name);
    if (existing.has(spec.name) && !rotated) {
      actions.push({ name: spec.name, action: "keep" });
      continue;
    }
    if (given !== undefined) {
      const why = spec.invalid(given);
      if (why) problems.push(`${spec.name} (from the environment) ${why}`);
      else actions.push({ name: spec.name, action: "set", source: "environment", value: given, rotated });
      continue;
    }
    if (spec.generate) {
      actions.push({ name: spec.name, action: "set", source: "generated", value: spec.generate(), rotated });
      continue;
    }
    problems.push(
      `${spec.name} is ${rotated ? "to be rotated" : "not set on the Worker"}: give it in the environment ` +
        `(${spec.name}=… npm run deploy): ${spec.what}`,
    );
  }
  if (problems.length > 0) throw new SecretPlanError(problems.join("\n"));
  return actions;
}

/** Replaces every secret value of `actions` in `text` (for anything relayed to the terminal). */
export function secretScrubber(actions: SecretAction[]): (text: string) => string {
  const values = actions.flatMap((a) => (a.action === "set" && a.value.length >= 4 ? [a.value] : []));
  return (text) => values.reduce((out, value) => out.split(value).join("***"), text);
}
