/**
 * The merge page's picker: search flists (`/api/search`), add them to an ordered list, move them up and down.
 * The list's order is the merge's (the first source wins on name clashes).
 */
import { $$, el, must, show } from "./dom";
import { getJson } from "./http";

interface SearchAnswer {
  names: { repository: string; name: string; kind: string }[];
}

/** Wires the picker of `form`; answers a function giving the picked sources (`repo/name`), in order. */
export function mergePicker(form: HTMLFormElement): () => string[] {
  const input = must<HTMLInputElement>("[data-merge-search]", form);
  const results = must("[data-merge-results]", form);
  const list = must("[data-merge-list]", form);
  const empty = must("[data-merge-empty]", form);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;

  const sources = (): string[] => $$("li", list).map((li) => li.getAttribute("data-source") ?? "");
  const refresh = () => {
    show(empty, list.children.length === 0);
    $$("li", list).forEach((li, i) => {
      must<HTMLButtonElement>("[data-up]", li).disabled = i === 0;
      must<HTMLButtonElement>("[data-down]", li).disabled = i === list.children.length - 1;
    });
  };
  const add = (source: string) => {
    if (sources().includes(source)) return;
    const up = el("button", { type: "button", class: "small secondary", "data-up": "", "aria-label": "move up", text: "↑" });
    const down = el("button", { type: "button", class: "small secondary", "data-down": "", "aria-label": "move down", text: "↓" });
    const remove = el("button", { type: "button", class: "small secondary", "aria-label": "remove", text: "✕" });
    const li = el("li", { "data-source": source }, [el("span", { text: `${source} ` }), up, " ", down, " ", remove]);
    up.addEventListener("click", () => {
      if (li.previousElementSibling) list.insertBefore(li, li.previousElementSibling);
      refresh();
    });
    down.addEventListener("click", () => {
      if (li.nextElementSibling) list.insertBefore(li.nextElementSibling, li);
      refresh();
    });
    remove.addEventListener("click", () => {
      li.remove();
      refresh();
    });
    list.appendChild(li);
    refresh();
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const q = input.value.trim();
      // Answers of earlier keystrokes may arrive late: only the latest one is shown.
      const mine = ++seq;
      results.textContent = "";
      if (q.length < 2) return;
      getJson<SearchAnswer>(`/api/search?limit=30&q=${encodeURIComponent(q)}`).then(
        (body) => {
          if (mine !== seq) return;
          results.textContent = "";
          // A taglink names a tag, not a flist: it cannot be merged.
          const hits = body.names.filter((h) => h.kind !== "taglink");
          if (hits.length === 0) results.appendChild(el("li", { class: "muted", text: "no flist matches" }));
          for (const h of hits) {
            const source = `${h.repository}/${h.name}`;
            const btn = el("button", { type: "button", class: "small", text: "Add" });
            btn.addEventListener("click", () => add(source));
            results.appendChild(el("li", {}, [el("span", { text: source }), btn]));
          }
        },
        (err: Error) => {
          results.appendChild(el("li", { class: "error", text: err.message }));
        },
      );
    }, 200);
  });
  refresh();
  return sources;
}
