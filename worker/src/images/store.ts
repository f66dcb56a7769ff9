/** D1 access of the image tables (migrations/0007_images.sql). */
import { productKey, type ImageKey, type MetadataOverride } from "./names";

export interface ProductRow {
  product: string;
  repository: string;
  os: string;
  release: string;
  release_title: string;
  arch: string;
  variant: string;
  aliases: string;
  created: number;
  updated: number;
}

export interface ItemRow {
  product: string;
  version: string;
  name: string;
  ftype: string;
  object_key: string;
  sha256: string;
  size: number;
  hash_state: string | null;
  created: number;
}

export interface CombinedRow {
  product: string;
  version: string;
  meta_name: string;
  root_name: string;
  sha256: string;
}

export function getProduct(db: D1Database, product: string): Promise<ProductRow | null> {
  return db.prepare("SELECT * FROM image_products WHERE product = ?").bind(product).first<ProductRow>();
}

/** Creates the product (owned by `repository`) and the version if missing; answers the product row. */
export async function ensureVersion(db: D1Database, key: ImageKey, repository: string, now: number): Promise<ProductRow> {
  const product = productKey(key);
  await db.batch([
    db
      .prepare(
        `INSERT OR IGNORE INTO image_products (product, repository, os, release, release_title, arch, variant, aliases, created, updated)
         VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?)`,
      )
      .bind(product, repository, key.os, key.release, key.release, key.arch, key.variant, now, now),
    db.prepare("INSERT OR IGNORE INTO image_versions (product, version, created) VALUES (?, ?, ?)").bind(product, key.version, now),
  ]);
  const row = await getProduct(db, product);
  if (!row) throw new Error(`product ${product} vanished`);
  return row;
}

export async function applyOverride(db: D1Database, product: string, o: MetadataOverride, now: number): Promise<void> {
  await db
    .prepare(
      `UPDATE image_products SET os = COALESCE(?, os), release_title = COALESCE(?, release_title),
         aliases = COALESCE(?, aliases), updated = ? WHERE product = ?`,
    )
    .bind(o.os ?? null, o.release_title ?? null, o.aliases ? o.aliases.filter(Boolean).join(",") : null, now, product)
    .run();
}

export async function touchProduct(db: D1Database, product: string, now: number): Promise<void> {
  await db.prepare("UPDATE image_products SET updated = ? WHERE product = ?").bind(now, product).run();
}

export async function listItems(db: D1Database, product: string, version: string): Promise<ItemRow[]> {
  const rows = await db
    .prepare("SELECT * FROM image_items WHERE product = ? AND version = ? ORDER BY created, name")
    .bind(product, version)
    .all<ItemRow>();
  return rows.results;
}

/** Inserts or replaces an item; a replaced item's combined rows go (they are recomputed by the caller). */
export async function putItem(db: D1Database, item: ItemRow, combined: CombinedRow[]): Promise<void> {
  await db.batch([
    db
      .prepare("DELETE FROM image_combined WHERE product = ? AND version = ? AND (meta_name = ? OR root_name = ?)")
      .bind(item.product, item.version, item.name, item.name),
    db
      .prepare(
        `INSERT OR REPLACE INTO image_items (product, version, name, ftype, object_key, sha256, size, hash_state, created)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(item.product, item.version, item.name, item.ftype, item.object_key, item.sha256, item.size, item.hash_state, item.created),
    ...combined.map((r) =>
      db
        .prepare(
          "INSERT OR REPLACE INTO image_combined (product, version, meta_name, root_name, sha256) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(r.product, r.version, r.meta_name, r.root_name, r.sha256),
    ),
  ]);
}

export async function getItemByPath(db: D1Database, product: string, version: string, name: string): Promise<ItemRow | null> {
  return db
    .prepare("SELECT * FROM image_items WHERE product = ? AND version = ? AND name = ?")
    .bind(product, version, name)
    .first<ItemRow>();
}

/** Deletes a version (or every version of a product with `version` null); answers the R2 keys to delete. */
export async function deleteRows(db: D1Database, product: string, version: string | null): Promise<string[] | null> {
  const where = version === null ? "product = ?1" : "product = ?1 AND version = ?2";
  const args = version === null ? [product] : [product, version];
  const exists = await db.prepare(`SELECT 1 AS x FROM image_versions WHERE ${where} LIMIT 1`).bind(...args).first();
  const items = await db.prepare(`SELECT object_key FROM image_items WHERE ${where}`).bind(...args).all<{ object_key: string }>();
  if (!exists && version !== null) return null;
  const statements = [
    db.prepare(`DELETE FROM image_combined WHERE ${where}`).bind(...args),
    db.prepare(`DELETE FROM image_items WHERE ${where}`).bind(...args),
    db.prepare(`DELETE FROM image_versions WHERE ${where}`).bind(...args),
  ];
  if (version === null) statements.push(db.prepare("DELETE FROM image_products WHERE product = ?").bind(product));
  await db.batch(statements);
  return items.results.map((r) => r.object_key);
}

export interface Catalog {
  products: ProductRow[];
  versions: { product: string; version: string; created: number }[];
  items: ItemRow[];
  combined: CombinedRow[];
}

/** Everything the index is built from, in one D1 round trip. */
export async function readCatalog(db: D1Database, repository?: string): Promise<Catalog> {
  const filter = repository === undefined ? "" : " WHERE product IN (SELECT product FROM image_products WHERE repository = ?1)";
  const bind = (s: D1PreparedStatement) => (repository === undefined ? s : s.bind(repository));
  const [products, versions, items, combined] = await db.batch([
    bind(db.prepare(`SELECT * FROM image_products${filter} ORDER BY product`)),
    bind(db.prepare(`SELECT * FROM image_versions${filter} ORDER BY product, version`)),
    bind(db.prepare(`SELECT product, version, name, ftype, object_key, sha256, size, created FROM image_items${filter} ORDER BY created, name`)),
    bind(db.prepare(`SELECT * FROM image_combined${filter}`)),
  ]);
  return {
    products: products!.results as unknown as ProductRow[],
    versions: versions!.results as unknown as Catalog["versions"],
    items: items!.results as unknown as ItemRow[],
    combined: combined!.results as unknown as CombinedRow[],
  };
}
