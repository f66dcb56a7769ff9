/** Authenticated mutations under /api/flist/me (docs/compatibility.md §3.4 with the §6 fixes). */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { kbString } from "../src/catalog/format";
import { asUser, dumpCatalog, fetchHub, fixtureBytes, json, md5Hex, me, migrate, publish, r2Count } from "./support/hub";

async function ok(user: string, path: string, method = "GET") {
  const res = await me(user, path, method);
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body;
}

const light = async (repo: string, name: string) => (await json(`/api/flist/${repo}/${name}/light`)).body;

beforeAll(migrate);

describe("link / crosslink", () => {
  it("link makes <link>.flist point at <source>.flist and replaces an existing link", async () => {
    await publish("mu-l", "a", "main");
    await publish("mu-l", "b", "overlay");
    expect(await ok("mu-l", "/a/link/cur")).toEqual({ status: "success" });
    expect(await light("mu-l", "cur")).toMatchObject({ type: "symlink", target: "a.flist", md5: await md5Hex(fixtureBytes("main")) });
    await ok("mu-l", "/b.flist/link/cur.flist");
    expect(await light("mu-l", "cur")).toMatchObject({ target: "b.flist", md5: await md5Hex(fixtureBytes("overlay")) });
  });

  it("refuses to replace a flist, or to link a missing source, and changes nothing", async () => {
    await publish("mu-l2", "a", "main");
    await publish("mu-l2", "b", "overlay");
    const before = await dumpCatalog();
    expect(await me("mu-l2", "/a/link/b")).toMatchObject({ status: 409, body: { status: "error", message: "link destination is already a file" } });
    expect(await me("mu-l2", "/zzz/link/c")).toMatchObject({ status: 404, body: { status: "error", message: "source not found" } });
    expect(await me("mu-nobody", "/a/link/c")).toMatchObject({ status: 404, body: { status: "error", message: "user not found" } });
    expect(await dumpCatalog()).toEqual(before);
  });

  it("crosslink points at another repository, creating the acting repository if needed", async () => {
    await publish("mu-src", "tool", "main");
    await ok("mu-fresh", "/mytool/crosslink/mu-src/tool");
    expect(await light("mu-fresh", "mytool")).toMatchObject({ type: "symlink", target: "../mu-src/tool.flist" });
    expect(await me("mu-fresh", "/x/crosslink/nobody/tool")).toMatchObject({ status: 404, body: { message: "source repository not found" } });
    expect(await me("mu-fresh", "/x/crosslink/mu-src/none")).toMatchObject({ status: 404, body: { message: "source not found" } });
  });

  it("accepts POST for the mutating GET routes, and HEAD never mutates", async () => {
    await publish("mu-h", "a", "main");
    const before = await dumpCatalog();
    const head = await fetchHub("/api/flist/me/a/link/viahead", { method: "HEAD", headers: await asUser("mu-h") });
    expect(head.status).toBe(405);
    expect(await dumpCatalog()).toEqual(before);
    expect((await json("/api/flist/mu-h/viahead/light")).status).toBe(404);
    const post = await me("mu-h", "/a/link/viapost", "POST");
    expect(post.status).toBe(200);
    expect(await light("mu-h", "viapost")).toMatchObject({ type: "symlink", target: "a.flist" });
  });
});

describe("tags", () => {
  it("tag adds members; untag checks the target and removing the last member removes the tag", async () => {
    await publish("mu-t", "a", "main");
    await publish("mu-t", "b", "overlay");
    await ok("mu-t", "/v1/a/tag/mu-t/a");
    await ok("mu-t", "/v1/b/tag/mu-t/b");
    expect((await json("/api/flist/mu-t/tags/v1")).body.map((m: any) => m.target)).toEqual(["mu-t/a.flist", "mu-t/b.flist"]);

    // Wrong target for member a: refused, nothing changed (the original removed it anyway).
    const before = await dumpCatalog();
    expect(await me("mu-t", "/v1/a/tag/mu-t/b", "DELETE")).toMatchObject({ status: 404, body: { message: "target not found on this tag" } });
    expect(await me("mu-t", "/v1/zz/tag/mu-t/a", "DELETE")).toMatchObject({ status: 404 });
    expect(await dumpCatalog()).toEqual(before);

    await ok("mu-t", "/v1/a/tag/mu-t/a", "DELETE");
    expect((await json("/api/flist/mu-t/tags/v1")).body.map((m: any) => m.name)).toEqual(["b.flist"]);
    await ok("mu-t", "/v1/b/tag/mu-t/b", "DELETE");
    expect((await json("/api/flist/mu-t/tags/v1")).status).toBe(404);
    expect((await json("/api/flist/mu-t")).body.some((e: any) => e.type === "tag")).toBe(false);
  });

  it("a dangling member can still be untagged", async () => {
    await publish("mu-t2", "a", "main");
    await ok("mu-t2", "/v1/a/tag/mu-t2/a");
    await ok("mu-t2", "/a", "DELETE");
    const members = (await json("/api/flist/mu-t2/tags/v1")).body;
    expect(members[0]).toMatchObject({ name: "a.flist", target: "mu-t2/a.flist", size: kbString("../../mu-t2/a.flist".length) });
    await ok("mu-t2", "/v1/a/tag/mu-t2/a", "DELETE");
  });

  it("crosstag makes a taglink; refuses .flist names, existing flists and missing tags", async () => {
    await publish("mu-ct", "a", "main");
    await ok("mu-ct", "/v1/a/tag/mu-ct/a");
    await ok("mu-ct2", "/production/crosstag/mu-ct/v1");
    expect((await json("/api/flist/mu-ct2/production/taglink")).body).toEqual({ target: "mu-ct/tags/v1" });
    await publish("mu-ct2", "app", "main");
    const before = await dumpCatalog();
    expect(await me("mu-ct2", "/x.flist/crosstag/mu-ct/v1")).toMatchObject({ status: 400, body: { message: "tag symlink cannot ends with .flist" } });
    expect(await me("mu-ct2", "/app/crosstag/mu-ct/v1")).toMatchObject({ status: 409 });
    expect(await me("mu-ct2", "/x/crosstag/mu-ct/nope")).toMatchObject({ status: 404, body: { message: "source tag not found" } });
    expect(await dumpCatalog()).toEqual(before);
    // An existing taglink is replaced; DELETE /me/<taglink> removes it.
    await ok("mu-ct", "/v2/a/tag/mu-ct/a");
    await ok("mu-ct2", "/production/crosstag/mu-ct/v2");
    expect((await json("/api/flist/mu-ct2/production/taglink")).body).toEqual({ target: "mu-ct/tags/v2" });
    await ok("mu-ct2", "/production", "DELETE");
    expect((await json("/api/flist/mu-ct2/production/taglink")).status).toBe(404);
  });
});

describe("rename / promote / delete", () => {
  it("rename moves an entry and overwrites the destination, keeping it in history", async () => {
    await publish("mu-r", "new", "overlay");
    await publish("mu-r", "old", "main");
    await ok("mu-r", "/new/rename/old");
    expect((await json("/api/flist/mu-r/new/light")).status).toBe(404);
    expect((await light("mu-r", "old")).md5).toBe(await md5Hex(fixtureBytes("overlay")));
    const history = (await json("/api/flist/mu-r/old/history")).body;
    expect(history.versions).toEqual([
      expect.objectContaining({ version: 1, reason: "rename", md5: await md5Hex(fixtureBytes("main")) }),
    ]);
    expect(await me("mu-r", "/missing/rename/x")).toMatchObject({ status: 404, body: { message: "source not found" } });
  });

  it("rename moves a link as is (its relative target is unchanged)", async () => {
    await publish("mu-r2", "a", "main");
    await ok("mu-r2", "/a/link/l");
    await ok("mu-r2", "/l/rename/m");
    expect(await light("mu-r2", "m")).toMatchObject({ type: "symlink", target: "a.flist", md5: await md5Hex(fixtureBytes("main")) });
  });

  it("promote copies across repositories without copying bytes in R2", async () => {
    await publish("mu-p-src", "app", "main");
    await ok("mu-p-src", "/app/link/latest");
    await publish("mu-p", "prod", "overlay");
    const objects = await r2Count();
    const res = await ok("mu-p", "/promote/mu-p-src/latest/prod");
    expect(res).toEqual({
      status: "success",
      payload: {
        source: { username: "mu-p-src", filename: "latest.flist" },
        destination: { username: "mu-p", filename: "prod.flist" },
      },
    });
    expect(await r2Count()).toBe(objects);
    // The copy is a regular flist (the link was followed), with the same bytes.
    expect(await light("mu-p", "prod")).toMatchObject({ type: "regular", md5: await md5Hex(fixtureBytes("main")) });
    const download = await fetchHub("/mu-p/prod.flist");
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(fixtureBytes("main"));
    expect((await json("/api/flist/mu-p/prod/history")).body.versions[0]).toMatchObject({ reason: "promote" });
    expect(await me("mu-p", "/promote/nobody/app/x")).toMatchObject({ status: 404, body: { message: "user not found" } });
    expect(await me("mu-p", "/promote/mu-p-src/none/x")).toMatchObject({ status: 404, body: { message: "source not found" } });
  });

  it("delete removes a flist and leaves links to it dangling", async () => {
    await publish("mu-d", "a", "main");
    await ok("mu-d", "/a/link/l");
    await ok("mu-d", "/a.flist", "DELETE");
    expect((await json("/api/flist/mu-d/a/light")).status).toBe(404);
    expect(await light("mu-d", "l")).toMatchObject({ type: "symlink", md5: null });
    expect((await fetchHub("/mu-d/l.flist")).status).toBe(404);
    expect(await me("mu-d", "/a", "DELETE")).toMatchObject({ status: 404, body: { message: "source not found" } });
  });
});

describe("GET /api/flist/me/<name>", () => {
  it("answers the contents listing of the acting repository's flist", async () => {
    await publish("mu-g", "a", "meta");
    const mine = await me("mu-g", "/a");
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual(env.TEST_FIXTURES.meta!.find);
    expect(mine.body).toEqual((await json("/api/flist/mu-g/a.flist")).body);
    expect((await me("mu-g", "/nope")).status).toBe(404);
  });
});

describe("bad input", () => {
  it("bad names are a clear 400 and change nothing", async () => {
    await publish("mu-bad", "a", "main");
    const before = await dumpCatalog();
    const long = "x".repeat(300);
    for (const path of [
      `/a/link/${long}`,
      "/a/link/b%01c",
      "/a/link/b%2Fc",
      "/a/link/.flist",
      `/x/crosslink/${long}/a`,
      "/v%0A1/a/tag/mu-bad/a",
      `/a/rename/${long}`,
      `/promote/mu-bad/a/${long}`,
    ]) {
      const res = await me("mu-bad", path);
      expect(res.status, path).toBe(400);
      expect(res.body).toMatchObject({ status: "error", message: expect.stringMatching(/^invalid /) });
    }
    expect(await dumpCatalog()).toEqual(before);
  });

  it("mutations need a token and only write into the acting repository", async () => {
    await publish("mu-own", "a", "main");
    const before = await dumpCatalog();
    const anonymous = await fetchHub("/api/flist/me/a/link/b");
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ status: "error" });
    // Another user's token acts on its own repository: mu-own is untouched.
    expect((await me("mu-other", "/a/link/b")).status).toBe(404);
    // Asking to act for a repository one is not a member of is refused.
    expect((await me("mu-other", "/a/link/b", "GET", { Cookie: "active-user=mu-own" })).status).toBe(403);
    expect(await dumpCatalog()).toEqual(before);
    expect(env.DB).toBeDefined();
  });
});
