/**
 * Where `zhub` keeps the hub address and token: `$ZHUB_CONFIG` or `~/.config/zhub/config.json` (mode 0600, in a
 * 0700 directory: the file holds a credential). `ZHUB_HUB` / `ZHUB_TOKEN` override the file for one run, so CI can
 * work without writing a token to disk.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";

export const DEFAULT_HUB = "http://127.0.0.1:8787";

const fileSchema = z.object({
  hub: z.string().url().optional(),
  token: z.string().min(1).optional(),
  user: z.string().optional(),
  backend: z.string().optional(),
});
export type ConfigFile = z.infer<typeof fileSchema>;

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ZHUB_CONFIG) return env.ZHUB_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(base, "zhub", "config.json");
}

export async function readConfigFile(file = configPath()): Promise<ConfigFile> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not JSON: run zhub login again`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${file} is not a zhub configuration: run zhub login again`);
  return parsed.data;
}

/** Writes the file whole (temporary file + rename), created 0600 so the token is never readable by others. */
export async function writeConfigFile(config: ConfigFile, file = configPath()): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.tmp-${process.pid}`;
  await fs.promises.writeFile(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await fs.promises.chmod(temp, 0o600);
  await fs.promises.rename(temp, file);
}

export interface Settings {
  hub: string;
  token: string | undefined;
  backend: string | undefined;
}

/** Environment over file over defaults. */
export async function settings(env: NodeJS.ProcessEnv = process.env): Promise<Settings> {
  const file = await readConfigFile(configPath(env));
  return {
    hub: normaliseHub(env.ZHUB_HUB || file.hub || DEFAULT_HUB),
    token: env.ZHUB_TOKEN || file.token,
    backend: env.ZHUB_BACKEND || file.backend,
  };
}

export function normaliseHub(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`invalid hub URL '${url}': expected http(s)://host[:port]`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error(`invalid hub URL '${url}': expected http(s)://`);
  return parsed.toString().replace(/\/+$/, "");
}
