/**
 * A real local registry for the image-conversion tests: Debian's `docker-registry` (CNCF distribution 2.8) on
 * 127.0.0.1 with a free port and a temporary storage directory, optionally behind htpasswd (bcrypt) basic auth or
 * token auth; and helpers that build test images with `umoci` into an OCI layout and push them with `skopeo`.
 * `stop()` terminates exactly the process started here.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import tar from "tar-stream";
import { readBlocks } from "../../src/chunks/read.ts";
import type { DirNode } from "../../src/flist/model.ts";
import type { ChunkStore } from "../../src/store/types.ts";

const exec = promisify(execFile);

export interface RunningRegistry {
  /** `127.0.0.1:<port>` (what goes in image references and HUB_INSECURE_REGISTRIES). */
  host: string;
  port: number;
  /** The storage root (to corrupt blobs in tests). */
  storage: string;
  stop(): Promise<void>;
}

export interface TokenAuth {
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate whose key signs the tokens. */
  certificate: string;
}

export interface RegistryOptions {
  /** htpasswd basic auth with this one user. */
  basic?: { username: string; password: string };
  token?: TokenAuth;
}

export async function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  try {
    const { stdout } = await exec(cmd, args, { cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${e.stderr || e.message}`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

function registryBinary(): string {
  for (const p of [process.env.DOCKER_REGISTRY, "/usr/bin/docker-registry"]) if (p && existsSync(p)) return p;
  throw new Error("docker-registry not found (install Debian's docker-registry; .ci/run does)");
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "zhub-registry-"));
  const storage = join(dir, "storage");
  await mkdir(storage);
  let auth = "";
  if (opts.basic) {
    const line = await run("htpasswd", ["-Bbn", opts.basic.username, opts.basic.password]);
    await writeFile(join(dir, "htpasswd"), line.trim() + "\n");
    auth = `auth:\n  htpasswd:\n    realm: basic-realm\n    path: ${join(dir, "htpasswd")}\n`;
  } else if (opts.token) {
    await writeFile(join(dir, "token.crt"), opts.token.certificate);
    auth =
      `auth:\n  token:\n    realm: ${opts.token.realm}\n    service: ${opts.token.service}\n` +
      `    issuer: ${opts.token.issuer}\n    rootcertbundle: ${join(dir, "token.crt")}\n`;
  }
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    // No blob descriptor cache: a blob corrupted on disk by a test must be served as it is.
    const config =
      `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n` +
      `  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`;
    await writeFile(join(dir, "config.yml"), config);
    const child = spawn(registryBinary(), ["serve", join(dir, "config.yml")], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d: Buffer) => { output = (output + d.toString()).slice(-4000); });
    child.stderr!.on("data", (d: Buffer) => { output = (output + d.toString()).slice(-4000); });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const ready = await waitForHttp(`http://127.0.0.1:${port}/v2/`, child);
    if (!ready) {
      child.kill("SIGKILL");
      await exited;
      if (attempt < 3 && /address already in use/i.test(output)) continue;
      await rm(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start: ${output}`);
    }
    let stopped: Promise<void> | null = null;
    return {
      host: `127.0.0.1:${port}`,
      port,
      storage,
      stop: () => (stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const t = setTimeout(() => child.kill("SIGKILL"), 5000);
          await exited;
          clearTimeout(t);
        }
        await rm(dir, { recursive: true, force: true });
      })()),
    };
  }
}

async function waitForHttp(url: string, child: { exitCode: number | null }, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      return true; // 200, or 401 behind auth: the registry is serving
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}

/** A hand-made layer member (for whiteouts, cross-layer hardlinks and empty layers umoci repack cannot make). */
export interface LayerMember {
  name: string;
  type?: "file" | "directory" | "symlink" | "link";
  data?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
}

export async function makeLayerTar(members: LayerMember[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on("data", (c: unknown) => chunks.push(c as Buffer));
    pack.on("end", resolve);
    pack.on("error", reject);
  });
  for (const m of members) {
    const type = m.type ?? "file";
    const data = m.data === undefined ? undefined : Buffer.from(m.data);
    const header = {
      name: m.name,
      type,
      mode: m.mode ?? (type === "directory" ? 0o755 : type === "symlink" ? 0o777 : 0o644),
      uid: m.uid ?? 0,
      gid: m.gid ?? 0,
      mtime: new Date((m.mtime ?? 1_700_000_000) * 1000),
      ...(m.linkname !== undefined ? { linkname: m.linkname } : {}),
      ...(type === "file" ? { size: data?.length ?? 0 } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      if (type === "file") pack.entry(header, data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
      else pack.entry(header, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** An OCI image layout built with umoci, one tag per test image. */
export class OciLayout {
  private bundles = 0;
  private constructor(readonly dir: string, readonly layout: string) {}

  static async create(): Promise<OciLayout> {
    const dir = await mkdtemp(join(tmpdir(), "zhub-oci-"));
    const layout = join(dir, "layout");
    await run("umoci", ["init", "--layout", layout]);
    return new OciLayout(dir, layout);
  }

  /** An existing layout (e.g. a benchmark's cached image); `dir` holds the helper's temporary files. */
  static existing(layout: string, dir: string): OciLayout {
    return new OciLayout(dir, layout);
  }

  async newImage(tag: string): Promise<void> {
    await run("umoci", ["new", "--image", `${this.layout}:${tag}`]);
  }

  /** Unpacks `tag` into a fresh bundle, lets `change` edit its rootfs, then repacks: umoci computes the layer (whiteouts included). */
  async change(tag: string, change: (rootfs: string) => Promise<void>): Promise<void> {
    const bundle = join(this.dir, `bundle-${this.bundles++}`);
    await run("umoci", ["unpack", "--image", `${this.layout}:${tag}`, bundle]);
    await change(join(bundle, "rootfs"));
    await run("umoci", ["repack", "--image", `${this.layout}:${tag}`, bundle]);
    await rm(bundle, { recursive: true, force: true });
  }

  /** Appends a hand-made (uncompressed) layer; umoci stores it gzip'd. */
  async addLayer(tag: string, members: LayerMember[]): Promise<void> {
    const file = join(this.dir, `layer-${this.bundles++}.tar`);
    await writeFile(file, await makeLayerTar(members));
    await run("umoci", ["raw", "add-layer", "--image", `${this.layout}:${tag}`, file]);
    await rm(file);
  }

  async config(tag: string, args: string[]): Promise<void> {
    await run("umoci", ["config", "--image", `${this.layout}:${tag}`, ...args]);
  }

  async copyTag(from: string, to: string): Promise<void> {
    await run("umoci", ["tag", "--image", `${this.layout}:${from}`, to]);
  }

  /** `umoci unpack` of `tag`: the reference rootfs a conversion must equal. Returns the rootfs path. */
  async unpack(tag: string): Promise<string> {
    const bundle = join(this.dir, `reference-${this.bundles++}`);
    await run("umoci", ["unpack", "--image", `${this.layout}:${tag}`, bundle]);
    return join(bundle, "rootfs");
  }

  /**
   * `skopeo copy` of `tag` to `docker://<registry>/<name>` over plain HTTP. With `zstd`, the layers go through an
   * uncompressed `dir:` copy first: skopeo only recompresses layers that are not compressed already.
   */
  async push(tag: string, destination: string, opts: { zstd?: boolean; creds?: string; docker?: boolean } = {}): Promise<void> {
    let source = `oci:${this.layout}:${tag}`;
    const args = ["copy", "--quiet", "--dest-tls-verify=false"];
    if (opts.zstd) {
      const dir = join(this.dir, `plain-${this.bundles++}`);
      await run("skopeo", ["copy", "--quiet", "--dest-decompress", source, `dir:${dir}`]);
      source = `dir:${dir}`;
      args.push("--dest-compress-format", "zstd");
    }
    if (opts.creds) args.push("--dest-creds", opts.creds);
    if (opts.docker) args.push("--format", "v2s2"); // Docker schema 2 manifest and media types
    args.push(source, `docker://${destination}`);
    await run("skopeo", args);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A manifest as the registry serves it: digest, size and media type (to assemble an index by hand). */
export async function manifestDescriptor(host: string, repository: string, reference: string): Promise<{ mediaType: string; digest: string; size: number; body: unknown }> {
  const res = await fetch(`http://${host}/v2/${repository}/manifests/${reference}`, {
    headers: { accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" },
  });
  if (!res.ok) throw new Error(`manifest ${repository}:${reference}: HTTP ${res.status}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  const mediaType = (res.headers.get("content-type") ?? "").split(";")[0] as string;
  return { mediaType, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, size: bytes.length, body: JSON.parse(bytes.toString("utf8")) };
}

/** PUTs a manifest or index document under a tag. */
export async function putManifest(host: string, repository: string, tag: string, mediaType: string, document: unknown): Promise<string> {
  const body = Buffer.from(JSON.stringify(document));
  const res = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, { method: "PUT", headers: { "content-type": mediaType }, body });
  if (!res.ok) throw new Error(`PUT manifest ${repository}:${tag}: HTTP ${res.status} ${await res.text()}`);
  return `sha256:${createHash("sha256").update(body).digest("hex")}`;
}

/** Uploads one blob (monolithic POST + PUT, the distribution API) and returns its descriptor. */
export async function pushBlob(host: string, repository: string, bytes: Buffer, mediaType: string): Promise<{ mediaType: string; digest: string; size: number }> {
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, { method: "POST" });
  await start.body?.cancel();
  const location = start.headers.get("location");
  if (start.status !== 202 || location === null) throw new Error(`blob upload start: HTTP ${start.status}`);
  const url = new URL(location, `http://${host}`);
  url.searchParams.set("digest", digest);
  const res = await fetch(url, { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: new Uint8Array(bytes) });
  if (res.status !== 201) throw new Error(`blob upload: HTTP ${res.status} ${await res.text()}`);
  return { mediaType, digest, size: bytes.length };
}

/**
 * An image pushed by hand, blob by blob: for layer encodings the tools do not produce (uncompressed `tar` layers)
 * and for configs written exactly as a test needs them.
 */
export async function pushRawImage(
  host: string,
  repository: string,
  tag: string,
  layers: Array<{ bytes: Buffer; mediaType: string }>,
  config: Record<string, unknown>,
): Promise<{ manifestDigest: string; layers: Array<{ digest: string; size: number }> }> {
  const pushed = [];
  for (const layer of layers) pushed.push(await pushBlob(host, repository, layer.bytes, layer.mediaType));
  const configBytes = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, ...config }));
  const configDescriptor = await pushBlob(host, repository, configBytes, "application/vnd.oci.image.config.v1+json");
  const manifest = { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: configDescriptor, layers: pushed };
  const manifestDigest = await putManifest(host, repository, tag, "application/vnd.oci.image.manifest.v1+json", manifest);
  return { manifestDigest, layers: pushed };
}

/** The blob file of `digest` in the registry's filesystem storage (distribution's layout). */
export function blobPath(storage: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, "");
  return join(storage, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
}

export { readFile };

/**
 * One line per path describing what a conversion must reproduce: type, permission bits, uid:gid, size, mtime,
 * and the link target, device numbers or content digest. (A directory a layer implies without its own entry gets
 * the unpack time from umoci but mtime 0 from a conversion, which must not depend on the clock: test layers
 * always carry their directories.)
 */
export async function describeRootfs(rootfs: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const full = join(dir, name);
      const path = rel === "" ? name : `${rel}/${name}`;
      const st = await lstat(full);
      const base = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      const mtime = Math.floor(st.mtimeMs / 1000);
      if (st.isDirectory()) {
        out.set(path, `dir ${base} mtime=${mtime}`);
        await walk(full, path);
      } else if (st.isFile()) {
        const digest = createHash("sha256").update(await readFile(full)).digest("hex");
        out.set(path, `file ${base} size=${st.size} mtime=${mtime} sha256=${digest}`);
      } else if (st.isSymbolicLink()) {
        out.set(path, `link ${st.uid}:${st.gid} mtime=${mtime} -> ${await readlink(full)}`);
      } else {
        const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
        const minor = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & ~0xffn));
        const type = st.isFIFO() ? "fifo" : st.isCharacterDevice() ? `chardev ${major},${minor}` : st.isBlockDevice() ? `block ${major},${minor}` : "socket";
        out.set(path, `${type} ${base} mtime=${mtime}`);
      }
    }
  };
  await walk(rootfs, "");
  return out;
}

/** The same description of a flist tree, file contents read back from the chunk store. */
export async function describeTree(root: DirNode, store: ChunkStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: DirNode, rel: string): Promise<void> => {
    for (const node of [...dir.children].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = rel === "" ? node.name : `${rel}/${node.name}`;
      const base = `${node.mode.toString(8)} ${node.owner.uid}:${node.owner.gid}`;
      if (node.kind === "dir") {
        out.set(path, `dir ${base} mtime=${node.mtime}`);
        await walk(node, path);
      } else if (node.kind === "file") {
        const hash = createHash("sha256");
        let size = 0;
        for await (const piece of readBlocks(store, node.blocks)) {
          hash.update(piece);
          size += piece.byteLength;
        }
        if (size !== node.size) throw new Error(`${path}: ${size} bytes read back, size says ${node.size}`);
        out.set(path, `file ${base} size=${node.size} mtime=${node.mtime} sha256=${hash.digest("hex")}`);
      } else if (node.kind === "link") {
        out.set(path, `link ${node.owner.uid}:${node.owner.gid} mtime=${node.mtime} -> ${node.target}`);
      } else {
        const type = node.type === "fifo" || node.type === "socket" ? node.type : `${node.type} ${node.data}`;
        out.set(path, `${type} ${base} mtime=${node.mtime}`);
      }
    }
  };
  await walk(root, "");
  return out;
}
