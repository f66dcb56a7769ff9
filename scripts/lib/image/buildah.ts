/**
 * Daemonless image tooling of this machine (docs/converter-image.md): Debian's `buildah`, with chroot isolation
 * (it needs no cgroups, user namespaces or rlimit changes; the process shares the host's network, so services on
 * 127.0.0.1 are reachable from inside). Commands run as children whose output goes to `log` line by line.
 */
import { spawn } from "node:child_process";
import readline from "node:readline";

export type Log = (line: string) => void;

export class CommandError extends Error {
  override name = "CommandError";
}

/** Runs `command args`, resolving with its stdout; stderr lines (and stdout's with `echo`) go to `log`. */
export function run(command: string, args: string[], options: { log?: Log; echo?: boolean; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    const out: string[] = [];
    const tail: string[] = [];
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      out.push(line);
      if (options.echo) options.log?.(line);
    });
    readline.createInterface({ input: child.stderr }).on("line", (line) => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      options.log?.(line);
    });
    child.once("error", (err) => reject(new CommandError(`${command}: ${err.message}`)));
    child.once("close", (code, signal) => {
      if (code === 0) resolve(out.join("\n"));
      else reject(new CommandError(`${command} ${args.slice(0, 2).join(" ")} failed (${signal ?? `exit ${code}`}):\n${[...(options.echo ? [] : out.slice(-20)), ...tail].join("\n")}`));
    });
  });
}

export const buildah = (args: string[], options: { log?: Log; echo?: boolean } = {}) => run("buildah", args, options);

/** Whether buildah's storage holds `image`. */
export async function imageExists(image: string): Promise<boolean> {
  try {
    await buildah(["inspect", "--type", "image", "--format", "{{.FromImageID}}", image]);
    return true;
  } catch {
    return false;
  }
}

interface ImageInspect {
  FromImageID: string;
  Manifest: string;
  OCIv1: { config?: { Cmd?: string[]; WorkingDir?: string; User?: string } };
}

async function inspect(image: string): Promise<ImageInspect> {
  return JSON.parse(await buildah(["inspect", "--type", "image", image])) as ImageInspect;
}

export interface ImageFacts {
  id: string;
  /** Sum of the image's layers as stored (uncompressed tar), what `docker images` shows. */
  bytes: number;
  layers: number;
  cmd: string[];
}

export async function imageFacts(image: string): Promise<ImageFacts> {
  const info = await inspect(image);
  const manifest = JSON.parse(info.Manifest) as { layers: { size: number }[] };
  return {
    id: info.FromImageID,
    bytes: manifest.layers.reduce((n, l) => n + l.size, 0),
    layers: manifest.layers.length,
    cmd: info.OCIv1.config?.Cmd ?? [],
  };
}

export const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
