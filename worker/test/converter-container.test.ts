/** jobs/converter-container.ts: the production container class and the environment it gives the converter. */
import { env } from "cloudflare:test";
import { Container } from "@cloudflare/containers";
import { describe, expect, it } from "vitest";
import type { Env } from "../src/env";
import * as entry from "../src/index";
import { CONVERTER_CONTAINER_PORT, Converter, converterEnvVars } from "../src/jobs/converter-container";

describe("the converter container", () => {
  it("is a Container class exported by the Worker's entry (what wrangler.production.toml binds)", () => {
    expect(entry.Converter).toBe(Converter);
    expect(Object.getPrototypeOf(Converter)).toBe(Container);
  });

  it("hands the converter its configuration from the Worker's vars and secrets, nothing else", () => {
    const production = {
      ...env,
      HUB_PUBLIC_URL: "https://hub.example.org/",
      HUB_BACKEND: "zdb.example.org:9900/hub",
      HUB_CHUNK_STORE: "zdb://:store-password@10.0.0.5:9900/hub",
      INTERNAL_SECRET: "internal-secret-0123456789",
      CONVERTER_THREADS: "2",
      HUB_REGISTRY_DENY: "",
      HUB_OUTBOUND_ALLOW: "10.0.0.0/8",
      HUB_LOG_LEVEL: "debug",
    } as Env;
    expect(converterEnvVars(production)).toEqual({
      CONVERTER_HOST: "0.0.0.0",
      CONVERTER_PORT: String(CONVERTER_CONTAINER_PORT),
      HUB_URL: "https://hub.example.org",
      HUB_BACKEND: "zdb.example.org:9900/hub",
      HUB_CHUNK_STORE: "zdb://:store-password@10.0.0.5:9900/hub",
      INTERNAL_SECRET: "internal-secret-0123456789",
      CONVERTER_THREADS: "2",
      HUB_OUTBOUND_ALLOW: "10.0.0.0/8",
      HUB_LOG_LEVEL: "debug",
    });
    // Not the Worker's own secrets or bindings.
    expect(Object.keys(converterEnvVars({ ...env, HUB_SIGNING_SEED: "a".repeat(64) } as Env))).not.toContain("HUB_SIGNING_SEED");
  });
});
