/**
 * Download routes (docs/compatibility.md §3.1): `/<repo>/<name>.flist`, `.flist.md5`, `.txt`, `.json` and
 * `/<repo>/tags/<tag>/<name>.flist`. Registered last: the `/api/...` and `/internal/...` routes win.
 */
import { Hono, type Context } from "hono";
import { publicUrl, storageUrl } from "../../config";
import type { AppEnv } from "../../env";
import { FLIST_SUFFIX, flistNameSchema, nameSchema } from "../../names";
import { HubError } from "../../http/errors";
import { param } from "../../http/params";
import { CACHE_NAMED, serveFlist } from "./serve-flist";
import { catalogStore } from "../store/d1-r2";
import { requireRepository, resolveFlist } from "../read";
import type { BlobRow } from "../store/rows";
import { checked } from "../../http/validate";
import { edgeValue } from "../../edge/read";
import { edgeKeys } from "../../edge/keys";
import { countDownload, isWholeDownload } from "../../counts/record";

export const downloads = new Hono<AppEnv>();

/** `<name>` part of a file name: the suffix removed, then normalised (`a.flist.flist` serves `a.flist`). */
function flistFrom(base: string): string {
  return checked(flistNameSchema, base, "name");
}

const MD5_SUFFIX = ".flist.md5";

/** What a named download resolves to: the blob, and the regular entry at the end of its links (counted). */
interface Resolution {
  blob: BlobRow;
  repository: string;
  name: string;
  updated: number;
}

/** `<repo>/<name>` resolved through the edge cache: a hit costs no D1 query (edge/read.ts). */
function resolution(c: Context<AppEnv>, repo: string, name: string): Promise<Resolution> {
  return edgeValue(c, edgeKeys.flist(c.env, repo, name), async () => {
    const { blob, file } = await resolveFlist(catalogStore(c.env), repo, name);
    return { blob, repository: file.repository, name: file.name, updated: file.updated };
  });
}

/** Serves the bytes and counts a whole download (counts/record.ts: after the answer, never in its way). */
async function download(c: Context<AppEnv>, blob: BlobRow, counted: { repository: string; name: string }, lastModified: number) {
  const res = await serveFlist(c, blob, { lastModified, cacheControl: CACHE_NAMED });
  if (await isWholeDownload(c, res.status)) countDownload(c, counted.repository, counted.name);
  return res;
}

downloads.get("/:repo/:file", async (c) => {
  const repo = param(c, "repo", nameSchema);
  const file = c.req.param("file");
  const store = catalogStore(c.env);

  if (file.endsWith(MD5_SUFFIX)) {
    // zos names its mounts after this value and Terraform pins it: the md5 stored at publish time.
    const { blob } = await resolution(c, repo, flistFrom(file.slice(0, -MD5_SUFFIX.length)));
    return c.text(`${blob.md5}\n`, 200, { "Cache-Control": CACHE_NAMED, "Content-Type": "text/plain; charset=utf-8" });
  }
  if (file.endsWith(FLIST_SUFFIX)) {
    const resolved = await resolution(c, repo, flistFrom(file.slice(0, -FLIST_SUFFIX.length)));
    return download(c, resolved.blob, resolved, resolved.updated);
  }
  const info = /^(.+)\.(txt|json)$/.exec(file);
  if (info) {
    const name = flistFrom(info[1]!);
    const { blob } = await resolveFlist(store, repo, name);
    const source = `${publicUrl(c.env, c.req.url)}/${repo}/${name}`;
    const storage = storageUrl(c.env);
    if (info[2] === "json") {
      // The original meant to answer this object but always failed with a 500 (docs/compatibility.md §6.9).
      return c.json({ flist: name, uploader: repo, source, storage, checksum: blob.md5 });
    }
    return c.text(
      `File:     ${name}\nUploader: ${repo}\nSource:   ${source}\nStorage:  ${storage}\nChecksum: ${blob.md5}\n`,
      200,
      { "Content-Type": "text/plain; charset=utf-8" },
    );
  }
  throw new HubError(404, "not found");
});

downloads.get("/:repo/tags/:tag/:file", async (c) => {
  const repo = param(c, "repo", nameSchema);
  const tag = param(c, "tag", nameSchema);
  const file = c.req.param("file");
  if (!file.endsWith(FLIST_SUFFIX)) throw new HubError(404, "not found");
  const name = flistFrom(file.slice(0, -FLIST_SUFFIX.length));
  const store = catalogStore(c.env);
  await requireRepository(store, repo);
  const member = await store.tagMember(repo, tag, name);
  if (!member) throw new HubError(404, "source not found");
  const chain = await store.followChain(member.target_repository, member.target_name);
  const regular = chain.entries.at(-1);
  if (!chain.blob || !regular) throw new HubError(404, "source not found");
  return download(c, chain.blob, regular, regular.updated);
});
