/**
 * Storing one image file: the bytes stream once from the request into R2 while three things are computed on
 * the way — the file's sha256 (native `crypto.DigestStream`), for a metadata file the resumable SHA-256 state
 * after it (kept in D1), and for a root file sha256(metadata ‖ root) for each metadata file of the version,
 * by continuing each saved state with the root's bytes (sha256.ts). Nothing is read back from R2 for that.
 *
 * The one exception is a metadata file arriving *after* a root file of its version (the seed accepts either
 * order): sha256(meta ‖ root) cannot be formed from a hash of root, so the root object is streamed once from R2
 * through the new metadata's state. Uploading the metadata first (as the seed's README advises) avoids it.
 *
 * Overwrites and deletes follow docker-simplestreams-server (peers.md §1.3): without HUB_IMAGES_ALLOW_OVERWRITES a
 * re-upload is kept beside the first as `name-1.ext`, `name-2.ext`…; with it, the file is replaced, which needs
 * HUB_IMAGES_ALLOW_DELETES too (else 405 "Deletion not permitted").
 */
import type { Actor, Env } from "../env";
import { HubError } from "../http/errors";
import { R2_SINGLE_PUT_MAX_BYTES } from "../jobs/config";
import { FILE_TYPES, isMeta, metadataOverrideSchema, numberedName, productKey, type ImageKey } from "./names";
import { ResumableSha256 } from "./sha256";
import { applyOverride, ensureVersion, getProduct, listItems, putItem, touchProduct, type CombinedRow, type ItemRow } from "./store";
import { imagesConfig } from "./config";

export interface FileInput {
  length: number;
  chunks: AsyncIterable<Uint8Array>;
}

const METADATA_JSON_MAX = 64 * 1024;

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Refuses a product owned by another repository; creates the product/version otherwise. */
async function ownedVersion(env: Env, actor: Actor, key: ImageKey, now: number): Promise<string> {
  const product = productKey(key);
  const existing = await getProduct(env.DB, product);
  if (existing && existing.repository !== actor.repository) {
    throw new HubError(403, `image ${product} belongs to repository ${JSON.stringify(existing.repository)}`);
  }
  await ensureVersion(env.DB, key, actor.repository, now);
  return product;
}

/** Applies an uploaded `metadata.json` (at most 64 KiB) to the product, whenever it is uploaded. */
export async function storeMetadataJson(env: Env, actor: Actor, key: ImageKey, input: FileInput): Promise<void> {
  if (input.length > METADATA_JSON_MAX) throw new HubError(413, `metadata.json larger than ${METADATA_JSON_MAX} bytes`);
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of input.chunks) text += decoder.decode(chunk, { stream: true });
  text += decoder.decode();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new HubError(400, "metadata.json is not valid JSON");
  }
  const parsed = metadataOverrideSchema.safeParse(raw);
  if (!parsed.success) throw new HubError(400, `invalid metadata.json: ${parsed.error.issues[0]?.message ?? "bad value"}`);
  const now = Math.floor(Date.now() / 1000);
  const product = await ownedVersion(env, actor, key, now);
  await applyOverride(env.DB, product, parsed.data, now);
}

/** Streams `input` to R2 while feeding `sinks`; answers the R2 key and the file's sha256. */
async function streamToR2(env: Env, input: FileInput, sinks: ResumableSha256[]): Promise<{ objectKey: string; sha256: string }> {
  const objectKey = `images/objects/${crypto.randomUUID()}`;
  const fixed = new FixedLengthStream(input.length);
  const put = env.FLISTS.put(objectKey, fixed.readable);
  // The tsconfig's WebWorker lib shadows the Workers `crypto` type, which has DigestStream (as publish.ts does).
  const { DigestStream: Digest } = crypto as unknown as { DigestStream: typeof DigestStream };
  const digest = new Digest("SHA-256");
  const toR2 = fixed.writable.getWriter();
  const toDigest = digest.getWriter();
  try {
    for await (const chunk of input.chunks) {
      for (const sink of sinks) sink.update(chunk);
      await Promise.all([toR2.write(chunk), toDigest.write(chunk)]);
    }
    await Promise.all([toR2.close(), toDigest.close()]);
    await put;
  } catch (err) {
    await toR2.abort(err).catch(() => undefined);
    await put.catch(() => undefined);
    await env.FLISTS.delete(objectKey).catch(() => undefined);
    throw err;
  }
  return { objectKey, sha256: hex(await digest.digest) };
}

/** The stored name of an upload of `file`: itself, or a numbered copy when overwrites are off. */
function storedName(env: Env, file: string, items: ItemRow[]): { name: string; replaces: ItemRow | undefined } {
  const names = new Set(items.map((i) => i.name));
  const existing = items.find((i) => i.name === file);
  if (!existing) return { name: file, replaces: undefined };
  if (imagesConfig.allowOverwrites(env)) {
    if (!imagesConfig.allowDeletes(env)) throw new HubError(405, "Deletion not permitted");
    return { name: file, replaces: existing };
  }
  for (let n = 1; ; n++) if (!names.has(numberedName(file, n))) return { name: numberedName(file, n), replaces: undefined };
}

/** Stores one image file (`lxd.tar.xz`, `incus.tar.xz`, `rootfs.squashfs`, `root.tar.xz`, `disk.qcow2`). */
export async function storeImageFile(env: Env, actor: Actor, key: ImageKey, file: string, input: FileInput): Promise<ItemRow> {
  const ftype = FILE_TYPES[file];
  if (!ftype) throw new HubError(400, "this file is not allowed");
  if (input.length <= 0) throw new HubError(400, "empty file");
  if (input.length > R2_SINGLE_PUT_MAX_BYTES) {
    throw new HubError(413, `file larger than ${R2_SINGLE_PUT_MAX_BYTES} bytes`);
  }
  const now = Math.floor(Date.now() / 1000);
  const product = await ownedVersion(env, actor, key, now);
  const items = await listItems(env.DB, product, key.version);
  const { name, replaces } = storedName(env, file, items);
  const others = items.filter((i) => i.name !== name);

  let combined: CombinedRow[] = [];
  let hashState: string | null = null;
  let stored: { objectKey: string; sha256: string };
  if (isMeta(ftype)) {
    const state = new ResumableSha256();
    stored = await streamToR2(env, input, [state]);
    hashState = state.save();
    // Root files already there: the exception described above (one streamed read of each root object).
    for (const root of others.filter((i) => !isMeta(i.ftype))) {
      const object = await env.FLISTS.get(root.object_key);
      if (!object) continue;
      const hasher = ResumableSha256.load(hashState);
      const reader = object.body.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) hasher.update(r.value);
      combined.push({ product, version: key.version, meta_name: name, root_name: root.name, sha256: hasher.digestHex() });
    }
  } else {
    const metas = others.filter((i) => isMeta(i.ftype) && i.hash_state !== null);
    const hashers = metas.map((m) => ResumableSha256.load(m.hash_state!));
    stored = await streamToR2(env, input, hashers);
    combined = metas.map((m, i) => ({
      product,
      version: key.version,
      meta_name: m.name,
      root_name: name,
      sha256: hashers[i]!.digestHex(),
    }));
  }

  const item: ItemRow = {
    product,
    version: key.version,
    name,
    ftype,
    object_key: stored.objectKey,
    sha256: stored.sha256,
    size: input.length,
    hash_state: hashState,
    created: now,
  };
  await putItem(env.DB, item, combined);
  await touchProduct(env.DB, product, now);
  if (replaces) await env.FLISTS.delete(replaces.object_key);
  return item;
}
