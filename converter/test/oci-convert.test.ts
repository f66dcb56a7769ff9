/**
 * Image conversion against a real registry (Debian's docker-registry on loopback) and a real chunk store (redis):
 * images built with umoci, pushed with skopeo, converted, and compared entry by entry (type, mode, owner, size,
 * mtime, link target, device numbers, content read back through the store) with `umoci unpack` of the same image.
 */
import { stat } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFlist } from "../src/flist/index.ts";
import { convertImage, type ConvertOptions, type ProgressEvent } from "../src/oci/index.ts";
import { type ChunkStore, openStore } from "../src/store/index.ts";
import { buildArchImage, buildLayeredImage } from "./support/images.ts";
import { type RunningRedis, startRedis } from "./support/redis.ts";
import {
  OciLayout,
  type RunningRegistry,
  describeRootfs,
  describeTree,
  manifestDescriptor,
  putManifest,
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

function options(extra: Partial<ConvertOptions> = {}): ConvertOptions {
  return { store, threads: 1, policy: { insecure: [registry.host] }, backend: "hub.example:9900/default", ...extra };
}

beforeAll(async () => {
  [redis, registry, zstdRegistry, oci] = await Promise.all([startRedis(), startRegistry(), startRegistry(), OciLayout.create()]);
  store = await openStore(redis.url);
  await buildLayeredImage(oci, "layers");
  await buildArchImage(oci, "amd", "amd64");
  await buildArchImage(oci, "arm", "arm64");
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

    // Pull progress per layer, then build progress; docs/compatibility.md §5.5 event shapes, never going backwards.
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
