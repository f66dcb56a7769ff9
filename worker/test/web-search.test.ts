/**
 * Search (`/search` page, `/api/search` JSON): repositories and flist names by substring, readmes through the
 * FTS5 index that a trigger fills when a blob is published (migrations/0005_search.sql); escaping of results.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ftsQuery } from "../src/web/search/query";
import { json, me, migrate, publish } from "./support/hub";
import { page, text } from "./web-support";

beforeAll(async () => {
  await migrate();
  await publish("searchers", "ubuntu-noble", "main", {
    metadata: { readme: { readme: "# Noble\n\nAn Ubuntu image with the zebrafish toolkit preinstalled." } },
  });
  await publish("searchers", "plain-string-readme", "overlay", { metadata: { readme: "Quokka handbook, plain text" } });
  const bold = await publish("other-team", "<b>bold", "edited", { metadata: { readme: { readme: "zebrafish <i>again</i>" } } });
  expect(bold.status, JSON.stringify(bold.body)).toBe(200);
  await me("searchers", "/ubuntu-noble/link/ubuntu-latest");
});

describe("search", () => {
  it("finds flists by name substring, links included", async () => {
    const { body } = await json("/api/search?q=ubuntu");
    const names = body.names.map((h: any) => `${h.repository}/${h.name}`).sort();
    expect(names).toEqual(["searchers/ubuntu-latest.flist", "searchers/ubuntu-noble.flist"]);
    expect(body.names.find((h: any) => h.name === "ubuntu-latest.flist").kind).toBe("symlink");
  });

  it("finds repositories, and repo/name paths", async () => {
    const { body } = await json("/api/search?q=other-te");
    expect(body.repositories.map((r: any) => r.name)).toEqual(["other-team"]);
    const path = await json("/api/search?q=searchers/ubuntu-n");
    expect(path.body.names.map((h: any) => h.name)).toEqual(["ubuntu-noble.flist"]);
  });

  it("finds words of readmes (object and plain-string readmes), by prefix, with a snippet", async () => {
    const { body } = await json("/api/search?q=zebraf");
    const hits = body.readmes.map((h: any) => `${h.repository}/${h.name}`).sort();
    expect(hits).toEqual(["other-team/<b>bold.flist", "searchers/ubuntu-noble.flist"]);
    expect(body.readmes.find((h: any) => h.repository === "searchers").snippet).toContain("zebrafish toolkit");
    const plain = await json("/api/search?q=quokka");
    expect(plain.body.readmes.map((h: any) => h.name)).toEqual(["plain-string-readme.flist"]);
    // Links are not readme hits of their own (the flist they point at is).
    expect(body.readmes.some((h: any) => h.name === "ubuntu-latest.flist")).toBe(false);
  });

  it("indexes each distinct blob once and never goes stale: a deleted flist is no longer found", async () => {
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM search_readmes").first<{ n: number }>();
    expect(rows!.n).toBeGreaterThanOrEqual(3);
    await publish("searchers", "temp", "merged", { metadata: { readme: { readme: "ephemeral capybara" } } });
    expect((await json("/api/search?q=capybara")).body.readmes).toHaveLength(1);
    await me("searchers", "/temp", "DELETE");
    expect((await json("/api/search?q=capybara")).body.readmes).toHaveLength(0);
  });

  it("takes FTS and LIKE syntax in the input literally", async () => {
    expect(ftsQuery('zebra" OR x*')).toBe('"zebra""" "OR" "x*"*');
    expect(ftsQuery("  ")).toBeNull();
    for (const q of ['"', "NEAR(", "a OR", "%", "_", "\\", "*", "-x", "col:val"]) {
      const { status } = await json(`/api/search?q=${encodeURIComponent(q)}`);
      expect(status, q).toBe(200);
    }
    expect((await json("/api/search?q=%25")).body.names).toEqual([]);
  });

  it("renders the results page with escaped names and marked snippets", async () => {
    const { status, html } = await page("/search?q=zebrafish");
    expect(status).toBe(200);
    expect(html).toContain("In readmes");
    expect(html).not.toContain("<b>bold");
    expect(html).not.toContain("<i>again</i>");
    expect(html).toContain("&lt;b&gt;bold.flist");
    expect(html).toContain("<mark>zebrafish</mark>");
    expect(html).toContain('href="/searchers/ubuntu-noble.flist.html"');
    const none = await page("/search?q=nothing-matches-this");
    expect(text(none.html)).toContain("Nothing matches “nothing-matches-this”.");
    const empty = await page("/search");
    expect(empty.status).toBe(200);
  });
});
