/**
 * Image configuration → flist metadata rows (docs/compatibility.md §6.14: "entrypoint, cmd, env, workdir, ports and volumes go
 * into flist metadata"), using zflist's value layouts (docs/flist-format.md §1.4) for the keys it defines:
 *
 * | key | value | from |
 * |---|---|---|
 * | `entrypoint` | JSON argv array: `Entrypoint` followed by `Cmd` (what a container runtime executes) | Entrypoint, Cmd |
 * | `environ` | `{"NAME": "value"}` in image order, split at the first `=` | Env |
 * | `port` | `{"tcp/80": 80}` (`<proto>/<port>`: the same port inside and out), sorted by protocol, then port | ExposedPorts |
 * | `volume` | `{"/data": {}}` | Volumes |
 * | `workdir` | the directory as a raw string (a free key: zflist defines none) | WorkingDir |
 * | `user` | the user spec as a raw string (`1000:1000`, `nginx`) | User |
 * | `label.<name>` | the label value as a raw string, one row per label | Labels |
 * | `image` | `<registry>/<repository>@<manifest digest>`: what was converted | the pull |
 *
 * Keys whose source is absent or empty are not written. Rows are inserted in the order above; the writer sorts
 * nothing but SQLite keys, so the same config always gives the same rows.
 */
import { entrypointMetadata, environMetadata, portMetadata, volumeMetadata } from "../flist/index.ts";
import type { ImageConfig } from "./manifest.ts";

/** Label names are free text in images; keep them as metadata keys only when printable and of sane length. */
const LABEL_NAME = /^[\x21-\x7e]{1,200}$/;
/** A docker range `8000-8010/tcp` expands to at most this many ports (more is not a real service). */
const MAX_PORT_RANGE = 1024;

export function imageMetadata(config: ImageConfig, image: string): Map<string, string> {
  const c = config.config ?? {};
  const rows = new Map<string, string>();
  const argv = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  if (argv.length > 0) rows.set("entrypoint", entrypointMetadata(argv));
  const env = environment(c.Env ?? []);
  if (env.length > 0) rows.set("environ", environMetadata(env));
  const ports = exposedPorts(Object.keys(c.ExposedPorts ?? {}));
  if (ports.length > 0) rows.set("port", portMetadata(ports));
  const volumes = Object.keys(c.Volumes ?? {}).filter((v) => v !== "");
  if (volumes.length > 0) rows.set("volume", volumeMetadata(volumes.map((target) => ({ target }))));
  if (c.WorkingDir) rows.set("workdir", c.WorkingDir);
  if (c.User) rows.set("user", c.User);
  for (const [name, value] of Object.entries(c.Labels ?? {})) {
    if (LABEL_NAME.test(name)) rows.set(`label.${name}`, value);
  }
  rows.set("image", image);
  return rows;
}

/** `NAME=value` pairs split at the first `=`; a bare `NAME` (allowed in configs) means an empty value. Later wins. */
export function environment(env: readonly string[]): Array<[string, string]> {
  const byName = new Map<string, string>();
  for (const item of env) {
    const eq = item.indexOf("=");
    const name = eq < 0 ? item : item.slice(0, eq);
    if (name === "") continue;
    byName.set(name, eq < 0 ? "" : item.slice(eq + 1));
  }
  return [...byName];
}

/** `80/tcp`, `53/udp`, `8080` (tcp), `8000-8010/tcp` → `{protocol, in}`; malformed keys are skipped. */
export function exposedPorts(keys: readonly string[]): Array<{ protocol: string; in: number }> {
  const ports: Array<{ protocol: string; in: number }> = [];
  for (const key of keys) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(key.trim());
    if (!m) continue;
    const first = Number(m[1]);
    const last = m[2] !== undefined ? Number(m[2]) : first;
    const protocol = (m[3] ?? "tcp").toLowerCase();
    if (first < 1 || last > 65535 || last < first || last - first >= MAX_PORT_RANGE) continue;
    for (let p = first; p <= last; p++) ports.push({ protocol, in: p });
  }
  // Sorted by protocol then number: JSON.parse puts integer-like keys ("443") first, so the config's own
  // order is not recoverable; a sort keeps the row the same for the same set of ports.
  const unique = new Map(ports.map((p) => [`${p.protocol}/${p.in}`, p]));
  return [...unique.values()].sort((a, b) => (a.protocol === b.protocol ? a.in - b.in : a.protocol < b.protocol ? -1 : 1));
}
