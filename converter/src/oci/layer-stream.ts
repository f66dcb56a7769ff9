/**
 * One layer blob → entries applied to the LayerTree: decompression (zstd here; gzip is left to ingest's
 * ArchiveReader, which sniffs it and maps zlib errors), the tar read with ingest's hostile-input rules and caps,
 * and each entry applied as it is read. Everything streams: the blob is never held whole.
 */
import { Decompress } from "fzstd";
import { type ArchiveCounters, ArchiveReader } from "../ingest/tar.ts";
import { type IngestCaps, IngestError } from "../ingest/rules.ts";
import { NO_OWNER_NAMES } from "../ingest/owners.ts";
import { RegistryError } from "./errors.ts";
import type { LayerTree } from "./layers.ts";
import { peek } from "../streams/peek.ts";

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** How a layer that is no tar is told apart (the message of protocol/archive-sniff.ts ends with it). */
const LAYER_FORMATS = "a layer is a tar, plain or gzip- or zstd-compressed";

export async function applyLayer(
  tree: LayerTree,
  blob: AsyncIterable<Uint8Array>,
  compression: "gzip" | "zstd" | "none" | "sniff",
  caps: IngestCaps,
  label: string,
): Promise<ArchiveCounters> {
  const { head, all } = await peek(blob, ZSTD_MAGIC.length);
  const isZstd = ZSTD_MAGIC.every((b, i) => head[i] === b);
  if (compression === "zstd" && !isZstd) {
    throw new RegistryError("bad-layer", `${label} is labelled zstd but is not zstd data`);
  }
  const tarBytes = isZstd ? unzstd(all, label) : all;
  // Owner names come from the image's own /etc/passwd afterwards (convert.ts), not from the build host's.
  const reader = new ArchiveReader(tarBytes, { caps, owners: NO_OWNER_NAMES, accepted: LAYER_FORMATS });
  tree.beginLayer();
  try {
    for await (const entry of reader.entries()) await tree.apply(entry);
  } catch (err) {
    throw inLayer(reader.explain(err), label);
  }
  return reader.counters;
}

/** Rules that mean "this blob is not a readable tar": corruption, reported as such with the layer named. */
const CORRUPT_RULES = new Set(["bad-gzip", "truncated", "not-an-archive", "bad-checksum", "bad-header"]);

/**
 * Names the layer in archive errors. Corruption becomes a `bad-layer` RegistryError; a hostile member (traversal,
 * bad names, caps…) stays an IngestError with its rule, its entry prefixed by the layer.
 */
function inLayer(err: unknown, label: string): unknown {
  if (!(err instanceof IngestError)) return err;
  if (CORRUPT_RULES.has(err.rule)) return new RegistryError("bad-layer", `${label} is not a valid layer: ${err.message}`);
  return new IngestError(err.entry, err.rule, err.detail, { position: err.position, layer: label });
}

/** Streaming zstd decompression (pure JS: Node 20's zlib has no zstd). Multi-frame and skippable frames included. */
async function* unzstd(source: AsyncIterable<Uint8Array>, label: string): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  let ended = false;
  const decoder = new Decompress((chunk, final) => {
    if (chunk.byteLength > 0) out.push(chunk);
    if (final) ended = true;
  });
  const push = (chunk: Uint8Array, final: boolean) => {
    try {
      decoder.push(chunk, final);
    } catch (err) {
      throw new RegistryError("bad-layer", `${label}: corrupt zstd data (${(err as Error).message})`);
    }
  };
  for await (const chunk of source) {
    push(chunk, false);
    while (out.length > 0) yield out.shift() as Uint8Array;
  }
  if (!ended) push(new Uint8Array(0), true);
  while (out.length > 0) yield out.shift() as Uint8Array;
}

