/**
 * An archive larger than one request to the hub may carry goes through the resumable protocol at `/upload/parts`:
 * one part after the other (the hub assembles them in R2), then `complete` starts the job.
 */
import type { StartedJob } from "./job-events";
import type { ProgressUi } from "./progress-ui";
import { sendWithProgress } from "./upload";

interface UploadSession {
  id: string;
  partSize: number;
}

const BASE = "/upload/parts";

export async function uploadInParts(ui: ProgressUi, csrf: string, file: File): Promise<StartedJob> {
  const body = JSON.stringify({ filename: file.name, size: file.size });
  const session = (await sendWithProgress(ui, "POST", BASE, csrf, body, "application/json")) as UploadSession;
  const url = `${BASE}/${encodeURIComponent(session.id)}`;
  const count = Math.ceil(file.size / session.partSize);
  for (let n = 1; n <= count; n++) {
    const start = (n - 1) * session.partSize;
    const part = file.slice(start, Math.min(file.size, start + session.partSize));
    await sendWithProgress(ui, "PUT", `${url}/${n}`, csrf, part, "application/octet-stream", { done: start, total: file.size });
  }
  return (await sendWithProgress(ui, "POST", `${url}/complete?async=1`, csrf, null, null)) as StartedJob;
}
