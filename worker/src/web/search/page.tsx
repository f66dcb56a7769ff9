/** `/search?q=…` (page) and `/api/search?q=…` (JSON, used by the merge page's picker). */
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../env";
import { renderPage } from "../layout";
import { urls } from "../format";
import { When } from "../pages/repository";
import { search, SNIPPET_END, SNIPPET_START, type EntryHit } from "./query";

export const querySchema = z.object({
  q: z.string().max(200).catch("").default(""),
  limit: z.coerce.number().int().min(1).max(200).catch(50).default(50),
});

/** An FTS snippet with its match markers turned into <mark> (the text itself stays escaped). */
function Snippet({ text }: { text: string }) {
  const parts = text.split(SNIPPET_START);
  return (
    <p class="small muted snippet">
      {parts.map((part, i) => {
        if (i === 0) return part;
        const [hit = "", rest = ""] = part.split(SNIPPET_END);
        return (
          <>
            <mark>{hit}</mark>
            {rest}
          </>
        );
      })}
    </p>
  );
}

function EntryList({ hits }: { hits: EntryHit[] }) {
  return (
    <ul class="results">
      {hits.map((h) => (
        <li>
          {h.kind === "taglink" ? (
            <a href={urls.repository(h.repository)}>{`${h.repository}/${h.name}`}</a>
          ) : (
            <a href={urls.flist(h.repository, h.name)}>{`${h.repository}/${h.name}`}</a>
          )}{" "}
          {h.kind !== "regular" ? <span class="badge">{h.kind === "symlink" ? "link" : h.kind}</span> : null}{" "}
          <span class="muted small">
            <When seconds={h.updated} />
          </span>
          {h.snippet ? <Snippet text={h.snippet} /> : null}
        </li>
      ))}
    </ul>
  );
}

export async function searchPage(c: Context<AppEnv>): Promise<Response> {
  const { q } = querySchema.parse(c.req.query());
  const results = q.trim() ? await search(c.env, q) : null;
  const count = results ? results.repositories.length + results.names.length + results.readmes.length : 0;
  return renderPage(
    c,
    { title: q ? `Search: ${q}` : "Search", active: "search" },
    <>
      <h1>Search</h1>
      <form class="searchbox" action="/search" method="get" role="search">
        <input type="search" name="q" value={q} placeholder="Name, repository or words of a readme" aria-label="search" autofocus />
        <button type="submit">Search</button>
      </form>
      {results === null ? (
        <p class="muted">Search repositories, flist names and readmes.</p>
      ) : count === 0 ? (
        <p>Nothing matches “{results.q}”.</p>
      ) : (
        <>
          {results.repositories.length ? (
            <section>
              <h2>Repositories</h2>
              <ul class="results">
                {results.repositories.map((r) => (
                  <li>
                    <a href={urls.repository(r.name)}>{r.name}</a>{" "}
                    {r.official ? <span class="badge official">official</span> : null}
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
          {results.names.length ? (
            <section>
              <h2>Flists by name</h2>
              <EntryList hits={results.names} />
            </section>
          ) : null}
          {results.readmes.length ? (
            <section>
              <h2>In readmes</h2>
              <EntryList hits={results.readmes} />
            </section>
          ) : null}
        </>
      )}
    </>,
  );
}

export async function searchJson(c: Context<AppEnv>): Promise<Response> {
  const { q, limit } = querySchema.parse(c.req.query());
  const results = await search(c.env, q, limit);
  return c.json({
    ...results,
    readmes: results.readmes.map((h) => ({ ...h, snippet: h.snippet?.replaceAll(SNIPPET_START, "").replaceAll(SNIPPET_END, "") })),
  });
}
