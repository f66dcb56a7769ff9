import { beforeAll, expect, it } from "vitest";
import { json, migrate, publish } from "./support/hub";

beforeAll(migrate);

it("publishes and lists", async () => {
  const p = await publish("alice", "main");
  expect(p.status, JSON.stringify(p.body)).toBe(200);
  const l = await json("/api/flist/alice");
  expect(l.body).toEqual([{ name: "main.flist", size: expect.any(String), updated: expect.any(Number), type: "regular" }]);
});
