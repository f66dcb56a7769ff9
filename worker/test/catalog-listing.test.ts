/**
 * Listings (docs/compatibility.md §3.2, §3.3): `/api/flist/<repo>`, tags, `/api/flist`, `/api/repositories`,
 * `/api/fileslist`, with link chains, loops, dangling links, tags and taglinks.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { kbString } from "../src/catalog/format";
import { ageRepository, fixtureBytes, json, me, migrate, publish } from "./support/hub";

const MAIN_SIZE = fixtureBytes("main").length;

async function ok(user: string, path: string, method = "GET") {
  const res = await me(user, path, method);
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body;
}

beforeAll(async () => {
  await migrate();
  await publish("lst", "app", "main");
  await publish("lst", "base", "overlay");
  await ok("lst", "/app/link/latest"); // latest.flist -> app.flist
  await ok("lst", "/latest/link/chain"); // chain -> latest -> app
  await ok("lst", "/app/link/loop1");
  await ok("lst", "/loop1/link/loop2");
  await ok("lst", "/loop2/link/loop1"); // loop1 -> loop2 -> loop1
  await ok("lst", "/base/link/dang");
  await ok("lst", "/base", "DELETE"); // dang now dangles
  await ok("lst", "/v1/app/tag/lst/app"); // tag v1: app.flist -> ../../lst/app.flist
  await ok("lst", "/production/crosstag/lst/v1"); // taglink production -> ../lst/.tag-v1
  await ok("lst2", "/cross/crosslink/lst/chain"); // lst2/cross.flist -> ../lst/chain.flist
});

describe("GET /api/flist/<repo>", () => {
  it("lists every entry sorted by file name, with the original's exact shapes", async () => {
    const { status, body, res } = await json("/api/flist/lst");
    expect(status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    const app = body.find((e: any) => e.name === "app.flist");
    const tagTime = body.find((e: any) => e.type === "tag").updated;
    const link = (name: string) => body.find((e: any) => e.name === name).linktime;
    expect(body).toEqual([
      { name: "v1", size: "0 KB", updated: tagTime, type: "tag" },
      { name: "app.flist", size: kbString(MAIN_SIZE), updated: app.updated, type: "regular" },
      // A chain shows the size/time of the flist it ends on, linktime of the link itself, cleaned target.
      { name: "chain.flist", size: kbString(MAIN_SIZE), updated: app.updated, linktime: link("chain.flist"), type: "symlink", target: "latest.flist" },
      // Dangling: the link's own lstat, i.e. size = length of the target string, time = link time.
      { name: "dang.flist", size: kbString("base.flist".length), updated: link("dang.flist"), linktime: link("dang.flist"), type: "symlink", target: "base.flist" },
      { name: "latest.flist", size: kbString(MAIN_SIZE), updated: app.updated, linktime: link("latest.flist"), type: "symlink", target: "app.flist" },
      // A loop never resolves: shown like a dangling link.
      { name: "loop1.flist", size: kbString("loop2.flist".length), updated: link("loop1.flist"), linktime: link("loop1.flist"), type: "symlink", target: "loop2.flist" },
      { name: "loop2.flist", size: kbString("loop1.flist".length), updated: link("loop2.flist"), linktime: link("loop2.flist"), type: "symlink", target: "loop1.flist" },
      // A taglink shows its tag directory (4096 bytes) and the cleaned `repo/tags/tag` target.
      { name: "production", size: "4.00 KB", updated: tagTime, linktime: link("production"), type: "taglink", target: "lst/tags/v1" },
    ]);
    for (const e of body) expect(Number.isInteger(e.updated)).toBe(true);
  });

  it("follows cross-repository chains and cleans the target", async () => {
    const { body } = await json("/api/flist/lst2");
    const app = (await json("/api/flist/lst/app/light")).body;
    expect(body).toEqual([
      { name: "cross.flist", size: kbString(MAIN_SIZE), updated: app.updated, linktime: expect.any(Number), type: "symlink", target: "lst/chain.flist" },
    ]);
  });

  it("answers a JSON 404 for a missing repository and a 400 for a bad name", async () => {
    const missing = await json("/api/flist/nobody-here");
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ status: "error", message: "user not found" });
    expect((await json("/api/flist/a%00b")).status).toBe(400);
  });

  it("answers [] for a repository whose entries were all removed", async () => {
    await publish("lst-empty", "a", "empty");
    await ok("lst-empty", "/a", "DELETE");
    expect(await json("/api/flist/lst-empty")).toMatchObject({ status: 200, body: [] });
  });

  it("accepts a trailing slash", async () => {
    expect((await json("/api/flist/lst/")).status).toBe(200);
  });
});

describe("GET /api/flist/<repo>/tags/<tag>", () => {
  it("lists the tag members as symlinks with a repo/name target", async () => {
    const { status, body } = await json("/api/flist/lst/tags/v1");
    expect(status).toBe(200);
    const app = (await json("/api/flist/lst/app/light")).body;
    expect(body).toEqual([
      { name: "app.flist", size: kbString(MAIN_SIZE), updated: app.updated, linktime: expect.any(Number), type: "symlink", target: "lst/app.flist" },
    ]);
  });

  it("answers a JSON 404 for a missing tag or repository", async () => {
    expect(await json("/api/flist/lst/tags/nope")).toMatchObject({ status: 404, body: { status: "error" } });
    expect(await json("/api/flist/nobody/tags/v1")).toMatchObject({ status: 404, body: { status: "error" } });
  });
});

describe("whole-catalog listings", () => {
  it("GET /api/flist lists repo/entry strings, tags as .tag-<name>, each repository sorted", async () => {
    const { status, body } = await json("/api/flist");
    expect(status).toBe(200);
    const lst = body.filter((s: string) => s.startsWith("lst/"));
    expect(lst).toEqual([
      "lst/.tag-v1",
      "lst/app.flist",
      "lst/chain.flist",
      "lst/dang.flist",
      "lst/latest.flist",
      "lst/loop1.flist",
      "lst/loop2.flist",
      "lst/production",
    ]);
    expect(body).toContain("lst2/cross.flist");
  });

  it("GET /api/repositories lists {name, official, updated}", async () => {
    await publish("official-apps", "x", "empty");
    const { body } = await json("/api/repositories");
    expect(body).toEqual(
      expect.arrayContaining([
        { name: "lst", official: false, updated: expect.any(Number) },
        { name: "official-apps", official: true, updated: expect.any(Number) },
      ]),
    );
    const names = body.map((r: any) => r.name);
    expect(names).toEqual([...names].sort());
  });

  it("GET /api/fileslist maps every repository to its listing", async () => {
    const { body } = await json("/api/fileslist");
    expect(body.lst).toEqual((await json("/api/flist/lst")).body);
    expect(body.lst2).toEqual((await json("/api/flist/lst2")).body);
  });
});

describe("repository updated", () => {
  const updated = async (repo: string) =>
    (await json("/api/repositories")).body.find((r: any) => r.name === repo).updated as number;

  it("changes when an entry is published, linked, renamed, deleted or tagged", async () => {
    await publish("upd", "a", "main");
    const steps: [string, () => Promise<unknown>][] = [
      ["publish", () => publish("upd", "b", "overlay")],
      ["link", () => ok("upd", "/a/link/l")],
      ["rename", () => ok("upd", "/l/rename/m")],
      ["tag", () => ok("upd", "/t/a/tag/upd/a")],
      ["untag", () => ok("upd", "/t/a/tag/upd/a", "DELETE")],
      ["delete", () => ok("upd", "/m", "DELETE")],
    ];
    for (const [what, step] of steps) {
      await ageRepository("upd");
      await step();
      expect(await updated("upd"), what).toBeGreaterThan(Math.floor(Date.now() / 1000) - 60);
    }
  });

  it("does not change on reads or on a refused mutation", async () => {
    await publish("upd2", "a", "main");
    await ageRepository("upd2");
    await json("/api/flist/upd2");
    await json("/api/flist/upd2/a/light");
    await me("upd2", "/nothing/link/x");
    expect(await updated("upd2")).toBe(1000);
  });
});
