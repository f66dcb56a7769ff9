/**
 * Replays `zflist hub …` (0-flist zflist/actions_hub.c; docs/clients.md §3.1, §5 test 12): bearer token plus
 * the `active-user` cookie, every mutating call answering HTTP 200, readlink through `/light`.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { fetchHub, internalAuth, md5Hex, fixtureBytes, migrate, publish, tokenFor } from "./support/hub";

const USER = "alice.3bot";
const ORG = "acme";
let headers: Record<string, string>;

/** zflist's HTTP helper: any non-200 is a failure and the body is printed. */
async function zflist(method: string, path: string): Promise<any> {
  const res = await fetchHub(path, { method, headers });
  const body = await res.json();
  expect(res.status, `${method} ${path}: ${JSON.stringify(body)}`).toBe(200);
  return body;
}

/** `zflist hub readlink`: fails if the body has a `status` key, requires type symlink, prints target. */
async function readlink(repo: string, name: string): Promise<string> {
  const body = await zflist("GET", `/api/flist/${repo}/${name}/light`);
  if ("status" in body) throw new Error("readlink: error answer");
  if (body.type !== "symlink") throw new Error("readlink: not a symlink");
  return body.target as string;
}

beforeAll(async () => {
  await migrate();
  // The operator lets alice act for the organisation repository (auth admin route).
  const member = await fetchHub(`/internal/members/${ORG}/${USER}`, { method: "PUT", headers: internalAuth });
  expect(member.status).toBe(200);
  headers = { Authorization: `Bearer ${await tokenFor(USER)}`, Cookie: `active-user=${ORG}` };
  await publish(ORG, "app-1.0", "main");
  await publish("upstream", "tool", "overlay");
  await publish("upstream", "base", "empty");
});

describe("zflist hub", () => {
  it("runs the whole command sequence as the active-user organisation", async () => {
    // zflist hub login / username
    const who = await zflist("GET", "/api/flist/me");
    expect(who).toEqual({ status: "success", payload: { username: ORG } });

    // promote, link, crosslink
    expect(await zflist("GET", "/api/flist/me/promote/upstream/tool/tool-copy")).toMatchObject({ status: "success" });
    expect(await zflist("GET", "/api/flist/me/app-1.0/link/app-latest")).toEqual({ status: "success" });
    expect(await zflist("GET", "/api/flist/me/base/crosslink/upstream/base")).toEqual({ status: "success" });
    expect(await readlink(ORG, "app-latest")).toBe("app-1.0.flist");
    expect(await readlink(ORG, "base.flist")).toBe("../upstream/base.flist");

    // rename, then readlink follows the renamed link
    await zflist("GET", "/api/flist/me/app-latest/rename/app-stable");
    expect(await readlink(ORG, "app-stable")).toBe("app-1.0.flist");

    // tag, crosstag, taglink
    await zflist("GET", "/api/flist/me/v1/app/tag/acme/app-1.0");
    await zflist("GET", "/api/flist/me/release/crosstag/acme/v1");
    expect(await zflist("GET", `/api/flist/${ORG}/release/taglink`)).toEqual({ target: "acme/tags/v1" });
    const tagged = await zflist("GET", `/api/flist/${ORG}/tags/v1`);
    expect(tagged.map((m: any) => m.target)).toEqual(["acme/app-1.0.flist"]);

    // untag (last member: the tag goes away), delete the taglink and a flist
    await zflist("DELETE", "/api/flist/me/v1/app/tag/acme/app-1.0");
    expect((await fetchHub(`/api/flist/${ORG}/tags/v1`)).status).toBe(404);
    await zflist("DELETE", "/api/flist/me/release");
    await zflist("DELETE", "/api/flist/me/tool-copy");

    const listing = await zflist("GET", `/api/flist/${ORG}`);
    expect(listing.map((e: any) => e.name)).toEqual(["app-1.0.flist", "app-stable.flist", "base.flist"]);
    // Nothing was written into alice's own repository or upstream.
    expect((await fetchHub(`/api/flist/${USER}`)).status).toBe(404);
    expect((await zflist("GET", "/api/flist/upstream")).map((e: any) => e.name)).toEqual(["base.flist", "tool.flist"]);
    // The organisation's download is the published bytes.
    const bytes = new Uint8Array(await (await fetchHub(`/${ORG}/app-stable.flist`)).arrayBuffer());
    expect(await md5Hex(bytes)).toBe(await md5Hex(fixtureBytes("main")));
  });

  it("error answers carry status and message", async () => {
    const res = await fetchHub("/api/flist/me/missing/link/x", { headers });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ status: "error", message: "source not found" });
    // readlink on a regular flist: zflist refuses (type is not symlink)
    await expect(readlink(ORG, "app-1.0")).rejects.toThrow(/not a symlink/);
    expect(env.DB).toBeDefined();
  });
});
