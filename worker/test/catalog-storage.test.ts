/** Storage-level guarantees the services rely on: batches are all-or-nothing, guards re-check inside them. */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { getRepository } from "../src/storage/catalog-reads";
import { clearGuards, expectNoRow, expectRow, isGuardFailure, touchRepository } from "../src/storage/catalog-writes";
import { migrate } from "./support/hub";

beforeAll(migrate);

describe("batch guards", () => {
  it("a false guard fails the batch and rolls back the statements before it", async () => {
    const db = env.DB;
    let error: unknown;
    try {
      await db.batch([
        touchRepository(db, "guarded", 1),
        expectRow(db, "SELECT 1 FROM entries WHERE repository = ?1", "no-such-repo"),
        clearGuards(db),
      ]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeDefined();
    expect(isGuardFailure(error)).toBe(true);
    expect(await getRepository(db, "guarded")).toBeNull();
  });

  it("true guards let the batch commit and leave no guard rows", async () => {
    const db = env.DB;
    await db.batch([
      touchRepository(db, "guarded2", 1),
      expectNoRow(db, "SELECT 1 FROM entries WHERE repository = ?1", "no-such-repo"),
      expectRow(db, "SELECT 1 FROM repositories WHERE name = ?1", "guarded2"),
      clearGuards(db),
    ]);
    expect(await getRepository(db, "guarded2")).toMatchObject({ name: "guarded2" });
    expect((await db.prepare("SELECT COUNT(*) AS n FROM batch_guards").first<{ n: number }>())!.n).toBe(0);
  });
});
