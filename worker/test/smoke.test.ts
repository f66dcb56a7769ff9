import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("answers and sees the fixtures", async () => {
  const res = await exports.default.fetch("http://hub.test/api/health");
  expect(res.status).toBe(200);
  expect(env.TEST_FIXTURES.main?.find.regular).toBe(36);
});
