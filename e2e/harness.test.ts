/**
 * The harness's own controls, which the fault tests rely on: the converter and the chunk store can be stopped
 * and started again on the same addresses, and the Worker's scheduled handler can be fired.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../converter/src/store/index.ts";
import { type Stack, startStack } from "./support/stack.ts";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ converterEnv: { CONVERTER_CONCURRENCY: "1" } });
});

afterAll(async () => {
  await stack?.stop();
});

const health = async () => {
  try {
    return (await fetch(`${stack.converterUrl}/health`)).status;
  } catch {
    return 0;
  }
};

describe("stack controls", () => {
  it("kills and restarts the converter on the same port", async () => {
    const pid = stack.converterPid();
    expect(await health()).toBe(200);
    await stack.stopConverter("SIGKILL");
    expect(await health()).toBe(0);
    expect(() => process.kill(pid, 0)).toThrow();
    await stack.startConverter();
    expect(stack.converterPid()).not.toBe(pid);
    expect(await health()).toBe(200);
  });

  it("stops and restarts the chunk store on the same port", async () => {
    await stack.stopStore();
    await expect(openStore(stack.storeUrl, { connectTimeoutMs: 500 })).rejects.toThrow(/chunk store redis:\/\/127\.0\.0\.1/);
    await stack.startStore();
    const store = await openStore(stack.storeUrl);
    await store.close();
  });

  it("fires the Worker's scheduled handler", async () => {
    await stack.triggerScheduled();
  });
});
