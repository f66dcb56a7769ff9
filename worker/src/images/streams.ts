/**
 * `streams/v1/index.json` and `streams/v1/images.json`, built from D1 on each request (docs/design.md §4.1): products
 * keyed `<os>:<release>:<arch>:<variant>`, versions `YYYYMMDD_HH:MM`, items keyed by file name with `ftype`,
 * `path`, `sha256`, `size`, and on each metadata item (`lxd.tar.xz` for LXD, `incus.tar.xz` for Incus) the
 * combined sha256(metadata ‖ root) per root type, which the clients take as the image fingerprint.
 */
import { archName, COMBINED_FIELDS, isMeta, type RootFtype } from "./names";
import type { Catalog, ProductRow } from "./store";

export const IMAGES_PATH = "streams/v1/images.json";

/** Aliases of a product: metadata.json's, then `<os>/<release>/<variant>` (and `<os>/<release>` for default). */
export function aliasesOf(p: ProductRow): string[] {
  const own = [`${p.os}/${p.release}/${p.variant}`];
  if (p.variant === "default") own.push(`${p.os}/${p.release}`);
  const extra = p.aliases.split(",").filter(Boolean);
  return [...new Set([...extra, ...own])];
}

function rfc2822(seconds: number): string {
  return new Date(seconds * 1000).toUTCString().replace("GMT", "+0000");
}

export function itemPath(product: ProductRow, version: string, name: string): string {
  // The path segments as uploaded (not metadata.json's `os`): the key of the product.
  const [os, release, arch, variant] = product.product.split(":");
  return `images/${os}/${release}/${arch}/${variant}/${version}/${name}`;
}

/** 0 for `rootfs.squashfs`, n for the copy `rootfs-<n>.squashfs` kept when overwrites are off. */
function copyNumber(name: string): number {
  const dot = name.indexOf(".");
  const match = /-(\d+)$/.exec(dot < 0 ? name : name.slice(0, dot));
  return match ? Number(match[1]) : 0;
}

/**
 * The items of a version as the clients get them: every metadata file, and of each root type only the newest
 * copy. LXD/Incus pair each metadata item with every root item and take the metadata item's one
 * `combined_<type>_sha256` as the fingerprint, so two roots of one type would claim one fingerprint and one of
 * them would fail verification. Older copies stay stored and listed by `GET /api/images`.
 */
function servedItems<T extends { name: string; ftype: string }>(items: T[]): T[] {
  const newest = new Map<string, T>();
  for (const item of items) {
    if (isMeta(item.ftype)) continue;
    const seen = newest.get(item.ftype);
    if (!seen || copyNumber(item.name) > copyNumber(seen.name)) newest.set(item.ftype, item);
  }
  return items.filter((i) => isMeta(i.ftype) || newest.get(i.ftype) === i);
}

export function buildImages(catalog: Catalog): Record<string, unknown> {
  const products: Record<string, unknown> = {};
  let updated = 0;
  for (const p of catalog.products) {
    const versions: Record<string, unknown> = {};
    for (const v of catalog.versions.filter((x) => x.product === p.product)) {
      const items = servedItems(catalog.items.filter((i) => i.product === p.product && i.version === v.version));
      if (items.length === 0) continue;
      const out: Record<string, Record<string, unknown>> = {};
      for (const item of items) {
        const entry: Record<string, unknown> = {
          ftype: item.ftype,
          path: itemPath(p, v.version, item.name),
          sha256: item.sha256,
          size: item.size,
        };
        if (isMeta(item.ftype)) {
          for (const root of items) {
            const fields = COMBINED_FIELDS[root.ftype as RootFtype];
            const pair = catalog.combined.find(
              (c) => c.product === p.product && c.version === v.version && c.meta_name === item.name && c.root_name === root.name,
            );
            if (fields && pair) for (const f of fields) entry[f] = pair.sha256;
          }
        }
        out[item.name] = entry;
      }
      versions[v.version] = { items: out };
    }
    if (Object.keys(versions).length === 0) continue;
    updated = Math.max(updated, p.updated);
    products[p.product] = {
      aliases: aliasesOf(p).join(","),
      arch: archName(p.arch) ?? p.arch,
      os: p.os,
      release: p.release,
      release_title: p.release_title,
      variant: p.variant,
      supported: true,
      versions,
    };
  }
  return {
    content_id: "images",
    datatype: "image-downloads",
    format: "products:1.0",
    license: "",
    products,
    updated: rfc2822(updated || Math.floor(Date.now() / 1000)),
  };
}

export function buildIndex(images: Record<string, unknown>): Record<string, unknown> {
  return {
    format: "index:1.0",
    index: {
      images: {
        datatype: "image-downloads",
        path: IMAGES_PATH,
        format: "products:1.0",
        products: Object.keys(images.products as Record<string, unknown>),
        updated: images.updated,
      },
    },
    updated: images.updated,
  };
}
