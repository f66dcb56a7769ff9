/**
 * Replays zosbase flistd (pkg/flist/flist.go `FlistHash`, `downloadFlist`, `downloadInNamespace`;
 * docs/clients.md §2.2, §5 tests 5–6): one pre-dialed connection, keep-alive off, so the first answer must
 * be the final one: a direct 200 (no redirect to follow, no retry), `.md5` of 32 lowercase hex, 404 when missing.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { fetchHub, fixtureBytes, md5Hex, migrate, publish } from "./support/hub";

beforeAll(async () => {
  await migrate();
  await publish("tf-official-apps", "threefolddev-k3s-v1.31.0", "main");
});

/** One request, no redirect following, connection closed after it (flistd's transport). */
function singleShot(path: string): Promise<Response> {
  return fetchHub(path, { redirect: "manual", headers: { Connection: "close" } });
}

describe("flistd", () => {
  it("FlistHash: <url>.md5 is 200 with 32 lowercase hex once trimmed", async () => {
    const res = await singleShot("/tf-official-apps/threefolddev-k3s-v1.31.0.flist.md5");
    expect(res.status).toBe(200);
    expect(res.headers.get("Location")).toBeNull();
    expect((await res.text()).trim()).toMatch(/^[0-9a-f]{32}$/);
  });

  it("downloadFlist: the .flist URL is a direct 200 whose md5 is the .md5 answer, stable over requests", async () => {
    const hash = (await (await singleShot("/tf-official-apps/threefolddev-k3s-v1.31.0.flist.md5")).text()).trim();
    for (let i = 0; i < 3; i++) {
      const res = await singleShot("/tf-official-apps/threefolddev-k3s-v1.31.0.flist");
      expect(res.status).toBe(200);
      expect(res.headers.get("Location")).toBeNull();
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(bytes).toEqual(fixtureBytes("main"));
      expect(await md5Hex(bytes)).toBe(hash);
    }
  });

  it("a missing flist is a 404 (ErrHashNotSupported), not a 200 with an HTML page", async () => {
    for (const path of ["/tf-official-apps/nope.flist.md5", "/tf-official-apps/nope.flist"]) {
      const res = await singleShot(path);
      expect(res.status).toBe(404);
      expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    }
  });
});
