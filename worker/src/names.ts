/**
 * Naming rules of the catalog (docs/compatibility.md §2 plus docs/names.md): `foo` and `foo.flist` address the same flist;
 * links and flists are stored with the `.flist` suffix, taglinks and tags without it. The name rule itself is
 * protocol/name-rule.ts (one rule for every kind of name, shared with the converter); this module turns it into
 * the Worker's 400s and zod schemas. Every name coming from a URL, a header, a form or a JSON body goes through
 * here, so a bad one is a clear 400 before anything is read or written.
 */
import { z } from "zod";
import {
  RESERVED_REPOSITORY_NAMES,
  nameProblem,
  quoteName,
  refusal,
  repositoryProblem,
  textProblem,
} from "../../protocol/name-rule";
import { HubError } from "./http/errors";

export { RESERVED_REPOSITORY_NAMES, nameProblem, quoteName, refusal, repositoryProblem, textProblem };
export const FLIST_SUFFIX = ".flist";

/** Why `value` cannot be a flist or link name once `.flist` is added, or null. */
function flistNameProblem(value: string): string | null {
  const problem = nameProblem(value);
  if (problem) return problem;
  const full = withFlist(value);
  if (full === FLIST_SUFFIX) return "it is only the .flist suffix";
  return nameProblem(full);
}

function withFlist(value: string): string {
  return value.endsWith(FLIST_SUFFIX) ? value : value + FLIST_SUFFIX;
}

function refuse(value: string, what: string, problem: string): never {
  throw new HubError(400, `invalid ${what}: ${refusal(value, problem)}`);
}

/** Validates a plain name (tag, taglink, user, image name…); throws a 400 naming the parameter and the rule. */
export function checkName(value: string, what: string): string {
  const problem = nameProblem(value);
  if (problem) refuse(value, what, problem);
  return value;
}

/** `foo` → `foo.flist`, `foo.flist` → `foo.flist`; the result is validated (and `.flist` alone refused). */
export function flistName(value: string, what: string): string {
  const problem = flistNameProblem(value);
  if (problem) refuse(value, what, problem);
  return withFlist(value);
}

export function stripFlist(name: string): string {
  return name.endsWith(FLIST_SUFFIX) ? name.slice(0, -FLIST_SUFFIX.length) : name;
}

/**
 * The original's `clean_symlink`: `../u/x.flist` → `u/x.flist`, `../u/.tag-v1` → `u/tags/v1`. Listings show
 * this form; `/light` shows the raw one.
 */
export function cleanTarget(raw: string): string {
  return raw.replaceAll("../", "").replaceAll(".tag-", "tags/");
}

/** Raw link targets exactly as the original created them (relative POSIX symlinks). */
export const rawTarget = {
  link: (name: string) => name,
  crosslink: (repository: string, name: string) => `../${repository}/${name}`,
  taglink: (repository: string, tag: string) => `../${repository}/.tag-${tag}`,
  tagMember: (repository: string, name: string) => `../../${repository}/${name}`,
};

/** Sort key of an entry in a repository listing: tags sort as their `.tag-<name>` directory did. */
export function tagDirName(tag: string): string {
  return `.tag-${tag}`;
}

/** Code-point order (Python's `sorted` on str), which differs from JS's UTF-16 order for astral characters. */
export function compareNames(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}

// ---- zod schemas for URL parameters (http/params.ts adds "invalid <param>: ") ------------------------

function ruleSchema(problemOf: (value: string) => string | null) {
  return z.string().superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem) ctx.addIssue({ code: "custom", message: refusal(value, problem) });
  });
}

/** A plain name (tag, taglink, user), or a repository that is only read. */
export const nameSchema = ruleSchema(nameProblem);

/** A repository that is written to or acted as (reserved route words refused too). */
export const repositorySchema = ruleSchema(repositoryProblem);

/** A flist or link name: `foo` and `foo.flist` both become `foo.flist`. */
export const flistNameSchema = ruleSchema(flistNameProblem).transform(withFlist);
