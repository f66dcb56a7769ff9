/** `/<repo>/tags/<tag>`: the tag's members and what they point at. */
import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { tagListing } from "../../catalog/read";
import { renderPage } from "../layout";
import { bytesFromKb, humanSize, targetLink, urls } from "../format";
import { When } from "./repository";
import { SortHeader } from "../sortable";
import { catalogStore } from "../../catalog/store/d1-r2";

export async function tagPage(c: Context<AppEnv>, repo: string, tag: string): Promise<Response> {
  const members = await tagListing(catalogStore(c.env), repo, tag);
  return renderPage(
    c,
    { title: `${repo} · tag ${tag}` },
    <>
      <div class="crumbs">
        <a href="/">Repositories</a> / <a href={urls.repository(repo)}>{repo}</a> / tags /
      </div>
      <h1>
        {tag} <span class="badge">tag</span>
      </h1>
      <p class="muted">
        {members.length} members ·{" "}
        <a href={`/api/flist/${encodeURIComponent(repo)}/tags/${encodeURIComponent(tag)}`}>JSON</a>
      </p>
      <div class="table-wrap">
        <table class="responsive" data-sortable id="members" aria-label={`members of ${tag}`}>
          <thead>
            <tr>
              <SortHeader sort="text">Name</SortHeader>
              <SortHeader sort="text">Target</SortHeader>
              <SortHeader sort="num" num>Size</SortHeader>
              <SortHeader sort="num">Updated</SortHeader>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => {
              const target = "target" in m ? m.target : "";
              const link = targetLink(repo, target);
              const bytes = bytesFromKb(m.size);
              return (
                <tr data-filter={`${m.name} ${target}`}>
                  <td class="name" data-value={m.name}>
                    <a href={urls.tagMember(repo, tag, m.name)} download>
                      {m.name}
                    </a>
                  </td>
                  <td class="target" data-label="Target" data-value={target}>
                    ➔ <a href={link.href}>{link.label}</a>
                  </td>
                  <td class="num" data-label="Size" data-value={String(bytes)}>
                    {humanSize(bytes)}
                  </td>
                  <td data-label="Updated" data-value={String(m.updated)}>
                    <When seconds={m.updated} />
                  </td>
                  <td class="actions">
                    <a href={link.href}>details</a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>,
  );
}
