/**
 * Synchronous answers (docs/compatibility.md §6.17): by default a publishing request waits for its job and answers like the
 * original (`payload.name` + `payload.files`); failures are the error envelope with the job's message (merge
 * included: the original's 500 + "success" is fixed); `Prefer: respond-async` answers 202.
 * The test plays the converter: it waits for the dispatch, then publishes or fails through the internal routes.
 */
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dumpCatalog, fetchHub, fixtureBytes, json, migrate, publish } from "./support/hub";
import {
  accepted,
  expireLease,
  failJob,
  fakeArchive,
  jobRow,
  postUpload,
  publishJob,
  stubConverter,
  sweep,
  uploadForm,
  waitFor,
} from "./support/jobs";

const stub = stubConverter();
// Not restored: the real Queue may still deliver this file's messages after its last test.

beforeAll(async () => {
  await migrate();
  await publish("msrc", "a", "main");
  await publish("msrc", "b", "overlay");
});
beforeEach(() => stub.answer(accepted));

/** The id of the newest job of `repository` once it exists (the request that created it is still pending). */
async function newestJob(repository: string, known: Set<string> = new Set()): Promise<string> {
  let id = "";
  await waitFor(async () => {
    const row = await env.DB.prepare("SELECT id FROM jobs WHERE repository = ?1 ORDER BY created DESC")
      .bind(repository)
      .all<{ id: string }>();
    id = row.results.map((r) => r.id).find((x) => !known.has(x)) ?? "";
    return id !== "";
  });
  return id;
}

describe("synchronous answers", () => {
  it("upload waits for the job and answers the original's shape", async () => {
    const pending = postUpload("sync", "/upload", uploadForm(await fakeArchive(), "app.tar.gz"));
    const id = await newestJob("sync");
    await stub.waitForDispatch(id);
    expect((await publishJob(id, 1, "sync", "app.flist", "main")).status).toBe(200);
    const { status, body, res } = await pending;
    expect(status).toBe(200);
    const find = env.TEST_FIXTURES.main!.find;
    expect(body).toEqual({
      status: "success",
      payload: {
        name: "app.flist",
        files: {
          success: true,
          error: null,
          response: {
            regular: find.regular,
            symlink: find.symlink,
            directory: find.directory,
            special: find.special,
            failure: find.failure,
            fullsize: find.fullsize,
          },
          status: 0,
        },
      },
    });
    expect(res.headers.get("X-Hub-Job")).toBe(id);
    const download = await fetchHub("/sync/app.flist");
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(fixtureBytes("main"));
  });

  it("upload-flist answers the check output with the full contents listing; missing chunks are refused", async () => {
    const flist = fixtureBytes("meta");
    const pending = postUpload("home", "/upload-flist", uploadForm(flist, "made.flist"));
    const id = await newestJob("home");
    const spec = await stub.waitForDispatch(id);
    expect(spec).toMatchObject({ kind: "flist", name: "made.flist", repository: "home" });
    expect((await publishJob(id, 1, "home", "made.flist", "meta")).status).toBe(200);
    const { status, body } = await pending;
    expect(status).toBe(200);
    expect(body.payload.name).toBe("made.flist");
    expect(body.payload.files.response).toEqual(env.TEST_FIXTURES.meta!.find);

    // A homemade flist whose chunks are not all in the store: the converter fails the job; nothing published.
    const before = await dumpCatalog();
    const known = new Set([id]);
    const refused = postUpload("home", "/upload-flist", uploadForm(flist, "partial.flist"));
    const second = await newestJob("home", known);
    await stub.waitForDispatch(second);
    await failJob(second, 1, "unauthorized upload, contents is not fully present on backend", 400);
    const answer = await refused;
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ status: "error", message: "unauthorized upload, contents is not fully present on backend" });
    expect((await json("/api/flist/home/partial.flist/light")).status).toBe(404);
    const after = await dumpCatalog();
    expect(after.entries).toEqual(before.entries);
    expect(after.blobs).toEqual(before.blobs);
  });

  it("merge answers success, or the error envelope when the merge fails (not the original's 500 + success)", async () => {
    const ok = postUpload("msync", "/merge/both", '["msrc/a", "msrc/b"]');
    const id = await newestJob("msync");
    await stub.waitForDispatch(id);
    await publishJob(id, 1, "msync", "both.flist", "merged");
    expect(await ok).toMatchObject({ status: 200, body: { status: "success" } });

    const bad = postUpload("msync", "/merge/broken", '["msrc/a", "msrc/b"]');
    const badId = await newestJob("msync", new Set([id]));
    await stub.waitForDispatch(badId);
    await failJob(badId, 1, "merge failed: conflicting entry /etc");
    const answer = await bad;
    expect(answer.status).toBe(422);
    expect(answer.body).toEqual({ status: "error", message: "merge failed: conflicting entry /etc" });
  });

  it("a job the Worker gives up on answers 503 with the reason", async () => {
    stub.answer(() => {
      throw new TypeError("connection refused");
    });
    const pending = postUpload("giveup", "/upload", uploadForm(await fakeArchive(), "x.tar.gz"));
    const id = await newestJob("giveup");
    for (let i = 0; i < 4; i++) {
      await waitFor(async () => {
        const row = await jobRow(id);
        return row.status === "failed" || row.last_error !== null;
      });
      await expireLease(id);
      await sweep();
    }
    const { status, body } = await pending;
    expect(status, JSON.stringify(body)).toBe(503);
    expect(body).toEqual({ status: "error", message: "gave up after 3 attempts: converter unreachable: connection refused" });
  });

  it("Prefer: respond-async answers 202 at once", async () => {
    const res = await postUpload("prefer", "/upload", uploadForm(await fakeArchive(), "p.tar.gz"), {
      headers: { Prefer: "respond-async, wait=10" },
    });
    expect(res.status).toBe(202);
    expect(res.res.headers.get("Preference-Applied")).toBe("respond-async");
    expect(res.body.payload.status).toBe("queued");
  });
});
