/**
 * Header cell of a client-side sortable table (`<table data-sortable>`): browser/sortable.ts sorts the rows on
 * `td[data-value]` when the button is pressed; `sort` says how to compare, `num` right-aligns the column.
 */
import type { Child } from "hono/jsx";

export function SortHeader(props: { sort: "text" | "num"; num?: boolean; children: Child }) {
  return (
    <th class={props.num ? "num" : undefined} data-sort={props.sort}>
      <button type="button" class="sort">
        {props.children}
      </button>
    </th>
  );
}
