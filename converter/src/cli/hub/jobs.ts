/**
 * Jobs: `GET /api/jobs/<id>` and following a job to its end over `GET /api/jobs/<id>/events` (SSE, resumed with
 * Last-Event-ID when the hub closes a long stream), drawing its progress.
 */
import { z } from "zod";
import { jobViewSchema } from "../../../../protocol/job-view.ts";
import { type HubClient, HubApiError, errorOf, path } from "./client.ts";

/**
 * The job as the hub answers it: the hub's own schema (protocol/job-view.ts), but for `kind`, which stays any string
 * so that this zhub still reads the jobs of a newer hub with a kind it does not know.
 */
export const jobSchema = jobViewSchema.extend({ kind: z.string() });
export type Job = z.infer<typeof jobSchema>;

/** The 202 answer of every publishing route called with `?async=1`. */
export const acceptedSchema = z.object({ job: z.string(), status: z.string(), name: z.string() }).passthrough();

export const eventSchema = z.union([
  z.object({ status: z.literal("update"), message: z.string(), progress: z.number() }),
  z.object({ status: z.literal("info"), info: z.object({ filename: z.string() }).passthrough() }),
  z.object({ status: z.literal("error"), message: z.string() }),
]);
export type JobEvent = z.infer<typeof eventSchema>;

export async function getJob(client: HubClient, id: string): Promise<Job> {
  const { payload } = await client.call(`/api/jobs/${path(id)}`, {}, jobSchema);
  return payload;
}

/** One `id:`/`data:` frame of the events stream. */
interface Frame {
  id: string | undefined;
  data: string;
}

/** Splits an SSE byte stream into frames (comments and `retry:` lines are skipped). */
async function* frames(body: ReadableStream<Uint8Array>): AsyncGenerator<Frame> {
  const decoder = new TextDecoder();
  let buffer = "";
  let id: string | undefined;
  let data: string[] = [];
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, "");
      buffer = buffer.slice(newline + 1);
      if (line === "") {
        if (data.length > 0) yield { id, data: data.join("\n") };
        data = [];
        id = undefined;
      } else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      else if (line.startsWith("id:")) id = line.slice(3).trim();
    }
  }
}

/**
 * Every event of the job from `after` on, until its final `info`/`error` event. The hub ends a stream after a
 * while on long jobs: the follow-up request resumes after the last id seen. Network errors are retried a few times.
 */
export async function* followEvents(client: HubClient, id: string, signal?: AbortSignal): AsyncGenerator<JobEvent> {
  let last = "0";
  let failures = 0;
  for (;;) {
    let res: Response;
    try {
      res = await client.fetch(`/api/jobs/${path(id)}/events`, { headers: { "last-event-id": last, accept: "text/event-stream" }, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (++failures > 5) throw err;
      await new Promise((r) => setTimeout(r, 1000 * failures));
      continue;
    }
    if (!res.ok || !res.body) {
      throw errorOf(res.status, await res.text());
    }
    try {
      for await (const frame of frames(res.body)) {
        if (frame.id !== undefined) last = frame.id;
        let raw: unknown;
        try {
          raw = JSON.parse(frame.data);
        } catch {
          continue;
        }
        const event = eventSchema.safeParse(raw);
        if (!event.success) continue;
        failures = 0;
        yield event.data;
        if (event.data.status !== "update") return;
      }
    } catch (err) {
      if (signal?.aborted) throw err;
      if (++failures > 5) throw new HubApiError(`lost the job's event stream: ${(err as Error).message}`, 0);
      await new Promise((r) => setTimeout(r, 1000 * failures));
      continue;
    }
    // The stream ended before the job's final event (the hub caps a stream's lifetime): go on from the last id,
    // unless the job is over (its final event lost), which the job itself tells.
    const job = await getJob(client, id);
    if (job.status === "succeeded" || job.status === "failed") return;
  }
}

/** Job progress on stderr: a redrawn bar on a terminal, else a line per new message (at most one every 2 s). */
export class JobProgress {
  private lastLine = 0;
  private lastMessage = "";
  private drawn = false;
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
  ) {}

  update(message: string, progress: number): void {
    const tty = this.stream.isTTY === true;
    const percent = Math.max(0, Math.min(100, Math.round(progress)));
    if (tty) {
      const width = 30;
      const bar = "#".repeat(Math.round((percent / 100) * width)).padEnd(width, ".");
      const columns = this.stream.columns ?? 100;
      this.stream.write(`\r\x1b[K${`[${bar}] ${String(percent).padStart(3)}% ${this.label}: ${message}`.slice(0, columns - 1)}`);
      this.drawn = true;
      return;
    }
    const now = Date.now();
    const kind = message.replace(/\d+/g, "#");
    if (kind === this.lastMessage && now - this.lastLine < 2000 && percent < 100) return;
    this.lastMessage = kind;
    this.lastLine = now;
    this.stream.write(`${this.label}: ${percent}% ${message}\n`);
  }

  done(): void {
    if (this.drawn) this.stream.write("\n");
    this.drawn = false;
  }
}

/**
 * Follows the job to its end, drawing progress; answers the job as `GET /api/jobs/<id>` sees it at the end
 * (with its result), so callers print the same thing whether they followed or not.
 */
export async function waitJob(client: HubClient, id: string, stderr: NodeJS.WriteStream, label: string): Promise<Job> {
  const bar = new JobProgress(stderr, label);
  try {
    for await (const event of followEvents(client, id)) {
      if (event.status === "update") bar.update(event.message, event.progress);
    }
  } finally {
    bar.done();
  }
  return getJob(client, id);
}

export function jobLine(job: Job): string {
  const result = job.result;
  // An lxd job's result is the image it wrote, not a flist.
  if (job.status === "succeeded" && result && "product" in result) {
    return `${job.repository}/${job.name}: image ${result.product} ${result.version} (alias ${result.alias})`;
  }
  const counts = result && "counts" in result ? result.counts : undefined;
  const figures = counts ? ` (${counts.regular} files, ${counts.directory} directories, ${counts.symlink} symlinks, ${counts.fullsize} bytes)` : "";
  switch (job.status) {
    case "succeeded":
      return `${job.repository}/${job.name}: published${figures}${result && "md5" in result ? `, md5 ${result.md5}` : ""}`;
    case "failed":
      return `${job.repository}/${job.name}: failed: ${job.message}`;
    default:
      return `${job.repository}/${job.name}: ${job.status} ${job.progress}% ${job.message}`;
  }
}
