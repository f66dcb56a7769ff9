/** Storage-level guarantees the services rely on: a commit is all-or-nothing, its `expect*` steps re-check inside it. */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { catalogStore } from "../src/catalog/store/d1-r2";
import { migrate } from "./support/hub";

beforeAll(migrate);

describe("batch guards", () => {
  it("a false guard fails the batch and rolls back the statements before it", async () => {
    const store = catalogStore(env);
    const outcome = await store.commit(
      [
        { op: "touchRepository", repository: "guarded" },
        { op: "expectEntry", repository: "no-such-repo", name: "x.flist" },
      ],
      1,
    );
    expect(outcome).toBe("conflict");
    expect(await store.repository("guarded")).toBeNull();
  });

  it("true guards let the batch commit and leave no guard rows", async () => {
    const store = catalogStore(env);
    const outcome = await store.commit(
      [
        { op: "touchRepository", repository: "guarded2" },
        { op: "expectNoEntry", repository: "no-such-repo", name: "x.flist" },
        { op: "touchRepository", repository: "guarded2" },
        { op: "expectNoEntry", repository: "guarded2", name: "x.flist", regular: true },
      ],
      1,
    );
    expect(outcome).toBe("committed");
    expect(await store.repository("guarded2")).toMatchObject({ name: "guarded2" });
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM batch_guards").first<{ n: number }>())!.n).toBe(0);
  });
});
