/**
 * Replays zosbase `pkg/upgrade/hub/hub.go` (docs/clients.md §2.3, §5 tests 2–4, 9): find the run-mode
 * taglink, `TagLink.Destination`, `ListTag`, `Symlink.Destination`, `Info` (/light, md5 required),
 * `Download` (200, gunzip + untar of regular top-level members), md5 equality with `.md5`, `Regular.Files`.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { fetchHub, md5Hex, migrate } from "./support/hub";
import { gunzip, tarMembers } from "./support/tar";
import { RUN_MODES, seedZosCatalog } from "./support/zos-catalog";

beforeAll(async () => {
  await migrate();
  await seedZosCatalog();
});

interface FList {
  name: string;
  target?: string;
  type: string;
  updated: number;
  md5?: string;
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetchHub(path);
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

/** `TagLink.Destination()`: exactly 3 parts, the middle one "tags". */
function tagDestination(link: FList): { repo: string; tag: string } {
  const parts = link.target!.split("/");
  if (parts.length !== 3 || parts[1] !== "tags") throw new Error(`invalid taglink target ${link.target}`);
  return { repo: parts[0]!, tag: parts[2]! };
}

/** `Symlink.Destination(src)`: 1 part = same repository, 2 parts = repo/name. */
function symlinkDestination(repo: string, link: FList): { repo: string; name: string } {
  const parts = link.target!.split("/");
  if (parts.length === 1) return { repo, name: parts[0]! };
  if (parts.length === 2) return { repo: parts[0]!, name: parts[1]! };
  throw new Error(`invalid symlink target ${link.target}`);
}

describe("zosbase upgrader", () => {
  it("finds exactly one taglink per run mode and resolves it", async () => {
    const list = await getJson<FList[]>("/api/flist/tf-zos");
    for (const mode of RUN_MODES) {
      const found = list.filter((e) => e.name === mode && e.type === "taglink");
      expect(found, mode).toHaveLength(1);
      expect(tagDestination(found[0]!)).toEqual({ repo: "tf-autobuilder", tag: "v3.1.0" });
    }
  });

  it("ListTag → Info → Download → unpack, md5 equal to /light and .md5", async () => {
    const members = await getJson<FList[]>("/api/flist/tf-autobuilder/tags/v3.1.0");
    expect(members.length).toBe(3);
    for (const member of members) {
      const dest = symlinkDestination("tf-autobuilder", member);
      const info = await getJson<FList & { size: number }>(`/api/flist/${dest.repo}/${dest.name}/light`);
      expect(info.md5).toMatch(/^[0-9a-f]{32}$/);
      expect(Number.isInteger(info.updated)).toBe(true);

      const download = await fetchHub(`/${dest.repo}/${dest.name}`, { redirect: "manual" });
      expect(download.status).toBe(200);
      const bytes = new Uint8Array(await download.arrayBuffer());
      expect(bytes.length).toBe(info.size);
      const md5 = await (await fetchHub(`/${dest.repo}/${dest.name}.md5`)).text();
      expect(await md5Hex(bytes)).toBe(info.md5);
      expect(md5.trim()).toBe(info.md5);

      // 0-fs meta.Unpack: only regular top-level members, and the flist database among them.
      const tar = tarMembers(await gunzip(bytes));
      const files = tar.filter((m) => m.type === "0" || m.type === "\0").map((m) => m.name.replace(/^\.\//, ""));
      expect(files).toContain("flistdb.sqlite3");
      for (const f of files) expect(f.includes("/")).toBe(false);
    }
  });

  it("Regular.Files: /api/flist/<repo>/<name> gives content[].path/size and integer counters", async () => {
    const contents = await getJson<FindListing>("/api/flist/tf-autobuilder/zos:v3.1.0.flist");
    expect(contents).toEqual(env.TEST_FIXTURES.main!.find);
    for (const key of ["regular", "symlink", "directory", "special", "failure", "fullsize"] as const) {
      expect(Number.isInteger(contents[key])).toBe(true);
    }
  });

  it("names keep `:` and resolve through a same-repository link", async () => {
    const info = await getJson<FList>("/api/flist/tf-autobuilder/zos:latest/light");
    expect(info).toMatchObject({ type: "symlink", target: "zos:v3.1.0.flist" });
    expect(info.md5).toBe((await getJson<FList>("/api/flist/tf-autobuilder/zos:v3.1.0/light")).md5);
  });
});
