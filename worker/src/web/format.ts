/** Display helpers shared by the pages: sizes, times, and the site's URLs. */
import { FLIST_SUFFIX } from "../names";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** 1536 → "1.5 KiB". */
/** "1 flist", "2 flists", "1 repository", "3 repositories". */
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export function humanSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 ? String(value) : value >= 100 ? value.toFixed(0) : value.toFixed(1);
  return `${shown} ${UNITS[unit]}`;
}

/** The original listings' `"12.34 KB"` strings back to (approximate) bytes, for sorting and display. */
export function bytesFromKb(size: string): number {
  const match = /^(\d+(?:\.\d+)?) KB$/.exec(size);
  return match ? Math.round(Number(match[1]) * 1024) : 0;
}

/** ISO 8601 of unix seconds (for `<time datetime>`). */
export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** "2026-11-22 01:02 UTC" — the exact time, readable, independent of the reader's locale. */
export function exactTime(seconds: number): string {
  return isoTime(seconds).replace("T", " ").replace(/:\d\d\.\d{3}Z$/, " UTC");
}

/** "3 days ago" relative to `now` (seconds). */
export function relativeTime(seconds: number, now = Math.floor(Date.now() / 1000)): string {
  const delta = Math.max(0, now - seconds);
  const steps: [number, string][] = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [30, "day"],
    [12, "month"],
    [Number.POSITIVE_INFINITY, "year"],
  ];
  let value = delta;
  for (const [size, unit] of steps) {
    if (value < size) {
      const n = Math.floor(value);
      if (unit === "second" && n < 10) return "just now";
      return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
    }
    value /= size;
  }
  return "long ago";
}

const seg = encodeURIComponent;

/** URLs of the site. Names are stored with `.flist` (flists, links) or without (taglinks, tags). */
export const urls = {
  repository: (repo: string) => `/${seg(repo)}`,
  tag: (repo: string, tag: string) => `/${seg(repo)}/tags/${seg(tag)}`,
  /** The flist page: `/<repo>/<name>.flist.html` (stable; `/<repo>/<name>.md` redirects here). */
  flist: (repo: string, name: string) => `/${seg(repo)}/${seg(withSuffix(name))}.html`,
  download: (repo: string, name: string) => `/${seg(repo)}/${seg(withSuffix(name))}`,
  md5: (repo: string, name: string) => `/${seg(repo)}/${seg(withSuffix(name))}.md5`,
  tagMember: (repo: string, tag: string, name: string) => `/${seg(repo)}/tags/${seg(tag)}/${seg(withSuffix(name))}`,
  tree: (repo: string, name: string) => `/api/flist/${seg(repo)}/${seg(withSuffix(name))}/tree`,
  job: (id: string) => `/jobs/${seg(id)}`,
};

function withSuffix(name: string): string {
  return name.endsWith(FLIST_SUFFIX) ? name : name + FLIST_SUFFIX;
}

/** A cleaned listing target (`repo/x.flist`, `x.flist`, `repo/tags/t`) as a site link, relative to `repo`. */
export function targetLink(repo: string, target: string): { href: string; label: string } {
  const tag = /^([^/]+)\/tags\/([^/]+)$/.exec(target);
  if (tag) return { href: urls.tag(tag[1]!, tag[2]!), label: target };
  const slash = target.indexOf("/");
  if (slash < 0) return { href: urls.flist(repo, target), label: target };
  return { href: urls.flist(target.slice(0, slash), target.slice(slash + 1)), label: target };
}
