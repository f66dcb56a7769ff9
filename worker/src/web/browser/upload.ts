/** Sends one request of the publish pages with XMLHttpRequest, whose upload events drive the upload bar. */
import { show } from "./dom";
import { humanSize } from "./format";
import { parseAnswer } from "./http";
import type { ProgressUi } from "./progress-ui";

/** This body is one part of a larger file: `done` bytes were sent before it, `total` is the file's size. */
export interface PartOf {
  done: number;
  total: number;
}

/** Resolves with the answer's `payload`; rejects with the hub's message (or a network error). */
export function sendWithProgress(
  ui: ProgressUi,
  method: string,
  url: string,
  csrf: string,
  body: Blob | string | null,
  contentType: string | null,
  whole?: PartOf,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    if (contentType) xhr.setRequestHeader("Content-Type", contentType);
    if (body instanceof Blob) {
      const blob = body;
      show(ui.box, true);
      show(ui.uploadBlock, true);
      const started = Date.now();
      const before = whole ? whole.done : 0;
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        const loaded = before + e.loaded;
        const total = whole ? whole.total : e.total;
        ui.uploadBar.value = Math.round((loaded / total) * 100);
        const secs = Math.max(0.001, (Date.now() - started) / 1000);
        ui.uploadText.textContent = `${humanSize(loaded)} of ${humanSize(total)} (${humanSize(e.loaded / secs)}/s)`;
      };
      xhr.upload.onload = () => {
        if (whole && before + blob.size < whole.total) return; // more parts to come
        ui.uploadBar.value = 100;
        ui.uploadText.textContent = `Uploaded ${humanSize(whole ? whole.total : blob.size)}.`;
      };
    }
    xhr.onload = () => {
      try {
        resolve(parseAnswer(xhr.status, xhr.responseText));
      } catch (err) {
        reject(err as Error);
      }
    };
    xhr.onerror = () => reject(new Error("the upload was interrupted (network error)"));
    xhr.send(body);
  });
}
