/**
 * `input[data-filter-for=id]` (text) and `select[data-kind-for=id]` (row kind) hide the rows of `#id` that do not
 * match (on `tr[data-filter]`, else the row's text, and `tr[data-kind]`); `[data-count-for=id]` shows the count.
 */
import { $, $$ } from "./dom";

function applyFilter(id: string): void {
  const box = document.getElementById(id);
  if (!box) return;
  const input = $<HTMLInputElement>(`[data-filter-for="${id}"]`);
  const select = $<HTMLSelectElement>(`[data-kind-for="${id}"]`);
  const text = input ? input.value.trim().toLowerCase() : "";
  const kind = select ? select.value : "";
  const rows = $$("tbody tr", box);
  let shown = 0;
  for (const row of rows) {
    const hay = (row.getAttribute("data-filter") || row.textContent || "").toLowerCase();
    const ok = (!text || hay.includes(text)) && (!kind || row.getAttribute("data-kind") === kind);
    row.classList.toggle("hidden", !ok);
    if (ok) shown++;
  }
  const count = $(`[data-count-for="${id}"]`);
  if (count) count.textContent = shown === rows.length ? `${rows.length} entries` : `${shown} of ${rows.length}`;
}

export function initFilters(): void {
  for (const input of $$("[data-filter-for]")) {
    const id = input.getAttribute("data-filter-for") ?? "";
    input.addEventListener("input", () => applyFilter(id));
    applyFilter(id);
  }
  for (const select of $$("[data-kind-for]")) {
    const id = select.getAttribute("data-kind-for") ?? "";
    select.addEventListener("change", () => applyFilter(id));
  }
}
