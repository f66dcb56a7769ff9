/** `/`: official repositories first, then contributors, each with its flist count and last update. */
import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { repositoriesList } from "../../catalog/read";
import { renderPage } from "../layout";
import { RESERVED_REPOSITORY_NAMES } from "../../names";
import { exactTime, isoTime, plural, relativeTime, urls } from "../format";
import { SortHeader } from "../sortable";
import { catalogStore } from "../../catalog/store/d1-r2";

interface Row {
  name: string;
  official: boolean;
  updated: number;
  flists: number;
  links: number;
}


function RepositoryTable({ rows, caption }: { rows: Row[]; caption: string }) {
  if (rows.length === 0) return <p class="muted">None yet.</p>;
  return (
    <div class="table-wrap">
      <table class="responsive" data-sortable aria-label={caption}>
        <thead>
          <tr>
            <SortHeader sort="text">Repository</SortHeader>
            <SortHeader sort="num" num>Flists</SortHeader>
            <SortHeader sort="num" num>Links</SortHeader>
            <SortHeader sort="num">Last update</SortHeader>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr data-filter={r.name}>
              <td class="name" data-value={r.name}>
                {RESERVED_REPOSITORY_NAMES.has(r.name) ? (
                  // Like the original, a repository named after a page cannot be browsed at /<name>.
                  <a href={`/api/flist/${encodeURIComponent(r.name)}`}>{r.name}</a>
                ) : (
                  <a href={urls.repository(r.name)}>{r.name}</a>
                )}{" "}
                {r.official ? <span class="badge official">official</span> : null}
              </td>
              <td class="num" data-label="Flists" data-value={String(r.flists)}>
                {r.flists}
              </td>
              <td class="num" data-label="Links" data-value={String(r.links)}>
                {r.links}
              </td>
              <td data-label="Updated" data-value={String(r.updated)}>
                <time datetime={isoTime(r.updated)} title={exactTime(r.updated)}>
                  {relativeTime(r.updated)}
                </time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export async function homePage(c: Context<AppEnv>): Promise<Response> {
  const store = catalogStore(c.env);
  const [repositories, counts] = await Promise.all([repositoriesList(c.env, store), store.repositoryCounts()]);
  const rows: Row[] = repositories.map((r) => ({ ...r, ...(counts.get(r.name) ?? { flists: 0, links: 0 }) }));
  const official = rows.filter((r) => r.official);
  const contributors = rows.filter((r) => !r.official).sort((a, b) => b.updated - a.updated);
  const total = rows.reduce((n, r) => n + r.flists, 0);
  return renderPage(
    c,
    { title: "Repositories" },
    <>
      <section class="hero">
        <h1>Zero-OS Hub</h1>
        <p>
          {plural(total, "flist")} in {plural(rows.length, "repository", "repositories")}. Boot them on Zero-OS, or
          publish your own from a .tar.gz or a Docker image.
        </p>
        <form class="searchbox" action="/search" method="get" role="search">
          <input type="search" name="q" placeholder="Search flists, repositories and readmes" aria-label="search" />
          <button type="submit">Search</button>
        </form>
      </section>
      <h2>Official repositories</h2>
      <RepositoryTable rows={official} caption="Official repositories" />
      <h2>Contributors</h2>
      <div class="table-tools">
        <input type="search" placeholder="Filter contributors" aria-label="filter contributors" data-filter-for="contributors" />
      </div>
      <div id="contributors">
        <RepositoryTable rows={contributors} caption="Contributors" />
      </div>
    </>,
  );
}
