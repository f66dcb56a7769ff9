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
 * Overwrites and deletes follow docker-simplestreams-server (docs/design.md §4.2): without HUB_IMAGES_ALLOW_OVERWRITES a
 * re-upload is kept beside the first as `name-1.ext`, `name-2.ext`…; with it, the file is replaced, which needs
 * HUB_IMAGES_ALLOW_DELETES too (else 405 "Deletion not permitted").
 */
import type { Actor, Env } from "../env";
import { HubError } from "../http/errors";
import { uploadConfig } from "../jobs/config";
import { FILE_TYPES, isMeta, metadataOverrideSchema, numberedName, productKey, type ImageKey } from "./names";
import { ResumableSha256 } from "./sha256";
import { applyOverride, ensureVersion, getProduct, listItems, putItem, touchProduct, type CombinedRow, type ItemRow } from "./store";
import { imagesConfig } from "./config";
import { checked } from "../http/validate";

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
  const override = checked(metadataOverrideSchema, raw, "metadata.json");
  const now = Math.floor(Date.now() / 1000);
  const product = await ownedVersion(env, actor, key, now);
  await applyOverride(env.DB, product, override, now);
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

/** What streaming a file produced: its object, sha256, and the hashes continued from metadata states. */
export interface StreamedFile {
  objectKey: string;
  sha256: string;
  size: number;
  /** Metadata files: the SHA-256 state after the file. */
  hashState: string | null;
  /** Root files: metadata name → the state the root's bytes continued and the resulting sha256(meta ‖ root). */
  combined: Map<string, { state: string; sha256: string }>;
}

/** sha256(meta ‖ root) by streaming the root object from R2 through the metadata's state (the one re-read). */
async function combineFromR2(env: Env, metaState: string, objectKey: string): Promise<string | null> {
  const object = await env.FLISTS.get(objectKey);
  if (!object) return null;
  const hasher = ResumableSha256.load(metaState);
  const reader = object.body.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) hasher.update(r.value);
  return hasher.digestHex();
}

/**
 * Records a streamed file as an item of its version: its stored name (overwrite/copy rules), its combined rows
 * with the version's other files, the replaced object deleted. A pair not computed while streaming (a metadata
 * file arriving after a root, or changed during a resumable upload) is formed from R2, as described above.
 */
export async function recordImageFile(
  env: Env,
  key: ImageKey,
  file: string,
  streamed: StreamedFile,
  now: number,
): Promise<ItemRow> {
  const ftype = FILE_TYPES[file];
  if (!ftype) throw new HubError(400, "this file is not allowed");
  const product = productKey(key);
  const items = await listItems(env.DB, product, key.version);
  const { name, replaces } = storedName(env, file, items);
  const others = items.filter((i) => i.name !== name);
  const combined: CombinedRow[] = [];
  const pair = (meta_name: string, root_name: string, sha256: string) =>
    combined.push({ product, version: key.version, meta_name, root_name, sha256 });
  if (isMeta(ftype)) {
    for (const root of others.filter((i) => !isMeta(i.ftype))) {
      const sha256 = await combineFromR2(env, streamed.hashState!, root.object_key);
      if (sha256) pair(name, root.name, sha256);
    }
  } else {
    for (const meta of others.filter((i) => isMeta(i.ftype) && i.hash_state !== null)) {
      const done = streamed.combined.get(meta.name);
      const sha256 = done && done.state === meta.hash_state ? done.sha256 : await combineFromR2(env, meta.hash_state!, streamed.objectKey);
      if (sha256) pair(meta.name, name, sha256);
    }
  }
  const item: ItemRow = {
    product,
    version: key.version,
    name,
    ftype,
    object_key: streamed.objectKey,
    sha256: streamed.sha256,
    size: streamed.size,
    hash_state: streamed.hashState,
    created: now,
  };
  await putItem(env.DB, item, combined);
  await touchProduct(env.DB, product, now);
  if (replaces) await env.FLISTS.delete(replaces.object_key);
  return item;
}

/** The metadata states a root file's bytes must continue (the version's metadata files now). */
export async function metadataStates(env: Env, key: ImageKey): Promise<Map<string, string>> {
  const items = await listItems(env.DB, productKey(key), key.version);
  return new Map(items.filter((i) => isMeta(i.ftype) && i.hash_state !== null).map((i) => [i.name, i.hash_state!]));
}

/** Checks the file name and the owner, creates the product/version if needed (before any byte is stored). */
export async function prepareImageFile(env: Env, actor: Actor, key: ImageKey, file: string, now: number): Promise<void> {
  if (!FILE_TYPES[file]) throw new HubError(400, "this file is not allowed");
  await ownedVersion(env, actor, key, now);
  // Refuse a replacement the settings forbid before the upload, not after it.
  storedName(env, file, await listItems(env.DB, productKey(key), key.version));
}

/** Stores one image file (`lxd.tar.xz`, `incus.tar.xz`, `rootfs.squashfs`, `root.tar.xz`, `disk.qcow2`). */
export async function storeImageFile(env: Env, actor: Actor, key: ImageKey, file: string, input: FileInput): Promise<ItemRow> {
  const ftype = FILE_TYPES[file];
  if (!ftype) throw new HubError(400, "this file is not allowed");
  if (input.length <= 0) throw new HubError(400, "empty file");
  // One request body, one R2 object write: within the request limit (HUB_REQUEST_MAX_BYTES) and R2's 5 GiB.
  const cap = uploadConfig.streamedMaxBytes(env);
  if (input.length > cap) throw new HubError(413, `file larger than ${cap} bytes: use the resumable routes /api/images/uploads`);
  const now = Math.floor(Date.now() / 1000);
  await prepareImageFile(env, actor, key, file, now);
  if (isMeta(ftype)) {
    const state = new ResumableSha256();
    const stored = await streamToR2(env, input, [state]);
    const streamed = { ...stored, size: input.length, hashState: state.save(), combined: new Map() };
    return recordImageFile(env, key, file, streamed, now);
  }
  const states = [...(await metadataStates(env, key))];
  const hashers = states.map(([, state]) => ResumableSha256.load(state));
  const stored = await streamToR2(env, input, hashers);
  const combined = new Map(states.map(([meta, state], i) => [meta, { state, sha256: hashers[i]!.digestHex() }]));
  return recordImageFile(env, key, file, { ...stored, size: input.length, hashState: null, combined }, now);
}
