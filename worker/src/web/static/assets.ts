/**
 * The site's stylesheet and script, bundled into the Worker as strings (no R2, no CDN: the hub works offline).
 * The script is the TypeScript of ../browser/, bundled at build time (docs/website.md). Both are served under a
 * content-hashed path so browsers may cache them forever (`immutable`).
 */
import { SITE_CSS } from "./site-css";
import { SITE_JS } from "./site-js.bundle.js";

export type AssetKind = "css" | "js";

/** FNV-1a (32-bit): a cheap synchronous fingerprint of the asset, enough to bust caches on deploy. */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

const ASSETS: Record<AssetKind, { body: string; type: string; hash: string }> = {
  css: { body: SITE_CSS, type: "text/css; charset=utf-8", hash: fingerprint(SITE_CSS) },
  js: { body: SITE_JS, type: "text/javascript; charset=utf-8", hash: fingerprint(SITE_JS) },
};

/** `/static/site.<hash>.<kind>` — the URL pages link to. */
export function assetPath(kind: AssetKind): string {
  return `/static/site.${ASSETS[kind].hash}.${kind}`;
}

/** The asset behind a `/static/<file>` name, or null. An old hash still answers (with a short cache). */
export function findAsset(file: string): { body: string; type: string; immutable: boolean } | null {
  const match = /^site\.([0-9a-f]{8})\.(css|js)$/.exec(file);
  if (!match) return null;
  const asset = ASSETS[match[2] as AssetKind];
  return { body: asset.body, type: asset.type, immutable: match[1] === asset.hash };
}
