/**
 * `GET /api/flist/<repo>/<name>/tree?path=/dir&offset=0&limit=200` — one directory level of a flist's contents;
 * `?q=<text>` — paths containing the text. JSON, public like the contents listing it is derived from. `typed`
 * says whether the types are the publisher's (directory, file, symlink with its target, special) or derived from
 * the paths for a flist published before they were recorded (index.ts).
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../env";
import { errorText, log } from "../../observe/log";
import { flistNameSchema, nameSchema } from "../../names";
import { HubError } from "../../http/errors";
import { param } from "../../http/params";
import { resolveFlist } from "../../catalog/read";
import { type EntryType, filterPaths, normaliseDir, readDirectory, treeIndex } from "./index";
import { catalogStore } from "../../catalog/store/d1-r2";
import { invalidInput } from "../../http/validate";

export const treeRoutes = new Hono<AppEnv>();

const TYPE_NAMES: Record<EntryType, "directory" | "file" | "symlink" | "special"> = {
  d: "directory",
  f: "file",
  l: "symlink",
  s: "special",
};

export const querySchema = z.object({
  path: z.string().max(4096).default("/"),
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  q: z.string().trim().max(200).optional(),
});

treeRoutes.get("/api/flist/:repo/:name/tree", async (c) => {
  const repo = param(c, "repo", nameSchema);
  const name = param(c, "name", flistNameSchema);
  const parsed = querySchema.safeParse(c.req.query());
  if (!parsed.success) throw invalidInput(parsed.error, { field: "query" });
  const { path, offset, limit, q } = parsed.data;
  const { blob } = await resolveFlist(catalogStore(c.env), repo, name);
  // The name may be republished or restored at any time: browsers revalidate (the work behind is cheap).
  c.header("Cache-Control", "no-cache");

  if (q) {
    const { matches, truncated, typed } = await filterPaths(catalogStore(c.env), blob, q, limit);
    return c.json({ q, typed, matches: matches.map(({ type, ...m }) => (type ? { ...m, type: TYPE_NAMES[type] } : m)), truncated });
  }

  const defer = (work: Promise<unknown>) => {
    try {
      c.executionCtx.waitUntil(work.catch((err) => log.error("tree index write failed", { error: errorText(err) })));
    } catch {
      void work.catch(() => undefined);
    }
  };
  const index = await treeIndex(c.env.FLISTS, catalogStore(c.env), blob, defer);
  const dir = normaliseDir(path);
  const children = await readDirectory(c.env.FLISTS, blob, index, dir);
  if (!children) throw new HubError(404, "no such directory");
  const base = dir === "/" ? "" : dir;
  return c.json({
    path: dir,
    typed: index.typed,
    total: children.length,
    offset,
    limit,
    entries: children.slice(offset, offset + limit).map(([entryName, size, count, type, target]) => ({
      name: entryName,
      path: `${base}/${entryName}`,
      type: TYPE_NAMES[type],
      size,
      ...(type === "d" ? { children: count } : {}),
      ...(type === "l" ? { target: target ?? "" } : {}),
    })),
  });
});
