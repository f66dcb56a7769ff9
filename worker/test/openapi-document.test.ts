/**
 * `GET /api/openapi.json` is a valid OpenAPI 3.1 document (checked by a real validator), public and cacheable, and
 * the reference page renders it in the site's layout (docs/openapi.md).
 */
import { openapiValidator } from "./support/openapi";
import { describe, expect, it } from "vitest";
import { fetchHub } from "./support/hub";

describe("GET /api/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document, public and cacheable", async () => {
    const res = await fetchHub("/api/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(res.headers.get("Cache-Control")).toMatch(/^public, max-age=\d+$/);
    const doc = (await res.json()) as Record<string, any>;
    expect(doc.openapi).toBe("3.1.0");
    const result = await openapiValidator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it("names every operation once, and every token route has the bearer scheme", async () => {
    const doc = (await (await fetchHub("/api/openapi.json")).json()) as Record<string, any>;
    const ops = (Object.values(doc.paths) as Record<string, any>[]).flatMap((item) => Object.values(item));
    const ids = ops.map((op) => op.operationId as string);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.components.securitySchemes.token).toEqual(expect.objectContaining({ type: "http", scheme: "bearer" }));
    for (const op of ops) {
      const needsToken = op.security.length > 0;
      expect(needsToken, op.operationId).toBe("401" in op.responses);
    }
  });

  it("is refused by the validator when it is broken", async () => {
    const doc = (await (await fetchHub("/api/openapi.json")).json()) as Record<string, any>;
    doc.paths["/api/flist/{repo}"].get.parameters[0].in = "body"; // no such location in OpenAPI 3.1
    expect((await openapiValidator().validate(doc)).valid).toBe(false);
  });
});

describe("GET /api/docs", () => {
  it("renders every operation in the site's layout, linked from the footer", async () => {
    const doc = (await (await fetchHub("/api/openapi.json")).json()) as Record<string, any>;
    const res = await fetchHub("/api/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.headers.get("Content-Security-Policy")).toBeTruthy();
    const html = await res.text();
    expect(html).toContain('<footer class="footer">');
    expect(html).toContain('href="/api/docs"');
    expect(html).toContain('href="/api/openapi.json"');
    for (const item of Object.values(doc.paths) as Record<string, any>[]) {
      for (const op of Object.values(item)) expect(html).toContain(`id="${op.operationId}"`);
    }
  });
});
