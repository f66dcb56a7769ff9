/**
 * Replays zos `bootstrap/bootstrap/src/hub.rs` (docs/clients.md §2.4, §5 tests 1–3): health probe on
 * `/api/flist`, strict serde of `/api/flist/<repo>` entries, `list_tag` (404 ⇒ None), download `<hub>/<target>`.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { fetchHub, HUB, md5Hex, migrate } from "./support/hub";
import { RUN_MODES, seedZosCatalog } from "./support/zos-catalog";

beforeAll(async () => {
  await migrate();
  await seedZosCatalog();
});

/** serde `Flist { type: enum, updated: u64 (required), md5: String #[serde(default)], name: String, target: Option<String> }`. */
function parseFlist(value: unknown): { type: string; updated: number; name: string; target?: string | null; md5?: string } {
  const v = value as Record<string, unknown>;
  if (!["regular", "symlink", "tag", "taglink"].includes(v.type as string)) throw new Error(`bad type ${String(v.type)}`);
  if (typeof v.updated !== "number" || !Number.isInteger(v.updated) || v.updated < 0) throw new Error("updated is not a u64");
  if (typeof v.name !== "string") throw new Error("name is not a string");
  if (!(v.target === undefined || v.target === null || typeof v.target === "string")) throw new Error("bad target");
  if (!(v.md5 === undefined || typeof v.md5 === "string")) throw new Error("bad md5");
  return v as never;
}

describe("zos bootstrap", () => {
  it("health probe: GET /api/flist is 2xx and a string[] of repo/file", async () => {
    const started = Date.now();
    const res = await fetchHub("/api/flist");
    expect(res.ok).toBe(true);
    const body = (await res.json()) as unknown[];
    expect(Date.now() - started).toBeLessThan(30_000);
    for (const s of body) expect(s).toMatch(/^[^/]+\/[^/]+$/);
    expect(body).toContain("tf-zos/production");
  });

  it("list(): every entry of /api/flist/tf-zos and /api/flist/tf-autobuilder parses (integer updated)", async () => {
    for (const repo of ["tf-zos", "tf-autobuilder"]) {
      const res = await fetchHub(`/api/flist/${repo}`);
      expect(res.status).toBe(200);
      const raw = await res.text();
      // Integers in the JSON text itself (a float like 1.7e9 or "123" would break serde's u64).
      expect(raw).not.toMatch(/"updated":\s*("|\d+\.\d)/);
      const entries = (JSON.parse(raw) as unknown[]).map(parseFlist);
      expect(entries.length).toBeGreaterThan(0);
    }
  });

  it("list_tag(): taglink target → tag listing → download <hub>/<target>", async () => {
    const entries = ((await (await fetchHub("/api/flist/tf-zos")).json()) as unknown[]).map(parseFlist);
    for (const mode of RUN_MODES) {
      const taglink = entries.find((e) => e.name === mode && e.type === "taglink");
      expect(taglink, mode).toBeDefined();
      const [repo, tags, tag] = taglink!.target!.split("/");
      expect(tags).toBe("tags");
      const list = await fetchHub(`/api/flist/${repo}/tags/${tag}`);
      expect(list.status).toBe(200);
      const members = ((await list.json()) as unknown[]).map(parseFlist);
      expect(members.map((m) => m.name).sort()).toEqual(["bootstrap.flist", "zos-latest.flist", "zos.flist"]);
      for (const m of members) {
        expect(m.type).toBe("symlink");
        expect(m.target!.split("/")).toHaveLength(2);
        const download = await fetchHub(`/${m.target}`);
        expect(download.status, m.target!).toBe(200);
        await download.arrayBuffer();
      }
    }
  });

  it("list_tag() of a missing tag is a 404 (mapped to None)", async () => {
    const res = await fetchHub("/api/flist/tf-autobuilder/tags/v0.0.0");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ status: "error" });
  });

  it("get(): /light of a flist, then the download matches its md5", async () => {
    const light = (await (await fetchHub("/api/flist/tf-autobuilder/bootstrap-v3.1.0.flist/light")).json()) as { md5: string; updated: number };
    expect(Number.isInteger(light.updated)).toBe(true);
    const bytes = await (await fetchHub(`/tf-autobuilder/bootstrap-v3.1.0.flist`)).arrayBuffer();
    expect(await md5Hex(new Uint8Array(bytes))).toBe(light.md5);
    expect(HUB).toMatch(/^http/);
  });
});
