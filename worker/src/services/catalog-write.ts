/**
 * Mutations of `/api/flist/me/*` (hub-api.md §5.3 with the DESIGN.md §3 fixes). `me` is the acting repository
 * (`c.var.actor.repository`); every write lands in it only. Names arrive validated and normalised. Each
 * operation checks, then writes all its rows in one D1 batch; an overwritten entry is kept in history.
 */
import { HubError } from "../http/errors";
import { nowSeconds } from "../catalog/format";
import { FLIST_SUFFIX, rawTarget, stripFlist } from "../catalog/names";
import { followChain, getEntry, getRepository, getTag, getTagMember, getVersion } from "../storage/catalog-reads";
import {
  archiveEntry,
  clearGuards,
  deleteEntry,
  expectNoRow,
  expectRow,
  isGuardFailure,
  deleteTagIfEmpty,
  deleteTagMember,
  putEntry,
  putTagMember,
  renameEntry,
  touchRepository,
  touchTag,
} from "../storage/catalog-writes";

const ENTRY_EXISTS = "SELECT 1 FROM entries WHERE repository = ?1 AND name = ?2";
const FLIST_EXISTS = "SELECT 1 FROM entries WHERE repository = ?1 AND name = ?2 AND kind = 'regular'";
const TAG_EXISTS = "SELECT 1 FROM tags WHERE repository = ?1 AND name = ?2";

/**
 * Runs an operation's statements as one transaction. Its guards (expectRow/expectNoRow) repeat the checks
 * made before, so a concurrent change in between makes the whole operation a no-op with a 409.
 */
async function commit(db: D1Database, statements: D1PreparedStatement[]): Promise<void> {
  try {
    await db.batch([...statements, clearGuards(db)]);
  } catch (err) {
    if (isGuardFailure(err)) throw new HubError(409, "the catalog changed during this operation, try again");
    throw err;
  }
}

async function requireRepo(db: D1Database, repository: string, message = "user not found"): Promise<void> {
  if (!(await getRepository(db, repository))) throw new HubError(404, message);
}

/** "exists" as the original: the entry is there, even if it is a dangling link. */
async function requireSource(db: D1Database, repository: string, name: string): Promise<void> {
  if (!(await getEntry(db, repository, name))) throw new HubError(404, "source not found");
}

/** A link may replace a link, never a flist (the original: "link destination is already a file"). */
async function checkLinkDestination(db: D1Database, repository: string, name: string): Promise<void> {
  const existing = await getEntry(db, repository, name);
  if (existing?.kind === "regular") throw new HubError(409, "link destination is already a file");
}

/** GET|POST `/me/<source>/link/<linkname>`: `<linkname>.flist -> <source>.flist` in the same repository. */
export async function link(db: D1Database, me: string, source: string, linkname: string): Promise<void> {
  await requireRepo(db, me);
  await writeSymlink(db, me, linkname, me, source, rawTarget.link(source), "link");
}

/** GET|POST `/me/<linkname>/crosslink/<repo>/<src>`: `<linkname>.flist -> ../<repo>/<src>.flist`. */
export async function crosslink(
  db: D1Database,
  me: string,
  linkname: string,
  repository: string,
  source: string,
): Promise<void> {
  await requireRepo(db, repository, "source repository not found");
  // The acting repository is created if needed (the original answered an HTML 500 here).
  await writeSymlink(db, me, linkname, repository, source, rawTarget.crosslink(repository, source), "crosslink");
}

/**
 * The write shared by link and crosslink: `me/<linkname>` becomes a symlink to `<repository>/<source>` (which
 * must exist), replacing a previous link (archived) but never a flist, in one batch that re-checks both.
 */
async function writeSymlink(
  db: D1Database,
  me: string,
  linkname: string,
  repository: string,
  source: string,
  targetRaw: string,
  reason: "link" | "crosslink",
): Promise<void> {
  await requireSource(db, repository, source);
  await checkLinkDestination(db, me, linkname);
  const now = nowSeconds();
  await commit(db, [
    expectRow(db, ENTRY_EXISTS, repository, source),
    expectNoRow(db, FLIST_EXISTS, me, linkname),
    archiveEntry(db, me, linkname, now, reason),
    putEntry(
      db,
      {
        repository: me,
        name: linkname,
        kind: "symlink",
        targetRepository: repository,
        targetName: source,
        targetRaw,
        updated: now,
        linktime: now,
      },
      now,
    ),
    touchRepository(db, me, now),
  ]);
}

/** GET|POST `/me/<linkname>/crosstag/<repo>/<tag>`: taglink `<linkname> -> ../<repo>/.tag-<tag>`. */
export async function crosstag(
  db: D1Database,
  me: string,
  linkname: string,
  repository: string,
  tag: string,
): Promise<void> {
  if (linkname.endsWith(FLIST_SUFFIX)) throw new HubError(400, "tag symlink cannot ends with .flist");
  if (!(await getTag(db, repository, tag))) throw new HubError(404, "source tag not found");
  if (await getEntry(db, me, linkname + FLIST_SUFFIX)) {
    throw new HubError(409, "there is a .flist file with the same name existing already");
  }
  const now = nowSeconds();
  await commit(db, [
    expectRow(db, TAG_EXISTS, repository, tag),
    expectNoRow(db, ENTRY_EXISTS, me, linkname + FLIST_SUFFIX),
    archiveEntry(db, me, linkname, now, "crosstag"),
    putEntry(
      db,
      {
        repository: me,
        name: linkname,
        kind: "taglink",
        targetRepository: repository,
        targetName: tag,
        targetRaw: rawTarget.taglink(repository, tag),
        updated: now,
        linktime: now,
      },
      now,
    ),
    touchRepository(db, me, now),
  ]);
}

/** GET|POST `/me/<tag>/<linkname>/tag/<repo>/<src>`: adds (or replaces) a member of tag `<tag>` of me. */
export async function tagAdd(
  db: D1Database,
  me: string,
  tag: string,
  linkname: string,
  repository: string,
  source: string,
): Promise<void> {
  await requireRepo(db, repository);
  await requireSource(db, repository, source);
  const now = nowSeconds();
  await commit(db, [
    expectRow(db, ENTRY_EXISTS, repository, source),
    touchRepository(db, me, now),
    touchTag(db, me, tag, now),
    putTagMember(db, { repository: me, tag, name: linkname, targetRepository: repository, targetName: source }, now),
  ]);
}

/**
 * DELETE `/me/<tag>/<linkname>/tag/<repo>/<src>`: removes the member only if it points at `<repo>/<src>`
 * (the original did not check; a dangling member can be removed too). An emptied tag disappears.
 */
export async function tagRemove(
  db: D1Database,
  me: string,
  tag: string,
  linkname: string,
  repository: string,
  source: string,
): Promise<void> {
  const member = await getTagMember(db, me, tag, linkname);
  if (!member || member.target_repository !== repository || member.target_name !== source) {
    throw new HubError(404, "target not found on this tag");
  }
  const now = nowSeconds();
  await commit(db, [
    expectRow(
      db,
      `SELECT 1 FROM tag_members WHERE repository = ?1 AND tag = ?2 AND name = ?3
          AND target_repository = ?4 AND target_name = ?5`,
      me,
      tag,
      linkname,
      repository,
      source,
    ),
    deleteTagMember(db, me, tag, linkname),
    touchTag(db, me, tag, now),
    deleteTagIfEmpty(db, me, tag),
    touchRepository(db, me, now),
  ]);
}

/**
 * GET|POST `/me/<source>/rename/<dest>`: moves an entry (flist or link); an existing `<dest>` is overwritten
 * and kept in history.
 */
export async function rename(db: D1Database, me: string, source: string, dest: string): Promise<void> {
  await requireRepo(db, me);
  await requireSource(db, me, source);
  if (source === dest) return;
  const now = nowSeconds();
  await commit(db, [
    expectRow(db, ENTRY_EXISTS, me, source),
    archiveEntry(db, me, dest, now, "rename"),
    deleteEntry(db, me, dest),
    renameEntry(db, me, source, dest),
    touchRepository(db, me, now),
  ]);
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
  db: D1Database,
  me: string,
  srcRepository: string,
  srcName: string,
  localName: string,
): Promise<PromoteResult> {
  await requireRepo(db, srcRepository);
  const chain = await followChain(db, srcRepository, srcName);
  if (!chain.blob) throw new HubError(404, "source not found");
  const now = nowSeconds();
  await commit(db, [
    archiveEntry(db, me, localName, now, "promote"),
    putEntry(db, { repository: me, name: localName, kind: "regular", blob: chain.blob.sha256, updated: now }, now),
    touchRepository(db, me, now),
  ]);
  return {
    source: { username: srcRepository, filename: srcName },
    destination: { username: me, filename: localName },
  };
}

/**
 * DELETE `/me/<name>`: removes `<name>.flist` (flist or link; links to it then dangle), else the taglink
 * `<name>`. The removed entry stays in history and can be restored.
 */
export async function remove(db: D1Database, me: string, name: string): Promise<void> {
  await requireRepo(db, me);
  let target = name;
  if (!(await getEntry(db, me, target))) {
    const taglink = await getEntry(db, me, stripFlist(name));
    if (!taglink || taglink.kind !== "taglink") throw new HubError(404, "source not found");
    target = taglink.name;
  }
  const now = nowSeconds();
  await commit(db, [
    expectRow(db, ENTRY_EXISTS, me, target),
    archiveEntry(db, me, target, now, "delete"),
    deleteEntry(db, me, target),
    touchRepository(db, me, now),
  ]);
}

/**
 * POST `/me/<name>/restore/<version>`: makes history version `<version>` of `<name>` current again. The
 * entry it replaces (if any) is itself archived first, so a restore can be undone.
 */
export async function restore(
  db: D1Database,
  me: string,
  names: string[],
  version: number,
): Promise<{ name: string; restored: number }> {
  await requireRepo(db, me);
  for (const name of names) {
    const row = await getVersion(db, me, name, version);
    if (!row) continue;
    const now = nowSeconds();
    await commit(db, [
      // The version (and so its blob) is still there: history retention may have removed it since it was read.
      expectRow(db, "SELECT 1 FROM entry_versions WHERE repository = ?1 AND name = ?2 AND version = ?3", me, name, version),
      archiveEntry(db, me, name, now, "restore"),
      putEntry(
        db,
        {
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
        now,
      ),
      touchRepository(db, me, now),
    ]);
    return { name, restored: version };
  }
  throw new HubError(404, "version not found");
}
