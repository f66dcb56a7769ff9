/**
 * Mutations of `/api/flist/me/*` (docs/compatibility.md §3.4 with the §6 fixes). `me` is the acting repository
 * (`c.var.actor.repository`); every write lands in it only. Names arrive validated and normalised. Each
 * operation checks, then writes all its rows in one transaction; an overwritten entry is kept in history.
 */
import { HubError } from "../http/errors";
import { nowSeconds } from "../time";
import { FLIST_SUFFIX, rawTarget, stripFlist } from "../names";
import type { CatalogChange, CatalogStore } from "./store/catalog-store";

/**
 * Runs an operation's changes as one transaction. Its `expect*` steps repeat the checks made before, so a
 * concurrent change in between makes the whole operation a no-op with a 409.
 */
async function commit(store: CatalogStore, changes: CatalogChange[], now: number): Promise<void> {
  if ((await store.commit(changes, now)) === "conflict") {
    throw new HubError(409, "the catalog changed during this operation, try again");
  }
}

async function requireRepo(store: CatalogStore, repository: string, message = "user not found"): Promise<void> {
  if (!(await store.repository(repository))) throw new HubError(404, message);
}

/** "exists" as the original: the entry is there, even if it is a dangling link. */
async function requireSource(store: CatalogStore, repository: string, name: string): Promise<void> {
  if (!(await store.entry(repository, name))) throw new HubError(404, "source not found");
}

/** A link may replace a link, never a flist (the original: "link destination is already a file"). */
async function checkLinkDestination(store: CatalogStore, repository: string, name: string): Promise<void> {
  const existing = await store.entry(repository, name);
  if (existing?.kind === "regular") throw new HubError(409, "link destination is already a file");
}

/** GET|POST `/me/<source>/link/<linkname>`: `<linkname>.flist -> <source>.flist` in the same repository. */
export async function link(store: CatalogStore, me: string, source: string, linkname: string): Promise<void> {
  await requireRepo(store, me);
  await writeSymlink(store, me, linkname, me, source, rawTarget.link(source), "link");
}

/** GET|POST `/me/<linkname>/crosslink/<repo>/<src>`: `<linkname>.flist -> ../<repo>/<src>.flist`. */
export async function crosslink(
  store: CatalogStore,
  me: string,
  linkname: string,
  repository: string,
  source: string,
): Promise<void> {
  await requireRepo(store, repository, "source repository not found");
  // The acting repository is created if needed (the original answered an HTML 500 here).
  await writeSymlink(store, me, linkname, repository, source, rawTarget.crosslink(repository, source), "crosslink");
}

/**
 * The write shared by link and crosslink: `me/<linkname>` becomes a symlink to `<repository>/<source>` (which
 * must exist), replacing a previous link (archived) but never a flist, in one transaction that re-checks both.
 */
async function writeSymlink(
  store: CatalogStore,
  me: string,
  linkname: string,
  repository: string,
  source: string,
  targetRaw: string,
  reason: "link" | "crosslink",
): Promise<void> {
  await requireSource(store, repository, source);
  await checkLinkDestination(store, me, linkname);
  const now = nowSeconds();
  await commit(
    store,
    [
      { op: "expectEntry", repository, name: source },
      { op: "expectNoEntry", repository: me, name: linkname, regular: true },
      { op: "archive", repository: me, name: linkname, reason },
      {
        op: "putEntry",
        entry: {
          repository: me,
          name: linkname,
          kind: "symlink",
          targetRepository: repository,
          targetName: source,
          targetRaw,
          updated: now,
          linktime: now,
        },
      },
      { op: "touchRepository", repository: me },
    ],
    now,
  );
}

/** GET|POST `/me/<linkname>/crosstag/<repo>/<tag>`: taglink `<linkname> -> ../<repo>/.tag-<tag>`. */
export async function crosstag(
  store: CatalogStore,
  me: string,
  linkname: string,
  repository: string,
  tag: string,
): Promise<void> {
  if (linkname.endsWith(FLIST_SUFFIX)) throw new HubError(400, "tag symlink cannot ends with .flist");
  if (!(await store.tag(repository, tag))) throw new HubError(404, "source tag not found");
  if (await store.entry(me, linkname + FLIST_SUFFIX)) {
    throw new HubError(409, "there is a .flist file with the same name existing already");
  }
  const now = nowSeconds();
  await commit(
    store,
    [
      { op: "expectTag", repository, tag },
      { op: "expectNoEntry", repository: me, name: linkname + FLIST_SUFFIX },
      { op: "archive", repository: me, name: linkname, reason: "crosstag" },
      {
        op: "putEntry",
        entry: {
          repository: me,
          name: linkname,
          kind: "taglink",
          targetRepository: repository,
          targetName: tag,
          targetRaw: rawTarget.taglink(repository, tag),
          updated: now,
          linktime: now,
        },
      },
      { op: "touchRepository", repository: me },
    ],
    now,
  );
}

/** GET|POST `/me/<tag>/<linkname>/tag/<repo>/<src>`: adds (or replaces) a member of tag `<tag>` of me. */
export async function tagAdd(
  store: CatalogStore,
  me: string,
  tag: string,
  linkname: string,
  repository: string,
  source: string,
): Promise<void> {
  await requireRepo(store, repository);
  await requireSource(store, repository, source);
  const now = nowSeconds();
  await commit(
    store,
    [
      { op: "expectEntry", repository, name: source },
      { op: "touchRepository", repository: me },
      { op: "touchTag", repository: me, tag },
      { op: "putTagMember", repository: me, tag, name: linkname, targetRepository: repository, targetName: source },
    ],
    now,
  );
}

/**
 * DELETE `/me/<tag>/<linkname>/tag/<repo>/<src>`: removes the member only if it points at `<repo>/<src>`
 * (the original did not check; a dangling member can be removed too). An emptied tag disappears.
 */
export async function tagRemove(
  store: CatalogStore,
  me: string,
  tag: string,
  linkname: string,
  repository: string,
  source: string,
): Promise<void> {
  const member = await store.tagMember(me, tag, linkname);
  if (!member || member.target_repository !== repository || member.target_name !== source) {
    throw new HubError(404, "target not found on this tag");
  }
  const now = nowSeconds();
  await commit(
    store,
    [
      { op: "expectTagMember", repository: me, tag, name: linkname, targetRepository: repository, targetName: source },
      { op: "deleteTagMember", repository: me, tag, name: linkname },
      { op: "touchTag", repository: me, tag },
      { op: "deleteTagIfEmpty", repository: me, tag },
      { op: "touchRepository", repository: me },
    ],
    now,
  );
}

/**
 * GET|POST `/me/<source>/rename/<dest>`: moves an entry (flist or link); an existing `<dest>` is overwritten
 * and kept in history.
 */
export async function rename(store: CatalogStore, me: string, source: string, dest: string): Promise<void> {
  await requireRepo(store, me);
  await requireSource(store, me, source);
  if (source === dest) return;
  const now = nowSeconds();
  await commit(
    store,
    [
      { op: "expectEntry", repository: me, name: source },
      { op: "archive", repository: me, name: dest, reason: "rename" },
      { op: "deleteEntry", repository: me, name: dest },
      { op: "renameEntry", repository: me, from: source, to: dest },
      { op: "touchRepository", repository: me },
    ],
    now,
  );
}

export interface PromoteResult {
  source: { username: string; filename: string };
  destination: { username: string; filename: string };
}

/**
 * GET|POST `/me/promote/<srcrepo>/<srcfile>/<localname>`: copies the flist (following links) into me as a
 * regular entry. The copy is a new row pointing at the same blob: no byte is copied.
 */
export async function promote(
  store: CatalogStore,
  me: string,
  srcRepository: string,
  srcName: string,
  localName: string,
): Promise<PromoteResult> {
  await requireRepo(store, srcRepository);
  const chain = await store.followChain(srcRepository, srcName);
  if (!chain.blob) throw new HubError(404, "source not found");
  const now = nowSeconds();
  await commit(
    store,
    [
      { op: "archive", repository: me, name: localName, reason: "promote" },
      { op: "putEntry", entry: { repository: me, name: localName, kind: "regular", blob: chain.blob.sha256, updated: now } },
      { op: "touchRepository", repository: me },
    ],
    now,
  );
  return {
    source: { username: srcRepository, filename: srcName },
    destination: { username: me, filename: localName },
  };
}

/**
 * DELETE `/me/<name>`: removes `<name>.flist` (flist or link; links to it then dangle), else the taglink
 * `<name>`. The removed entry stays in history and can be restored.
 */
export async function remove(store: CatalogStore, me: string, name: string): Promise<void> {
  await requireRepo(store, me);
  let target = name;
  if (!(await store.entry(me, target))) {
    const taglink = await store.entry(me, stripFlist(name));
    if (!taglink || taglink.kind !== "taglink") throw new HubError(404, "source not found");
    target = taglink.name;
  }
  const now = nowSeconds();
  await commit(
    store,
    [
      { op: "expectEntry", repository: me, name: target },
      { op: "archive", repository: me, name: target, reason: "delete" },
      { op: "deleteEntry", repository: me, name: target },
      { op: "touchRepository", repository: me },
    ],
    now,
  );
}

/**
 * POST `/me/<name>/restore/<version>`: makes history version `<version>` of `<name>` current again. The
 * entry it replaces (if any) is itself archived first, so a restore can be undone.
 */
export async function restore(
  store: CatalogStore,
  me: string,
  names: string[],
  version: number,
): Promise<{ name: string; restored: number }> {
  await requireRepo(store, me);
  for (const name of names) {
    const row = await store.version(me, name, version);
    if (!row) continue;
    const now = nowSeconds();
    await commit(
      store,
      [
        // The version (and so its blob) is still there: history retention may have removed it since it was read.
        { op: "expectVersion", repository: me, name, version },
        { op: "archive", repository: me, name, reason: "restore" },
        {
          op: "putEntry",
          entry: {
            repository: me,
            name,
            kind: row.kind,
            blob: row.blob,
            targetRepository: row.target_repository,
            targetName: row.target_name,
            targetRaw: row.target_raw,
            updated: now,
            linktime: row.kind === "regular" ? null : now,
          },
        },
        { op: "touchRepository", repository: me },
      ],
      now,
    );
    return { name, restored: version };
  }
  throw new HubError(404, "version not found");
}
