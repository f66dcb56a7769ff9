/** The converter's environment configuration: defaults, and one clear message listing every problem. */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/service/config.ts";

const valid = {
  HUB_URL: "http://127.0.0.1:8787/",
  HUB_CHUNK_STORE: "zdb://:pw-pw-pw@10.0.0.5:9900/hub",
  HUB_BACKEND: "hub.grid.tf:9900/public",
  INTERNAL_SECRET: "0123456789abcdef-secret",
};

describe("loadConfig", () => {
  it("reads the protocol's variables with their defaults", () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({
      hubUrl: "http://127.0.0.1:8787",
      chunkStore: valid.HUB_CHUNK_STORE,
      storeDescription: "zdb://:***@10.0.0.5:9900/hub",
      backend: { host: "hub.grid.tf", port: 9900, namespace: "public" },
      port: 8788,
      host: "0.0.0.0",
      concurrency: 2,
      queueLimit: 64,
      threads: undefined,
    });
    expect(config.caps).toEqual({});
    expect(config.testInputBytesPerSecond).toBeUndefined();
    expect(
      loadConfig({
        ...valid,
        CONVERTER_PORT: "9000",
        CONVERTER_CONCURRENCY: "4",
        CONVERTER_MAX_EXPANDED_BYTES: "1048576",
        CONVERTER_MAX_ENTRIES: "10",
        CONVERTER_MAX_DEPTH: "32",
        CONVERTER_MAX_NAME_BYTES: "100",
        CONVERTER_MAX_PATH_BYTES: "1024",
        CONVERTER_TEST_INPUT_BYTES_PER_SECOND: "400000",
      }),
    ).toMatchObject({
      port: 9000,
      concurrency: 4,
      caps: { maxExpandedBytes: 1048576, maxEntries: 10, maxDepth: 32, maxNameBytes: 100, maxPathBytes: 1024 },
      testInputBytesPerSecond: 400000,
    });
    expect(() => loadConfig({ ...valid, CONVERTER_MAX_DEPTH: "0" })).toThrow(/CONVERTER_MAX_DEPTH must be a positive integer/);
  });

  it("lists every problem at once, without echoing secrets", () => {
    let error: unknown;
    try {
      loadConfig({ HUB_URL: "ftp://x", HUB_CHUNK_STORE: "s3://:topsecret@bucket", HUB_BACKEND: "no-port", INTERNAL_SECRET: "short", CONVERTER_PORT: "70000" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/HUB_URL must be an http\(s\) URL/);
    expect(message).toMatch(/HUB_CHUNK_STORE: unsupported chunk store URL "s3:\/\/:\*\*\*@bucket"/);
    expect(message).toMatch(/HUB_BACKEND: invalid backend 'no-port'/);
    expect(message).toMatch(/INTERNAL_SECRET must be at least 16 characters/);
    expect(message).toMatch(/CONVERTER_PORT must be a port number/);
    expect(message).not.toContain("topsecret");
    expect(message).not.toContain("short");
  });

  it("names missing variables", () => {
    expect(() => loadConfig({})).toThrow(/HUB_URL is required[\s\S]*HUB_CHUNK_STORE is required[\s\S]*HUB_BACKEND is required[\s\S]*INTERNAL_SECRET is required/);
    // An empty value counts as unset.
    expect(() => loadConfig({ ...valid, INTERNAL_SECRET: "" })).toThrow(/INTERNAL_SECRET is required/);
  });
});
