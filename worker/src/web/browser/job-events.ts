/** Follows a job's events (Server-Sent Events, `/api/jobs/<id>/events`) in the progress box, then opens its flist. */
import { $$, el, show } from "./dom";
import { humanSize } from "./format";
import { layerLine, layersDone } from "./layers";
import { fail, type ProgressUi } from "./progress-ui";

/** What the publish actions answer (publish/actions.ts): the job id, its events URL, the flist's page. */
export interface StartedJob {
  job: string;
  events: string;
  page: string;
}

/** One event's data (docs/jobs-protocol.md): progress updates, then `info` (published) or `error`. */
interface JobEvent {
  status?: string;
  progress?: unknown;
  message?: string;
  info?: { flist?: { regular: number; directory: number; fullsize: number } };
}

export function followJob(ui: ProgressUi, job: StartedJob): void {
  show(ui.box, true);
  show(ui.jobBlock, true);
  ui.jobLabel.textContent = job.job;
  ui.jobText.textContent = "Waiting for the converter…";
  const source = new EventSource(job.events);
  let finished = false;
  source.onmessage = (e: MessageEvent<string>) => {
    let data: JobEvent;
    try {
      data = JSON.parse(e.data) as JobEvent;
    } catch {
      return;
    }
    if (data.status === "update") {
      const progress = typeof data.progress === "number" ? data.progress : null;
      if (progress !== null) ui.jobBar.value = progress;
      ui.jobText.textContent = data.message || "";
      ui.events.appendChild(el("li", { text: (progress !== null ? `${progress}% ` : "") + (data.message || "") }));
      layerLine(ui, data.message || "");
    } else if (data.status === "info") {
      finished = true;
      source.close();
      ui.jobBar.value = 100;
      const flist = data.info?.flist;
      const summary = flist ? `: ${flist.regular} files, ${flist.directory} directories, ${humanSize(flist.fullsize)}` : "";
      ui.jobText.textContent = `Published${summary}.`;
      layersDone(ui);
      ui.done.textContent = "Done: opening the flist…";
      show(ui.done, true);
      setTimeout(() => window.location.assign(job.page), 600);
    } else if (data.status === "error") {
      finished = true;
      source.close();
      ui.events.appendChild(el("li", { class: "error", text: data.message || "failed" }));
      ui.jobText.textContent = "Failed.";
      fail(ui, `The job failed: ${data.message || "unknown error"}`);
      // The form may be sent again (e.g. with another file).
      for (const b of $$<HTMLButtonElement>('form[data-publish] button[type="submit"]')) b.disabled = false;
    }
  };
  source.onerror = () => {
    // EventSource reconnects by itself (resuming with Last-Event-ID); only say so while it does.
    if (!finished) ui.jobText.textContent = "Connection lost, reconnecting…";
  };
}
