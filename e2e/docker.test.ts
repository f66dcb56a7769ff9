/**
 * Docker/OCI image conversion end to end, through the running local stack (the Worker's runtime + converter +
 * redis-server, support/stack.ts) and real registries (Debian docker-registry on loopback, one of them behind
 * htpasswd basic auth): images built with umoci and pushed with skopeo are converted with
 * `POST /api/flist/me/docker`, the published flist is downloaded, read with the engine, and its tree and its files
 * read back through the redis chunk store are compared with `umoci unpack` of the same image. Failures (unknown
 * image or tag, wrong credentials, registry down, a blob not matching its digest) fail the job with a clear message
 * and publish nothing; registry credentials appear neither in the job record, its events, nor any log.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFlist } from "../converter/src/flist/index.ts";
import { buildArchImage, buildLayeredImage } from "../converter/test/support/images.ts";
import {
  OciLayout,
  type RunningRegistry,
  blobPath,
  describeRootfs,
  describeTree,
  freePort,
  makeLayerTar,
  manifestDescriptor,
  putManifest,
  pushRawImage,
  readFile,
  startRegistry,
} from "../converter/test/support/registry.ts";
import { writeFile } from "node:fs/promises";
import { sseEvents } from "./support/flists.ts";
import { type Stack, startStack } from "./support/stack.ts";

const USER = "e2e-docker";
const REG_USER = "puller";
const REG_PASSWORD = "E2e-Registry-Pa55word-never-logged";

let stack: Stack;
let registry: RunningRegistry;
/** skopeo's blob-info cache would mount the gzip layers already pushed elsewhere instead of compressing with zstd. */
let zstdRegistry: RunningRegistry;
let authRegistry: RunningRegistry;
let downPort: number;
let oci: OciLayout;
const rootfs = new Map<string, string>();

beforeAll(async () => {
  [registry, zstdRegistry, authRegistry, oci, downPort] = await Promise.all([
    startRegistry(),
    startRegistry(),
    startRegistry({ basic: { username: REG_USER, password: REG_PASSWORD } }),
    OciLayout.create(),
    freePort(),
  ]);
  const insecure = [registry.host, zstdRegistry.host, authRegistry.host, `127.0.0.1:${downPort}`].join(",");
  const stackReady = startStack({ converterEnv: { HUB_INSECURE_REGISTRIES: insecure } });
  // Stop the stack's children even if building the images fails.
  stackReady.then((s) => (stack = s)).catch(() => undefined);

  await buildLayeredImage(oci, "layers");
  await buildArchImage(oci, "amd", "amd64");
  await buildArchImage(oci, "arm", "arm64");
  await oci.push("layers", `${registry.host}/test/layers:v1`);
  await oci.push("layers", `${zstdRegistry.host}/test/layers-zstd:v1`, { zstd: true });
  await oci.push("layers", `${authRegistry.host}/private/layers:v1`, { creds: `${REG_USER}:${REG_PASSWORD}` });
  await oci.push("amd", `${registry.host}/test/multi:amd64`);
  await oci.push("arm", `${registry.host}/test/multi:arm64`);
  const amd = await manifestDescriptor(registry.host, "test/multi", "amd64");
  const arm = await manifestDescriptor(registry.host, "test/multi", "arm64");
  await putManifest(registry.host, "test/multi", "latest", "application/vnd.oci.image.index.v1+json", {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      { mediaType: arm.mediaType, digest: arm.digest, size: arm.size, platform: { architecture: "arm64", os: "linux", variant: "v8" } },
      { mediaType: amd.mediaType, digest: amd.digest, size: amd.size, platform: { architecture: "amd64", os: "linux" } },
    ],
  });
  for (const tag of ["layers", "amd", "arm"]) rootfs.set(tag, await oci.unpack(tag));
  stack = await stackReady;
}, 400_000);

afterAll(async () => {
  await stack?.stop();
  await Promise.all([registry?.stop(), zstdRegistry?.stop(), authRegistry?.stop(), oci?.remove()]);
});

interface Answer {
  status: number;
  body: { status: string; message?: string; payload?: { name: string; files: Record<string, number>; job?: string } };
  job: string;
}

/** `POST /api/flist/me/docker`: the original's form field, or JSON when more than the image is sent. */
async function convert(request: { image: string } & Record<string, unknown>, query = ""): Promise<Answer> {
  const headers = await stack.auth(USER);
  let body: BodyInit;
  if (Object.keys(request).length === 1) {
    const form = new FormData();
    form.append("image", request.image);
    body = form;
  } else {
    headers["content-type"] = "application/json";
    body = JSON.stringify(request);
  }
  const res = await fetch(`${stack.hubUrl}/api/flist/me/docker${query}`, { method: "POST", headers, body });
  return { status: res.status, body: (await res.json()) as Answer["body"], job: res.headers.get("x-hub-job") ?? "" };
}

async function download(name: string): Promise<Buffer> {
  const res = await fetch(`${stack.hubUrl}/${USER}/${name}`);
  expect(res.status, `GET /${USER}/${name}`).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

async function md5Of(name: string): Promise<string> {
  const res = await fetch(`${stack.hubUrl}/${USER}/${name}.md5`);
  expect(res.status).toBe(200);
  return (await res.text()).trim();
}

/** The published flist's tree, files read back through the stack's redis, against `umoci unpack`. */
async function expectSameAsUnpack(name: string, tag: string): Promise<Map<string, string>> {
  const tree = await readFlist(await download(name));
  const actual = await describeTree(tree.root, await stack.store());
  expect(actual).toEqual(await describeRootfs(rootfs.get(tag) as string));
  return actual;
}

function nameOf(reference: string): string {
  let name = reference;
  if (!name.includes(":")) name += ":latest";
  return `${name.replaceAll(":", "-").replaceAll("/", "-")}.flist`;
}

describe("conversion through the hub", () => {
  it("layers with whiteouts, opaque dirs, cross-layer hardlinks, owners, setuid, symlinks, an empty layer", async () => {
    const image = `${registry.host}/test/layers:v1`;
    const answer = await convert({ image });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const name = nameOf(image);
    expect(name).toBe(`127.0.0.1-${registry.port}-test-layers-v1.flist`);
    expect(answer.body.payload?.name).toBe(name);
    const actual = await expectSameAsUnpack(name, "layers");
    const files = answer.body.payload?.files as Record<string, number>;
    expect(files.regular).toBe([...actual.values()].filter((v) => v.startsWith("file ")).length);
    expect(files).toMatchObject({ symlink: 3, special: 2, failure: 0 });
    expect(files.fullsize).toBeGreaterThan(3_000_000);
    // The spelled-out cases (the equality above already covers them).
    expect(actual.has("var/gone.txt") || actual.has("var/gonedir") || actual.has("opt/keep/b")).toBe(false);
    expect(actual.get("bin/tool")).toMatch(/^file 4755 0:0 /);
    expect(actual.get("home/app/notes.txt")).toMatch(/^file 600 1000:1000 /);
    expect(actual.get("hl/big-link")?.replace(/^file \S+ \S+ /, "")).toBe(actual.get("data/big")?.replace(/^file \S+ \S+ /, ""));

    // Image configuration as flist metadata (docs/compatibility.md §6.14), the public backend of the stack.
    const meta = (await (await fetch(`${stack.hubUrl}/api/flist/${USER}/${name}/metadata`)).json()) as Record<string, unknown>;
    expect(meta.entrypoint).toEqual(["/bin/tool", "serve", "--port=80"]);
    expect(meta.environ).toEqual({ PATH: "/usr/bin:/bin", GREETING: "hello=world" });
    const [host, port] = stack.backend.split(":");
    expect(meta.backend).toEqual({ host, port: Number(port) });
  });

  it("zstd layers give the same tree", async () => {
    const image = `${zstdRegistry.host}/test/layers-zstd:v1`;
    const manifest = await manifestDescriptor(zstdRegistry.host, "test/layers-zstd", "v1");
    expect((manifest.body as { layers: { mediaType: string }[] }).layers.every((l) => l.mediaType.endsWith("+zstd"))).toBe(true);
    const answer = await convert({ image });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    await expectSameAsUnpack(nameOf(image), "layers");
  });

  it("a multi-arch index: linux/amd64 by default, the platform asked for otherwise", async () => {
    const image = `${registry.host}/test/multi`;
    const amd = await convert({ image });
    expect(amd.status, JSON.stringify(amd.body)).toBe(200);
    expect(amd.body.payload?.name).toBe(`127.0.0.1-${registry.port}-test-multi.flist`);
    await expectSameAsUnpack(nameOf(image), "amd");
    const arm = await convert({ image, platform: "linux/arm64" });
    expect(arm.status, JSON.stringify(arm.body)).toBe(200);
    await expectSameAsUnpack(nameOf(image), "arm");
  });

  it("a basic-auth registry with credentials, asynchronously: pull then build progress, credentials nowhere", async () => {
    const image = `${authRegistry.host}/private/layers:v1`;
    const answer = await convert({ image, username: REG_USER, password: REG_PASSWORD }, "?async=1");
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    const job = answer.body.payload?.job as string;
    const events = (await sseEvents(`${stack.hubUrl}/listen/${job}`)) as { status: string; message?: string; progress?: number; info?: Record<string, unknown> }[];
    const messages = events.filter((e) => e.status === "update").map((e) => e.message ?? "");
    const pulled = messages.findIndex((m) => /^Downloading layer \d+ \/ 4 \[/.test(m));
    expect(pulled, messages.join("\n")).toBeGreaterThan(0);
    expect(messages.findIndex((m) => m.startsWith("Building flist"))).toBeGreaterThan(pulled);
    expect(messages.at(-1)).toBe("Image ready !");
    expect(events.at(-1)).toMatchObject({ status: "info", info: { file: nameOf(image), flist: { symlink: 3, special: 2 } } });
    await expectSameAsUnpack(nameOf(image), "layers");

    const record = await (await fetch(`${stack.hubUrl}/api/jobs/${job}`)).text();
    expect(JSON.parse(record)).toMatchObject({ payload: { kind: "docker", status: "succeeded", name: nameOf(image) } });
    const replay = await (await fetch(`${stack.hubUrl}/api/jobs/${job}/events`)).text();
    for (const text of [record, replay, JSON.stringify(events), stack.logs()]) {
      expect(text).not.toContain(REG_PASSWORD);
      expect(text).not.toContain(Buffer.from(`${REG_USER}:${REG_PASSWORD}`).toString("base64"));
    }
  });

  it("is reproducible: the same digest converted twice (and by tag) gives the same md5", async () => {
    const { digest } = await manifestDescriptor(registry.host, "test/layers", "v1");
    const image = `${registry.host}/test/layers@${digest}`;
    const first = await convert({ image });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const md5 = await md5Of(nameOf(image));
    const second = await convert({ image });
    expect(second.status).toBe(200);
    expect(second.job).not.toBe(first.job);
    expect(await md5Of(nameOf(image))).toBe(md5);
    expect(md5).toBe(createHash("md5").update(await download(nameOf(image))).digest("hex"));
    expect(await md5Of(nameOf(`${registry.host}/test/layers:v1`))).toBe(md5);
  });
});

describe("failures through the hub: a failed job with a clear message, nothing published", () => {
  /** What the catalog holds under the image's name: nothing (404), or a flist of an earlier test (its md5). */
  async function published(image: string): Promise<string> {
    const res = await fetch(`${stack.hubUrl}/${USER}/${nameOf(image)}.md5`);
    return `${res.status} ${await res.text()}`;
  }

  async function expectFailure(request: { image: string } & Record<string, unknown>, status: number, message: RegExp): Promise<void> {
    const before = await published(request.image);
    const answer = await convert(request);
    expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    expect(answer.body.status).toBe("error");
    expect(answer.body.message).toMatch(message);
    const job = (await (await fetch(`${stack.hubUrl}/api/jobs/${answer.job}`)).json()) as { payload: { status: string; message: string } };
    expect(job.payload).toMatchObject({ status: "failed", message: answer.body.message });
    expect(await published(request.image)).toBe(before);
  }

  it("unknown image", async () => {
    expect(await published(`${registry.host}/test/nothing-here:v1`)).toMatch(/^404 /);
    await expectFailure({ image: `${registry.host}/test/nothing-here:v1` }, 404, /nothing-here:v1: no such image on 127\.0\.0\.1:\d+/);
  });

  it("unknown tag", async () => {
    await expectFailure({ image: `${registry.host}/test/layers:no-such-tag` }, 404, /no-such-tag/);
  });

  it("wrong credentials (and none at all) on the basic-auth registry", async () => {
    await expectFailure({ image: `${authRegistry.host}/private/layers:v1`, username: REG_USER, password: `${REG_PASSWORD}-wrong` }, 401, /credentials|unauthori[sz]ed/i);
    await expectFailure({ image: `${authRegistry.host}/private/layers:v1` }, 404, /private/);
    expect(stack.logs()).not.toContain(REG_PASSWORD);
  });

  it("registry down", async () => {
    await expectFailure({ image: `127.0.0.1:${downPort}/test/app:v1` }, 502, new RegExp(`^could not reach registry 127\\.0\\.0\\.1:${downPort}$`));
  });

  it("a layer blob that does not match its digest", async () => {
    const tarBytes = await makeLayerTar([{ name: "victim.txt", data: "x".repeat(5000) }]);
    const pushed = await pushRawImage(registry.host, "test/tampered", "v1", [{ bytes: tarBytes, mediaType: "application/vnd.oci.image.layer.v1.tar" }], {});
    const digest = (pushed.layers[0] as { digest: string }).digest;
    const file = blobPath(registry.storage, digest);
    const bytes = await readFile(file);
    bytes[600] = "y".charCodeAt(0); // inside victim.txt: the tar still reads, only the digest check can tell
    await writeFile(file, bytes);
    await expectFailure({ image: `${registry.host}/test/tampered:v1` }, 502, new RegExp(`blob ${digest} does not match its digest`));
  });
});
