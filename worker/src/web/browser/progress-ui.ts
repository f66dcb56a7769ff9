/** The progress box of the publish pages and the job page (`[data-job-progress]`, publish/pages.tsx). */
import { must, show } from "./dom";

export interface ProgressUi {
  box: HTMLElement;
  uploadBlock: HTMLElement;
  uploadBar: HTMLProgressElement;
  uploadText: HTMLElement;
  jobBlock: HTMLElement;
  jobBar: HTMLProgressElement;
  jobText: HTMLElement;
  layers: HTMLElement;
  events: HTMLElement;
  jobLabel: HTMLElement;
  error: HTMLElement;
  done: HTMLElement;
}

export function progressUi(box: HTMLElement): ProgressUi {
  return {
    box,
    uploadBlock: must("[data-upload-block]", box),
    uploadBar: must<HTMLProgressElement>("[data-upload-bar]", box),
    uploadText: must("[data-upload-text]", box),
    jobBlock: must("[data-job-block]", box),
    jobBar: must<HTMLProgressElement>("[data-job-bar]", box),
    jobText: must("[data-job-text]", box),
    layers: must("[data-layers]", box),
    events: must("[data-events]", box),
    jobLabel: must("[data-job-label]", box),
    error: must("[data-job-error]", box),
    done: must("[data-job-done]", box),
  };
}

/** Shows `message` in the box's alert. */
export function fail(ui: ProgressUi, message: string): void {
  show(ui.box, true);
  ui.error.textContent = message;
  show(ui.error, true);
}
