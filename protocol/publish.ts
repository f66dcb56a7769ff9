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

export const publishInfoSchema = z.object({
  /** Queue job id; the same id published twice is answered once. */
  jobId: z.string().min(1).max(200).optional(),
  /** The job attempt publishing (docs/jobs-protocol.md); required when `jobId` names a job of the jobs table. */
  attempt: z.number().int().positive().optional(),
  contents: contentsSchema,
  /** Flist metadata key → value (JSON-decoded, as `zflist metadata <key>` prints it). */
  metadata: z.record(z.string(), z.unknown()).default({}),
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
