/** `table[data-sortable]`: the button of a `th[data-sort=num|text]` sorts the body rows on `td[data-value]` (or text). */
import { $, $$ } from "./dom";

function compare<T extends number | string>(x: T, y: T): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

export function initSortableTables(): void {
  for (const table of $$<HTMLTableElement>("table[data-sortable]")) {
    const heads = $$<HTMLTableCellElement>("thead th", table);
    heads.forEach((th, col) => {
      const kind = th.getAttribute("data-sort");
      const button = $("button.sort", th);
      if (!kind || !button) return;
      button.addEventListener("click", () => {
        const asc = th.getAttribute("aria-sort") !== "ascending";
        for (const h of heads) h.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        const body = table.tBodies[0];
        if (!body) return;
        const value = (row: HTMLTableRowElement): string => {
          const cell = row.cells[col];
          return cell ? cell.getAttribute("data-value") || cell.textContent || "" : "";
        };
        const order = (a: HTMLTableRowElement, b: HTMLTableRowElement): number =>
          kind === "num"
            ? compare(Number(value(a)) || 0, Number(value(b)) || 0)
            : compare(value(a).toLowerCase(), value(b).toLowerCase());
        const rows = Array.from(body.rows).sort((a, b) => (asc ? order(a, b) : -order(a, b)));
        for (const row of rows) body.appendChild(row);
      });
    });
  }
}
