/**
 * Validation of the publishing routes (docs/compatibility.md §6.6 messages, 4xx statuses): missing/empty/not-allowed files,
 * metadata fields, the form cap (413 pointing to the streamed routes, with or without Content-Length), and every
 * merge error. A refused request creates no job and changes nothing.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../src/app";
import type { Env } from "../src/env";
import { asUser, dumpCatalog, migrate, publish } from "./support/hub";
import { fakeArchive, postUpload, randomBytes, stubConverter, tarOf, uploadForm } from "./support/jobs";
import { UPLOAD_FORMATS } from "../../protocol/archive-sniff";

async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
}

const stub = stubConverter();
// Not restored: the real Queue may still deliver this file's messages after its last test.

beforeAll(async () => {
  await migrate();
  await publish("src", "base", "main");
  await publish("src", "top", "overlay");
});

async function jobCount(): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs").first<{ n: number }>())!.n;
}

/** Calls the app with configuration overrides (the cap variables). */
async function withEnv(overrides: Partial<Env>, path: string, init: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`http://hub.test${path}`, init), { ...env, ...overrides } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A multipart body as bytes, so the request carries a Content-Length like a real client's. */
async function formBytes(form: FormData): Promise<{ body: ArrayBuffer; type: string }> {
  const res = new Response(form);
  return { body: await res.arrayBuffer(), type: res.headers.get("Content-Type")! };
}

describe("upload and upload-flist file checks", () => {
  for (const [path, good] of [
    ["/upload", "a.tar.gz"],
    ["/upload-flist", "a.flist"],
  ] as const) {
    it(`${path}: the original's messages, as 400s, and nothing queued`, async () => {
      const jobs = await jobCount();
      const before = await dumpCatalog();
      const noFile = new FormData();
      noFile.append("other", "x");
      const textFile = new FormData();
      textFile.append("file", "just text");
      const cases: [BodyInit, Record<string, string>, string][] = [
        [noFile, {}, "no file found"],
        [textFile, {}, "no file found"],
        ["plain body", { "Content-Type": "application/octet-stream" }, "no file found"],
        // What a browser sends for an empty file input.
        [
          '--X\r\nContent-Disposition: form-data; name="file"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--X--\r\n',
          { "Content-Type": "multipart/form-data; boundary=X" },
          "no file selected",
        ],
        [
          uploadForm(await fakeArchive(), "a.zip"),
          {},
          path === "/upload"
            ? `this file is not allowed: "a.zip" is a gzip-compressed tar archive; ${UPLOAD_FORMATS}`
            : `this file is not allowed: "a.zip" does not end in .flist; accepted: a .flist file`,
        ],
        [
          uploadForm(await fakeArchive(), path === "/upload" ? "a.flist" : "a.tar.gz"),
          {},
          path === "/upload"
            ? `this file is not allowed: "a.flist" is a gzip-compressed tar archive; ${UPLOAD_FORMATS}`
            : `this file is not allowed: "a.tar.gz" does not end in .flist; accepted: a .flist file`,
        ],
        [uploadForm(new Uint8Array(0), good), {}, path === "/upload" ? "empty archive" : "empty flist"],
      ];
      for (const [body, headers, message] of cases) {
        const res = await postUpload("checks", path, body, { headers });
        expect(res.status, message).toBe(400);
        expect(res.body).toEqual({ status: "error", message });
      }
      expect(await jobCount()).toBe(jobs);
      expect(await dumpCatalog()).toEqual(before);
    });
  }

  it("/upload: a refused name says what the file is and what is accepted; nothing queued", async () => {
    const jobs = await jobCount();
    const text = new TextEncoder().encode("my notes, not an archive\n");
    const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...randomBytes(600)]);
    const cases: [Uint8Array<ArrayBuffer>, string, string][] = [
      [zip, "site.zip", `"site.zip" starts like a zip archive`],
      [tarOf("hello"), "rootfs.tar", `"rootfs.tar" is a plain (uncompressed) tar archive; ${UPLOAD_FORMATS} (gzip it, or create it with tar -czf)`],
      [await gzip(text), "notes.gz", `"notes.gz" is gzip-compressed, but what it holds looks like plain text, not a tar archive`],
      [text, "notes.txt", `"notes.txt" looks like plain text`],
      [new Uint8Array(0), "nothing.zip", `"nothing.zip" is empty`],
      [await fakeArchive(), "app.tgz", `"app.tgz" is a gzip-compressed tar archive`],
    ];
    for (const [bytes, filename, what] of cases) {
      const res = await postUpload("checks", "/upload", uploadForm(bytes, filename));
      expect(res.status, filename).toBe(400);
      const message = what.includes("accepted:") ? `this file is not allowed: ${what}` : `this file is not allowed: ${what}; ${UPLOAD_FORMATS}`;
      expect(res.body).toEqual({ status: "error", message });
    }
    expect(await jobCount()).toBe(jobs);
  });

  it("/upload: a .tar.gz whose bytes are no tar is refused with 422 in the converter's words; a plain tar goes on", async () => {
    const jobs = await jobCount();
    const text = new TextEncoder().encode("my notes, not an archive\n");
    // Word for word what the converter answers for the same bytes (converter/test/service-jobs.test.ts, e2e/faults.test.ts).
    const accepted = "accepted: .tar.gz (gzip-compressed tar) or .tar [rule: not-an-archive]";
    const cases: [Uint8Array<ArrayBuffer>, string][] = [
      [text, `invalid archive: archive: not a tar or tar.gz archive: the file looks like plain text; ${accepted}`],
      [
        await gzip(text),
        `invalid archive: archive: not a tar.gz archive: the file is gzip-compressed, but what it holds looks like plain text, not a tar archive; ${accepted}`,
      ],
      [
        new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...randomBytes(600)]),
        `invalid archive: archive: not a tar or tar.gz archive: the file starts like a zip archive; ${accepted}`,
      ],
    ];
    for (const [bytes, message] of cases) {
      const res = await postUpload("checks", "/upload", uploadForm(bytes, "app.tar.gz"));
      expect(res.status, message).toBe(422);
      expect(res.body).toEqual({ status: "error", message });
    }
    expect(await jobCount()).toBe(jobs);
    // The converter reads a plain tar whatever its name (protocol/archive-sniff.ts): the Worker lets it through.
    const plain = await postUpload("checks", "/upload", uploadForm(tarOf("hello"), "plain.tar.gz"), { async: true });
    expect(plain.status).toBe(202);
    expect(await jobCount()).toBe(jobs + 1);
  });

  it("streamed and resumable uploads refuse a name before reading a byte, naming the accepted format", async () => {
    const auth = await asUser("checks");
    const streamed = await withEnv({}, "/api/flist/me/upload/site.zip", { method: "PUT", headers: { ...auth, "Content-Length": "4" }, body: "PK\x03\x04" });
    expect(streamed.status).toBe(400);
    expect(await streamed.json()).toEqual({ status: "error", message: `this file is not allowed: "site.zip" does not end in .tar.gz; ${UPLOAD_FORMATS}` });
    const resumable = await withEnv({}, "/api/flist/me/uploads", {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ filename: "rootfs.tar", size: 1024 }),
    });
    expect(resumable.status).toBe(400);
    expect(await resumable.json()).toEqual({ status: "error", message: `this file is not allowed: "rootfs.tar" does not end in .tar.gz; ${UPLOAD_FORMATS}` });
  });

  it("metadata-<key> fields: protected keys ignored, bad keys refused", async () => {
    const bad = await postUpload("checks", "/upload", uploadForm(await fakeArchive(), "m.tar.gz", { "metadata-a b": "x" }));
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('invalid metadata key: "a b"');
    const ok = await postUpload(
      "checks",
      "/upload",
      uploadForm(await fakeArchive(), "m.tar.gz", { "metadata-entrypoint": "/bin/sh", "metadata-volume": "/x", "metadata-tag": "v1" }),
      { async: true },
    );
    expect(ok.status).toBe(202);
    const spec = await stub.waitForDispatch(ok.body.payload.job);
    expect(spec.metadata).toEqual({ tag: "v1" });
  });
});

describe("the form cap", () => {
  const small: Partial<Env> = { HUB_UPLOAD_FORM_MAX_BYTES: "4096" };

  it("refuses a declared Content-Length over the cap with a 413 pointing to the streamed routes", async () => {
    const jobs = await jobCount();
    const { body, type } = await formBytes(uploadForm(randomBytes(8192), "big.tar.gz"));
    const res = await withEnv(small, "/api/flist/me/upload", {
      method: "POST",
      // An in-process Request has no Content-Length until it crosses the network: declare it as a client does.
      headers: { ...(await asUser("cap")), "Content-Type": type, "Content-Length": String(body.byteLength) },
      body,
    });
    expect(res.status).toBe(413);
    const parsed = (await res.json()) as { message: string };
    expect(parsed.message).toBe(
      "request body larger than 4096 bytes: use PUT /api/flist/me/upload/<name>.tar.gz (streamed body) or the resumable protocol POST /api/flist/me/uploads",
    );
    expect(await jobCount()).toBe(jobs);
  });

  it("counts a body without Content-Length while reading it and refuses it past the cap", async () => {
    const jobs = await jobCount();
    const { body, type } = await formBytes(uploadForm(randomBytes(8192), "big.tar.gz"));
    const stream = new Blob([body]).stream(); // no length: sent chunked
    const res = await withEnv(small, "/api/flist/me/upload-flist", {
      method: "POST",
      headers: { ...(await asUser("cap")), "Content-Type": type },
      body: stream,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { message: string }).message).toMatch(/^request body larger than 4096 bytes/);
    expect(await jobCount()).toBe(jobs);
  });

  it("accepts a form under the cap", async () => {
    const { body, type } = await formBytes(uploadForm(await fakeArchive("x".repeat(1024)), "ok.tar.gz"));
    const res = await withEnv(small, "/api/flist/me/upload?async=1", {
      method: "POST",
      headers: { ...(await asUser("cap")), "Content-Type": type },
      body,
    });
    expect(res.status).toBe(202);
  });
});

describe("merge", () => {
  async function merge(target: string | null, body: string) {
    const path = target === null ? "/merge" : `/merge/${target}`;
    return postUpload("merger", path, body, { headers: { "Content-Type": "text/plain" } });
  }

  it("the original's messages, in the original's order, and nothing queued", async () => {
    const jobs = await jobCount();
    const before = await dumpCatalog();
    const cases: [string | null, string, number, string][] = [
      ["t", "not json", 400, "malformed json request"],
      ["t", '{"a": 1}', 400, "malformed json request"],
      ["t", "[]", 400, "no source found"],
      ["t", '["nosource"]', 400, "malformed source filename"],
      ["t", "[1]", 400, "malformed source filename"],
      ["t", '["src/base", "src/missing"]', 404, "src/missing.flist does not exists"],
      ["t", '["src/missing.flist"]', 404, "src/missing.flist does not exists"],
      ["t", '["nobody/base"]', 404, "nobody/base.flist does not exists"],
      // A source the name rule refuses is a 400 naming the rule (the original answered "src/...flist does not exists").
      ["t", '["src/.."]', 400, 'invalid source name: name ".." is not allowed: it is . or ..'],
      [null, '["src/base"]', 400, "missing build (target) name"],
      ["a%2Fb", '["src/base"]', 400, "build name not allowed"],
      [null, "[]", 400, "no source found"],
    ];
    for (const [target, body, status, message] of cases) {
      const res = await merge(target, body);
      expect(res.status, `${target} ${body}`).toBe(status);
      expect(res.body, `${target} ${body}`).toEqual({ status: "error", message });
    }
    expect(await jobCount()).toBe(jobs);
    expect(await dumpCatalog()).toEqual(before);
  });

  it("queues a merge job with its sources pinned to their current bytes (first = base)", async () => {
    const res = await postUpload("merger", "/merge/combined", '["src/base.flist", "src/top"]', { async: true });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.payload.name).toBe("combined.flist");
    const spec = await stub.waitForDispatch(res.body.payload.job);
    const blobs = await env.DB.prepare(
      "SELECT e.name, e.blob FROM entries e WHERE e.repository = 'src' ORDER BY e.name",
    ).all<{ name: string; blob: string }>();
    const sha = Object.fromEntries(blobs.results.map((r) => [r.name, r.blob]));
    expect(spec).toEqual({
      id: res.body.payload.job,
      attempt: 1,
      kind: "merge",
      repository: "merger",
      name: "combined.flist",
      metadata: {},
      sources: [
        { repository: "src", name: "base.flist", sha256: sha["base.flist"] },
        { repository: "src", name: "top.flist", sha256: sha["top.flist"] },
      ],
    });
  });
});
