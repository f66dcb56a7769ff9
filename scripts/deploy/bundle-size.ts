/**
 * The Worker's upload size against the platform's limits, measured on the output of `wrangler deploy --dry-run
 * --outdir` the way wrangler reports it ("Total Upload: … KiB / gzip: … KiB": the modules concatenated, gzip'd
 * whole). Cloudflare's limits (developers.cloudflare.com/workers/platform/limits, "Worker size"): 3 MB after
 * compression on Workers Free, 10 MB on Workers Paid, and 64 MB before compression; wrangler's own report warns
 * against the 3 MiB figure.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const MIB = 1024 * 1024;

export const WORKER_SIZE_LIMITS = {
  freeGzip: 3 * MIB,
  paidGzip: 10 * MIB,
  uncompressed: 64 * MIB,
} as const;

export interface BundleSize {
  bytes: number;
  gzipBytes: number;
  modules: string[];
}

/** Files wrangler writes next to the modules that are not uploaded. */
const NOT_UPLOADED = /(\.map|^README\.md)$/;

export function measureBundle(outdir: string): BundleSize {
  const modules = fs
    .readdirSync(outdir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !NOT_UPLOADED.test(e.name))
    .map((e) => path.relative(outdir, path.join(e.parentPath, e.name)))
    .sort();
  const contents = modules.map((m) => fs.readFileSync(path.join(outdir, m)));
  const all = Buffer.concat(contents);
  return { bytes: all.length, gzipBytes: zlib.gzipSync(all).length, modules };
}

const kib = (n: number) => `${(n / 1024).toFixed(2)} KiB`;

/** One line: sizes, and each limit with the share of it used. */
export function formatBundleSize(size: BundleSize): string {
  const pct = (n: number, limit: number) => `${((n / limit) * 100).toFixed(1)}%`;
  return (
    `Worker bundle ${kib(size.bytes)} / gzip ${kib(size.gzipBytes)} — limits: gzip 3 MiB Workers Free ` +
    `(${pct(size.gzipBytes, WORKER_SIZE_LIMITS.freeGzip)} used), 10 MiB Workers Paid ` +
    `(${pct(size.gzipBytes, WORKER_SIZE_LIMITS.paidGzip)}), 64 MiB uncompressed (${pct(size.bytes, WORKER_SIZE_LIMITS.uncompressed)})`
  );
}

/** Why the bundle cannot be deployed on a plan, or undefined when it fits Workers Free. */
export function bundleTooLarge(size: BundleSize): string | undefined {
  if (size.bytes > WORKER_SIZE_LIMITS.uncompressed) return `the Worker is ${kib(size.bytes)} before compression, over the 64 MiB limit`;
  if (size.gzipBytes > WORKER_SIZE_LIMITS.paidGzip) return `the Worker is ${kib(size.gzipBytes)} gzip'd, over the 10 MiB limit of Workers Paid`;
  if (size.gzipBytes > WORKER_SIZE_LIMITS.freeGzip) return `the Worker is ${kib(size.gzipBytes)} gzip'd, over the 3 MiB limit of Workers Free (fits Workers Paid)`;
  return undefined;
}
