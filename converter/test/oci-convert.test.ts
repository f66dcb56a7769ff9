/**
 * Image conversion against a real registry (Debian's docker-registry on loopback) and a real chunk store (redis):
 * images built with umoci, pushed with skopeo, converted, and compared entry by entry (type, mode, owner, size,
 * mtime, link target, device numbers, content read back through the store) with `umoci unpack` of the same image.
 */
import { chmod, chown, link, mkdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFlist } from "../src/flist/index.ts";
import { convertImage, type ConvertOptions, type ProgressEvent } from "../src/oci/index.ts";
import { type ChunkStore, openStore } from "../src/store/index.ts";
import { type RunningRedis, startRedis } from "./support/redis.ts";
import {
  OciLayout,
  type RunningRegistry,
  describeRootfs,
  describeTree,
  manifestDescriptor,
  putManifest,
  run,
  startRegistry,
} from "./support/registry.ts";

let redis: RunningRedis;
let store: ChunkStore;
let registry: RunningRegistry;
/**
 * zstd images go to a registry of their own: skopeo's blob-info cache would otherwise mount the gzip layers
 * already pushed to the first one instead of compressing with zstd.
 */
let zstdRegistry: RunningRegistry;
let oci: OciLayout;
const references = new Map<string, string>();

/** Deterministic "random" content so every run builds the same image. */
function pseudoRandom(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function put(rootfs: string, path: string, data: string | Buffer, mode = 0o644, uid = 0, gid = 0): Promise<void> {
  const full = join(rootfs, path);
  await mkdir(join(full, ".."), { recursive: true });
  await writeFile(full, data);
  await chown(full, uid, gid);
  await chmod(full, mode);
}

async function buildLayeredImage(tag: string): Promise<void> {
  await oci.newImage(tag);
  // Layer 1: a small root filesystem with everything the flist must carry.
  await oci.change(tag, async (r) => {
    await put(r, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
    await put(r, "etc/group", "root:x:0:\nstaff:x:50:\napp:x:1000:\n");
    await put(r, "bin/tool", "#!/bin/sh\necho tool\n", 0o4755);
    await put(r, "bin/grouptool", "#!/bin/sh\n", 0o2755, 0, 50);
    await mkdir(join(r, "tmp"));
    await chmod(join(r, "tmp"), 0o1777);
    await put(r, "home/app/notes.txt", "private notes\n", 0o600, 1000, 1000);
    await chown(join(r, "home/app"), 1000, 1000);
    await chmod(join(r, "home/app"), 0o700);
    await put(r, "opt/keep/a", "a\n");
    await put(r, "opt/keep/b", "b\n");
    await put(r, "opt/opaque/x", "x\n");
    await put(r, "opt/opaque/sub/z", "z\n");
    await put(r, "var/gone.txt", "deleted in layer 2\n");
    await put(r, "var/gonedir/f", "deleted with its directory\n");
    await put(r, "data/big", pseudoRandom(1_500_000, 7));
    await put(r, "data/empty", "");
    await mkdir(join(r, "usr/bin"), { recursive: true });
    await symlink("../../bin/tool", join(r, "usr/bin/tool"));
    await symlink("/etc/passwd", join(r, "etc/abs-link"));
    await symlink("/nowhere", join(r, "dangling"));
    await mkdir(join(r, "run"));
    await run("mkfifo", [join(r, "run/fifo")]);
    await mkdir(join(r, "dev"));
    await run("mknod", ["-m", "666", join(r, "dev/null"), "c", "1", "3"]);
    await put(r, "same-inode/one", "hardlinked within a layer\n");
    await link(join(r, "same-inode/one"), join(r, "same-inode/two"));
    await put(r, ".README.md", "# test image\n");
  });
  // Layer 2 (umoci computes it): deletions become whiteouts, changes of mode/owner/content.
  await oci.change(tag, async (r) => {
    await rm(join(r, "var/gone.txt"));
    await rm(join(r, "var/gonedir"), { recursive: true });
    await put(r, "etc/hostname", "changed\n");
    await chmod(join(r, "opt/keep/a"), 0o640);
    await chown(join(r, "opt/keep/a"), 1000, 50);
  });
  // Layer 3 (hand-made): an opaque directory, a hardlink to a file of layer 1, whiteouts written by hand.
  await oci.addLayer(tag, [
    { name: "opt/opaque/", type: "directory", mode: 0o750 },
    { name: "opt/opaque/early.txt", data: "same layer as the opaque marker, before it: kept\n" },
    { name: "opt/opaque/.wh..wh..opq" },
    { name: "opt/opaque/new.txt", data: "only this survives\n" },
    { name: "opt/opaque/sub/", type: "directory" }, // re-created empty: its lower content stays hidden
    { name: "same/", type: "directory" },
    { name: "same/kept", data: "a whiteout never hides an entry of its own layer\n" },
    { name: "same/.wh.kept" },
    { name: "hl/", type: "directory" },
    { name: "hl/big-link", type: "link", linkname: "data/big" },
    { name: "opt/keep/.wh.b" },
    { name: ".wh.never-existed" },
    { name: "bin/tool2", data: "tool2\n", mode: 0o4711, uid: 1000, gid: 1000 },
  ]);
  // Layer 4: empty.
  await oci.addLayer(tag, []);
  await oci.config(tag, [
    "--config.entrypoint", "/bin/tool",
    "--config.cmd", "serve", "--config.cmd", "--port=80",
    "--config.env", "PATH=/usr/bin:/bin", "--config.env", "GREETING=hello=world",
    "--config.workingdir", "/home/app",
    "--config.exposedports", "80/tcp", "--config.exposedports", "53/udp",
    "--config.volume", "/data",
    "--config.label", "org.example.name=test image",
    "--config.user", "app",
    "--created", "2024-01-02T03:04:05Z",
  ]);
}

async function buildArchImage(tag: string, arch: string): Promise<void> {
  await oci.newImage(tag);
  await oci.addLayer(tag, [{ name: "etc/", type: "directory" }, { name: "etc/arch", data: `${arch}\n` }]);
  await oci.config(tag, ["--architecture", arch, "--os", "linux"]);
}

function options(extra: Partial<ConvertOptions> = {}): ConvertOptions {
  return { store, threads: 1, policy: { insecure: [registry.host] }, backend: "hub.example:9900/default", ...extra };
}

beforeAll(async () => {
  [redis, registry, zstdRegistry, oci] = await Promise.all([startRedis(), startRegistry(), startRegistry(), OciLayout.create()]);
  store = await openStore(redis.url);
  await buildLayeredImage("layers");
  await buildArchImage("amd", "amd64");
  await buildArchImage("arm", "arm64");
  await oci.push("layers", `${registry.host}/test/layers:v1`);
  await oci.push("layers", `${zstdRegistry.host}/test/layers-zstd:v1`, { zstd: true });
  await oci.push("amd", `${registry.host}/test/multi:amd64`);
  await oci.push("arm", `${registry.host}/test/multi:arm64`);
  const amd = await manifestDescriptor(registry.host, "test/multi", "amd64");
  const arm = await manifestDescriptor(registry.host, "test/multi", "arm64");
  const index = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      { mediaType: arm.mediaType, digest: arm.digest, size: arm.size, platform: { architecture: "arm64", os: "linux", variant: "v8" } },
      { mediaType: amd.mediaType, digest: amd.digest, size: amd.size, platform: { architecture: "amd64", os: "linux" } },
    ],
  };
  await putManifest(registry.host, "test/multi", "latest", "application/vnd.oci.image.index.v1+json", index);
  // The same as Docker schema 2 manifests and a Docker manifest list.
  await oci.push("layers", `${registry.host}/test/layers-docker:v1`, { docker: true });
  await oci.push("amd", `${registry.host}/test/multi-docker:amd64`, { docker: true });
  await oci.push("arm", `${registry.host}/test/multi-docker:arm64`, { docker: true });
  const dockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
  const dAmd = await manifestDescriptor(registry.host, "test/multi-docker", "amd64");
  const dArm = await manifestDescriptor(registry.host, "test/multi-docker", "arm64");
  await putManifest(registry.host, "test/multi-docker", "latest", dockerList, {
    schemaVersion: 2,
    mediaType: dockerList,
    manifests: [
      { mediaType: dArm.mediaType, digest: dArm.digest, size: dArm.size, platform: { architecture: "arm64", os: "linux", variant: "v8" } },
      { mediaType: dAmd.mediaType, digest: dAmd.digest, size: dAmd.size, platform: { architecture: "amd64", os: "linux" } },
    ],
  });
  for (const tag of ["layers", "amd", "arm"]) references.set(tag, await oci.unpack(tag));
}, 180_000);

afterAll(async () => {
  await store?.close();
  await Promise.all([redis?.stop(), registry?.stop(), zstdRegistry?.stop(), oci?.remove()]);
});

describe("convertImage: layers, whiteouts, hardlinks, owners, modes", () => {
  it("gives the tree and file contents umoci unpack gives, with metadata from the image config", async () => {
    const events: ProgressEvent[] = [];
    const result = await convertImage(`${registry.host}/test/layers:v1`, options({ onProgress: (e) => events.push(e) }));
    const expected = await describeRootfs(references.get("layers") as string);
    const actual = await describeTree(result.tree.root, store);
    expect(actual).toEqual(expected);

    // The cases the image was built for, spelled out (the equality above already covers them).
    expect(actual.has("var/gone.txt")).toBe(false);
    expect(actual.has("var/gonedir")).toBe(false);
    expect(actual.has("opt/keep/b")).toBe(false);
    expect([...actual.keys()].filter((p) => p.startsWith("opt/opaque/")).sort()).toEqual(["opt/opaque/early.txt", "opt/opaque/new.txt", "opt/opaque/sub"]);
    expect(actual.has("same/kept")).toBe(true);
    expect(actual.get("hl/big-link")?.replace(/^file \S+ \S+ /, "")).toBe(actual.get("data/big")?.replace(/^file \S+ \S+ /, ""));
    expect(actual.get("bin/tool")).toMatch(/^file 4755 0:0 /);
    expect(actual.get("bin/tool2")).toMatch(/^file 4711 1000:1000 /);
    expect(actual.get("opt/keep/a")).toMatch(/^file 640 1000:50 /);
    expect(actual.get("dev/null")).toMatch(/^chardev 1,3 666 0:0/);
    expect(actual.get("run/fifo")).toMatch(/^fifo /);
    expect([...actual.keys()].some((p) => p.includes(".wh."))).toBe(false);
    const rootStat = await stat(references.get("layers") as string);
    expect(result.tree.root.mode).toBe(rootStat.mode & 0o7777);
    expect(result.tree.root.mtime).toBe(Math.floor(rootStat.mtimeMs / 1000));
    expect(`${result.tree.root.owner.uid}:${result.tree.root.owner.gid}`).toBe(`${rootStat.uid}:${rootStat.gid}`);

    // Owner names from the image's own passwd/group, not the build host's.
    const home = result.tree.root.children.find((c) => c.name === "home");
    const app = home?.kind === "dir" ? home.children.find((c) => c.name === "app") : undefined;
    expect(app?.owner).toEqual({ uid: 1000, gid: 1000, user: "app", group: "app" });

    expect(result.name).toBe(`127.0.0.1-${registry.port}-test-layers-v1.flist`);
    const m = Object.fromEntries(result.metadata);
    expect(m.backend).toBe('{"namespace": "default", "host": "hub.example", "port": 9900}');
    expect(m.entrypoint).toBe('["/bin/tool", "serve", "--port=80"]');
    expect(m.environ).toBe('{"PATH": "/usr/bin:/bin", "GREETING": "hello=world"}');
    expect(m.port).toBe('{"tcp/80": 80, "udp/53": 53}');
    expect(m.volume).toBe('{"/data": {}}');
    expect(m.workdir).toBe("/home/app");
    expect(m.user).toBe("app");
    expect(m["label.org.example.name"]).toBe("test image");
    expect(m.readme).toBe('{"readme": "# test image\\n"}');
    expect(m.image).toBe(`${registry.host}/test/layers@${result.image.manifestDigest}`);
    expect(result.tree.metadata).toBe(result.metadata);

    expect(result.stats).toMatchObject({ layers: 4, failure: 0, regular: expect.any(Number), whiteouts: 6 });
    expect(result.stats.fullsize).toBeGreaterThan(2 * 1_500_000);
    expect(result.stats.regular).toBe([...expected.values()].filter((v) => v.startsWith("file ")).length);
    expect(result.stats.symlink).toBe(3);
    expect(result.stats.special).toBe(2);

    // Pull progress per layer, then build progress; hub-api.md §7.6 event shapes, never going backwards.
    expect(events.every((e) => e.status === "update" && typeof e.message === "string")).toBe(true);
    for (let i = 1; i <= 4; i++) expect(events.some((e) => e.message.startsWith(`Downloading layer ${i} / 4 [`))).toBe(true);
    expect(events.map((e) => e.progress)).toEqual([...events.map((e) => e.progress)].sort((a, b) => a - b));
    expect(events.at(-1)).toEqual({ status: "update", message: "Image converted", progress: 98 });
  });

  it("zstd layers (skopeo --dest-compress-format zstd) give the same tree", async () => {
    const manifest = await manifestDescriptor(zstdRegistry.host, "test/layers-zstd", "v1");
    const types = (manifest.body as { layers: { mediaType: string }[] }).layers.map((l) => l.mediaType);
    expect(types).toEqual(types.map(() => "application/vnd.oci.image.layer.v1.tar+zstd"));
    const result = await convertImage(`${zstdRegistry.host}/test/layers-zstd:v1`, options({ policy: { insecure: [zstdRegistry.host] } }));
    expect(await describeTree(result.tree.root, store)).toEqual(await describeRootfs(references.get("layers") as string));
  });

  it("Docker schema 2 manifests (skopeo --format v2s2) give the same tree", async () => {
    const manifest = await manifestDescriptor(registry.host, "test/layers-docker", "v1");
    expect(manifest.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    const layerTypes = (manifest.body as { layers: { mediaType: string }[] }).layers.map((l) => l.mediaType);
    expect(new Set(layerTypes)).toEqual(new Set(["application/vnd.docker.image.rootfs.diff.tar.gzip"]));
    const result = await convertImage(`${registry.host}/test/layers-docker:v1`, options());
    expect(await describeTree(result.tree.root, store)).toEqual(await describeRootfs(references.get("layers") as string));
    expect(result.metadata.get("entrypoint")).toBe('["/bin/tool", "serve", "--port=80"]');
  });

  it("is reproducible: the same image by tag and by digest gives the same flist bytes", async () => {
    const one = await convertImage(`${registry.host}/test/layers:v1`, options());
    const two = await convertImage(`${registry.host}/test/layers@${one.image.manifestDigest}`, options({ threads: 2 }));
    expect(two.name).toBe(`127.0.0.1-${registry.port}-test-layers@sha256-${one.image.manifestDigest.slice(7)}.flist`);
    const [a, b] = await Promise.all([writeFlist(one.tree), writeFlist(two.tree)]);
    expect(a.md5).toBe(b.md5);
    expect(a.bytes?.equals(b.bytes as Buffer)).toBe(true);
  });

  it("writes /.startup.toml in the original hub's format only when asked", async () => {
    const without = await convertImage(`${registry.host}/test/layers:v1`, options());
    expect(without.tree.root.children.some((c) => c.name === ".startup.toml")).toBe(false);
    const withToml = await convertImage(`${registry.host}/test/layers:v1`, options({ startupToml: true }));
    const node = withToml.tree.root.children.find((c) => c.name === ".startup.toml");
    expect(node?.kind).toBe("file");
    if (node?.kind !== "file") return;
    const { readBlocks } = await import("../src/chunks/read.ts");
    const pieces: Uint8Array[] = [];
    for await (const piece of readBlocks(store, node.blocks)) pieces.push(piece);
    expect(Buffer.concat(pieces).toString("utf8")).toBe(
      [
        "[startup]",
        "",
        "[startup.entry]",
        'name = "core.system"',
        "",
        "[startup.entry.args]",
        'name = "/bin/tool"',
        'args = ["serve", "--port=80"]',
        'dir = "/home/app"',
        "",
        "[startup.entry.args.env]",
        'PATH = "/usr/bin:/bin"',
        'GREETING = "hello=world"',
        "",
      ].join("\n"),
    );
    expect(node).toMatchObject({ mode: 0o644, owner: { uid: 0, gid: 0, user: "root", group: "root" }, mtime: Date.parse("2024-01-02T03:04:05Z") / 1000 });
  });
});

describe("convertImage: multi-platform index", () => {
  const archOf = async (platform?: string) => {
    const result = await convertImage(`${registry.host}/test/multi`, options(platform ? { platform } : {}));
    return { result, tree: await describeTree(result.tree.root, store) };
  };

  it("takes linux/amd64 by default and the platform asked for otherwise, as umoci unpack of that image", async () => {
    const amd = await archOf();
    expect(amd.tree).toEqual(await describeRootfs(references.get("amd") as string));
    expect(amd.result.image.platform).toBe("linux/amd64");
    expect(amd.result.image.indexDigest).toMatch(/^sha256:/);
    expect(amd.result.name).toBe(`127.0.0.1-${registry.port}-test-multi.flist`);
    const arm = await archOf("linux/arm64");
    expect(arm.tree).toEqual(await describeRootfs(references.get("arm") as string));
    expect(arm.result.image.platform).toBe("linux/arm64");
    expect(arm.result.image.indexDigest).toBe(amd.result.image.indexDigest);
    const armV8 = await archOf("linux/arm64/v8");
    expect(armV8.result.image.manifestDigest).toBe(arm.result.image.manifestDigest);
  });

  it("Docker manifest lists too", async () => {
    const amd = await convertImage(`${registry.host}/test/multi-docker`, options());
    expect(await describeTree(amd.tree.root, store)).toEqual(await describeRootfs(references.get("amd") as string));
    const arm = await convertImage(`${registry.host}/test/multi-docker`, options({ platform: "linux/arm64" }));
    expect(await describeTree(arm.tree.root, store)).toEqual(await describeRootfs(references.get("arm") as string));
  });

  it("names the platforms it has when the one asked for is missing", async () => {
    await expect(convertImage(`${registry.host}/test/multi`, options({ platform: "linux/s390x" }))).rejects.toMatchObject({
      name: "RegistryError",
      code: "no-matching-platform",
      message: expect.stringContaining("available: linux/arm64/v8, linux/amd64"),
    });
    // A single-platform image asked for as another platform.
    await expect(convertImage(`${registry.host}/test/multi:arm64`, options({ platform: "linux/amd64" }))).rejects.toMatchObject({
      code: "no-matching-platform",
    });
  });
});
