/**
 * The flist page, `/<repo>/<name>.flist.html` (what the original's `/<repo>/<name>.md` preview showed, and
 * more): download URL and md5 with copy buttons, sha256, size, download count, file counts, storage backend,
 * metadata, the readme (markdown, rendered safely), the version history with restore for the owner, and the
 * contents tree, which site.js loads one directory at a time from the tree route.
 */
import type { Context } from "hono";
import { raw } from "hono/html";
import type { AppEnv } from "../../env";
import { publicBackend, publicUrl } from "../../config";
import { stripFlist } from "../../names";
import { HubError } from "../../http/errors";
import { flistMetadata, resolveEntry } from "../../catalog/read";
import { entryHistory, type History } from "../../catalog/history";
import type { BlobRow, EntryRow } from "../../catalog/store/rows";
import { csrfInput } from "../csrf";
import { renderPage } from "../layout";
import { readmeOf, renderMarkdown } from "../markdown";
import { loadSession } from "../session";
import { exactTime, humanSize, targetLink, urls } from "../format";
import { canNameImage, flistImage } from "../publish/lxd";
import { When } from "./repository";
import { catalogStore } from "../../catalog/store/d1-r2";
import { downloadCount } from "../../counts/store";

/** Metadata keys shown in their own sections; everything else is listed as-is. */
const KNOWN_KEYS = new Set(["readme", "backend", "backend-forced", "entrypoint", "environ", "port", "volume"]);

function CopyRow({ id, value, label }: { id: string; value: string; label: string }) {
  return (
    <div class="copy-row">
      <code id={id}>{value}</code>
      <button type="button" class="small secondary" data-copy={id} aria-label={`copy ${label}`}>
        Copy
      </button>
    </div>
  );
}

function backendText(metadata: Record<string, unknown>): { text: string; forced: boolean } | null {
  const b = (metadata.backend ?? metadata["backend-forced"]) as Record<string, unknown> | undefined;
  if (!b || typeof b !== "object") return null;
  const host = String(b.host ?? "");
  const port = b.port === undefined ? "" : `:${String(b.port)}`;
  const ns = b.namespace ? `/${String(b.namespace)}` : "";
  return { text: `zdb://${host}${port}${ns}`, forced: !metadata.backend };
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function KeyValues({ rows, head }: { rows: [string, string][]; head: [string, string] }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th>{head[0]}</th>
            <th>{head[1]}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([k, v]) => (
            <tr>
              <td class="mono">{k}</td>
              <td class="mono name">{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function objectRows(value: unknown, format: (v: unknown) => string = show): [string, string][] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, format(v)]);
}

function Metadata({ metadata }: { metadata: Record<string, unknown> }) {
  const entrypoint = metadata.entrypoint;
  const environ = objectRows(metadata.environ);
  const ports = objectRows(metadata.port);
  const volumes = objectRows(metadata.volume, (v) => {
    const host = v && typeof v === "object" ? (v as Record<string, unknown>).host : undefined;
    return typeof host === "string" ? `host ${host}` : "(no host path)";
  });
  const free = Object.entries(metadata)
    .filter(([k]) => !KNOWN_KEYS.has(k))
    .map(([k, v]): [string, string] => [k, show(v)]);
  const nothing = entrypoint === undefined && !environ.length && !ports.length && !volumes.length && !free.length;
  return (
    <section id="metadata">
      <h2>Metadata</h2>
      {nothing ? <p class="muted">No entrypoint, environment, ports or volumes set.</p> : null}
      {entrypoint !== undefined ? (
        <>
          <h3>Entrypoint</h3>
          <pre>
            <code>{Array.isArray(entrypoint) ? entrypoint.map((a) => JSON.stringify(String(a))).join(" ") : show(entrypoint)}</code>
          </pre>
        </>
      ) : null}
      {environ.length ? (
        <>
          <h3>Environment</h3>
          <KeyValues rows={environ} head={["Variable", "Value"]} />
        </>
      ) : null}
      {ports.length ? (
        <>
          <h3>Ports</h3>
          <KeyValues rows={ports} head={["Inside", "Outside"]} />
        </>
      ) : null}
      {volumes.length ? (
        <>
          <h3>Volumes</h3>
          <KeyValues rows={volumes} head={["Mount point", "Host"]} />
        </>
      ) : null}
      {free.length ? (
        <>
          <h3>Other keys</h3>
          <KeyValues rows={free} head={["Key", "Value"]} />
        </>
      ) : null}
    </section>
  );
}

function HistorySection({
  history,
  pageUrl,
  canRestore,
  csrf,
}: {
  history: History | null;
  pageUrl: string;
  canRestore: boolean;
  csrf: unknown;
}) {
  if (!history || history.versions.length === 0) {
    return (
      <section id="history">
        <h2>History</h2>
        <p class="muted">No earlier versions.</p>
      </section>
    );
  }
  return (
    <section id="history">
      <h2>History</h2>
      <div class="table-wrap">
        <table class="responsive">
          <thead>
            <tr>
              <th>Version</th>
              <th>Was</th>
              <th>Updated</th>
              <th>Replaced</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {history.versions.map((v) => (
              <tr>
                <td data-label="Version">{v.version}</td>
                <td data-label="Was" class="name">
                  {v.type === "regular" && v.sha256 ? (
                    <>
                      <a href={`/api/blobs/${v.sha256}.flist`} class="mono">
                        {v.sha256.slice(0, 12)}…
                      </a>{" "}
                      {typeof v.size === "number" ? <span class="muted">{humanSize(v.size)}</span> : null}
                    </>
                  ) : (
                    <span class="target">
                      {v.type} ➔ {v.target}
                    </span>
                  )}
                </td>
                <td data-label="Updated">
                  <When seconds={v.updated} />
                </td>
                <td data-label="Replaced">
                  <When seconds={v.replaced} /> <span class="muted small">({v.reason})</span>
                </td>
                <td class="actions">
                  {canRestore ? (
                    <form method="post" action={`${pageUrl}/restore`} data-confirm={`Restore version ${v.version}?`}>
                      {csrf}
                      <input type="hidden" name="version" value={String(v.version)} />
                      <button type="submit" class="small secondary">
                        Restore
                      </button>
                    </form>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {canRestore ? null : <p class="hint">The owner of this repository can restore an earlier version.</p>}
    </section>
  );
}

/**
 * The flist as an LXD/Incus image: its alias and the `lxc` commands once an `lxd` job made it, and for
 * the owner the button that starts one (POST `<page>/lxd`, session + CSRF; the browser then follows the job).
 */
function LxdSection({
  image,
  hubUrl,
  pageUrl,
  canMake,
  csrf,
}: {
  image: { alias: string } | null;
  hubUrl: string;
  pageUrl: string;
  canMake: boolean;
  csrf: unknown;
}) {
  if (!image && !canMake) return null;
  return (
    <section id="lxd">
      <h2>LXD image</h2>
      {image ? (
        <>
          <p>
            Image alias <code>{image.alias}</code> on this hub's image server. Add the hub as a remote once:
          </p>
          <CopyRow id="lxd-remote" value={`lxc remote add hub ${hubUrl} --protocol=simplestreams --public`} label="lxc remote add command" />
          <p>then copy the image or launch a container from it:</p>
          <CopyRow id="lxd-copy" value={`lxc image copy hub:${image.alias} local:`} label="lxc image copy command" />
          <CopyRow id="lxd-launch" value={`lxc launch hub:${image.alias} c1`} label="lxc launch command" />
        </>
      ) : (
        <p class="muted">No LXD image of this flist yet.</p>
      )}
      {canMake ? (
        <form method="post" action={`${pageUrl}/lxd`} id="lxd-make">
          {csrf}
          <button type="submit" class={image ? "small secondary" : "small"}>
            {image ? "Make the LXD image again" : "Make an LXD image"}
          </button>
        </form>
      ) : null}
    </section>
  );
}

function LinkNotice({ repo, entry, file }: { repo: string; entry: EntryRow; file: EntryRow }) {
  if (entry.kind !== "symlink") return null;
  const target = targetLink(repo, (entry.target_raw ?? "").replaceAll("../", ""));
  return (
    <p class="notice">
      This is a link to <a href={target.href}>{target.label}</a>
      {file.repository !== repo || file.name !== entry.target_name ? (
        <>
          {" "}
          (which resolves to <a href={urls.flist(file.repository, file.name)}>{`${file.repository}/${file.name}`}</a>)
        </>
      ) : null}
      : the download serves that flist's bytes.
    </p>
  );
}

export async function flistPage(c: Context<AppEnv>, repo: string, name: string): Promise<Response> {
  const { entry, file, blob } = await resolveEntry(catalogStore(c.env), repo, name);
  if (entry.kind === "taglink") {
    return c.redirect(targetLink(repo, (entry.target_raw ?? "").replaceAll("../", "").replace(".tag-", "tags/")).href);
  }
  if (!blob || !file) {
    throw new HubError(404, `${repo}/${name} is a link that does not lead to a flist (dangling or looping)`);
  }
  const [metadata, history, session, image, downloads] = await Promise.all([
    flistMetadata(c.env, catalogStore(c.env), repo, name),
    entryHistory(catalogStore(c.env), repo, [name]).catch(() => null),
    loadSession(c),
    flistImage(c.env.DB, repo, name).catch(() => null),
    downloadCount(c.env.DB, file.repository, file.name),
  ]);
  const owner = session?.repository === repo;
  return flistBody(c, { repo, name, entry, file, blob, metadata, history, image, owner, downloads });
}

async function flistBody(
  c: Context<AppEnv>,
  p: {
    repo: string;
    name: string;
    entry: EntryRow;
    file: EntryRow;
    blob: BlobRow;
    metadata: Record<string, unknown>;
    history: History | null;
    image: { alias: string } | null;
    owner: boolean;
    /** Whole downloads of the flist (through any name that leads to it: counts/record.ts). */
    downloads: number;
  },
): Promise<Response> {
  const { repo, name, entry, file, blob, metadata } = p;
  const base = publicUrl(c.env, c.req.url);
  const downloadUrl = `${base}${urls.download(repo, name)}`;
  const backend = backendText(metadata);
  const hubBackend = publicBackend(c.env);
  const readme = readmeOf(metadata);
  const pageUrl = urls.flist(repo, name);
  const restored = c.req.query("restored");
  const readonly = (c.env.HUB_READONLY ?? "").trim().toLowerCase() === "true";
  return renderPage(
    c,
    { title: `${repo}/${stripFlist(name)}`, mainClass: "flist" },
    <>
      <div class="crumbs">
        <a href="/">Repositories</a> / <a href={urls.repository(repo)}>{repo}</a> /
      </div>
      <h1>
        {name} {entry.kind === "symlink" ? <span class="badge">link</span> : null}
      </h1>
      {restored ? <p class="notice ok">Version {restored} restored.</p> : null}
      <LinkNotice repo={repo} entry={entry} file={file} />
      <div class="grid2">
        <section class="card" aria-label="download">
          <dl class="facts">
            <dt>Download</dt>
            <dd>
              <CopyRow id="flist-url" value={downloadUrl} label="download URL" />
            </dd>
            <dt>MD5</dt>
            <dd>
              <CopyRow id="flist-md5" value={blob.md5} label="md5" />
            </dd>
            <dt>SHA-256</dt>
            <dd>
              <code class="small">{blob.sha256}</code>
            </dd>
            <dt>Pinned URL</dt>
            <dd>
              <a href={`/api/blobs/${blob.sha256}.flist`} class="small">
                /api/blobs/{blob.sha256.slice(0, 16)}….flist
              </a>{" "}
              <span class="muted small">(these bytes, forever)</span>
            </dd>
            <dt>Size</dt>
            <dd>
              {humanSize(blob.size)} <span class="muted small">({blob.size} bytes)</span>
            </dd>
            <dt>Updated</dt>
            <dd>
              <When seconds={file.updated} /> <span class="muted small">{exactTime(file.updated)}</span>
            </dd>
            <dt>Downloads</dt>
            <dd data-downloads={String(p.downloads)}>{String(p.downloads)}</dd>
            <dt>Storage</dt>
            <dd>
              {backend ? <code>{backend.text}</code> : hubBackend ? null : <span class="muted">not set</span>}
              {backend?.forced ? <span class="muted small"> (the hub's default backend)</span> : null}
            </dd>
          </dl>
          <p class="small">
            <a href={urls.download(repo, name)} download class="button">
              Download
            </a>{" "}
            <a href={urls.md5(repo, name)}>.md5</a> · <a href={`${urls.download(repo, name).slice(0, -6)}.txt`}>.txt</a> ·{" "}
            <a href={`/api/flist/${encodeURIComponent(repo)}/${encodeURIComponent(name)}/metadata`}>metadata JSON</a>
          </p>
        </section>
        <section class="card" aria-label="contents summary">
          <div class="stats">
            <div>
              <b>{blob.regular}</b>
              <span class="muted small">files</span>
            </div>
            <div>
              <b>{blob.directory}</b>
              <span class="muted small">directories</span>
            </div>
            <div>
              <b>{blob.symlink}</b>
              <span class="muted small">symlinks</span>
            </div>
            <div>
              <b>{blob.special}</b>
              <span class="muted small">special</span>
            </div>
            <div>
              <b>{humanSize(blob.fullsize)}</b>
              <span class="muted small">unpacked</span>
            </div>
          </div>
          {blob.failure > 0 ? <p class="error small">{blob.failure} files failed to convert.</p> : null}
        </section>
      </div>

      <LxdSection
        image={p.image}
        hubUrl={base}
        pageUrl={pageUrl}
        canMake={p.owner && !readonly && canNameImage(repo, name)}
        csrf={p.owner ? csrfInput(c) : null}
      />

      <section id="readme">
        <h2>Readme</h2>
        {readme.text ? (
          // The only raw HTML of the site: markdown-it output with raw HTML disabled (markdown.ts).
          <div class="readme card">{raw(renderMarkdown(readme.text))}</div>
        ) : (
          <p class="muted">No readme.</p>
        )}
        {readme.license ? <p class="small muted">License: {readme.license}</p> : null}
      </section>

      <Metadata metadata={metadata} />

      <section id="contents">
        <h2>Contents</h2>
        <div class="table-tools">
          <input type="search" placeholder="Filter paths (whole flist)" aria-label="filter contents" data-tree-filter="tree" />
        </div>
        <div id="tree" data-tree={urls.tree(repo, name)}>
          <noscript>
            <p>
              The tree needs JavaScript; the full listing is at{" "}
              <a href={`/api/flist/${encodeURIComponent(repo)}/${encodeURIComponent(name)}`}>its JSON</a>.
            </p>
          </noscript>
        </div>
      </section>

      <HistorySection
        history={p.history}
        pageUrl={pageUrl}
        canRestore={p.owner}
        csrf={p.owner ? csrfInput(c) : null}
      />
    </>,
  );
}
