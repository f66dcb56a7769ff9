/**
 * The converter service's `docker` job kind over real HTTP: a real registry (Debian docker-registry behind htpasswd
 * basic auth, support/registry.ts), the Worker played by the recording peer (service-peer.ts), chunks in a file
 * store. Checks the publish (name, listing, image metadata), the pull-then-build progress, the failure statuses,
 * and that the registry password appears nowhere: not in events, failures, or the service's log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/service/config.ts";
import { EventReporter } from "../src/service/events.ts";
import { HubClient } from "../src/service/hub.ts";
import { type Rig, SECRET, jobId, startRig, waitFor } from "./service-support.ts";
import { OciLayout, type RunningRegistry, startRegistry } from "./support/registry.ts";

const USER = "puller";
const PASSWORD = "Registry-Pa55word-not-for-logs";
let rig: Rig;
let registry: RunningRegistry;
let oci: OciLayout;

beforeAll(async () => {
  [registry, oci] = await Promise.all([startRegistry({ basic: { username: USER, password: PASSWORD } }), OciLayout.create()]);
  rig = await startRig({ HUB_INSECURE_REGISTRIES: registry.host });
  await oci.newImage("small");
  await oci.addLayer("small", [
    { name: "etc/", type: "directory" },
    { name: "etc/hello", data: "hello\n" },
    { name: "bin/", type: "directory" },
    { name: "bin/tool", data: "#!/bin/sh\n", mode: 0o4755 },
  ]);
  await oci.addLayer("small", [{ name: "etc/", type: "directory" }, { name: "etc/.wh.hello" }, { name: "etc/bye", data: "bye\n" }]);
  await oci.config("small", ["--config.cmd", "/bin/tool", "--config.env", "A=b"]);
  await oci.push("small", `${registry.host}/svc/small:v1`, { creds: `${USER}:${PASSWORD}` });
}, 120_000);

afterAll(async () => {
  await rig?.stop();
  await Promise.all([registry?.stop(), oci?.remove()]);
});

function dockerJob(image: string, extra: Record<string, unknown> = {}) {
  return { id: jobId("docker"), attempt: 1, kind: "docker", repository: "alice", name: "img.flist", image, ...extra };
}

function everything(id: string): string {
  return JSON.stringify([rig.peer.events.get(id), rig.peer.fails.get(id), rig.peer.publishes.get(id)?.map((p) => p.info)]) + rig.logs.join("\n");
}

describe("docker jobs", () => {
  it("pulls with the credentials, reports pull then build progress, publishes under the Worker's name", async () => {
    const spec = dockerJob(`${registry.host}/svc/small:v1`, { credentials: { username: USER, password: PASSWORD } });
    expect((await rig.submit(spec)).status).toBe(202);
    const outcome = await rig.peer.outcome(spec.id);
    expect(outcome.kind, JSON.stringify(outcome)).toBe("publish");
    if (outcome.kind !== "publish") return;
    expect(outcome.publish).toMatchObject({ repository: "alice", name: "img.flist" });
    const paths = outcome.publish.info.contents.content.map((e) => e.path).sort();
    expect(paths).toEqual(["/bin", "/bin/tool", "/etc", "/etc/bye"].sort());
    expect(outcome.publish.info.metadata).toMatchObject({ entrypoint: ["/bin/tool"], environ: { A: "b" } });
    const messages = (rig.peer.events.get(spec.id) ?? []).map((e) => e.event?.message ?? "");
    const pull = messages.findIndex((m) => m.startsWith("Downloading layer"));
    const build = messages.findIndex((m) => m.startsWith("Building flist"));
    expect(pull).toBeGreaterThanOrEqual(0);
    expect(build).toBeGreaterThan(pull);
    expect(messages.at(-1)).toBe("Image ready !");
    expect(everything(spec.id)).not.toContain(PASSWORD);
  });

  it("fails with the engine's status: refused credentials 401, no credentials 404 (private looks unknown), unknown tag 404, bad reference 400", async () => {
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [dockerJob(`${registry.host}/svc/small:v1`, { credentials: { username: USER, password: `${PASSWORD}-wrong` } }), 401, /credentials|unauthori[sz]ed/i],
      [dockerJob(`${registry.host}/svc/small:v1`), 404, /does not exist or is private \(no credentials were given\)/],
      [dockerJob(`${registry.host}/svc/small:nope`, { credentials: { username: USER, password: PASSWORD } }), 404, /nope/],
      [dockerJob("Not/A/Reference"), 400, /invalid image reference/],
    ];
    for (const [spec, status, message] of cases) {
      expect((await rig.submit(spec)).status).toBe(202);
      const outcome = await rig.peer.outcome(spec.id as string);
      expect(outcome.kind).toBe("fail");
      if (outcome.kind !== "fail") continue;
      expect(outcome.fail.status, outcome.fail.message).toBe(status);
      expect(outcome.fail.message).toMatch(message);
      expect(everything(spec.id as string)).not.toContain(PASSWORD);
    }
  });

  it("stops quietly when the Worker answers 409 (stale attempt or job over): no publish, no fail", async () => {
    const spec = dockerJob(`${registry.host}/svc/small:v1`, { credentials: { username: USER, password: PASSWORD } });
    rig.peer.status = (call, id) => (id === spec.id && call !== "fail" ? 409 : 200);
    try {
      expect((await rig.submit(spec)).status).toBe(202);
      // The job's last word is "stopped", "failed" or "succeeded": wait for any, then say which (with its log).
      const ended = () => rig.logs.filter((l) => l.includes(spec.id)).find((l) => /"msg":"(stopped|failed|succeeded)\b/.test(l));
      await waitFor(() => ended() !== undefined, 30_000, "the job to end");
      expect(ended(), rig.logs.filter((l) => l.includes(spec.id)).join("\n")).toMatch(/"msg":"stopped: the Worker says this attempt is stale/);
      await rig.converter.runner.idle();
      expect(rig.peer.publishes.get(spec.id)).toBeUndefined();
      expect(rig.peer.fails.get(spec.id)).toBeUndefined();
    } finally {
      rig.peer.status = () => 200;
    }
  });

  it("refuses a docker spec without an image (400)", async () => {
    const res = await rig.submit({ id: jobId("docker"), attempt: 1, kind: "docker", repository: "alice", name: "x.flist" });
    expect(res.status).toBe(400);
  });
});

describe("progress events", () => {
  it("coalesce within a phase only: every layer and the build reach the Worker, however fast they pass", async () => {
    const id = jobId("phases");
    const reporter = new EventReporter(new HubClient(rig.peer.url, SECRET), id, 1, () => {}, () => {});
    try {
      for (const [message, progress] of [
        ["Downloading layer 1 / 2 [0.0 MB / 2.0 MB]", 5],
        ["Downloading layer 1 / 2 [0.5 MB / 2.0 MB]", 25],
        ["Downloading layer 1 / 2 [1.0 MB / 2.0 MB]", 46],
        ["Downloading layer 2 / 2 [1.0 MB / 2.0 MB]", 46],
        ["Downloading layer 2 / 2 [2.0 MB / 2.0 MB]", 88],
        ["Building flist: storing the last chunks", 90],
        ["Building flist: owners and metadata", 96],
        ["Image converted", 98],
      ] as const) reporter.update(message, progress);
      await reporter.flush();
      expect((rig.peer.events.get(id) ?? []).map((e) => `${e.event.message} ${e.event.progress}`)).toEqual([
        "Downloading layer 1 / 2 [0.0 MB / 2.0 MB] 5",
        "Downloading layer 1 / 2 [1.0 MB / 2.0 MB] 46",
        "Downloading layer 2 / 2 [2.0 MB / 2.0 MB] 88",
        "Building flist: owners and metadata 96",
        "Image converted 98",
      ]);
    } finally {
      reporter.close();
    }
  });
});

describe("registry configuration (converter env)", () => {
  const base = { HUB_URL: "http://127.0.0.1:8787", HUB_CHUNK_STORE: "file:///tmp/x", HUB_BACKEND: "hub.example:9900", INTERNAL_SECRET: "0123456789abcdef" };

  it("reads HUB_INSECURE_REGISTRIES, HUB_OUTBOUND_ALLOW, HUB_REGISTRY_ALLOW/DENY and HUB_DOCKERHUB_MIRROR", () => {
    const config = loadConfig({
      ...base,
      HUB_INSECURE_REGISTRIES: "127.0.0.1:5000, Mirror.local:80",
      HUB_OUTBOUND_ALLOW: "10.0.0.0/8",
      HUB_REGISTRY_ALLOW: "docker.io,*.example.com",
      HUB_REGISTRY_DENY: "evil.example.com",
      HUB_DOCKERHUB_MIRROR: "https://mirror.gcr.io/",
    });
    expect(config.registryPolicy).toEqual({
      insecure: ["127.0.0.1:5000", "mirror.local:80"],
      outboundAllow: ["10.0.0.0/8"],
      allow: ["docker.io", "*.example.com"],
      deny: ["evil.example.com"],
      dockerHubMirror: "https://mirror.gcr.io",
    });
    expect(loadConfig(base).registryPolicy).toEqual({ insecure: [], outboundAllow: [], allow: [], deny: [] });
  });

  it("refuses a malformed mirror at start-up", () => {
    expect(() => loadConfig({ ...base, HUB_DOCKERHUB_MIRROR: "mirror.gcr.io/path" })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, HUB_DOCKERHUB_MIRROR: "mirror.gcr.io/path" })).toThrow(/HUB_DOCKERHUB_MIRROR must be http\(s\):\/\/host\[:port\]/);
  });
});
