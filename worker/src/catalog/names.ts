/**
 * Naming rules of the catalog (hub-api.md §3 plus the DESIGN.md fix): `foo` and `foo.flist` address the
 * same flist; links and flists are stored with the `.flist` suffix, taglinks and tags without it.
 * Every name coming from a URL goes through here, so a bad one is a clear 400 before anything is read.
 */
import { HubError } from "../http/errors";

export const FLIST_SUFFIX = ".flist";
export const MAX_NAME_BYTES = 255;

const encoder = new TextEncoder();
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why `value` is not an acceptable name, or null when it is. */
export function nameProblem(value: string): string | null {
  if (value.length === 0) return "empty name";
  if (value === "." || value === "..") return "name cannot be . or ..";
  if (value.includes("/")) return "name cannot contain /";
  if (CONTROL.test(value)) return "name cannot contain control characters";
  if (encoder.encode(value).length > MAX_NAME_BYTES) return `name longer than ${MAX_NAME_BYTES} bytes`;
  return null;
}

/** Validates a plain name (repository, tag, taglink); throws a 400 naming the parameter. */
export function checkName(value: string, what: string): string {
  const problem = nameProblem(value);
  if (problem) throw new HubError(400, `invalid ${what}: ${problem}`);
  return value;
}

/** `foo` → `foo.flist`, `foo.flist` → `foo.flist`; the result is validated (and `.flist` alone refused). */
export function flistName(value: string, what: string): string {
  checkName(value, what);
  const full = value.endsWith(FLIST_SUFFIX) ? value : value + FLIST_SUFFIX;
  if (full === FLIST_SUFFIX) throw new HubError(400, `invalid ${what}: empty name`);
  return checkName(full, what);
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

// ---- zod schemas for URL parameters ----------------------------------------------------------------
import { z } from "zod";

/** A plain name (repository, tag, taglink, user). */
export const nameSchema = z.string().superRefine((value, ctx) => {
  const problem = nameProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A flist or link name: `foo` and `foo.flist` both become `foo.flist`. */
export const flistNameSchema = nameSchema
  .transform((value) => (value.endsWith(FLIST_SUFFIX) ? value : value + FLIST_SUFFIX))
  .superRefine((value, ctx) => {
    if (value === FLIST_SUFFIX) ctx.addIssue({ code: "custom", message: "empty name" });
    const problem = nameProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
