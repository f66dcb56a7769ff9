/**
 * Import cycles of the repository's TypeScript, between files and between folders (e2e/import-cycles.test.ts).
 *
 * Every relative import counts, `import type` included: a type-only cycle still means two modules that cannot be
 * understood (or moved) one without the other. A folder is the first directory below a source root
 * (`worker/src/catalog`, `converter/src/flist`, …); a file directly in a root is a unit of its own (`worker/src/env.ts`
 * is imported by every folder and imports none). Imports inside one folder are free; a cycle between folders is not.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

export const SOURCE_ROOTS = ["worker/src", "converter/src", "protocol", "scripts"];

export interface Cycles {
  /** Each a strongly connected set of files, as repository-relative paths. */
  files: string[][];
  /** Each a strongly connected set of folders, with one import per edge inside it as an example. */
  folders: { members: string[]; edges: string[] }[];
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules") return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The file a relative specifier names: as written, `.js` written for `.ts`, or with `.ts`/`.tsx`/`index` added. */
function resolveImport(from: string, specifier: string): string | null {
  const base = resolve(dirname(from), specifier);
  const candidates = [base, base.replace(/\.js$/, ".ts"), `${base}.ts`, `${base}.tsx`, join(base, "index.ts"), join(base, "index.tsx")];
  return candidates.find((p) => /\.tsx?$/.test(p) && existsSync(p) && statSync(p).isFile()) ?? null;
}

/** Tarjan's strongly connected components with more than one member (or a self-import). */
function cyclicComponents(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do component.push((w = stack.pop()!));
    while (w !== v);
    if (component.length > 1 || graph.get(v)?.has(v)) out.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

export function findCycles(repo: string, roots = SOURCE_ROOTS): Cycles {
  const rel = (p: string) => relative(repo, p).split("\\").join("/");
  const unitOf = (file: string): string => {
    const path = rel(file);
    const root = roots.find((r) => path.startsWith(`${r}/`))!;
    const first = path.slice(root.length + 1).split("/")[0]!;
    return `${root}/${first}`;
  };
  const files = new Map<string, Set<string>>();
  const folders = new Map<string, Set<string>>();
  const example = new Map<string, string>();
  for (const root of roots) {
    for (const file of sourceFiles(join(repo, root))) {
      const targets = new Set<string>();
      files.set(rel(file), targets);
      for (const { fileName } of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
        if (!fileName.startsWith(".")) continue;
        const target = resolveImport(file, fileName);
        if (!target || !roots.some((r) => rel(target).startsWith(`${r}/`))) continue;
        targets.add(rel(target));
        const [a, b] = [unitOf(file), unitOf(target)];
        if (a === b) continue;
        if (!folders.has(a)) folders.set(a, new Set());
        folders.get(a)!.add(b);
        if (!example.has(`${a} ${b}`)) example.set(`${a} ${b}`, `${rel(file)} → ${rel(target)}`);
      }
    }
  }
  return {
    files: cyclicComponents(files),
    folders: cyclicComponents(folders).map((members) => ({
      members,
      edges: members.flatMap((a) =>
        members.filter((b) => folders.get(a)?.has(b)).map((b) => example.get(`${a} ${b}`)!),
      ),
    })),
  };
}

/** One line per cycle, for a test failure or `tsx scripts/lib/import-cycles.ts`. */
export function describeCycles(cycles: Cycles): string[] {
  return [
    ...cycles.files.map((c) => `file cycle: ${c.join(" ⇄ ")}`),
    ...cycles.folders.map((c) => `folder cycle: ${c.members.join(" ⇄ ")} (${c.edges.join("; ")})`),
  ];
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const lines = describeCycles(findCycles(resolve(import.meta.dirname, "../..")));
  console.log(lines.join("\n") || "no import cycles");
  process.exitCode = lines.length > 0 ? 1 : 0;
}
