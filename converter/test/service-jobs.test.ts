/**
 * The converter service's job half of docs/jobs-protocol.md, over real HTTP: jobs posted to the service, the
 * Worker's internal routes played by a recording peer (service-peer.ts), chunks in a real file store.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBlocks } from "../src/chunks/read.ts";
import { entryTypes, findView, readFlist, type DirNode, type FileNode } from "../src/flist/index.ts";
import { openStore, type ChunkStore } from "../src/store/index.ts";
import { MISSING_CHUNKS_MESSAGE } from "../src/service/pipelines/flist.ts";
import { EventReporter } from "../src/service/events.ts";
import { HubClient } from "../src/service/hub.ts";
import { FIXTURES, type Rig, SECRET, expected, jobId, makeTarGz, startRig, waitFor } from "./service-support.ts";

let rig: Rig;
let store: ChunkStore;

beforeAll(async () => {
  rig = await startRig();
  store = await openStore(`file://${rig.storeDir}`);
});

afterAll(async () => {
  await store?.close();
  await rig?.stop();
});

function tarJob(input: string, extra: Record<string, unknown> = {}) {
  const id = jobId("tar");
  rig.peer.inputs.set(id, input);
  return { id, attempt: 1, kind: "tar", repository: "alice", name: "main.flist", metadata: {}, ...extra };
}

/** Regular files of a .tar.gz: path (without "./") → bytes. */
async function tarFiles(file: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  fs.createReadStream(file).pipe(createGunzip()).pipe(extract);
  for await (const entry of extract) {
    const parts: Buffer[] = [];
    for await (const chunk of entry) parts.push(chunk as Buffer);
    if (entry.header.type === "file") files.set(entry.header.name.replace(/^\.\//, ""), Buffer.concat(parts));
  }
  return files;
}

function fileNode(root: DirNode, filePath: string): FileNode | undefined {
  let dir: DirNode | undefined = root;
  const parts = filePath.split("/");
  for (const part of parts.slice(0, -1)) dir = dir?.children.find((c): c is DirNode => c.kind === "dir" && c.name === part);
  const node = dir?.children.find((c) => c.name === parts.at(-1));
  return node?.kind === "file" ? node : undefined;
}

describe("tar jobs", () => {
  it("converts the staged archive, stores its chunks and publishes flist + listing + metadata", async () => {
    const tarball = path.join(FIXTURES, "tree-main.tar.gz");
    const spec = tarJob(tarball, { metadata: { maintainer: "alice@example.org", backend: "evil:1", readme: "not allowed" } });
    const res = await rig.submit(spec);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: "accepted" });

    const outcome = await rig.peer.outcome(spec.id);
    expect(outcome.kind).toBe("publish");
    if (outcome.kind !== "publish") return;
    const { publish } = outcome;
    expect(publish.repository).toBe("alice");
    expect(publish.name).toBe("main.flist");
    expect(publish.info.jobId).toBe(spec.id);
    expect(publish.info.attempt).toBe(1);
    // The contents listing is zflist's `find` of the reference flist made from the same tarball.
    expect(publish.info.contents).toEqual(expected("main", "find.json"));
    // Public backend from HUB_BACKEND; the upload's fields raw; protected keys not taken from the upload.
    expect(publish.info.metadata).toEqual({
      backend: { namespace: "public", host: "hub.example.org", port: 9900 },
      maintainer: "alice@example.org",
    });

    // The published bytes are a flist that reads back to the same listing, and its files come back from the
    // store byte for byte.
    const tree = await readFlist(publish.flist);
    expect(findView(tree)).toEqual(publish.info.contents);
    // The entries' types beside the listing (protocol/publish.ts): the tarball's symlinks and empty directory.
    expect(publish.info.entries).toEqual(entryTypes(tree));
    const types = publish.info.entries!.types;
    const at = (p: string) => types[publish.info.contents.content.findIndex((e) => e.path === p)];
    expect([at("/empty-dir"), at("/links/dangling"), at("/hello.txt")]).toEqual(["d", "l", "f"]);
    const files = await tarFiles(tarball);
    expect(files.size).toBeGreaterThan(30);
    for (const [name, bytes] of files) {
      const node = fileNode(tree.root, name);
      expect(node, name).toBeDefined();
      const parts: Uint8Array[] = [];
      for await (const piece of readBlocks(store, node!.blocks)) parts.push(piece);
      expect(Buffer.concat(parts).equals(bytes), name).toBe(true);
    }

    // Progress: "Starting", then Building events with strictly increasing integer percentages up to 100,
    // then the original's "Image ready !".
    const events = rig.peer.events.get(spec.id)!.map((e) => e.event);
    expect(rig.peer.events.get(spec.id)!.every((e) => e.attempt === 1)).toBe(true);
    expect(events[0]).toEqual({ status: "update", message: "Starting", progress: 0 });
    expect(events.at(-1)).toEqual({ status: "update", message: "Image ready !", progress: 100 });
    const building = events.filter((e) => e.message!.startsWith("Building: "));
    expect(building.length).toBeGreaterThan(0);
    for (const e of building) {
      expect(e.message).toMatch(/^Building: processing item \d+ of \d+$/);
      expect(Number.isInteger(e.progress)).toBe(true);
    }
    const percents = building.map((e) => e.progress!);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(new Set(percents).size).toBe(percents.length);
    expect(building.at(-1)!.progress).toBe(100);
    expect(building.at(-1)!.message).toMatch(/^Building: processing item (\d+) of \1$/);
  });

  it("imports /.README.md as the readme metadata", async () => {
    const file = await makeTarGz(path.join(rig.work, "readme.tar.gz"), [
      { name: "./", type: "directory" },
      { name: "./.README.md", body: "# Hello\n\nAn app." },
      { name: "./app.txt", body: "x" },
    ]);
    const spec = tarJob(file, { name: "readme.flist" });
    expect((await rig.submit(spec)).status).toBe(202);
    const outcome = await rig.peer.outcome(spec.id);
    expect(outcome.kind).toBe("publish");
    if (outcome.kind !== "publish") return;
    expect(outcome.publish.info.metadata.readme).toEqual({ readme: "# Hello\n\nAn app." });
    expect(outcome.publish.info.contents.content.map((c) => c.path)).toEqual(["/.README.md", "/app.txt"]);
  });

  it("fails a hostile archive with the rule it broke, and publishes nothing", async () => {
    const file = await makeTarGz(path.join(rig.work, "traversal.tar.gz"), [
      { name: "./ok.txt", body: "fine" },
      { name: "../escape.txt", body: "evil" },
    ]);
    const spec = tarJob(file, { name: "evil.flist" });
    expect((await rig.submit(spec)).status).toBe(202);
    const outcome = await rig.peer.outcome(spec.id);
    expect(outcome).toMatchObject({ kind: "fail", fail: { attempt: 1 } });
    if (outcome.kind !== "fail") return;
    expect(outcome.fail.message).toMatch(/^invalid archive: .*escape\.txt.*\[rule: dot-dot\]$/);
    expect(rig.peer.publishes.get(spec.id)).toBeUndefined();
  });

  it("fails a 10,000-deep path or a 4,096-byte name once, with a bounded message that quotes the name", async () => {
    const deep = Array.from({ length: 10_000 }, () => "a").join("/");
    const cases = [
      { member: deep, reason: /^invalid archive: "a\/a\/.*….*\/a" \(19999 bytes\): path has 10000 components, more than the 256 allowed \[rule: too-deep\]$/ },
      { member: `x${"n".repeat(4095)}`, reason: /^invalid archive: "xnnn.*…n+" \(4096 bytes\): a component has 4096 bytes, more than the 255 allowed \[rule: name-too-long\]$/ },
    ];
    for (const { member, reason } of cases) {
      const file = await makeTarGz(path.join(rig.work, "hostile-tree.tar.gz"), [{ name: "ok.txt", body: "fine" }, { name: member, body: "x" }]);
      const spec = tarJob(file, { name: "tree.flist" });
      const started = Date.now();
      expect((await rig.submit(spec)).status).toBe(202);
      const outcome = await rig.peer.outcome(spec.id);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(outcome).toMatchObject({ kind: "fail", fail: { attempt: 1 } });
      if (outcome.kind !== "fail") return;
      expect(outcome.fail.message).toMatch(reason);
      expect(outcome.fail.message.length).toBeLessThan(300);
      expect(outcome.fail.status).toBeUndefined(); // 422: the input's fault
      expect(rig.peer.fails.get(spec.id)).toHaveLength(1);
    }
  });

  it("fails a truncated archive", async () => {
    const whole = fs.readFileSync(path.join(FIXTURES, "tree-main.tar.gz"));
    const file = path.join(rig.work, "truncated.tar.gz");
    fs.writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 2)));
    const spec = tarJob(file, { name: "truncated.flist" });
    expect((await rig.submit(spec)).status).toBe(202);
    const outcome = await rig.peer.outcome(spec.id);
    expect(outcome.kind).toBe("fail");
    if (outcome.kind !== "fail") return;
    expect(outcome.fail.message).toMatch(/^invalid archive: .*truncated/);
    expect(rig.peer.publishes.get(spec.id)).toBeUndefined();
  });

  it("fails an input that is no archive, saying what it looks like and what is accepted", async () => {
    const file = path.join(rig.work, "notes.tar.gz");
    fs.writeFileSync(file, "these are my notes, not an archive\n");
    const spec = tarJob(file, { name: "notes.flist" });
    expect((await rig.submit(spec)).status).toBe(202);
    const outcome = await rig.peer.outcome(spec.id);
    expect(outcome).toMatchObject({
      kind: "fail",
      fail: {
        message:
          "invalid archive: archive: not a tar or tar.gz archive: the file looks like plain text; accepted: .tar.gz (gzip-compressed tar) or .tar [rule: not-an-archive]",
      },
    });
    expect(rig.peer.publishes.get(spec.id)).toBeUndefined();
  });

  it("fails when the input is gone", async () => {
    const spec = { id: jobId("noinput"), attempt: 1, kind: "tar", repository: "alice", name: "x.flist", metadata: {} };
    expect((await rig.submit(spec)).status).toBe(202);
    const outcome = await rig.peer.outcome(spec.id);
    expect(outcome.kind).toBe("fail");
    if (outcome.kind !== "fail") return;
    expect(outcome.fail).toEqual({ attempt: 1, message: "reading the job input: the hub answered 404: not found", status: 502 });
  });
});

describe("flist jobs (homemade upload)", () => {
  const main = path.join(FIXTURES, "main.flist");

  it("rejects an upload whose chunks are missing with the original's message, then accepts it once they are pushed", async () => {
    // A fresh, empty store: the tar tests above stored tree-main's chunks, which are main.flist's.
    const rig = await startRig();
    try {
      await homemadeUpload(rig);
    } finally {
      await rig.stop();
    }
  });

  async function homemadeUpload(rig: Rig): Promise<void> {
    const first = { id: jobId("flist"), attempt: 1, kind: "flist", repository: "bob", name: "home.flist" };
    rig.peer.inputs.set(first.id, main);
    expect((await rig.submit(first)).status).toBe(202);
    const rejected = await rig.peer.outcome(first.id);
    expect(rejected).toEqual({ kind: "fail", fail: { attempt: 1, message: MISSING_CHUNKS_MESSAGE } });
    expect(rig.peer.publishes.get(first.id)).toBeUndefined();

    // Push every chunk the flist needs through the service's chunk endpoint.
    const tree = await readFlist(main);
    const keys = new Set<string>();
    const walk = (dir: DirNode) => dir.children.forEach((c) => (c.kind === "dir" ? walk(c) : c.kind === "file" && c.blocks.forEach((b) => keys.add(Buffer.from(b.hash).toString("hex")))));
    walk(tree.root);
    expect(keys.size).toBe(40);
    for (const key of keys) {
      const res = await fetch(`${rig.converter.url}/chunks/${key}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${SECRET}` },
        body: fs.readFileSync(path.join(FIXTURES, "chunks", `${key}.bin`)),
      });
      expect(res.status, key).toBe(200);
    }

    const second = { ...first, id: jobId("flist") };
    rig.peer.inputs.set(second.id, main);
    expect((await rig.submit(second)).status).toBe(202);
    const accepted = await rig.peer.outcome(second.id);
    expect(accepted.kind).toBe("publish");
    if (accepted.kind !== "publish") return;
    // The uploaded bytes, unchanged (their own backend metadata included).
    expect(accepted.publish.flist.equals(fs.readFileSync(main))).toBe(true);
    expect(accepted.publish.info.contents).toEqual(expected("main", "find.json"));
    expect(accepted.publish.info.metadata).toEqual({ backend: { host: "127.0.0.1", port: 9911 } });
  }

  it("rejects a file that is not a flist", async () => {
    const spec = { id: jobId("flist"), attempt: 1, kind: "flist", repository: "bob", name: "bad.flist" };
    rig.peer.inputs.set(spec.id, path.join(FIXTURES, "tree-overlay.tar.gz"));
    expect((await rig.submit(spec)).status).toBe(202);
    const outcome = await rig.peer.outcome(spec.id);
    expect(outcome.kind).toBe("fail");
    if (outcome.kind !== "fail") return;
    expect(outcome.fail.message).toMatch(/^invalid flist: /);
  });
});

describe("merge jobs", () => {
  it("merges the sources downloaded from the hub (first wins) and publishes the result", async () => {
    rig.peer.downloads.set("alice/main.flist", path.join(FIXTURES, "main.flist"));
    rig.peer.downloads.set("carol/overlay.flist", path.join(FIXTURES, "overlay.flist"));
    const spec = {
      id: jobId("merge"),
      attempt: 1,
      kind: "merge",
      repository: "alice",
      name: "merged.flist",
      sources: [
        { repository: "alice", name: "main.flist" },
        { repository: "carol", name: "overlay.flist" },
      ],
    };
    expect((await rig.submit(spec)).status).toBe(202);
    const outcome = await rig.peer.outcome(spec.id);
    expect(outcome.kind).toBe("publish");
    if (outcome.kind !== "publish") return;
    expect(outcome.publish.info.contents).toEqual(expected("merged", "find.json"));
    // The result keeps the base flist's metadata (no backend rewrite, as the original).
    expect(outcome.publish.info.metadata).toEqual({ backend: { host: "127.0.0.1", port: 9911 } });
    expect(findView(await readFlist(outcome.publish.flist))).toEqual(expected("merged", "find.json"));
  });

  it("downloads pinned sources by sha256 and checks the bytes", async () => {
    const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    const main = path.join(FIXTURES, "main.flist");
    const overlay = path.join(FIXTURES, "overlay.flist");
    rig.peer.blobs.set(sha(main), main);
    rig.peer.blobs.set(sha(overlay), overlay);
    const spec = {
      id: jobId("merge"),
      attempt: 1,
      kind: "merge",
      repository: "alice",
      name: "pinned.flist",
      // The names resolve to nothing any more: only the pinned bytes are used.
      sources: [
        { repository: "gone", name: "main.flist", sha256: sha(main) },
        { repository: "gone", name: "overlay.flist", sha256: sha(overlay) },
      ],
    };
    expect((await rig.submit(spec)).status).toBe(202);
    const outcome = await rig.peer.outcome(spec.id);
    expect(outcome.kind).toBe("publish");
    if (outcome.kind !== "publish") return;
    expect(outcome.publish.info.contents).toEqual(expected("merged", "find.json"));

    // A blob whose bytes do not match its address is refused.
    rig.peer.blobs.set("ab".repeat(32), overlay);
    const bad = { ...spec, id: jobId("merge"), sources: [spec.sources[0], { repository: "x", name: "y.flist", sha256: "ab".repeat(32) }] };
    expect((await rig.submit(bad)).status).toBe(202);
    const refused = await rig.peer.outcome(bad.id);
    expect(refused.kind).toBe("fail");
    if (refused.kind !== "fail") return;
    expect(refused.fail.message).toBe(`source x/y.flist: downloaded bytes do not match sha256 ${"ab".repeat(32)}`);
  });

  it("fails when a source does not exist", async () => {
    const spec = {
      id: jobId("merge"),
      attempt: 1,
      kind: "merge",
      repository: "alice",
      name: "m.flist",
      sources: [{ repository: "alice", name: "main.flist" }, { repository: "nobody", name: "ghost.flist" }],
    };
    rig.peer.downloads.set("alice/main.flist", path.join(FIXTURES, "main.flist"));
    expect((await rig.submit(spec)).status).toBe(202);
    expect(await rig.peer.outcome(spec.id)).toEqual({ kind: "fail", fail: { attempt: 1, message: "source nobody/ghost.flist not found" } });
  });
});

describe("attempts and deliveries", () => {
  it("stops quietly when the Worker answers 409 (stale attempt): no publish, no fail", async () => {
    const spec = tarJob(path.join(FIXTURES, "tree-main.tar.gz"), { name: "stale.flist" });
    rig.peer.status = (call, id) => (id === spec.id && call === "events" ? 409 : 200);
    try {
      expect((await rig.submit(spec)).status).toBe(202);
      await waitFor(() => rig.logs.some((l) => l.includes(spec.id) && l.includes("stopped")), 30_000, "the job to stop");
      await rig.converter.runner.idle();
      expect(rig.peer.publishes.get(spec.id)).toBeUndefined();
      expect(rig.peer.fails.get(spec.id)).toBeUndefined();
    } finally {
      rig.peer.status = () => 200;
    }
  });

  it("does not report a failure for a publish answered 409", async () => {
    const spec = tarJob(path.join(FIXTURES, "tree-overlay.tar.gz"), { name: "late.flist" });
    rig.peer.status = (call, id) => (id === spec.id && call === "publish" ? 409 : 200);
    try {
      expect((await rig.submit(spec)).status).toBe(202);
      await waitFor(() => rig.logs.some((l) => l.includes(spec.id) && l.includes("stopped")), 30_000, "the job to stop");
      expect(rig.peer.fails.get(spec.id)).toBeUndefined();
    } finally {
      rig.peer.status = () => 200;
    }
  });

  it("runs a job delivered twice once", async () => {
    const spec = tarJob(path.join(FIXTURES, "tree-overlay.tar.gz"), { name: "twice.flist" });
    const [a, b] = await Promise.all([rig.submit(spec), rig.submit(spec)]);
    expect([a.status, b.status]).toEqual([202, 202]);
    await rig.peer.outcome(spec.id);
    await rig.converter.runner.idle();
    expect(rig.peer.publishes.get(spec.id)).toHaveLength(1);
    expect(rig.logs.filter((l) => l.includes(spec.id) && l.includes('"msg":"started"'))).toHaveLength(1);
  });

  it("lets a newer attempt of a job replace the one still running here", async () => {
    const first = tarJob(path.join(FIXTURES, "tree-overlay.tar.gz"), { name: "again.flist" });
    rig.peer.inputDelays.set(first.id, 1500);
    expect((await rig.submit(first)).status).toBe(202);
    await waitFor(() => (rig.peer.events.get(first.id)?.length ?? 0) >= 1, 5000, "attempt 1 to start");
    rig.peer.inputDelays.delete(first.id);
    expect((await rig.submit({ ...first, attempt: 2 })).status).toBe(202);
    // An older attempt arriving late is ignored.
    expect((await rig.submit({ ...first, attempt: 1 })).status).toBe(202);
    const outcome = await rig.peer.outcome(first.id);
    expect(outcome.kind).toBe("publish");
    if (outcome.kind !== "publish") return;
    expect(outcome.publish.info.attempt).toBe(2);
    await rig.converter.runner.idle();
    expect(rig.peer.publishes.get(first.id)).toHaveLength(1);
    expect(rig.peer.fails.get(first.id)).toBeUndefined();
    expect(rig.peer.events.get(first.id)!.map((e) => `${e.attempt} ${e.event.message}`)).toContain("2 Starting (attempt 2)");
  });

  it("abandons running jobs on shutdown without failing them (the lease brings them back)", async () => {
    const other = await startRig();
    try {
      const id = jobId("shutdown");
      other.peer.inputs.set(id, path.join(FIXTURES, "tree-overlay.tar.gz"));
      other.peer.inputDelays.set(id, 2000);
      expect((await other.submit({ id, attempt: 1, kind: "tar", repository: "alice", name: "s.flist", metadata: {} })).status).toBe(202);
      await waitFor(() => (other.peer.events.get(id)?.length ?? 0) >= 1, 5000, "the job to start");
      await other.converter.close();
      expect(other.logs.some((l) => l.includes(id) && l.includes("shutting down"))).toBe(true);
      expect(other.peer.fails.get(id)).toBeUndefined();
      expect(other.peer.publishes.get(id)).toBeUndefined();
      // Closed: new jobs are refused (503) until an instance is up again.
      const refused = await other.submit({ id: jobId("late"), attempt: 1, kind: "tar", repository: "a", name: "b", metadata: {} }).catch(() => undefined);
      expect(refused === undefined || refused.status === 503).toBe(true);
    } finally {
      await other.stop();
    }
  });

  it("refuses bad specs and callers without the secret", async () => {
    expect((await rig.submit({ id: "x", attempt: 1, kind: "docker", repository: "a", name: "b" })).status).toBe(400);
    expect((await rig.submit({ id: "x", attempt: 0, kind: "tar", repository: "a", name: "b" })).status).toBe(400);
    expect((await rig.submit({ id: "x", attempt: 1, kind: "tar", repository: "..", name: "b" })).status).toBe(400);
    // The hub's one name rule (protocol/name-rule.ts), as the Worker applies it: names and repositories.
    for (const [repository, name, message] of [
      ["a", "..\\..\\evil.flist", 'invalid job: name: name "..\\\\..\\\\evil.flist" is not allowed: it contains a backslash'],
      ["a", "evil\u202ecod.flist", 'invalid job: name: name "evil\\u202ecod.flist" is not allowed: it contains a bidirectional text control (U+202E)'],
      ["a\u009bb", "b", 'invalid job: repository: name "a\\u009bb" is not allowed: it contains a control character (U+009B)'],
      ["me", "b", 'invalid job: repository: name "me" is not allowed: it is reserved for the hub\'s own routes'],
    ]) {
      const res = await rig.submit({ id: "x", attempt: 1, kind: "tar", repository, name, metadata: {} });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ status: "error", message });
    }
    const denied = await rig.submit({ id: "x", attempt: 1, kind: "tar", repository: "a", name: "b" }, "wrong-secret-wrong-secret");
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ status: "error", message: "unauthorized" });
    const health = await fetch(`${rig.converter.url}/health`);
    expect([health.status, await health.json()]).toEqual([200, { status: "ok" }]);
  });
});

describe("bounded concurrency", () => {
  it("answers 503 once the queue is full", async () => {
    const small = await startRig({ CONVERTER_CONCURRENCY: "1", CONVERTER_QUEUE_LIMIT: "1" });
    try {
      const specs = [1, 2, 3].map((i) => {
        const id = jobId(`busy${i}`);
        small.peer.inputs.set(id, path.join(FIXTURES, "tree-overlay.tar.gz"));
        return { id, attempt: 1, kind: "tar", repository: "alice", name: `b${i}.flist`, metadata: {} };
      });
      const statuses = [];
      for (const spec of specs) statuses.push((await small.submit(spec)).status);
      expect(statuses).toEqual([202, 202, 503]);
      expect((await small.peer.outcome(specs[0]!.id)).kind).toBe("publish");
      expect((await small.peer.outcome(specs[1]!.id)).kind).toBe("publish");
    } finally {
      await small.stop();
    }
  });
});

/** A tar job over tree-overlay.tar.gz whose input `rig`'s peer serves. */
function overlayJob(rig: Rig, label: string) {
  const id = jobId(label);
  rig.peer.inputs.set(id, path.join(FIXTURES, "tree-overlay.tar.gz"));
  return { id, attempt: 1, kind: "tar", repository: "alice", name: `${label}.flist`, metadata: {} };
}

describe("queued jobs", () => {
  it("keep their lease alive with heartbeats while they wait for a slot", async () => {
    const small = await startRig({ CONVERTER_CONCURRENCY: "1" });
    small.peer.leaseSeconds = 3;
    try {
      const job = (label: string) => overlayJob(small, label);
      const slow = job("slow");
      const waiting = job("waiting");
      small.peer.inputDelays.set(slow.id, 3000);
      expect((await small.submit(slow)).status).toBe(202);
      expect((await small.submit(waiting)).status).toBe(202);
      await waitFor(() => (small.peer.heartbeats.get(waiting.id) ?? 0) >= 1, 2900, "a heartbeat of the waiting job");
      expect(small.peer.events.get(waiting.id)).toBeUndefined(); // not started yet
      expect((await small.peer.outcome(waiting.id)).kind).toBe("publish");
      expect((await small.peer.outcome(slow.id)).kind).toBe("publish");
    } finally {
      await small.stop();
    }
  });

  it("told they are stale stop before they start, say so in the log, and neither publish nor fail", async () => {
    const small = await startRig({ CONVERTER_CONCURRENCY: "1" });
    try {
      const job = (label: string) => overlayJob(small, label);
      const slow = job("slow");
      const stale = job("stale");
      small.peer.inputDelays.set(slow.id, 1500);
      small.peer.status = (call, id) => (id === stale.id && call !== "fail" ? 409 : 200);
      expect((await small.submit(slow)).status).toBe(202);
      expect((await small.submit(stale)).status).toBe(202);
      await waitFor(() => small.logs.some((l) => l.includes(stale.id) && l.includes("stopped")), 5000, "the queued job to stop");
      expect(small.logs.filter((l) => l.includes(stale.id))).toEqual([
        expect.stringContaining('"msg":"stopped: the Worker says this attempt is stale or the job has ended (before it started)"'),
      ]);
      expect((await small.peer.outcome(slow.id)).kind).toBe("publish");
      await small.converter.runner.idle();
      expect(small.peer.publishes.get(stale.id)).toBeUndefined();
      expect(small.peer.fails.get(stale.id)).toBeUndefined();
    } finally {
      await small.stop();
    }
  });
});

describe("chunk store failures", () => {
  it("fails the job with the store's redacted address, never its password", async () => {
    const net = await import("node:net");
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const down = await startRig({ HUB_CHUNK_STORE: `redis://:hunter2-store-password@127.0.0.1:${port}` });
    try {
      const id = jobId("storedown");
      down.peer.inputs.set(id, path.join(FIXTURES, "tree-overlay.tar.gz"));
      expect((await down.submit({ id, attempt: 1, kind: "tar", repository: "alice", name: "x.flist", metadata: {} })).status).toBe(202);
      const outcome = await down.peer.outcome(id);
      expect(outcome.kind).toBe("fail");
      if (outcome.kind !== "fail") return;
      expect(outcome.fail.message).toContain(`chunk store redis://:***@127.0.0.1:${port}`);
      expect(outcome.fail.message).not.toContain("hunter2");
      expect(outcome.fail.status).toBe(503);
      expect(down.logs.join("\n")).not.toContain("hunter2");
    } finally {
      await down.stop();
    }
  });
});

describe("progress heartbeat", () => {
  it("renews the lease with event-less calls while nothing changes", async () => {
    const hub = new HubClient(rig.peer.url, SECRET);
    const id = jobId("heartbeat");
    const reporter = new EventReporter(hub, id, 1, () => {}, () => {}, 100);
    try {
      reporter.update("Building: processing item 1 of 2", 50);
      await waitFor(() => (rig.peer.heartbeats.get(id) ?? 0) >= 2, 5000, "heartbeats");
      // The event log holds the one real event.
      expect(rig.peer.events.get(id)).toEqual([{ attempt: 1, event: { status: "update", message: "Building: processing item 1 of 2", progress: 50 } }]);
    } finally {
      reporter.close();
    }
  });

  it("paces heartbeats on the lease the Worker reports (a third of it)", async () => {
    const hub = new HubClient(rig.peer.url, SECRET);
    const id = jobId("lease");
    rig.peer.leaseSeconds = 3;
    const reporter = new EventReporter(hub, id, 1, () => {}, () => {});
    try {
      reporter.update("Starting", 0);
      await waitFor(() => (rig.peer.events.get(id)?.length ?? 0) === 1, 5000, "the first event");
      await waitFor(() => reporter.heartbeatInterval < 20_000, 5000, "the lease to be read");
      expect(reporter.heartbeatInterval).toBeGreaterThan(800);
      expect(reporter.heartbeatInterval).toBeLessThanOrEqual(1000);
      const started = Date.now();
      await waitFor(() => (rig.peer.heartbeats.get(id) ?? 0) >= 2, 5000, "two heartbeats");
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      reporter.close();
      rig.peer.leaseSeconds = 60;
    }
  });
});
