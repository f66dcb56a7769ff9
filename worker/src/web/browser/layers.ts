/**
 * Per-layer bars of a Docker job. Its updates read "Downloading layer i / n [done / total]", the byte counts being the
 * whole image's: layers before i are done, layer i is in progress (its own share is unknown, so its bar is
 * indeterminate).
 */
import { $, $$, el } from "./dom";
import type { ProgressUi } from "./progress-ui";

const LAYER = /^Downloading layer (\d+) \/ (\d+) \[(.*) \/ (.*)\]/;

function markDone(item: Element): void {
  const bar = $<HTMLProgressElement>("progress", item);
  const text = $("[data-layer-text]", item);
  if (bar) bar.value = 100;
  if (text) text.textContent = "done";
}

export function layersDone(ui: ProgressUi): void {
  for (const item of $$("[data-layer]", ui.layers)) markDone(item);
}

/** Updates the layer bars from one job update's message. */
export function layerLine(ui: ProgressUi, message: string): void {
  const m = LAYER.exec(message);
  if (!m) {
    // A later phase (building the flist…): every layer has been pulled.
    if (ui.layers.children.length) layersDone(ui);
    return;
  }
  const current = Number(m[1]);
  const total = Number(m[2]);
  for (let k = ui.layers.children.length + 1; k <= total; k++) {
    ui.layers.appendChild(
      el("li", { "data-layer": String(k) }, [
        el("span", { class: "small", text: `Layer ${k} / ${total} ` }),
        el("span", { class: "small muted", "data-layer-text": "", text: "waiting" }),
        el("progress", { max: "100", value: "0" }),
      ]),
    );
  }
  for (let j = 1; j <= total; j++) {
    const item = $(`[data-layer="${j}"]`, ui.layers);
    if (!item) continue;
    if (j < current) markDone(item);
    if (j === current) {
      $("progress", item)?.removeAttribute("value");
      const text = $("[data-layer-text]", item);
      if (text) text.textContent = `downloading (image: ${m[3]} of ${m[4]})`;
    }
  }
}
