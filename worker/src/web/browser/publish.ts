/**
 * The publish forms (`form[data-publish=upload|homemade|merge|docker]`): sent by script instead of the browser, so
 * the page shows the upload's progress, then follows the job the hub started. The job page (`/jobs/<id>`) follows
 * a job started elsewhere (or reloaded).
 */
import { $, $$, must, show } from "./dom";
import { dockerRequest } from "./docker";
import { getJson } from "./http";
import { followJob, type StartedJob } from "./job-events";
import { mergePicker } from "./merge-picker";
import { fail, progressUi, type ProgressUi } from "./progress-ui";
import { uploadInParts } from "./resumable";
import { sendWithProgress } from "./upload";

/** The request a submitted form makes, or an error message to show instead (nothing sent). */
type Start = (ui: ProgressUi, csrf: string) => Promise<StartedJob> | string;

function fileStart(form: HTMLFormElement, kind: "upload" | "homemade"): Start {
  return (ui, csrf) => {
    const file = must<HTMLInputElement>('input[type="file"]', form).files?.[0];
    if (!file) return "no file selected";
    const route = kind === "upload" ? "/upload/" : "/upload-flist/";
    // data-single-max: the largest archive one request to this hub may carry (0 = no limit).
    const singleMax = Number(form.getAttribute("data-single-max") || "0");
    if (kind === "upload" && singleMax > 0 && file.size > singleMax) return uploadInParts(ui, csrf, file);
    const sent = sendWithProgress(ui, "PUT", route + encodeURIComponent(file.name), csrf, file, "application/octet-stream");
    return sent as Promise<StartedJob>;
  };
}

function mergeStart(form: HTMLFormElement): Start {
  const picked = mergePicker(form);
  return (ui, csrf) => {
    const sources = picked();
    if (sources.length === 0) return "pick at least one flist";
    const body = JSON.stringify({ sources, name: must<HTMLInputElement>("#name", form).value });
    return sendWithProgress(ui, "POST", "/merge", csrf, body, "application/json") as Promise<StartedJob>;
  };
}

function dockerStart(form: HTMLFormElement): Start {
  return (ui, csrf) =>
    sendWithProgress(ui, "POST", "/docker-convert", csrf, JSON.stringify(dockerRequest(form)), "application/json") as Promise<StartedJob>;
}

function startOf(form: HTMLFormElement, kind: string | null): Start | null {
  if (kind === "upload" || kind === "homemade") return fileStart(form, kind);
  if (kind === "merge") return mergeStart(form);
  if (kind === "docker") return dockerStart(form);
  return null;
}

export function initPublishForms(): void {
  for (const form of $$<HTMLFormElement>("form[data-publish]")) {
    const csrf = form.getAttribute("data-csrf") || "";
    const box = $("[data-job-progress]");
    if (!box) continue;
    const ui = progressUi(box);
    const start = startOf(form, form.getAttribute("data-publish"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      show(ui.error, false);
      if (!start) return;
      const submit = $<HTMLButtonElement>('button[type="submit"]', form);
      const request = start(ui, csrf);
      if (typeof request === "string") {
        fail(ui, request);
        return;
      }
      if (submit) submit.disabled = true;
      request.then(
        (job) => followJob(ui, job),
        (err: Error) => {
          if (submit) submit.disabled = false;
          fail(ui, err.message);
        },
      );
    });
  }
}

interface JobRecord {
  id: string;
  repository: string;
  name: string;
  links: { events: string };
}

export function initJobPage(): void {
  for (const box of $$("[data-job-progress][data-job-id]")) {
    const id = box.getAttribute("data-job-id");
    if (!id) continue;
    const ui = progressUi(box);
    getJson<{ payload: JobRecord }>(`/api/jobs/${encodeURIComponent(id)}`).then(
      ({ payload: job }) => {
        const page = `/${encodeURIComponent(job.repository)}/${encodeURIComponent(job.name)}.html`;
        followJob(ui, { job: job.id, events: job.links.events, page });
      },
      (err: Error) => fail(ui, err.message),
    );
  }
}
