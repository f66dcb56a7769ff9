/**
 * The two settings only the operator knows, HUB_PUBLIC_URL (where the hub is reached; the converter calls it back
 * there) and HUB_BACKEND (the 0-db address nodes read chunks from), found without asking when they can be: the
 * environment, else the committed configuration unless it still holds the example.org placeholders, else the
 * value the deployed Worker has, else (public URL only) the Worker's workers.dev address.
 */
import { parseBackend } from "../../converter/src/ingest/metadata.ts";

export type SettingSource = "environment" | "configuration" | "deployed Worker" | "workers.dev";

export interface Setting {
  value: string;
  source: SettingSource;
}

export class SettingError extends Error {}

/** The committed file's example values (wrangler.production.toml): never deployed. */
export function isPlaceholder(value: string): boolean {
  return /(^|[./@])example\.org(?=[:/]|$)/i.test(value);
}

function invalidPublicUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be a URL such as https://hub.example.net";
  }
  if (url.protocol !== "https:") return "must be an https:// URL (the converter calls the Worker back there)";
  if (url.pathname !== "/" || url.search || url.hash) return "must be an origin without path, query or fragment";
  return undefined;
}

function invalidBackend(value: string): string | undefined {
  try {
    parseBackend(value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

interface Candidates {
  environment?: string | undefined;
  configuration?: string | undefined;
  deployed?: string | undefined;
}

function pick(name: string, c: Candidates, invalid: (v: string) => string | undefined): Setting | undefined {
  const ordered: [SettingSource, string | undefined][] = [
    ["environment", c.environment?.trim()],
    ["configuration", c.configuration?.trim()],
    ["deployed Worker", c.deployed?.trim()],
  ];
  for (const [source, value] of ordered) {
    if (!value || (source !== "environment" && isPlaceholder(value))) continue;
    const why = invalid(value);
    if (why) throw new SettingError(`${name} (${source}) ${why}`);
    return { value: value.replace(/\/+$/, ""), source };
  }
  return undefined;
}

export function resolvePublicUrl(c: Candidates, workersDev: string | null): Setting {
  const found = pick("HUB_PUBLIC_URL", c, invalidPublicUrl);
  if (found) return found;
  if (workersDev) return { value: workersDev, source: "workers.dev" };
  throw new SettingError(
    "HUB_PUBLIC_URL is unknown: the account has no workers.dev subdomain. Register one (Workers & Pages in the " +
      "dashboard) or give the hub's own address: HUB_PUBLIC_URL=https://hub.example.net npm run deploy (and route that " +
      "domain to the Worker, docs/self-hosting.md)",
  );
}

export function resolveBackend(c: Candidates): Setting {
  const found = pick("HUB_BACKEND", c, invalidBackend);
  if (found) return found;
  throw new SettingError(
    "HUB_BACKEND is unknown: give the public address Zero-OS nodes read chunks from, host:port/namespace of your " +
      "0-db, e.g. HUB_BACKEND=zdb.example.net:9900/hub npm run deploy (docs/self-hosting.md)",
  );
}
