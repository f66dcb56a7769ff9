/**
 * A finished flist handed to the Worker: `PUT /internal/publish/<repo>/<name>` (docs/catalog-api.md
 * "Internal publish route"), multipart with the `.flist` as part `flist` and `PublishInfo` as JSON part `info`. The Worker parses
 * the info with `publishInfoSchema` (worker/src/services/publish.ts), the converter builds its `z.input`
 * (converter/src/service/hub.ts) from the engine's listing (converter/src/flist/views.ts).
 */
import { z } from "zod";

/**
 * Largest .flist accepted, as a publish and as a job input. Flists describe trees (their chunks live in 0-db), so
 * real ones are KBs to a few MBs; the Worker parses the multipart body in memory and has 128 MB, hence a cap well
 * below that.
 */
export const MAX_FLIST_BYTES = 32 * 1024 * 1024;

const count = z.number().int().nonnegative();

/** The file counters of a flist (zflist `find`): `fullsize` sums regular files only, `directory` excludes the root. */
export const fileCountsSchema = z.object({
  regular: count,
  symlink: count,
  directory: count,
  special: count,
  /** Files whose chunks are missing: only zflist's `check` fills it; always 0 in a published listing. */
  failure: count,
  /** Sum of regular file sizes. */
  fullsize: count,
});
export type FileCounts = z.infer<typeof fileCountsSchema>;

/** zflist `find` response: the contents listing served by `GET /api/flist/<repo>/<name>`. */
export const contentsSchema = z.object({
  content: z.array(z.object({ path: z.string(), size: count })),
  ...fileCountsSchema.shape,
});
export type ContentsListing = z.infer<typeof contentsSchema>;

/**
 * What the contents listing does not say and the website's tree needs (docs/catalog-api.md "Entry types"): one
 * letter per `contents.content` entry, in its order (`d` directory, `f` regular file, `l` symlink, `s` special),
 * and the symlinks' targets in the order of their `l`s. Kept beside the listing, not in it: the listing is the
 * zflist `find` shape clients parse (docs/clients.md).
 */
export const entryTypesSchema = z.object({
  types: z.string().regex(/^[dfls]*$/, "one of d, f, l, s per entry"),
  targets: z.array(z.string().max(4096)),
});
export type EntryTypes = z.infer<typeof entryTypesSchema>;

export const publishInfoSchema = z
  .object({
  /** Queue job id; the same id published twice is answered once. */
  jobId: z.string().min(1).max(200).optional(),
  /** The job attempt publishing (docs/jobs-protocol.md); required when `jobId` names a job of the jobs table. */
  attempt: z.number().int().positive().optional(),
  contents: contentsSchema,
  /** Flist metadata key → value (JSON-decoded, as `zflist metadata <key>` prints it). */
  metadata: z.record(z.string(), z.unknown()).default({}),
  /** The entries' types (optional: publishers that predate it, or an operator's publish, send none). */
  entries: entryTypesSchema.optional(),
})
  .superRefine((info, ctx) => {
    const entries = info.entries;
    if (!entries) return;
    if (entries.types.length !== info.contents.content.length) {
      ctx.addIssue({ code: "custom", path: ["entries", "types"], message: "one type per contents entry" });
    }
    let links = 0;
    for (const t of entries.types) if (t === "l") links++;
    if (entries.targets.length !== links) {
      ctx.addIssue({ code: "custom", path: ["entries", "targets"], message: "one target per symlink" });
    }
  });
export type PublishInfo = z.output<typeof publishInfoSchema>;
export type PublishInfoInput = z.input<typeof publishInfoSchema>;

/** The publish answer's `payload`. */
export interface PublishResult {
  repository: string;
  name: string;
  sha256: string;
  md5: string;
  size: number;
}
