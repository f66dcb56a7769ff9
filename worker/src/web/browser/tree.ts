/**
 * `[data-tree=url]`: a flist's contents, one directory level per request to the tree route (`?path=&offset=&limit=`),
 * opened on click; `[data-tree-filter=<box id>]` switches to a flat list of the paths containing the filter (`?q=`).
 */
import { $, $$, el, show } from "./dom";
import { humanSize } from "./format";
import { getJson } from "./http";

const PAGE = 200;

interface TreeEntry {
  name: string;
  path: string;
  type: "directory" | "file" | "symlink" | "special";
  size: number;
  children?: number;
  target?: string;
}

interface TreeLevel {
  /** False for a flist published before the hub recorded entry types: symlinks and empty directories look like files. */
  typed: boolean;
  total: number;
  offset: number;
  entries: TreeEntry[];
}

interface TreeMatches {
  matches: { path: string; size: number; type?: TreeEntry["type"]; target?: string }[];
  truncated: boolean;
}

function treeItem(base: string, entry: TreeEntry): HTMLLIElement {
  const li = el("li", { "data-path": entry.path });
  if (entry.type === "directory") {
    const closed = `▸ ${entry.name}/`;
    const btn = el("button", { type: "button", class: "dir", "aria-expanded": "false", text: closed });
    li.appendChild(btn);
    const count = entry.children ?? 0;
    li.appendChild(el("span", { class: "meta", text: `${count}${count === 1 ? " entry" : " entries"}` }));
    let sub: HTMLUListElement | null = null;
    btn.addEventListener("click", () => {
      if (btn.getAttribute("aria-expanded") === "true") {
        btn.setAttribute("aria-expanded", "false");
        btn.textContent = closed;
        show(sub, false);
        return;
      }
      btn.setAttribute("aria-expanded", "true");
      btn.textContent = `▾ ${entry.name}/`;
      if (sub) {
        show(sub, true);
        return;
      }
      sub = el("ul");
      li.appendChild(sub);
      void loadLevel(base, entry.path, 0, sub);
    });
  } else if (entry.type === "symlink") {
    li.setAttribute("data-type", "symlink");
    li.appendChild(document.createTextNode(entry.name));
    li.appendChild(el("span", { class: "link-target", text: ` → ${entry.target ?? ""}` }));
    li.appendChild(el("span", { class: "meta", text: "symlink" }));
  } else {
    li.setAttribute("data-type", entry.type);
    li.appendChild(document.createTextNode(entry.name));
    li.appendChild(el("span", { class: "meta", text: entry.type === "special" ? "special file" : humanSize(entry.size) }));
  }
  return li;
}

/** One filter match: a symlink shows its target, a special file says so. */
function matchItem(m: TreeMatches["matches"][number]): HTMLLIElement {
  if (m.type === "symlink") return el("li", { "data-type": "symlink" }, [m.path, el("span", { class: "link-target", text: ` → ${m.target ?? ""}` })]);
  const meta = m.type === "directory" ? "directory" : m.type === "special" ? "special file" : humanSize(m.size);
  return el("li", {}, [m.path, el("span", { class: "meta", text: meta })]);
}

async function loadLevel(base: string, path: string, offset: number, ul: HTMLUListElement): Promise<void> {
  const loading = el("li", { class: "muted", text: "loading…" });
  ul.appendChild(loading);
  let body: TreeLevel;
  try {
    body = await getJson<TreeLevel>(`${base}?path=${encodeURIComponent(path)}&offset=${offset}&limit=${PAGE}`);
  } catch (err) {
    loading.textContent = `could not load: ${(err as Error).message}`;
    loading.className = "error";
    return;
  }
  loading.remove();
  if (path === "/" && offset === 0 && !body.typed) {
    ul.appendChild(
      el("li", {
        class: "muted",
        "data-tree-untyped": "",
        text: "This flist was published before the hub recorded entry types: symlinks and empty directories show as files (republish it to see them).",
      }),
    );
  }
  for (const entry of body.entries) ul.appendChild(treeItem(base, entry));
  if (body.total === 0) ul.appendChild(el("li", { class: "muted", text: "(empty)" }));
  const next = body.offset + body.entries.length;
  if (next < body.total) {
    const left = body.total - next;
    const more = el("button", { type: "button", class: "small secondary more", text: `show ${Math.min(PAGE, left)} more of ${left}` });
    const li = el("li", {}, [more]);
    more.addEventListener("click", () => {
      li.remove();
      void loadLevel(base, path, next, ul);
    });
    ul.appendChild(li);
  }
}

function initFilter(box: HTMLElement, base: string, root: HTMLUListElement, flat: HTMLUListElement): void {
  const filter = $<HTMLInputElement>(`[data-tree-filter="${box.id}"]`);
  if (!filter) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;
  filter.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const q = filter.value.trim();
      // Answers of earlier keystrokes may arrive late: only the latest one is shown.
      const mine = ++seq;
      if (q.length < 2) {
        show(flat, false);
        show(root, true);
        return;
      }
      getJson<TreeMatches>(`${base}?q=${encodeURIComponent(q)}&limit=${PAGE}`).then(
        (body) => {
          if (mine !== seq) return;
          flat.textContent = "";
          for (const m of body.matches) flat.appendChild(matchItem(m));
          if (body.matches.length === 0) flat.appendChild(el("li", { class: "muted", text: `no path contains “${q}”` }));
          if (body.truncated) {
            flat.appendChild(el("li", { class: "muted", text: `first ${body.matches.length} matches shown: refine the filter` }));
          }
          show(root, false);
          show(flat, true);
        },
        (err: Error) => {
          flat.textContent = "";
          flat.appendChild(el("li", { class: "error", text: `could not filter: ${err.message}` }));
          show(flat, true);
        },
      );
    }, 250);
  });
}

export function initTrees(): void {
  for (const box of $$("[data-tree]")) {
    const base = box.getAttribute("data-tree") ?? "";
    const root = el("ul", { class: "tree", "data-tree-root": "" });
    const flat = el("ul", { class: "tree hidden", "data-tree-matches": "" });
    box.appendChild(root);
    box.appendChild(flat);
    void loadLevel(base, "/", 0, root);
    initFilter(box, base, root, flat);
  }
}
