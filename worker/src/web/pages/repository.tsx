/**
 * `/<repo>`: the repository's flists, links (with their targets), taglinks and tags; size, update time,
 * download count (flists only: a download through a link counts for its target), download and md5 links. Sorting and filtering happen in the browser (site.js) on the rendered rows.
 */
import type { Context } from "hono";
import type { AppEnv } from "../../env";
import type { ListingEntry } from "../../catalog/listing";
import { officialRepositories } from "../../config";
import { repositoryListing } from "../../catalog/read";
import { renderPage } from "../layout";
import { bytesFromKb, exactTime, humanSize, isoTime, plural, relativeTime, targetLink, urls } from "../format";
import { SortHeader } from "../sortable";
import { catalogStore } from "../../catalog/store/d1-r2";
import { repositoryDownloads } from "../../counts/store";

export function When({ seconds }: { seconds: number }) {
  return (
    <time datetime={isoTime(seconds)} title={exactTime(seconds)}>
      {relativeTime(seconds)}
    </time>
  );
}

const KIND_LABEL: Record<ListingEntry["type"], string> = {
  regular: "flist",
  symlink: "link",
  taglink: "taglink",
  tag: "tag",
};

function EntryRow({ repo, entry, downloads }: { repo: string; entry: ListingEntry; downloads?: Map<string, number> }) {
  const bytes = bytesFromKb(entry.size);
  const kind = KIND_LABEL[entry.type];
  let name;
  let actions = null;
  let target = null;
  if (entry.type === "tag") {
    name = <a href={urls.tag(repo, entry.name)}>{entry.name}</a>;
  } else if (entry.type === "taglink") {
    const t = targetLink(repo, entry.target);
    name = <span>{entry.name}</span>;
    target = (
      <div class="target">
        ➔ <a href={t.href}>{t.label}</a>
      </div>
    );
  } else {
    name = <a href={urls.flist(repo, entry.name)}>{entry.name}</a>;
    actions = (
      <>
        <a href={urls.download(repo, entry.name)} download>
          download
        </a>
        <a href={urls.md5(repo, entry.name)}>md5</a>
      </>
    );
    if (entry.type === "symlink") {
      const t = targetLink(repo, entry.target);
      target = (
        <div class="target">
          ➔ <a href={t.href}>{t.label}</a>
        </div>
      );
    }
  }
  return (
    <tr data-filter={`${entry.name} ${"target" in entry ? entry.target : ""} ${kind}`} data-kind={kind}>
      <td class="name" data-value={entry.name}>
        {name}
        {target}
      </td>
      <td data-label="Type" data-value={kind}>
        <span class="badge">{kind}</span>
      </td>
      <td class="num" data-label="Size" data-value={String(bytes)}>
        {entry.type === "tag" ? "" : humanSize(bytes)}
      </td>
      <td data-label="Updated" data-value={String(entry.updated)}>
        <When seconds={entry.updated} />
      </td>
      {downloads ? <DownloadsCell entry={entry} downloads={downloads} /> : null}
      <td class="actions">{actions}</td>
    </tr>
  );
}

function DownloadsCell({ entry, downloads }: { entry: ListingEntry; downloads: Map<string, number> }) {
  const count = entry.type === "regular" ? (downloads.get(entry.name) ?? 0) : null;
  return (
    <td class="num" data-label="Downloads" data-value={String(count ?? -1)}>
      {count === null ? "" : String(count)}
    </td>
  );
}

/** `downloads`: the repository's download counts, shown in a column of their own (counts/store.ts). */
export function EntryTable({
  repo,
  entries,
  label,
  downloads,
}: {
  repo: string;
  entries: ListingEntry[];
  label: string;
  downloads?: Map<string, number>;
}) {
  return (
    <div class="table-wrap">
      <table class="responsive" data-sortable id="entries" aria-label={label}>
        <thead>
          <tr>
            <SortHeader sort="text">Name</SortHeader>
            <SortHeader sort="text">Type</SortHeader>
            <SortHeader sort="num" num>Size</SortHeader>
            <SortHeader sort="num">Updated</SortHeader>
            {downloads ? (
              <SortHeader sort="num" num>
                Downloads
              </SortHeader>
            ) : null}
            <th>
              <span class="sr-only">Links</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <EntryRow repo={repo} entry={entry} downloads={downloads} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

export async function repositoryPage(c: Context<AppEnv>, repo: string): Promise<Response> {
  const [entries, downloads] = await Promise.all([
    repositoryListing(catalogStore(c.env), repo),
    repositoryDownloads(c.env.DB, repo),
  ]);
  const flists = entries.filter((e) => e.type === "regular").length;
  const links = entries.filter((e) => e.type === "symlink" || e.type === "taglink").length;
  const tags = entries.filter((e) => e.type === "tag").length;
  const official = officialRepositories(c.env).has(repo);
  return renderPage(
    c,
    { title: repo },
    <>
      <div class="crumbs">
        <a href="/">Repositories</a> /
      </div>
      <h1>
        {repo} {official ? <span class="badge official">official</span> : null}
      </h1>
      <p class="muted">
        {plural(flists, "flist")} · {plural(links, "link")} · {plural(tags, "tag")} ·{" "}
        <a href={`/api/flist/${encodeURIComponent(repo)}`}>JSON</a>
      </p>
      {entries.length === 0 ? (
        <p class="muted">This repository is empty.</p>
      ) : (
        <>
          <div class="table-tools">
            <input
              type="search"
              placeholder="Filter by name or target"
              aria-label="filter entries"
              data-filter-for="entries"
            />
            <select aria-label="type" data-kind-for="entries">
              <option value="">all types</option>
              <option value="flist">flists</option>
              <option value="link">links</option>
              <option value="taglink">taglinks</option>
              <option value="tag">tags</option>
            </select>
            <span class="muted small" data-count-for="entries"></span>
          </div>
          <EntryTable repo={repo} entries={entries} label={`entries of ${repo}`} downloads={downloads} />
        </>
      )}
    </>,
  );
}
