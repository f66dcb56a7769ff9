/**
 * Stand-in for GitHub's release downloads of better-sqlite3's prebuilt binary (GitHub is unreachable here).
 * On a user's machine `npm install -g zhub-<version>.tgz` gets the binary from GitHub through prebuild-install; here
 * it would compile for minutes instead (docs/cli.md "Install"). This server answers prebuild-install's request
 * with a prebuild tarball made from the checkout's own build of the same version (`npm ci` compiled it for this
 * Node), so the install under test still runs npm's real install of the packed zhub, and better-sqlite3's own
 * install script takes its first branch, as on a connected machine. prebuild-install is pointed at it with
 * `npm_config_better_sqlite3_binary_host` (node_modules/prebuild-install/util.js).
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import tar from "tar-stream";
import { ROOT } from "../../scripts/lib/devvars.ts";

export interface PrebuildMirror {
  /** Environment that points prebuild-install at the mirror. */
  env: Record<string, string>;
  /** Paths asked for, in order. */
  requests: string[];
  close(): Promise<void>;
}

async function prebuildTarball(binary: string): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = pipeline(pack, zlib.createGzip(), async function* (source) {
    for await (const chunk of source) chunks.push(chunk as Buffer);
  });
  const body = fs.readFileSync(binary);
  pack.entry({ name: "build/Release/better_sqlite3.node", mode: 0o755, size: body.length }, body);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function startPrebuildMirror(): Promise<PrebuildMirror> {
  const pkgDir = path.join(ROOT, "node_modules", "better-sqlite3");
  const { version } = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")) as { version: string };
  const asset = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const body = await prebuildTarball(path.join(pkgDir, "build", "Release", "better_sqlite3.node"));
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? "");
    if (req.url === `/v${version}/${asset}`) {
      res.writeHead(200, { "Content-Type": "application/gzip", "Content-Length": body.length });
      res.end(body);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    env: { npm_config_better_sqlite3_binary_host: `http://127.0.0.1:${port}` },
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
